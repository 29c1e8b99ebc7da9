// SPDX-License-Identifier: GPL-2.0
/* irqs.bpf.c - interrupts delivered to guests, by vector and subsecond.
 *
 * Counts kvm:kvm_inj_virq and kvm:kvm_apic_accept_irq per (tgid, vCPU,
 * vector, path, delivery mode, subsecond row) into per-CPU hash maps with
 * the same two-generation scheme as exits.bpf.c (see there): the reader
 * swaps the array-of-maps slot, the kernel waits out running programs,
 * and the old generation is read and cleared with nothing lost.
 *
 * The subsecond offset is wall-clock time, so heatmaps from several hosts
 * line up: bpf_ktime_get_ns() (monotonic) plus realtime_off_ns, the
 * REALTIME - MONOTONIC difference the loader refreshes every tick, taken
 * modulo one second and divided into rows of row_ns (10 ms by default,
 * CA's resolution).  The key also holds the low bits of that wall-clock
 * second: a read comes a few ms after the second ends, and the reader
 * holds the next second's early interrupts back for the read that ends
 * their own second (source/sechold.h).
 *
 * kvm_inj_virq runs on the vCPU thread, with the vCPU loaded, but does not
 * say which vCPU: it is read from the thread itself (vcpuload.bpf.h), so
 * the probe needs no program on kvm_entry, which runs on every VM exit.
 * Without kvm BTF the vCPU is unknown (counted, never dropped).  Kernels
 * before 5.11 name the vector field `irq`; CO-RE picks whichever exists.
 */
#include "vmlinux/x86/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "gen.bpf.h"
#include "irqs.h"
#include "vcpuload.bpf.h"
#include "tpkeep.h"

#define KS_IRQ_MAX_KEYS 16384
#define KS_IRQ_MAX_THREADS 16384
#define KS_PF_KTHREAD 0x00200000

const volatile __u32 targ_tgid = 0;	/* 0: every process */
const volatile __u64 row_ns = KS_IRQ_ROW_NS_DEFAULT;

/* REALTIME - MONOTONIC, ns; written by the loader while running. */
volatile __u64 realtime_off_ns = 0;

struct ks_irq_gen {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KS_IRQ_MAX_KEYS);
	__type(key, struct ks_irq_key);
	__type(value, __u64);
} irq_gen0 SEC(".maps"), irq_gen1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ks_irq_gen);
} irq_cur SEC(".maps") = {
	.values = { [0] = &irq_gen0 },
};

/* tid -> vcpu_id, as kvm_inj_virq found it, for user space's mapping of
 * vcpu_ids to QEMU's vCPU indexes (source/vmident.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KS_IRQ_MAX_THREADS);
	__type(key, __u32);
	__type(value, __u32);
} irq_vcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KS_COMM_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ks_comm);
} irq_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KS_IRS__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} irq_stats SEC(".maps");

/* kvm_inj_virq before 5.11 ("irq %u").  Read with BPF_CORE_READ: with
 * direct loads clang merges the two layouts into one offset computed at
 * run time, which the verifier rejects for a context pointer. */
struct trace_event_raw_kvm_inj_virq___old {
	unsigned int irq;
} __attribute__((preserve_access_index));

/* The subsecond row and second bits of now, on the wall clock. */
static __always_inline void wall_slot(struct ks_irq_key *key)
{
	ks_wall_slot(bpf_ktime_get_ns() + realtime_off_ns, row_ns, &key->row,
		     &key->sec);
}

/* Notes thread tid runs vcpu_id vcpu.  Looks before writing: the vCPU
 * of a thread rarely changes. */
static __always_inline void learn(__u32 tid, __u32 vcpu)
{
	__u32 *cur = bpf_map_lookup_elem(&irq_vcpu, &tid);

	if (cur && *cur == vcpu)
		return;
	bpf_map_update_elem(&irq_vcpu, &tid, &vcpu, BPF_ANY);
}

static __always_inline void count(struct ks_irq_key *key)
{
	ks_gen_add(&irq_cur, key, &irq_stats, KS_IRS_DROP_NOMAP,
		   KS_IRS_DROP_FULL);
}

SEC("tp/kvm/kvm_inj_virq")
int ks_inj_virq(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct trace_event_raw_kvm_inj_virq *cur = ctx;
	struct trace_event_raw_kvm_inj_virq___old *old = ctx;
	struct ks_irq_key key = {};
	bool odd;

	if (targ_tgid && tgid != targ_tgid)
		return KS_TP_KEEP;
	wall_slot(&key);
	if (bpf_core_field_exists(cur->vector))
		key.vector = (__u8)BPF_CORE_READ(cur, vector);
	else
		key.vector = (__u8)BPF_CORE_READ(old, irq);
	if (ks_loaded_vcpu_id(task, &key.vcpu, &odd)) {
		learn(tid, key.vcpu);
	} else {
		key.vcpu = KS_VCPU_UNKNOWN;
		ks_stat_inc(&irq_stats, KS_IRS_NO_VCPU);
	}
	key.tgid = tgid;
	key.path = KS_IRQ_INJ;
	ks_comm_note(&irq_comm, task, tgid);
	count(&key);
	return KS_TP_KEEP;
}

SEC("tp/kvm/kvm_apic_accept_irq")
int ks_apic_accept(struct trace_event_raw_kvm_apic_accept_irq *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct ks_irq_key key = {};

	/* A kernel thread (irqfd kworker) belongs to no VM we can name. */
	if (BPF_CORE_READ(task, flags) & KS_PF_KTHREAD)
		tgid = 0;
	if (targ_tgid && tgid != targ_tgid)
		return KS_TP_KEEP;
	wall_slot(&key);
	key.tgid = tgid;
	key.vcpu = ctx->apicid;
	key.vector = ctx->vec;
	key.dm = (ctx->dm >> 8) & 7;
	key.path = KS_IRQ_APIC;
	ks_comm_note(&irq_comm, task, tgid);
	count(&key);
	return KS_TP_KEEP;
}

char LICENSE[] SEC("license") = "GPL";
