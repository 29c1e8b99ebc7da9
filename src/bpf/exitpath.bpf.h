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
 * Count-only mode (exit_count) was prototyped as ks_bench_count and
 * measured before it replaced pairing for `kvmscope stat`: per-thread
 * state in task storage rather than a tid hash; counts in a dense .bss
 * array [plane][slot][reason index] read by user space without a syscall;
 * a per-CPU hint of the last slot and its owner (thread, vCPU), so
 * the usual exit does not even look up its task storage (task storage
 * alone left it at 1.7x a bare counter, the hint brings it to 1.1x); the
 * second's plane from a BPF timer at each wall-second boundary, as a
 * clock read per exit (55 ns on the build host) made it 2x.  Events the
 * dense path cannot place (no slot free, a reason off the index) go to
 * the generation hash with their raw key, counted (KS_EXS_SLOW), never
 * lost.
 *
 * Latency mode (exit_begin, exit_end) was rebuilt the same way: where it
 * paired each exit in task storage and counted it in the hash (4.7-5.4x
 * the counter on the stand-in; 5.2x on kvm_exit, 8.3x on kvm_entry in
 * the lab), the thread's slot now also holds the pending exit and one
 * histogram row per reason (exits.h, ks_lat_slot), found through a
 * second per-CPU hint; what is left per hook is the clock read that the
 * latency needs (bench_probe_cost's "clock" line: a counter plus one
 * bpf_ktime_get_ns is 1.5-1.7x the counter on the build host, whose
 * kvm-clock read costs about as much as the counter).
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

#include "gen.bpf.h"
#include "loglin.h"
#include "latcut.h"
#include "exits.h"

#define KS_EXIT_MAX_KEYS 16384
#define KS_NSEC_PER_S 1000000000ULL
#define KS_CLOCK_MONOTONIC 1	/* uapi time.h, which BPF does not include */

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

/* Per-thread state, freed with the thread: one pointer chase from the
 * task instead of a hash lookup by tid (and no table to fill up). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ks_exit_thread);
} exit_task SEC(".maps");

/* Count mode's slots given back by user space; fresh ones come from
 * slot_next first. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, KS_XC_SLOTS);
	__type(value, __u32);
} slot_free SEC(".maps");

/* In .bss, which the skeleton maps into user space: the reader takes
 * counts and slot owners straight from memory. */
__u32 xcounts[2][KS_XC_SLOTS][KS_XC_NIDX];
struct ks_exit_slot slot_info[KS_XC_SLOTS];
__u64 slot_next = 0;
/* REALTIME - MONOTONIC, ns; written by the loader while running. */
volatile __u64 realtime_off_ns = 0;
/* 1 while exits are timed (kvm_entry attached); set by the loader, which
 * may flip it at run time: programs read it once per event. */
volatile __u8 lat_mode = 0;
/* 1 where kvm_exit has vcpu_id, so count-only mode can name the vCPU;
 * set by ks_plane_start, which the loader runs once. */
__u8 exit_vcpu_known = 0;

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
	ks_stat_inc(&exit_stats, idx);
}

/* Adds one to key in the current generation of the pair whose slot is
 * outer; full_stat counts a key that found no room.  Per-CPU values need
 * no atomics: tracepoint programs do not nest on a CPU. */
static __always_inline void gen_add(void *outer, void *key, __u32 full_stat)
{
	ks_gen_add(outer, key, &exit_stats, KS_EXS_DROP_NOMAP, full_stat);
}

/* The latency cuts (latcut.h), written by the loader while running: two
 * sets, so that it fills the idle one and then flips lat_cutv; a key names
 * the set its side was counted against. */
__u64 lat_cuts[2][KS_LATCUT_MAX];
__u32 nlat_cuts[2];
__u32 lat_cutv;

