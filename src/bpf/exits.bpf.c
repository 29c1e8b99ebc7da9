// SPDX-License-Identifier: GPL-2.0
/* exits.bpf.c - VM exits, their handling time and the exits to user space,
 * aggregated in the kernel.
 *
 * Two modes, told apart by lat_mode, which the loader sets and may flip
 * while running (source/bpf_exits.c says how no exit is lost or counted
 * twice across a flip).  Count-only (`kvmscope stat`, the agent while no
 * instrumentation wants latency): ks_exit counts the exit in the thread's
 * dense slot, in the plane of the wall second, and kvm_entry is not
 * hooked at all - 1.1x a bare per-CPU counter (bench/bench_probe_cost.c,
 * numbers in exitpath.bpf.h).  With latency (ks_exit + ks_entry): ks_exit
 * stores the exit as pending in the thread's latency slot (found through
 * a per-CPU hint, as count mode finds its slot), else in its task
 * storage; the next kvm:kvm_entry of the same thread closes it and counts
 * it once, in the slot's per-reason histogram or else in the hash
 * (exitpath.bpf.h).  An exit that is never closed (the vCPU thread ends,
 * as after a final HLT to user space, or exits twice without an entry)
 * is counted without a bucket, so every exit is counted exactly once.  kvm:kvm_emulate_insn
 * adds kvmstat's per-vCPU emulation count to the same map.
 *
 * The exits KVM hands to the VMM are counted here too (uexits.h), because
 * they happen on a vCPU thread between an exit and the next entry, and the
 * per-thread state above already knows the thread's vCPU: no program of
 * their own on kvm_entry.  kvm:kvm_userspace_exit is keyed by reason and
 * wall-clock subsecond row (the monotonic clock plus the REALTIME offset
 * the loader refreshes every tick, as irqs.bpf.c does), kvm:kvm_pio by
 * port, kvm:kvm_mmio by address in a map of its own with a small cap.
 *
 * kvm_exit, kvm_entry and kvm_userspace_exit have two hooks each, raw
 * (BTF-typed, on AMD) and perf (elsewhere); the loader loads one kind
 * (see exit_hook below).  Field access is CO-RE against the kernel's
 * types, so one object runs on 6.1 (kvm as a module, module BTF) to 6.18.
 * Old kernels whose kvm_exit record lacks vcpu_id take the vCPU from the
 * thread's last kvm_entry (perf hooks only: the raw hook reads it).  Drops (map full) are counted, never silent.
 *
 * The ks_bench_* and ks_test_* programs are not loaded by the probe ('?'
 * sections): the cost benchmark and a test load them alone, on syscall
 * tracepoints, to time both exit paths above against a bare per-CPU
 * counter and to fill the capped MMIO maps.  ks_plane_start (syscall
 * program, run once by the loader) starts the count planes' timer.
 */
#include "exitpath.bpf.h"
#include <bpf/bpf_tracing.h>

#include "svm.bpf.h"
#include "uexits.h"
#include "tpkeep.h"

#define KS_EINTR 4

/* Subsecond rows of userspace exits: 10 ms unless the loader says. */
const volatile __u64 row_ns = 10000000ULL;
/* 0: userspace exits keep no subsecond row, and need no clock read. */
const volatile __u8 uexit_rows = 1;
/* 1: only userspace exits for MMIO are counted (kvmstat's mmiox, all
 * that `kvmscope stat` shows of them): an I/O-heavy guest exits to user
 * space on most exits, and the rest would be counted for nobody. */
const volatile __u8 uexit_mmio_only = 0;

struct ks_uexit_gen {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KS_UEXIT_MAX_KEYS);
	__type(key, struct ks_uexit_key);
	__type(value, __u64);
} uexit_gen0 SEC(".maps"), uexit_gen1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ks_uexit_gen);
} uexit_cur SEC(".maps") = {
	.values = { [0] = &uexit_gen0 },
};

struct ks_mmio_gen {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KS_MMIO_MAX_KEYS);
	__type(key, struct ks_uexit_key);
	__type(value, __u64);
} mmio_gen0 SEC(".maps"), mmio_gen1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ks_mmio_gen);
} mmio_cur SEC(".maps") = {
	.values = { [0] = &mmio_gen0 },
};

/* kvm_exit's work, in both modes.  It reads lat_mode once, so that each
 * exit goes down exactly one path even while the loader flips the mode
 * (two programs each testing the flag could both count an exit the flip
 * falls between, or both stand aside).  Where the vCPU is not known
 * (kvm_exit without vcpu_id, old kernels) only pairing learns it:
 * latency always, and the loader keeps kvm_entry attached
 * (exit_vcpu_known). */
static __always_inline void exit_hook(__u32 vcpu, __u32 reason, __u8 isa,
				      bool vcpu_known)
{
	if (lat_mode || !vcpu_known)
		exit_begin(vcpu, reason, isa);
	else
		exit_count(vcpu, reason, isa);
}

