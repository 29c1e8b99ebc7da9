/* exits.h - types shared by the exits probe (exits.bpf.c) and its loader.
 *
 * The exits probe counts VM exits in the kernel, keyed by everything the
 * vm.exits records need: the VMM process (tgid), the vCPU, the raw exit
 * reason with the `isa` that says which table names it, and the log-linear
 * bucket (loglin.h) of the exit's handling time.  The same key space also
 * carries the per-vCPU count of instructions emulated in the kernel
 * (kvmstat's "emul"), told apart by `kind`, so that one read of one map
 * gives a consistent tick.  Only fixed-width kernel uapi types are used:
 * this header is compiled into the BPF object and into user space.
 *
 * Count-only mode (no latency wanted) counts into a dense array instead
 * (exitpath.bpf.h): each vCPU thread gets a slot, the raw reason a dense
 * index (ks_exit_reason_index), and the event's wall-clock second picks
 * one of two planes, so user space reads the plane of a second that has
 * ended, exactly, without a syscall (source/xcount.h does the reading).
 */
#ifndef KS_BPF_EXITS_H
#define KS_BPF_EXITS_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#include "comm.h"
#include "keys.h"

/* An exit whose handling time is unknown: its thread ended, or exited
 * again, without the kvm_entry that closes it. */
#define KS_BUCKET_NONE 0xffffu

enum ks_exit_kind {
	KS_EXK_EXIT = 0,	/* one VM exit; reason/isa/bucket are set */
	KS_EXK_EMUL = 1,	/* an instruction emulated (kvm_emulate_insn) */
	KS_EXK__COUNT
};

struct ks_exit_key {
	__u32 tgid;		/* VMM process */
	__u32 vcpu;		/* KVM vcpu_id, or KS_VCPU_UNKNOWN */
	__u32 reason;		/* raw exit_reason as kvm_exit has it */
	__u16 bucket;		/* ks_ll_index(ns), or KS_BUCKET_NONE */
	__u8 isa;		/* 1 VMX, 2 SVM (kvm_exit's isa) */
	__u8 kind;		/* enum ks_exit_kind */
	/* Low bits (KS_SEC_MASK, source/sechold.h) of the wall-clock second
	 * the exit happened in, so a read sorts it into its own second. */
	__u8 sec;
	/* How many of the latency cuts (latcut.h) inside the exit's bucket
	 * lie at or below its latency, and which of the two cut sets
	 * (lat_cutv) they were: a record then gets a value on the same side
	 * of every cut as the exit's own latency. */
	__u8 side;
	__u8 cutv;
	__u8 pad;
};

/* Cumulative per-CPU counters in the probe's `exit_stats` array. */
enum ks_exit_stat {
	KS_EXS_DROP_FULL,	/* count lost: the generation map was full */
	KS_EXS_DROP_NOMAP,	/* count lost: no current generation (bug) */
	KS_EXS_THREAD_FULL,	/* thread state not stored: no latency */
	KS_EXS_FILTERED,	/* exits rejected by the latency filter */
	KS_EXS_UNPAIRED,	/* exits counted without latency */
	KS_EXS_UEXIT_FULL,	/* userspace exit or PIO lost: map full */
	KS_EXS_MMIO_FULL,	/* MMIO access lost: its capped map full */
	KS_EXS_SLOW,		/* count mode: counted in the hash instead
				 * (no slot free, reason off the index) */
	KS_EXS_NOSLOT,		/* count mode: a thread found no free slot */
	KS_EXS_NOREASON,	/* exit lost: the raw hook could not read
				 * its reason from the VMCB */
	KS_EXS__COUNT
};


/* Per-thread state (task storage): the thread's vCPU and count slot, and
 * in latency mode its exit between kvm_exit and the next kvm_entry.  Only
 * the thread itself touches it, so no locking is needed. */
struct ks_exit_thread {
	__u64 ts;		/* kvm_exit time, ns (CLOCK_MONOTONIC) */
	__u32 reason;
	__u32 vcpu;		/* valid when seen */
	__u16 slot;		/* count slot + 1; 0: none yet; KS_XC_NOSLOT */
	__u8 isa;
	__u8 pending;		/* an exit waits for its entry */
	__u8 seen;		/* vcpu is known */
	__u8 sec;		/* wall second & KS_SEC_MASK of the exit */
	__u8 pad[2];
};

/* ---- count-only mode ---------------------------------------------------- */

/* vCPU threads with a slot of their own; more go the hash path. */
#define KS_XC_SLOTS 512
/* Dense reason indexes: SVM codes < 0x100 (VMX basic reasons too) as they
 * are, SVM's 0x400..0x40f (NPF, AVIC, VMGEXIT) after them, then the
 * emulation count, then the exits to user space when they are counted by
 * reason alone (no subsecond row): KVM_EXIT_* reasons below
 * KS_XC_UEXIT_N, and a failed KVM_RUN (restart, error).  Padded to a
 * multiple of 8 for cache-line rows. */