/* The side of the current cuts that lat (in bucket) lies on. */
static __always_inline void cut_side(struct ks_exit_key *key, __u64 lat)
{
	__u32 v = lat_cutv & 1;

	key->cutv = (__u8)v;
	if (nlat_cuts[v])
		key->side = (__u8)ks_latcut_side(lat_cuts[v], nlat_cuts[v],
						 ks_ll_lo(key->bucket), lat);
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
	key.sec = th->sec;
	key.tgid = tgid;
	key.vcpu = th->vcpu;
	key.reason = th->reason;
	key.isa = th->isa;
	key.kind = KS_EXK_EXIT;
	key.bucket = has_lat ? (__u16)ks_ll_index(lat) : KS_BUCKET_NONE;
	if (has_lat)
		cut_side(&key, lat);
	gen_add(&exit_cur, &key, KS_EXS_DROP_FULL);
}

static __always_inline bool wanted(__u32 tgid)
{
	return !targ_tgid || tgid == targ_tgid;
}


/* Bounds the loops over CPUs (plane_tick, hints_forget). */
#define KS_MAX_CPUS 8192

/* Each CPU's slot hint (struct ks_slot_hint, below). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_slot_hint);
} slot_last SEC(".maps");

/* ---- the plane of the second in progress ----
 * Reading the clock costs more than the rest of the count path (55 ns of
 * 136 on a cloud VM, bench_probe_cost), so the plane is not computed per
 * event: a BPF timer fires at every wall-clock second boundary and flips
 * cur_plane, and the count path only loads it.  An event is credited to
 * the second the timer last started, so the seconds are exact up to the
 * timer's lateness after the boundary (plane_late_max_ns, microseconds),
 * where every tracefs-style reader would be off by the read's lateness
 * (milliseconds).  Without the timer (plane_timed 0: a kernel that
 * refuses it) each event reads the clock instead. */
__u32 cur_plane = 0;
__u32 cur_sec = 0;	/* the second in progress, low 32 bits */
__u32 plane_timed = 0;
__u64 plane_flips = 0;
__u64 plane_late_max_ns = 0;

struct ks_plane_timer {
	struct bpf_timer t;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_plane_timer);
} plane_timer SEC(".maps");

/* Sets the plane of now and arms the timer for the next boundary. */
static int plane_tick(void *map, __u32 *key, struct ks_plane_timer *pt)
{

	__u64 wall = bpf_ktime_get_ns() + realtime_off_ns;
	__u64 into = wall % KS_NSEC_PER_S;

	cur_sec = (__u32)(wall / KS_NSEC_PER_S);
	cur_plane = cur_sec & 1;
	plane_flips += 1;
	/* The first start is not at a boundary: not lateness. */
	if (plane_timed && into < KS_NSEC_PER_S / 2 &&
	    into > plane_late_max_ns)
		plane_late_max_ns = into;
	bpf_timer_start(&pt->t, KS_NSEC_PER_S - into, 0);
	return 0;
}

/* Run once by the loader (BPF_PROG_RUN) after load. */
SEC("?syscall")
int ks_plane_start(void *ctx)
{
	__u32 zero = 0;
	struct ks_plane_timer *pt = bpf_map_lookup_elem(&plane_timer, &zero);
	struct trace_event_raw_kvm_exit *ev = NULL;

	/* A CO-RE relocation against kvm's BTF; nothing is dereferenced. */
	exit_vcpu_known = bpf_core_field_exists(ev->vcpu_id);
	if (!pt)
		return -1;
	if (bpf_timer_init(&pt->t, &plane_timer, KS_CLOCK_MONOTONIC) ||
	    bpf_timer_set_callback(&pt->t, plane_tick))
		return -1;
	plane_tick(&plane_timer, &zero, pt);
	plane_timed = 1;
	return 0;
}

/* Low bits of the wall-clock second of an event at monotonic time t (now,
 * give or take the handler): the timer's, when it runs, saves a
 * division per event. */