/* The hooks come in two kinds, one loaded (source/bpf_exits.c picks):
 *
 * BTF-typed raw tracepoints (tp_btf), where kvm_amd's types are known:
 * the program gets the tracepoint's own arguments (the vCPU, the ISA),
 * before and instead of the perf path, which builds the event's record
 * in a per-CPU buffer (its TP_fast_assign: RIP, exit info, error code)
 * and then hands it to the perf event the program hangs on.  kvm_exit's
 * arguments carry no reason: the hook reads what the tracepoint would
 * print, the VMCB's exit code (svm_get_exit_info), and the vCPU's id.
 * The program's return value filters nothing here, so other tracers'
 * events are untouched.
 *
 * Perf tracepoints (tp), everywhere else (Intel, kernels without kvm's
 * BTF): the record's fields, by CO-RE; the return value keeps the event
 * for other tracers (tpkeep.h). */
SEC("?tp_btf/kvm_exit")
int BPF_PROG(ks_exit, struct kvm_vcpu *vcpu, __u32 isa)
{
	struct vmcb___ks *vmcb;
	__u32 reason;

	/* 6.12's verifier holds tracepoint arguments possibly NULL. */
	if (!vcpu) {
		stat_inc(KS_EXS_NOREASON);
		return 0;
	}
	vmcb = ks_svm_vmcb(vcpu);
	if (!vmcb ||
	    bpf_core_read(&reason, sizeof(reason), &vmcb->control.exit_code)) {
		stat_inc(KS_EXS_NOREASON);
		return 0;
	}
	exit_hook(vcpu->vcpu_id, reason, (__u8)isa, true);
	return 0;
}

SEC("?tp/kvm/kvm_exit")
int ks_exit_tp(struct trace_event_raw_kvm_exit *ctx)
{
	bool known = bpf_core_field_exists(ctx->vcpu_id);

	exit_hook(known ? ctx->vcpu_id : KS_VCPU_UNKNOWN, ctx->exit_reason,
		  (__u8)ctx->isa, known);
	return KS_TP_KEEP;
}

/* 6.12 added an argument after the vCPU; only the vCPU is read. */
SEC("?tp_btf/kvm_entry")
int BPF_PROG(ks_entry, struct kvm_vcpu *vcpu)
{
	if (vcpu)
		exit_end(vcpu->vcpu_id);
	return 0;
}

SEC("?tp/kvm/kvm_entry")
int ks_entry_tp(struct trace_event_raw_kvm_entry *ctx)
{
	exit_end(ctx->vcpu_id);
	return KS_TP_KEEP;
}

/* Counts an event of the current thread at dense index idx of its slot:
 * the CPU's slot hint, checked against its owner, usually names it (the
 * exit that led here was just counted, or made pending, on this CPU),
 * else the thread's storage does.  False when the thread has no slot yet
 * (its first exits): the hash counts those.  Emulations and userspace
 * exits (without subsecond rows) are counted so: between an exit and the
 * next entry, on the exit's thread. */
static __always_inline bool dense_count(__u32 idx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *t;
	struct ks_slot_hint *last;
	struct ks_exit_thread *th;
	__u32 slot;

	if (idx >= KS_XC_NIDX)
		return false;
	/* A hint names only a wanted thread. */
	last = slot_last_of();
	if (last && last->id == id) {
		slot_add(last->slot, idx);
		return true;
	}
	/* In latency mode the latency hint names the same slot. */
	if (last && last->lid == id) {
		slot_add(last->lslot, idx);
		return true;
	}
	if (!wanted(id >> 32))
		return false;
	t = bpf_get_current_task_btf();
	th = bpf_task_storage_get(&exit_task, t, 0, 0);
	if (!th || !th->seen)
		return false;
	slot = (__u32)th->slot - 1;
	if (th->slot == KS_XC_NOSLOT || slot >= KS_XC_SLOTS ||
	    !slot_owned(slot, id))
		return false;
	slot_add(slot, idx);
	return true;
}

/* The start and the failure of an emulation fire the same event; count
 * only starts, as KVM's insn_emulation statistic does. */
SEC("tp/kvm/kvm_emulate_insn")
int ks_emul(struct trace_event_raw_kvm_emulate_insn *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct ks_exit_key key = {};
	struct ks_exit_thread *th;
	__u32 slot;

	if (ctx->failed || dense_count(KS_XC_IDX_EMUL))
		return KS_TP_KEEP;
	if (!wanted(t->tgid))
		return KS_TP_KEEP;
	th = bpf_task_storage_get(&exit_task, t, 0, 0);
	if (th && th->seen && !lat_mode) {
		slot = slot_of(th, t, th->vcpu, th->isa ? th->isa : 1);
		if (slot < KS_XC_SLOTS) {
			slot_add(slot, KS_XC_IDX_EMUL);
			return KS_TP_KEEP;
		}
	}
	key.kind = KS_EXK_EMUL;
	key.bucket = KS_BUCKET_NONE;
	key.tgid = t->tgid;
	key.vcpu = th && th->seen ? th->vcpu : KS_VCPU_UNKNOWN;
	key.sec = wall_sec(bpf_ktime_get_ns());
	gen_add(&exit_cur, &key, KS_EXS_DROP_FULL);
	return KS_TP_KEEP;
}

