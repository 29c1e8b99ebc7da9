/* exitpath.bpf.h - the exits probe's per-exit work, as inline functions.
 *
 * Everything kvm:kvm_exit and kvm:kvm_entry do for one VM exit lives here,
 * with the maps it touches, so that the probe's tracepoint programs and
 * the cost benchmark's programs (bench/bench_probe_cost.c drives them from
 * a syscall tracepoint, since KVM events need a guest) run the very same
 * code: exit_begin() stores the exit in per-thread state, exit_end()
 * closes it at the next entry and counts it once, keyed by (tgid, vCPU,
 * reason, isa, log-linear bucket of the exit->entry time).
 *
 * Counting goes into one of two per-CPU hash maps, the "generations"; the
 * current one is the single slot of an array-of-maps.  The reader swaps
 * the slot to the other map: the kernel waits for an RCU grace period on
 * that update (maybe_wait_bpf_programs in kernel/bpf/syscall.c), so when
 * it returns no program can still be writing the old map, which the reader
 * then reads and clears at leisure.  No count falls between read and
 * clear.  gen_add() is that step for any generation pair of the probe.
 *
 * Only the BPF target sees the body: `make headers` compiles every header
 * in src/ for user space, where this one is empty.
 */
#ifndef KS_BPF_EXITPATH_BPF_H
#define KS_BPF_EXITPATH_BPF_H
#ifdef __BPF__

#include "vmlinux/x86/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "loglin.h"
#include "exits.h"

#define KS_EXIT_MAX_KEYS 16384
#define KS_EXIT_MAX_THREADS 16384

/* Set by the loader before load; the verifier prunes what they disable. */
const volatile __u32 targ_tgid = 0;	/* 0: every process */
/* With lat_filter, count only exits with lat_lo <= latency <= lat_hi. */
const volatile __u8 lat_filter = 0;
const volatile __u64 lat_lo = 0;
const volatile __u64 lat_hi = ~0ULL;

struct ks_exit_gen {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KS_EXIT_MAX_KEYS);
	__type(key, struct ks_exit_key);
	__type(value, __u64);
} exit_gen0 SEC(".maps"), exit_gen1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ks_exit_gen);
} exit_cur SEC(".maps") = {
	.values = { [0] = &exit_gen0 },
};

/* A plain hash, not an LRU one: evicting a thread with a pending exit
 * would lose that exit.  Entries go when their thread ends. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KS_EXIT_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct ks_exit_thread);
} exit_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KS_COMM_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct ks_comm);
} exit_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KS_EXS__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} exit_stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&exit_stats, &idx);

	if (v)
		*v += 1;
}

/* Adds one to key in the current generation of the pair whose slot is
 * outer; full_stat counts a key that found no room.  Per-CPU values need
 * no atomics: tracepoint programs do not nest on a CPU. */
static __always_inline void gen_add(void *outer, void *key, __u32 full_stat)
{
	__u32 zero = 0;
	__u64 one = 1, *v;
	void *gen;

	gen = bpf_map_lookup_elem(outer, &zero);
	if (!gen) {
		stat_inc(KS_EXS_DROP_NOMAP);
		return;
	}
	v = bpf_map_lookup_elem(gen, key);
	if (v) {
		*v += 1;
		return;
	}
	if (!bpf_map_update_elem(gen, key, &one, BPF_NOEXIST))
		return;
	/* Another CPU may have created the key meanwhile. */
	v = bpf_map_lookup_elem(gen, key);
	if (v)
		*v += 1;
	else
		stat_inc(full_stat);
}

/* Counts the exit held in th, with its latency when known. */
static __always_inline void count_exit(__u32 tgid, struct ks_exit_thread *th,
				       __u64 lat, bool has_lat)
{
	struct ks_exit_key key = {};

	if (lat_filter) {
		if (!has_lat || lat < lat_lo || lat > lat_hi) {
			stat_inc(KS_EXS_FILTERED);
			return;
		}
	}
	if (!has_lat)
		stat_inc(KS_EXS_UNPAIRED);
	key.tgid = tgid;
	key.vcpu = th->vcpu;
	key.reason = th->reason;
	key.isa = th->isa;
	key.kind = KS_EXK_EXIT;
	key.bucket = has_lat ? (__u16)ks_ll_index(lat) : KS_BUCKET_NONE;
	gen_add(&exit_cur, &key, KS_EXS_DROP_FULL);
}

static __always_inline bool wanted(__u32 tgid)
{
	return !targ_tgid || tgid == targ_tgid;
}

/* Notes the process name, for processes gone before the next read. */
static __always_inline void remember_comm(__u32 tgid)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct ks_comm c = {};

	BPF_CORE_READ_STR_INTO(&c.name, task, group_leader, comm);
	bpf_map_update_elem(&exit_comm, &tgid, &c, BPF_ANY);
}

/* The thread's state, created (vCPU unknown) on first sight. */
static __always_inline struct ks_exit_thread *thread_of(__u32 tgid,
							__u32 tid)
{
	struct ks_exit_thread *th, fresh;

	th = bpf_map_lookup_elem(&exit_threads, &tid);
	if (th)
		return th;
	/* Built by stores, not an initialiser, so that clang keeps it off
	 * .rodata.cst* sections. */
	__builtin_memset(&fresh, 0, sizeof(fresh));
	fresh.vcpu = KS_VCPU_UNKNOWN;
	bpf_map_update_elem(&exit_threads, &tid, &fresh, BPF_NOEXIST);
	remember_comm(tgid);
	th = bpf_map_lookup_elem(&exit_threads, &tid);
	if (!th)
		stat_inc(KS_EXS_THREAD_FULL);
	return th;
}

/* kvm_exit's work: the current thread leaves the guest for reason.  vcpu
 * is KVM's vcpu_id, or KS_VCPU_UNKNOWN when the event does not say (old
 * kernels): the thread's last entry names it then. */
static __always_inline void exit_begin(__u32 vcpu, __u32 reason, __u8 isa)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct ks_exit_thread *th, tmp = {};

	if (!wanted(tgid))
		return;
	th = thread_of(tgid, tid);
	if (!th) {
		/* No room to pair it: count it now, without latency. */
		tmp.vcpu = vcpu;
		tmp.reason = reason;
		tmp.isa = isa;
		count_exit(tgid, &tmp, 0, false);
		return;
	}
	if (th->pending)
		count_exit(tgid, th, 0, false);
	if (vcpu != KS_VCPU_UNKNOWN)
		th->vcpu = vcpu;
	th->reason = reason;
	th->isa = isa;
	th->ts = bpf_ktime_get_ns();
	th->pending = 1;
}

/* kvm_entry's work: the current thread enters vCPU vcpu; the exit it had
 * pending, if any, is counted with its handling time. */
static __always_inline void exit_end(__u32 vcpu)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct ks_exit_thread *th;

	if (!wanted(tgid))
		return;
	th = thread_of(tgid, tid);
	if (!th)
		return;
	if (th->pending) {
		/* The exit keeps the vCPU it was taken on. */
		if (th->vcpu == KS_VCPU_UNKNOWN)
			th->vcpu = vcpu;
		count_exit(tgid, th, bpf_ktime_get_ns() - th->ts, true);
		th->pending = 0;
	}
	th->vcpu = vcpu;
}

#endif /* __BPF__ */
#endif /* KS_BPF_EXITPATH_BPF_H */