#define KS_XC_SVM_HI 0x400u
#define KS_XC_SVM_HI_N 0x10u
#define KS_XC_IDX_EMUL 0x110u
#define KS_XC_IDX_UEXIT 0x118u
#define KS_XC_UEXIT_N 0x40u
#define KS_XC_IDX_URESTART (KS_XC_IDX_UEXIT + KS_XC_UEXIT_N)
#define KS_XC_IDX_UERROR (KS_XC_IDX_URESTART + 1)
#define KS_XC_NIDX 0x160u
/* ks_exit_thread.slot of a thread that found none free: not retried. */
#define KS_XC_NOSLOT 0xffffu

/* Who owns a slot.  Written by the probe when a thread takes the slot
 * (dead_ns by sched_process_exit), cleared by user space when it frees
 * the slot after the thread's last second was read. */
struct ks_exit_slot {
	__u64 dead_ns;		/* wall-clock ns the thread ended; 0: alive */
	__u32 tgid;
	__u32 tid;
	__u32 vcpu;
	__u8 isa;
	__u8 used;		/* taken by a thread */
	__u8 pad[2];
};

/* The slot a CPU counted in last, and for which thread and vCPU: the
 * count path checks its event against this alone, in one per-CPU value,
 * before anything else (exitpath.bpf.h).  id is the owner's pid_tgid, 0
 * when void; the owner's end voids it on every CPU. */
struct ks_slot_hint {
	__u64 id;
	__u32 slot;		/* < KS_XC_SLOTS when valid */
	__u32 vcpu;
	__u8 isa;
	__u8 pad[7];
	/* Latency mode's hint, apart so that count mode's argument across
	 * a mode flip (source/bpf_exits.c) is untouched: the thread lid's
	 * latency slot (< KS_LH_SLOTS) and vCPU; lid 0 when void. */
	__u64 lid;
	__u32 lslot;
	__u32 lvcpu;
};

/* ---- latency mode's dense histograms ------------------------------------ */

/* Threads whose count slot is below KS_LH_SLOTS also time their exits in
 * the slot's ks_lat_slot (the lat_slots map, mapped into user space):
 * the exit pending its entry, and per reason a log-linear histogram of
 * the exit->entry time, in the plane of the exit's wall second.  Up to
 * KS_LH_ROWS reasons per thread get a row, taken at first sight; buckets
 * KS_LH_B0 .. KS_LH_B0 + KS_LH_NB - 1 (128 ns to 8.4 ms) are dense.
 * Whatever does not fit (more threads or reasons, a time outside the
 * window, an exit whose entry came in a later second, a bucket a latency
 * cut falls in) goes to the generation hash, as before: exact either way. */
#define KS_LH_SLOTS 128
#define KS_LH_ROWS 8
#define KS_LH_B0 64		/* ks_ll_index(128) */
#define KS_LH_NB 256

/* The exit a thread with a latency slot has pending (only that thread
 * writes it). */
struct ks_lat_pend {
	__u64 ts;		/* kvm_exit time, ns (CLOCK_MONOTONIC) */
	__u32 reason;
	__u8 isa;
	__u8 sec;		/* wall second & KS_SEC_MASK of the exit */
	__u8 pending;
	__u8 pad;
};

struct ks_lat_slot {
	__u32 h[2][KS_LH_ROWS][KS_LH_NB];	/* [plane][row][bucket - B0] */
	/* Dense reason index + 1 of each row, 0 while free: the reader's
	 * map from rows to reasons; row_of is the probe's way back. */
	__u16 row_idx[KS_LH_ROWS];
	__u8 row_of[0x110];		/* KS_XC_IDX_EMUL: row + 1, or 0 */
	struct ks_lat_pend pend;
};

/* The dense index of an exit reason, or KS_XC_NIDX when it has none (it
 * is counted in the hash, by raw reason, instead). */
static inline __u32 ks_exit_reason_index(__u8 isa, __u32 reason)
{
	if (reason < 0x100)
		return reason;
	if (isa == 2 && reason - KS_XC_SVM_HI < KS_XC_SVM_HI_N)
		return 0x100 + (reason - KS_XC_SVM_HI);
	return KS_XC_NIDX;
}

/* The raw reason of a dense exit index (< KS_XC_IDX_EMUL). */
static inline __u32 ks_exit_index_reason(__u32 idx)
{
	return idx < 0x100 ? idx : KS_XC_SVM_HI + (idx - 0x100);
}

#endif /* KS_BPF_EXITS_H */