static __always_inline __u8 wall_sec(__u64 t)
{
	if (plane_timed)
		return (__u8)(cur_sec & KS_SEC_MASK);
	return (__u8)((t + realtime_off_ns) / KS_NSEC_PER_S) & KS_SEC_MASK;
}

/* Low bits of the wall-clock second now, reading the clock only when
 * the plane timer does not run. */
static __always_inline __u8 sec_now(void)
{
	if (plane_timed)
		return (__u8)(cur_sec & KS_SEC_MASK);
	return wall_sec(bpf_ktime_get_ns());
}

/* The plane of the event being counted. */
static __always_inline __u32 plane_now(void)
{
	if (plane_timed)
		return cur_plane;
	return (__u32)((bpf_ktime_get_ns() + realtime_off_ns) /
		       KS_NSEC_PER_S) & 1;
}

/* The current thread's state, created (vCPU unknown) on first sight. */
static __always_inline struct ks_exit_thread *thread_of(struct task_struct *t)
{
	struct ks_exit_thread *th;

	th = bpf_task_storage_get(&exit_task, t, 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!th)
		stat_inc(KS_EXS_THREAD_FULL);
	else if (!th->slot && !th->seen)
		ks_comm_note(&exit_comm, t, t->tgid);
	return th;
}

/* ---- count-only mode ---------------------------------------------------- */

/* Counts one event of the current thread in the hash, without latency:
 * the count path's fallback, so nothing is lost when it cannot place an
 * event. */
static __always_inline void count_slow(__u32 tgid, __u32 vcpu, __u32 reason,
				       __u8 isa, __u8 kind)
{
	struct ks_exit_key key = {};

	stat_inc(KS_EXS_SLOW);
	key.tgid = tgid;
	key.vcpu = vcpu;
	key.reason = reason;
	key.isa = isa;
	key.kind = kind;
	key.bucket = KS_BUCKET_NONE;
	key.sec = wall_sec(bpf_ktime_get_ns());
	gen_add(&exit_cur, &key, KS_EXS_DROP_FULL);
}

/* Gives the thread a slot: a recycled one, else a fresh one.  Once none
 * is free the thread is marked and stays on the hash path. */
static __always_inline __u32 slot_take(struct ks_exit_thread *th,
				       struct task_struct *t, __u32 vcpu,
				       __u8 isa)
{
	struct ks_exit_slot *si;
	__u32 slot;

	if (bpf_map_pop_elem(&slot_free, &slot)) {
		slot = (__u32)__sync_fetch_and_add(&slot_next, 1);
		if (slot >= KS_XC_SLOTS) {
			th->slot = KS_XC_NOSLOT;
			stat_inc(KS_EXS_NOSLOT);
			return KS_XC_SLOTS;
		}
	}
	if (slot >= KS_XC_SLOTS)
		return KS_XC_SLOTS;
	si = &slot_info[slot];
	si->tgid = t->tgid;
	si->tid = t->pid;
	si->vcpu = vcpu;
	si->isa = isa;
	si->dead_ns = 0;
	si->used = 1;
	th->slot = (__u16)(slot + 1);
	return slot;
}

/* The thread's slot for events of (vcpu, isa), or KS_XC_SLOTS. */
static __always_inline __u32 slot_of(struct ks_exit_thread *th,
				     struct task_struct *t, __u32 vcpu,
				     __u8 isa)
{
	__u32 slot = (__u32)th->slot - 1;

	if (th->slot == KS_XC_NOSLOT)
		return KS_XC_SLOTS;
	if (slot >= KS_XC_SLOTS)
		return slot_take(th, t, vcpu, isa);
	/* A slot counts one vCPU of one ISA (a thread does not change). */
	if (slot_info[slot].vcpu != vcpu || slot_info[slot].isa != isa)
		return KS_XC_SLOTS;
	return slot;
}

