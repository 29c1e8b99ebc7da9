// SPDX-License-Identifier: GPL-2.0
/* samples.bpf.c - 99 Hz samples of vCPU threads, and where each vCPU was.
 *
 * The loader opens a cpu-clock perf event at 99 Hz on every online CPU and
 * attaches ks_sample to each.  The program runs in the hrtimer interrupt,
 * on the interrupted thread.  It counts a sample when that thread is a
 * vCPU thread, keyed by (tgid, vCPU, mode, cr3, rip, subsecond row, low
 * bits of the wall-clock second: the reader holds the next second's
 * early samples back for the read that ends it, source/sechold.h), into
 * the same two-generation per-CPU hash maps as exits.bpf.c (see there).
 *
 * Which threads are vCPU threads, in order of trust:
 *   - a thread with a KVM vCPU loaded (vcpuload.bpf.h: the vCPU's
 *     preempt notifier on current->preempt_notifiers), named by its
 *     vcpu_id, as kvm_exit does;
 *   - a thread discovery (user space) put in smp_tids, or one seen above
 *     before (smp_learned: host-side time between KVM_RUN calls);
 *   - a thread QEMU named "CPU <n>/KVM" or "CPU <n>/TCG".
 *
 * Guest or host: a host timer interrupt that hits while a vCPU runs guest
 * code forces a VM exit, and KVM handles it with PF_VCPU still set on the
 * thread (it is cleared only after the IRQ window that follows each exit,
 * so that tick accounting charges such ticks to the guest).  PF_VCPU is
 * therefore exactly the kernel's own "this tick was guest time".  A TCG
 * vCPU never sets it: its samples are honestly host mode.
 *
 * The guest's state at the exit, when the host can read it (else absent):
 *   - AMD SVM: the VMCB save area (kvm_amd module BTF, CO-RE) holds the
 *     exit's CPL, RIP and, with NPT, the guest cr3; without NPT the VMCB
 *     cr3 is KVM's shadow root and vcpu->arch.cr3 is the guest's (every
 *     CR3 write exits);
 *   - Intel VMX: CPL, RIP and cr3 live in the VMCS, which only VMREAD
 *     reads.  KVM's cached copies in vcpu->arch are used when regs_avail
 *     says this exit filled them (RIP: when perf prepared the sample on
 *     kernels >= 6.3, or kvm_exit is traced; cr3: shadow paging); the ring
 *     is never known, so the mode is "guest";
 *   - SEV-ES/SNP/TDX guests: state encrypted, mode "guest", nothing else.
 */
#include "vmlinux/x86/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "gen.bpf.h"
#include "samples.h"
#include "svm.bpf.h"
#include "vcpuload.bpf.h"

#define KS_PF_VCPU 0x00000001	/* include/linux/sched.h */
#define KS_SAMPLE_MAX_THREADS 16384
#define KS_NSEC 1000000000ULL

/* Set by the loader before load. */
const volatile __u32 targ_tgid = 0;	/* 0: every process */
const volatile __u64 row_ns = KS_SAMPLE_ROW_NS_DEFAULT;
const volatile __u8 want_rip = 0;	/* put the guest RIP in the key */
const volatile __u8 isa = KS_SISA_UNKNOWN;
const volatile __u8 tdp = KS_STDP_UNKNOWN;

/* Written by the loader while running: REALTIME - MONOTONIC (ns), and the
 * number of RIP keys created since it last zeroed it (each read). */
volatile __u64 realtime_off_ns = 0;
volatile __u64 rip_keys = 0;

struct ks_sample_gen {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KS_SAMPLE_MAX_KEYS);
	__type(key, struct ks_sample_key);
	__type(value, __u64);
} smp_gen0 SEC(".maps"), smp_gen1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ks_sample_gen);
} smp_cur SEC(".maps") = {
	.values = { [0] = &smp_gen0 },
};

