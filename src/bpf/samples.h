/* samples.h - types shared by the vCPU sampler (samples.bpf.c) and its loader.
 *
 * The sampler counts 99 Hz cpu-clock samples that land on vCPU threads,
 * keyed by everything a vm.thread_samples record carries: the VMM process,
 * the vCPU, where the vCPU was (host, or guest kernel or user mode), the
 * guest's page-table root (cr3) and instruction pointer when the host can
 * read them, and the row of the wall-clock second the sample fell in.
 * `flags` says which of cr3 and rip are real: a value the kernel could not
 * read is never made up, it is absent.  Each key also carries the low
 * bits of the sample's wall-clock second, so the reader can tell this
 * second's samples from the next one's (source/sechold.h).  Fixed-width kernel uapi types
 * only: compiled into BPF and user space.
 */
#ifndef KS_BPF_SAMPLES_H
#define KS_BPF_SAMPLES_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#include "comm.h"
#include "keys.h"

/* CA's profile-99hz: 99, not 100, so sampling does not lock step with
 * activity driven by a 100 Hz or 1 kHz timer. */
#define KS_SAMPLE_HZ 99
/* Default subsecond row (10 ms) and cap on distinct guest RIP keys per
 * generation (one read), so RIPs cannot crowd out the other keys. */
#define KS_SAMPLE_ROW_NS_DEFAULT 10000000ULL
#define KS_SAMPLE_RIP_MAX 4096
#define KS_SAMPLE_MAX_KEYS 16384

/* Where the vCPU was when the sample hit. */
enum ks_sample_mode {
	KS_SMODE_HOST = 0,	/* host code on the vCPU thread (KVM, VMM) */
	KS_SMODE_KERNEL = 1,	/* guest, CPL 0 */
	KS_SMODE_USER = 2,	/* guest, CPL > 0 */
	KS_SMODE_GUEST = 3,	/* guest, ring not readable on this host */
	KS_SMODE__COUNT
};

/* ks_sample_key.flags */
#define KS_SMP_CR3 0x1		/* cr3 holds the guest's cr3 */
#define KS_SMP_RIP 0x2		/* rip holds the guest's RIP */
#define KS_SMP_VCPUID 0x4	/* vcpu is KVM's vcpu_id, not QEMU's index */

struct ks_sample_key {
	__u64 cr3;
	__u64 rip;
	__u32 tgid;		/* VMM process */
	__u32 vcpu;		/* KS_SMP_VCPUID says which number */
	__u16 row;		/* ns into the second / row_ns */
	__u8 mode;		/* enum ks_sample_mode */
	__u8 flags;		/* KS_SMP_* */
	__u8 sec;		/* wall-clock second & KS_SEC_MASK */
	__u8 pad[3];
};

/* A vCPU thread as discovery (user space: QEMU's vCPU index) or the
 * probe (KVM's vcpu_id) knows it. */
struct ks_sample_tid {
	__u32 tgid;
	__u32 vcpu;
};

/* Which vendor's KVM runs here (the loader reads /proc/cpuinfo). */
enum ks_sample_isa {
	KS_SISA_UNKNOWN = 0,
	KS_SISA_VMX = 1,	/* kvm_exit's isa numbering */
	KS_SISA_SVM = 2,
};

/* Two-dimensional paging (EPT/NPT), from kvm_intel.ept / kvm_amd.npt. */
enum ks_sample_tdp {
	KS_STDP_OFF = 0,	/* shadow paging: KVM's cr3 copy is current */
	KS_STDP_ON = 1,
	KS_STDP_UNKNOWN = 2,
};

/* Cumulative per-CPU counters in the probe's `smp_stats` array. */
enum ks_sample_stat {
	KS_SMS_DROP_FULL,	/* sample lost: the generation map was full */
	KS_SMS_DROP_NOMAP,	/* sample lost: no current generation (bug) */
	KS_SMS_OTHER,		/* samples on threads that are not vCPUs */
	KS_SMS_GUEST,		/* samples that hit a vCPU in guest mode */
	KS_SMS_NO_RING,		/* ... whose guest ring was unreadable */
	KS_SMS_NO_CR3,		/* ... whose guest cr3 was unreadable */
	KS_SMS_NO_RIP,		/* ... whose wanted RIP was unreadable */
	KS_SMS_RIP_CAPPED,	/* ... counted without RIP: RIP keys capped */
	KS_SMS_PROTECTED,	/* ... of an SEV-ES/TDX guest (state hidden) */
	KS_SMS_ODD_VCPU,	/* a loaded vCPU that did not check out */
	KS_SMS__COUNT
};

#endif /* KS_BPF_SAMPLES_H */
