/* irqs.h - types shared by the interrupts probe (irqs.bpf.c) and its loader.
 *
 * The probe counts interrupts delivered to guests on two paths, keyed by
 * the VMM process, the vCPU, the vector and the row of the wall-clock
 * second the interrupt fell in (CA's subsecond heatmaps):
 *   - KS_IRQ_INJ: kvm:kvm_inj_virq, an interrupt injected by event
 *     injection on the vCPU's own thread (vm.irqs);
 *   - KS_IRQ_APIC: kvm:kvm_apic_accept_irq, any interrupt or IPI accepted
 *     by a guest local APIC, posted ones included (vm.apic_irqs); it runs
 *     in the sender's context, so its vCPU is the target APIC id.
 * Each key also carries the low bits of the interrupt's own wall-clock
 * second, so the reader can tell this second's from the next one's when
 * its read comes a little late (source/sechold.h).
 * Fixed-width kernel uapi types only: compiled into BPF and user space.
 */
#ifndef KS_BPF_IRQS_H
#define KS_BPF_IRQS_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#include "comm.h"
#include "keys.h"

enum ks_irq_path {
	KS_IRQ_INJ = 0,
	KS_IRQ_APIC = 1,
	KS_IRQ__COUNT
};

/* Default subsecond row: 10 ms, CA's lquantize(ms, 0, 1000, 10). */
#define KS_IRQ_ROW_NS_DEFAULT 10000000ULL

struct ks_irq_key {
	__u32 tgid;		/* VMM process; 0: sent by a kernel thread */
	__u32 vcpu;		/* vcpu_id (APIC id), or KS_VCPU_UNKNOWN */
	__u16 row;		/* subsecond row: ns into the second/row_ns */
	__u8 vector;
	__u8 path;		/* enum ks_irq_path */
	__u8 dm;		/* APIC delivery mode 0..7 (KS_IRQ_APIC) */
	__u8 sec;		/* wall-clock second & KS_SEC_MASK */
	__u8 pad[2];
};

/* Cumulative per-CPU counters in the probe's `irq_stats` array. */
enum ks_irq_stat {
	KS_IRS_DROP_FULL,	/* count lost: the generation map was full */
	KS_IRS_DROP_NOMAP,	/* count lost: no current generation (bug) */
	KS_IRS_NO_VCPU,		/* injected with no vCPU loaded on the
				 * thread, or no kvm BTF: vCPU unknown */
	KS_IRS__COUNT
};

#endif /* KS_BPF_IRQS_H */