/* The slot this CPU counted in last, with its thread and vCPU: a vCPU
 * thread mostly exits again on the CPU it last exited on, and checking
 * this one per-CPU value costs less than finding the thread's storage, or
 * even than reading the slot's owner in slot_info (in L1 under TCG each
 * distinct page an event touches costs a software TLB fill).  Only the
 * owner writes its id into a hint, and its end (ks_thread_end) voids the
 * hints that name it on every CPU, so a hint that matches the current
 * thread names its live slot. */
static __always_inline struct ks_slot_hint *slot_last_of(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&slot_last, &zero);
}

/* Records slot as this CPU's hint for thread id; the id last, so that a
 * hint is never id with another thread's slot for longer than this. */
static __always_inline void hint_set(struct ks_slot_hint *h, __u64 id,
				     __u32 slot, __u32 vcpu, __u8 isa)
{
	h->id = 0;
	barrier();
	h->slot = slot;
	h->vcpu = vcpu;
	h->isa = isa;
	barrier();
	h->id = id;
}

/* bpf_loop callback: voids CPU cpu's hint if it names thread *id; stops
 * past the last CPU. */
static int hint_forget_cpu(__u32 cpu, void *id)
{
	struct ks_slot_hint *h;
	__u32 zero = 0;

	h = bpf_map_lookup_percpu_elem(&slot_last, &zero, cpu);
	if (!h)
		return 1;
	if (h->id == *(__u64 *)id)
		h->id = 0;
	if (h->lid == *(__u64 *)id)
		h->lid = 0;
	return 0;
}

/* Voids every CPU's hint that names thread id (it is ending): a loop
 * helper, as a verified loop over every possible CPU is too long. */
static __always_inline void hints_forget(__u64 id)
{
	bpf_loop(KS_MAX_CPUS, hint_forget_cpu, &id, 0);
}

/* Whether slot is the live slot of thread id (pid_tgid). */
static __always_inline bool slot_owned(__u32 slot, __u64 id)
{
	struct ks_exit_slot *si;

	if (slot >= KS_XC_SLOTS)
		return false;
	si = &slot_info[slot];
	return si->used && !si->dead_ns && si->tid == (__u32)id &&
	       si->tgid == id >> 32;
}

/* Adds one at dense index idx of slot, in the plane of this second. */
static __always_inline void slot_add(__u32 slot, __u32 idx)
{
	__u64 p = plane_now() & 1, i = slot, k = idx;

	/* Checked here, on the 64-bit registers used, for the verifier. */
	barrier_var(i);
	barrier_var(k);
	if (i < KS_XC_SLOTS && k < KS_XC_NIDX)
		xcounts[p][i][k] += 1;
}


/* ---- latency mode ------------------------------------------------------
 * Latency mode's hot path mirrors count mode's: the CPU's latency hint
 * (ks_slot_hint.lid) names the thread's slot, whose ks_lat_slot holds
 * the pending exit and the histograms, so neither kvm_exit nor kvm_entry
 * looks up task storage or updates a hash; each reads the clock once
 * (the latency), kvm_entry also finds the bucket and the reason's row.
 * A thread without a latency slot (its first exits, more than
 * KS_LH_SLOTS threads, old kernels whose kvm_exit lacks vcpu_id) keeps
 * its pending exit in task storage and counts in the hash, as before.
 * Invariant: a thread whose slot is a latency slot never has th->pending
 * set (it gets the slot at an entry or a count-mode exit, both of which
 * leave nothing pending in th), so each exit is pending in one place. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, KS_LH_SLOTS);
	__type(key, __u32);
	__type(value, struct ks_lat_slot);
} lat_slots SEC(".maps");

static __always_inline struct ks_lat_slot *lat_slot_of(__u32 slot)
{
	if (slot >= KS_LH_SLOTS)
		return NULL;
	return bpf_map_lookup_elem(&lat_slots, &slot);
}

/* The latency slot of th (its count slot, if below KS_LH_SLOTS and made
 * for vcpu), or NULL; *slot gets its number. */