/* tid -> vCPU, filled by the loader from VM discovery. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KS_SAMPLE_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct ks_sample_tid);
} smp_tids SEC(".maps");

/* tid -> vCPU, learnt from loaded vCPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KS_SAMPLE_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct ks_sample_tid);
} smp_learned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KS_COMM_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ks_comm);
} smp_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KS_SMS__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} smp_stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	ks_stat_inc(&smp_stats, idx);
}

/* "CPU <n>/KVM" or "CPU <n>/TCG" (QEMU with debug-threads=on). */
static __always_inline bool qemu_vcpu_name(__u32 *vcpu)
{
	char c[KS_COMM_LEN];
	__u32 n = 0;
	int i, slash = 0;

	if (bpf_get_current_comm(c, sizeof(c)))
		return false;
	if (c[0] != 'C' || c[1] != 'P' || c[2] != 'U' || c[3] != ' ')
		return false;
	for (i = 4; i < 11; i++) {
		if (c[i] == '/' && i > 4) {
			slash = i;
			break;
		}
		if (c[i] < '0' || c[i] > '9')
			return false;
		n = n * 10 + (c[i] - '0');
	}
	if (!slash)
		return false;
	if (!((c[slash + 1] == 'K' && c[slash + 2] == 'V' &&
	       c[slash + 3] == 'M') ||
	      (c[slash + 1] == 'T' && c[slash + 2] == 'C' &&
	       c[slash + 3] == 'G')))
		return false;
	*vcpu = n;
	return true;
}

/* The vCPU index of a thread with no vCPU loaded, if it is a vCPU thread
 * (pid reuse: an entry only counts for the process it was made for). */
static __always_inline bool known_vcpu(__u32 tid, __u32 tgid,
				       struct ks_sample_key *k)
{
	struct ks_sample_tid *t;

	t = bpf_map_lookup_elem(&smp_tids, &tid);
	if (t && t->tgid == tgid) {
		k->vcpu = t->vcpu;
		return true;
	}
	t = bpf_map_lookup_elem(&smp_learned, &tid);
	if (t && t->tgid == tgid) {
		k->vcpu = t->vcpu;
		k->flags |= KS_SMP_VCPUID;
		return true;
	}
	return qemu_vcpu_name(&k->vcpu);
}

static __always_inline void learn(__u32 tid, __u32 tgid, __u32 vcpu)
{
	struct ks_sample_tid *t, fresh = { .tgid = tgid, .vcpu = vcpu };

	t = bpf_map_lookup_elem(&smp_learned, &tid);
	if (t && t->tgid == tgid && t->vcpu == vcpu)
		return;
	bpf_map_update_elem(&smp_learned, &tid, &fresh, BPF_ANY);
}

/* CPL, RIP and (with NPT) cr3 from the VMCB; false if unreadable. */
static __always_inline bool svm_state(struct kvm_vcpu *vcpu,
				      struct ks_sample_key *k)
{
	struct vmcb___ks *vmcb = ks_svm_vmcb(vcpu);
	__u8 cpl;

	if (!vmcb)
		return false;
	if (bpf_core_read(&cpl, sizeof(cpl), &vmcb->save.cpl))
		return false;
	k->mode = cpl ? KS_SMODE_USER : KS_SMODE_KERNEL;
	if (tdp == KS_STDP_ON &&
	    !bpf_core_read(&k->cr3, sizeof(k->cr3), &vmcb->save.cr3))
		k->flags |= KS_SMP_CR3;
	if (want_rip &&
	    !bpf_core_read(&k->rip, sizeof(k->rip), &vmcb->save.rip))
		k->flags |= KS_SMP_RIP;
	return true;
}

/* RIP and cr3 from KVM's own copies, where they are current. */
static __always_inline void cached_state(struct kvm_vcpu *vcpu,
					 struct ks_sample_key *k)
{
	__u32 avail = 0, rip_bit, cr3_bit;
	unsigned long *regs;

	if (!bpf_core_enum_value_exists(enum kvm_reg, VCPU_REGS_RIP) ||
	    !bpf_core_enum_value_exists(enum kvm_reg, VCPU_EXREG_CR3))
		return;
	rip_bit = bpf_core_enum_value(enum kvm_reg, VCPU_REGS_RIP);
	cr3_bit = bpf_core_enum_value(enum kvm_reg, VCPU_EXREG_CR3);
	/* u32 on 6.18, unsigned long on older kernels: the low half is the
	 * same on x86 and holds both bits. */
	if (bpf_core_read(&avail, sizeof(avail), &vcpu->arch.regs_avail))
		return;
	regs = __builtin_preserve_access_index(&vcpu->arch.regs[0]);
	if (want_rip && !(k->flags & KS_SMP_RIP) &&
	    rip_bit < 32 && (avail & (1u << rip_bit)) &&
	    !bpf_probe_read_kernel(&k->rip, sizeof(k->rip), regs + rip_bit))
		k->flags |= KS_SMP_RIP;
	if (k->flags & KS_SMP_CR3)
		return;
	/* With shadow paging every guest CR3 write exits and KVM's copy is
	 * current; with EPT it is current only if VMX read it this exit. On
	 * SVM with NPT it is the previous exit's: never used there. */
	if (tdp == KS_STDP_OFF ||
	    (isa == KS_SISA_VMX && cr3_bit < 32 && (avail & (1u << cr3_bit)))) {
		if (!bpf_core_read(&k->cr3, sizeof(k->cr3), &vcpu->arch.cr3))
			k->flags |= KS_SMP_CR3;
	}
}