/* A vCPU thread that ends inside an exit never enters again: count that
 * exit now, and free the thread's state. */
SEC("tp/sched/sched_process_exit")
int ks_thread_end(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct ks_exit_thread *th;
	__u32 slot;

	th = bpf_task_storage_get(&exit_task, t, 0, 0);
	if (!th)
		return KS_TP_KEEP;
	hints_forget(bpf_get_current_pid_tgid());
	if (th->pending)
		count_exit(t->tgid, th, 0, false);
	th->pending = 0;
	/* User space frees the slot once this second has been read. */
	slot = (__u32)th->slot - 1;
	pend_flush(t->tgid, slot, th->vcpu);
	if (slot < KS_XC_SLOTS)
		slot_info[slot].dead_ns = bpf_ktime_get_ns() + realtime_off_ns;
	return KS_TP_KEEP;
}

/* ---- exits to user space -------------------------------------------- */

/* A userspace-exit key for the current thread, or false if unwanted. */
static __always_inline bool uexit_key(struct ks_uexit_key *key, __u8 kind)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct ks_exit_thread *th;

	key->tgid = t->tgid;
	if (!wanted(key->tgid))
		return false;
	th = bpf_task_storage_get(&exit_task, t, 0, 0);
	key->vcpu = th && th->seen ? th->vcpu : KS_VCPU_UNKNOWN;
	key->kind = kind;
	key->sec = sec_now();
	return true;
}

/* The subsecond row and the second of now, from one clock read: the row
 * needs the clock anyway, and taking the second from the same read keeps
 * row and second one instant (the plane timer's second can lag the
 * boundary by its lateness, which would put row 0 in the ended second). */
static __always_inline void subsecond_row(struct ks_uexit_key *key)
{
	ks_wall_slot(bpf_ktime_get_ns() + realtime_off_ns, row_ns, &key->row,
		     &key->sec);
}

/* The dense index of a userspace exit counted by reason alone, or
 * KS_XC_NIDX (a reason off the index: the hash counts it). */
static __always_inline __u32 uexit_index(int err, __u32 reason)
{
	if (err < 0)
		return err == -KS_EINTR ? KS_XC_IDX_URESTART : KS_XC_IDX_UERROR;
	return reason < KS_XC_UEXIT_N ? KS_XC_IDX_UEXIT + reason : KS_XC_NIDX;
}

static __always_inline void uexit_hook(__u32 reason, int err)
{
	struct ks_uexit_key key = {};

	if (uexit_mmio_only && (err < 0 || reason != KS_UEXIT_REASON_MMIO))
		return;
	if (!uexit_rows && dense_count(uexit_index(err, reason)))
		return;
	if (!uexit_key(&key, KS_UXK_UEXIT))
		return;
	/* As the tracepoint prints it: a failed KVM_RUN has no reason. */
	if (err < 0)
		key.sub = err == -KS_EINTR ? KS_UXE_RESTART : KS_UXE_ERROR;
	else
		key.arg = reason;
	if (uexit_rows)
		subsecond_row(&key);
	gen_add(&uexit_cur, &key, KS_EXS_UEXIT_FULL);
}

SEC("?tp_btf/kvm_userspace_exit")
int BPF_PROG(ks_uexit, __u32 reason, int err)
{
	uexit_hook(reason, err);
	return 0;
}

SEC("?tp/kvm/kvm_userspace_exit")
int ks_uexit_tp(struct trace_event_raw_kvm_userspace_exit *ctx)
{
	uexit_hook(ctx->reason, ctx->errno);
	return KS_TP_KEEP;
}

SEC("tp/kvm/kvm_pio")
int ks_pio(struct trace_event_raw_kvm_pio *ctx)
{
	struct ks_uexit_key key = {};

	if (!uexit_key(&key, KS_UXK_PIO))
		return KS_TP_KEEP;
	key.addr = ctx->port;
	key.sub = ctx->rw ? 1 : 0;
	key.arg = ctx->size;
	gen_add(&uexit_cur, &key, KS_EXS_UEXIT_FULL);
	return KS_TP_KEEP;
}