static __always_inline struct ks_lat_slot *lat_slot_th(struct ks_exit_thread *th,
						       __u32 vcpu, __u32 *slot)
{
	__u32 s = (__u32)th->slot - 1;

	if (!th->slot || th->slot == KS_XC_NOSLOT || s >= KS_LH_SLOTS ||
	    slot_info[s].vcpu != vcpu || slot_info[s].isa != th->isa)
		return NULL;
	*slot = s;
	return lat_slot_of(s);
}

static __always_inline void lhint_set(struct ks_slot_hint *h, __u64 id,
				      __u32 slot, __u32 vcpu)
{
	h->lid = 0;
	barrier();
	h->lslot = slot;
	h->lvcpu = vcpu;
	barrier();
	h->lid = id;
}

/* The slot the CPU's latency hint names for thread id on vcpu, or NULL. */
static __always_inline struct ks_lat_slot *lhint_slot(struct ks_slot_hint *h,
						      __u64 id, __u32 vcpu)
{
	if (!h || h->lid != id || h->lvcpu != vcpu)
		return NULL;
	return lat_slot_of(h->lslot);
}

/* Both hooks' start: the current thread's id (pid_tgid), the CPU's hint
 * and the latency slot it names for the thread on vcpu (NULL if none);
 * false for a process not wanted. */
static __always_inline bool lat_hinted(__u32 vcpu, __u64 *id,
				       struct ks_slot_hint **h,
				       struct ks_lat_slot **ls)
{
	*id = bpf_get_current_pid_tgid();
	*h = slot_last_of();
	/* A hint names only a wanted thread: no need to ask. */
	*ls = lhint_slot(*h, *id, vcpu);
	return *ls || wanted(*id >> 32);
}

/* Counts ls's pending exit in the hash, with or without its latency. */
static __always_inline void pend_count_hash(__u32 tgid, struct ks_lat_slot *ls,
					    __u32 vcpu, __u64 lat, bool has_lat)
{
	struct ks_exit_thread tmp = {};

	tmp.vcpu = vcpu;
	tmp.reason = ls->pend.reason;
	tmp.isa = ls->pend.isa;
	tmp.sec = ls->pend.sec;
	count_exit(tgid, &tmp, lat, has_lat);
}

/* The row of dense reason idx in ls, taken at first sight; 0 if none
 * (rows full).  Only the slot's thread writes, the reader reads row_idx:
 * set before the row is used. */
static __always_inline __u32 lat_row(struct ks_lat_slot *ls, __u32 idx)
{
	__u64 k = idx;
	__u32 r;

	/* Checked on the 64-bit register used, for the verifier. */
	barrier_var(k);
	if (k >= KS_XC_IDX_EMUL)
		return 0;
	r = ls->row_of[k];
	if (r)
		return r;
	for (__u32 i = 0; i < KS_LH_ROWS; i++) {
		if (ls->row_idx[i])
			continue;
		ls->row_idx[i] = (__u16)(k + 1);
		barrier();
		ls->row_of[k] = (__u8)(i + 1);
		return i + 1;
	}
	return 0;
}

/* Counts ls's pending exit, of latency lat ending at monotonic time now,
 * in its histogram; false where it does not fit (the hash counts it). */
static __always_inline bool lat_add(struct ks_lat_slot *ls, __u64 lat,
				    __u64 now, struct ks_slot_hint *h)
{
	__u64 b = ks_ll_index(lat) - KS_LH_B0, r;
	__u32 v = lat_cutv & 1;
	__u8 sec = ls->pend.sec;

	if (b >= KS_LH_NB || sec != wall_sec(now))
		return false;
	/* A cut inside the bucket: the key must carry the exit's side. */
	if (nlat_cuts[v] && ks_latcut_side(lat_cuts[v], nlat_cuts[v],
					   ks_ll_lo((__u32)b + KS_LH_B0), lat))
		return false;
	/* The row's index, 0-based, made and checked in the register used
	 * (6.1's verifier rejects r - 1 folded into the access offset). */
	r = (__u64)lat_row(ls, ks_exit_reason_index(ls->pend.isa,
						     ls->pend.reason)) - 1;
	barrier_var(r);
	barrier_var(b);
	if (r >= KS_LH_ROWS || b >= KS_LH_NB)
		return false;
	ls->h[sec & 1][r][b] += 1;
	return true;
}