static __always_inline void guest_state(struct kvm_vcpu *vcpu,
					struct ks_sample_key *k)
{
	bool hidden = false;

	stat_inc(KS_SMS_GUEST);
	k->mode = KS_SMODE_GUEST;
	if (vcpu && bpf_core_field_exists(vcpu->arch.guest_state_protected))
		bpf_core_read(&hidden, sizeof(hidden),
			      &vcpu->arch.guest_state_protected);
	if (hidden)
		stat_inc(KS_SMS_PROTECTED);
	if (vcpu && !hidden) {
		if (isa == KS_SISA_SVM)
			svm_state(vcpu, k);
		cached_state(vcpu, k);
	}
	if (k->mode == KS_SMODE_GUEST)
		stat_inc(KS_SMS_NO_RING);
	if (!(k->flags & KS_SMP_CR3))
		stat_inc(KS_SMS_NO_CR3);
	if (want_rip && !(k->flags & KS_SMP_RIP))
		stat_inc(KS_SMS_NO_RIP);
}

/* The subsecond row and second bits of now, on the wall clock; one clock
 * read, so the two always agree. */
static __always_inline void wall_slot(struct ks_sample_key *key)
{
	ks_wall_slot(bpf_ktime_get_ns() + realtime_off_ns, row_ns, &key->row,
		     &key->sec);
}

/* Adds one to key in the current generation.  A new key with a RIP
 * beyond the cap is counted without its RIP (and the loss counted). */
static __always_inline void count(struct ks_sample_key *key)
{
	void *gen = ks_gen_cur(&smp_cur, &smp_stats, KS_SMS_DROP_NOMAP);

	if (!gen || ks_gen_bump(gen, key))
		return;
	if ((key->flags & KS_SMP_RIP) && rip_keys >= KS_SAMPLE_RIP_MAX) {
		stat_inc(KS_SMS_RIP_CAPPED);
		key->flags &= ~KS_SMP_RIP;
		key->rip = 0;
		if (ks_gen_bump(gen, key))
			return;
	}
	if (ks_gen_new(gen, key, &smp_stats, KS_SMS_DROP_FULL) == 1 &&
	    (key->flags & KS_SMP_RIP))
		__sync_fetch_and_add(&rip_keys, 1);
}

SEC("perf_event")
int ks_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct ks_sample_key key = {};
	struct kvm_vcpu *vcpu;
	unsigned int flags;
	bool in_guest, odd;

	if (!tid)		/* the idle task */
		return 0;
	if (targ_tgid && tgid != targ_tgid)
		return 0;
	flags = BPF_CORE_READ(task, flags);
	in_guest = flags & KS_PF_VCPU;
	key.vcpu = KS_VCPU_UNKNOWN;
	vcpu = ks_loaded_vcpu(task, &odd);
	if (odd)
		stat_inc(KS_SMS_ODD_VCPU);
	if (vcpu && !bpf_core_read(&key.vcpu, sizeof(key.vcpu),
				   &vcpu->vcpu_id)) {
		key.flags |= KS_SMP_VCPUID;
		learn(tid, tgid, key.vcpu);
	} else if (!known_vcpu(tid, tgid, &key) && !in_guest) {
		stat_inc(KS_SMS_OTHER);
		return 0;
	}
	key.tgid = tgid;
	if (in_guest)
		guest_state(vcpu, &key);
	else
		key.mode = KS_SMODE_HOST;
	wall_slot(&key);
	ks_comm_note(&smp_comm, task, tgid);
	count(&key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
