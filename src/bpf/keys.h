/* keys.h - what every probe's map keys share with user space.
 *
 * The exits, irqs and samples probes key their counts by the low bits of
 * the event's wall-clock second: two bits tell the second a read ends
 * from the next two, so a read up to 2 s late still puts every event in
 * its second (source/sechold.h sorts them).  A vCPU the probe has not
 * seen yet (an old kernel's kvm_exit without vcpu_id, before the thread's
 * first kvm_entry; a sample or injection on a thread with no vCPU known)
 * carries KS_VCPU_UNKNOWN.  One definition for the BPF objects and their
 * loaders, so that the two sides cannot disagree.
 */
#ifndef KS_BPF_KEYS_H
#define KS_BPF_KEYS_H

#define KS_SEC_MASK 3u
#define KS_VCPU_UNKNOWN 0xffffffffu

#endif /* KS_BPF_KEYS_H */