/* Closes ls's pending exit at an entry: its latency counted. */
static __always_inline void pend_end(__u32 tgid, struct ks_lat_slot *ls,
				     __u32 vcpu, struct ks_slot_hint *h)
{
	__u64 now, lat;

	if (!ls->pend.pending)
		return;
	ls->pend.pending = 0;
	now = bpf_ktime_get_ns();
	lat = now - ls->pend.ts;
	if (lat_filter && (lat < lat_lo || lat > lat_hi)) {
		stat_inc(KS_EXS_FILTERED);
		return;
	}
	if (!lat_add(ls, lat, now, h))
		pend_count_hash(tgid, ls, vcpu, lat, true);
}

/* Opens an exit in ls, counting first (without latency) one still
 * pending: its thread exited twice without an entry. */
static __always_inline void pend_begin(__u32 tgid, struct ks_lat_slot *ls,
				       __u32 vcpu, __u32 reason, __u8 isa,
				       struct ks_slot_hint *h)
{
	if (ls->pend.pending)
		pend_count_hash(tgid, ls, vcpu, 0, false);
	ls->pend.reason = reason;
	ls->pend.isa = isa;
	ls->pend.ts = bpf_ktime_get_ns();
	ls->pend.sec = wall_sec(ls->pend.ts);
	ls->pend.pending = 1;
}

/* Counts, without latency, the exit pending in count slot slot of vcpu,
 * if it is a latency slot: count mode's and the thread end's way out. */
static __always_inline void pend_flush(__u32 tgid, __u32 slot, __u32 vcpu)
{
	struct ks_lat_slot *ls = lat_slot_of(slot);

	if (ls && ls->pend.pending) {
		pend_count_hash(tgid, ls, vcpu, 0, false);
		ls->pend.pending = 0;
	}
}

/* kvm_exit's work, past the hint: the thread's storage, and its slot's
 * pending exit where it has a latency slot. */
static __always_inline void exit_begin_slow(__u64 id, struct ks_slot_hint *h,
					    __u32 vcpu, __u32 reason, __u8 isa)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tgid = id >> 32, slot;
	struct ks_exit_thread *th, tmp = {};
	struct ks_lat_slot *ls;

	th = thread_of(t);
	if (!th) {
		/* No room to pair it: count it now, without latency. */
		tmp.vcpu = vcpu;
		tmp.reason = reason;
		tmp.isa = isa;
		tmp.sec = sec_now();
		count_exit(tgid, &tmp, 0, false);
		return;
	}
	if (th->pending) {
		count_exit(tgid, th, 0, false);
		th->pending = 0;
	}
	if (vcpu != KS_VCPU_UNKNOWN) {
		th->vcpu = vcpu;
		th->seen = 1;
	}
	th->isa = isa;
	if (th->seen && (ls = lat_slot_th(th, th->vcpu, &slot))) {
		if (h)
			lhint_set(h, id, slot, th->vcpu);
		pend_begin(tgid, ls, th->vcpu, reason, isa, h);
		return;
	}
	th->reason = reason;
	th->ts = bpf_ktime_get_ns();
	th->sec = wall_sec(th->ts);
	th->pending = 1;
}

/* kvm_exit's work: the current thread leaves the guest for reason.  vcpu
 * is KVM's vcpu_id, or KS_VCPU_UNKNOWN when the event does not say (old
 * kernels): the thread's last entry names it then. */
