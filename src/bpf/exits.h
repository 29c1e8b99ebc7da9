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
 */
#ifndef KS_BPF_EXITS_H
#define KS_BPF_EXITS_H

#ifndef __BPF__
#include <linux/types.h>
#endif

#include "comm.h"

/* A vCPU the probe has not seen yet (an old kernel's kvm_exit without
 * vcpu_id, before the thread's first kvm_entry). */
#define KS_VCPU_UNKNOWN 0xffffffffu
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
	KS_EXS__COUNT
};

/* Per-thread state between an exit and the next entry.  Only the thread
 * itself touches its entry, so no locking is needed. */
struct ks_exit_thread {
	__u64 ts;		/* kvm_exit time, ns (CLOCK_MONOTONIC) */
	__u32 reason;
	__u32 vcpu;
	__u8 isa;
	__u8 pending;		/* an exit waits for its entry */
	__u8 pad[6];
};

#endif /* KS_BPF_EXITS_H */