SEC("tp/kvm/kvm_mmio")
int ks_mmio(struct trace_event_raw_kvm_mmio *ctx)
{
	struct ks_uexit_key key = {};

	if (!uexit_key(&key, KS_UXK_MMIO))
		return KS_TP_KEEP;
	key.addr = ctx->gpa;
	key.sub = (__u8)ctx->type;
	key.arg = ctx->len;
	gen_add(&mmio_cur, &key, KS_EXS_MMIO_FULL);
	return KS_TP_KEEP;
}

/* ---- cost benchmark (not loaded by the probe) ------------------------- */

/* Only the benchmark's own process drives the bench programs. */
const volatile __u32 bench_tgid = 0;

/* The baseline: the least a tracepoint program can count. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_base SEC(".maps");

static __always_inline bool bench_mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == bench_tgid;
}

/* getppid() entry and return stand for a VM exit and the next entry:
 * an io exit (SVM 0x7b) of vCPU 0. */
SEC("?tp/syscalls/sys_enter_getppid")
int ks_bench_exit(void *ctx)
{
	if (bench_mine())
		exit_begin(0, 0x7b, 2);
	return KS_TP_KEEP;
}

SEC("?tp/syscalls/sys_exit_getppid")
int ks_bench_entry(void *ctx)
{
	if (bench_mine())
		exit_end(0);
	return KS_TP_KEEP;
}

/* getppid() entry as a VM exit in count-only mode: no entry hook. */
SEC("?tp/syscalls/sys_enter_getppid")
int ks_bench_count(void *ctx)
{
	if (bench_mine())
		exit_count(0, 0x7b, 2);
	return KS_TP_KEEP;
}

static __always_inline void bench_bump(void)
{
	__u32 zero = 0;
	__u64 *v;

	if (!bench_mine())
		return;
	v = bpf_map_lookup_elem(&bench_base, &zero);
	if (v)
		*v += 1;
}

SEC("?tp/syscalls/sys_enter_getppid")
int ks_bench_base(void *ctx)
{
	bench_bump();
	return KS_TP_KEEP;
}

/* The counter plus one clock read, kept: the least a hook that times
 * events can cost (the latency mode's floor per hook). */
SEC("?tp/syscalls/sys_enter_getppid")
int ks_bench_clock(void *ctx)
{
	__u32 zero = 0;
	__u64 *v;

	if (!bench_mine())
		return KS_TP_KEEP;
	v = bpf_map_lookup_elem(&bench_base, &zero);
	if (v)
		*v += 1 + (bpf_ktime_get_ns() >> 63);	/* 0: uptime < 292 years */
	return KS_TP_KEEP;
}

/* The same bump on the return too: a baseline on the probe's two hooks. */
SEC("?tp/syscalls/sys_exit_getppid")
int ks_bench_base_ret(void *ctx)
{
	bench_bump();
	return KS_TP_KEEP;
}

/* The lab's baseline (bench_probe_cost --kvm): a bare per-CPU counter on
 * each tracepoint the probe runs on per exit, for every process, attached
 * next to the probe so that both are timed on the same events. */
enum { KS_BASE_EXIT, KS_BASE_ENTRY, KS_BASE_UEXIT, KS_BASE_PIO, KS_BASE__N };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KS_BASE__N);
	__type(key, __u32);
	__type(value, __u64);
} base_kvm SEC(".maps");

static __always_inline void base_bump(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&base_kvm, &idx);

	if (v)
		*v += 1;
}

SEC("?tp/kvm/kvm_exit")
int ks_base_exit(void *ctx)
{
	base_bump(KS_BASE_EXIT);
	return KS_TP_KEEP;
}

SEC("?tp/kvm/kvm_entry")
int ks_base_entry(void *ctx)
{
	base_bump(KS_BASE_ENTRY);
	return KS_TP_KEEP;
}

SEC("?tp/kvm/kvm_userspace_exit")
int ks_base_uexit(void *ctx)
{
	base_bump(KS_BASE_UEXIT);
	return KS_TP_KEEP;
}

SEC("?tp/kvm/kvm_pio")
int ks_base_pio(void *ctx)
{
	base_bump(KS_BASE_PIO);
	return KS_TP_KEEP;
}

/* One new MMIO address per getppid(), through ks_mmio's counting path:
 * tests/unit/test_probe_caps.c fills the capped MMIO maps with it. */
__u64 test_seq = 0;

SEC("?tp/syscalls/sys_enter_getppid")
int ks_test_mmio_cap(void *ctx)
{
	struct ks_uexit_key key = {};

	if (!bench_mine() || !uexit_key(&key, KS_UXK_MMIO))
		return KS_TP_KEEP;
	key.addr = __sync_fetch_and_add(&test_seq, 1);
	key.sub = 2;
	key.arg = 4;
	gen_add(&mmio_cur, &key, KS_EXS_MMIO_FULL);
	return KS_TP_KEEP;
}

char LICENSE[] SEC("license") = "GPL";