static __always_inline void exit_begin(__u32 vcpu, __u32 reason, __u8 isa)
{
	struct ks_slot_hint *h;
	struct ks_lat_slot *ls;
	__u64 id;

	if (!lat_hinted(vcpu, &id, &h, &ls))
		return;
	if (ls)
		pend_begin(id >> 32, ls, vcpu, reason, isa, h);
	else
		exit_begin_slow(id, h, vcpu, reason, isa);
}

/* kvm_entry's work, past the hint. */
static __always_inline void exit_end_slow(__u64 id, struct ks_slot_hint *h,
					  __u32 vcpu)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tgid = id >> 32, slot;
	struct ks_exit_thread *th;
	struct ks_lat_slot *ls;

	th = thread_of(t);
	if (!th)
		return;
	if (th->pending) {
		/* The exit keeps the vCPU it was taken on. */
		if (!th->seen)
			th->vcpu = vcpu;
		count_exit(tgid, th, bpf_ktime_get_ns() - th->ts, true);
		th->pending = 0;
	}
	th->vcpu = vcpu;
	th->seen = 1;
	/* A slot names the thread's vCPU for the reader, and is ready for
	 * count mode and for the latency hint; it is made for the thread's
	 * ISA, so not before its first exit (an entry can come first, when
	 * the probe attaches while the thread handles an exit). */
	if (!th->slot && th->isa)
		slot_take(th, t, vcpu, th->isa);
	if ((ls = lat_slot_th(th, vcpu, &slot))) {
		if (h)
			lhint_set(h, id, slot, vcpu);
		pend_end(tgid, ls, vcpu, h);
	}
}

/* kvm_entry's work: the current thread enters vCPU vcpu; the exit it had
 * pending, if any, is counted with its handling time. */
static __always_inline void exit_end(__u32 vcpu)
{
	struct ks_slot_hint *h;
	struct ks_lat_slot *ls;
	__u64 id;

	if (!lat_hinted(vcpu, &id, &h, &ls))
		return;
	if (ls)
		pend_end(id >> 32, ls, vcpu, h);
	else
		exit_end_slow(id, h, vcpu);
}

/* kvm_exit's work in count-only mode: one exit of vcpu for reason, counted
 * in the thread's slot; no kvm_entry needed.  vcpu must be known (the
 * loader keeps latency mode on kernels whose kvm_exit lacks it). */
static __always_inline void exit_count(__u32 vcpu, __u32 reason, __u8 isa)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *t;
	struct ks_exit_thread *th;
	struct ks_slot_hint *last;
	__u32 slot, idx;

	/* A hint names only a wanted thread: no need to ask. */
	idx = ks_exit_reason_index(isa, reason);
	last = slot_last_of();
	if (last && last->id == id && last->vcpu == vcpu &&
	    last->isa == isa && idx < KS_XC_IDX_EMUL) {
		slot_add(last->slot, idx);
		return;
	}
	if (!wanted(id >> 32))
		return;
	t = bpf_get_current_task_btf();
	th = thread_of(t);
	if (!th) {
		count_slow(id >> 32, vcpu, reason, isa, KS_EXK_EXIT);
		return;
	}
	/* An exit of a latency period whose entry came after kvm_entry was
	 * detached: counted now, without latency, in its own second.  The
	 * loader voids every slot hint when it leaves latency mode, so a
	 * thread's first exit after that comes here (source/bpf_exits.c). */
	if (th->pending) {
		count_exit(id >> 32, th, 0, false);
		th->pending = 0;
	}
	th->vcpu = vcpu;
	th->seen = 1;
	slot = slot_of(th, t, vcpu, isa);
	pend_flush(id >> 32, slot, vcpu);
	if (slot < KS_XC_SLOTS && last)
		hint_set(last, id, slot, vcpu, isa);
	if (slot >= KS_XC_SLOTS || idx >= KS_XC_IDX_EMUL)
		count_slow(id >> 32, vcpu, reason, isa, KS_EXK_EXIT);
	else
		slot_add(slot, idx);
}

#endif /* __BPF__ */
#endif /* KS_BPF_EXITPATH_BPF_H */
