/* uexits.h - types of the exits probe's userspace-exit half, shared with
 * its loader.
 *
 * Besides the exits it handles itself, KVM hands some to the VMM in user
 * space (KVM_RUN returns): the exits probe (exits.bpf.c) also counts
 * kvm:kvm_userspace_exit by exit reason and subsecond row, kvm:kvm_pio by
 * port, direction and access size, and kvm:kvm_mmio by guest physical
 * address, direction and size, all on the vCPU the thread last entered.
 * One key layout serves the three, told apart by `kind`; each key carries
 * the low bits of its event's wall second, as the exits keys do.  MMIO addresses
 * are as many as a guest cares to touch, so MMIO keys live in maps of
 * their own with a small cap (KS_MMIO_MAX_KEYS): a guest scanning its
 * address space fills those, and loses (counted) MMIO keys, never other
 * counts.  Fixed-width kernel uapi types only: compiled into BPF and user
 * space.
 */
#ifndef KS_BPF_UEXITS_H
#define KS_BPF_UEXITS_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/* Distinct keys per generation: exit reasons and ports, and addresses. */
#define KS_UEXIT_MAX_KEYS 8192
#define KS_MMIO_MAX_KEYS 4096

enum ks_uexit_kind {
	KS_UXK_UEXIT = 0,	/* kvm_userspace_exit: reason, err, row */
	KS_UXK_PIO = 1,		/* kvm_pio: addr = port, dir, size */
	KS_UXK_MMIO = 2,	/* kvm_mmio: addr = gpa, dir, size */
	KS_UXK__COUNT
};

/* KVM_EXIT_MMIO, the one reason kvmstat's mmiox counts (uapi kvm.h). */
#define KS_UEXIT_REASON_MMIO 6

/* A userspace exit's outcome: the run exited, or KVM_RUN failed. */
enum ks_uexit_err {
	KS_UXE_NONE = 0,	/* exited with `arg` = the KVM_EXIT_* reason */
	KS_UXE_RESTART = 1,	/* -EINTR: printed "restart" */
	KS_UXE_ERROR = 2,	/* another errno: printed "error" */
};

struct ks_uexit_key {
	__u64 addr;		/* port or gpa; 0 for KS_UXK_UEXIT */
	__u32 tgid;		/* VMM process */
	__u32 vcpu;		/* KVM vcpu_id, or KS_VCPU_UNKNOWN */
	__u32 arg;		/* UEXIT: exit reason (0 if err); else size */
	__u16 row;		/* UEXIT: subsecond row; else 0 */
	__u8 kind;		/* enum ks_uexit_kind */
	__u8 sub;		/* UEXIT: enum ks_uexit_err; PIO: 0 read,
				 * 1 write; MMIO: kvm_mmio's type, 0
				 * unsatisfied-read, 1 read, 2 write */
	/* Low bits (KS_SEC_MASK, exits.h) of the wall-clock second of the
	 * event, so a read sorts it into its own second. */
	__u8 sec;
	__u8 pad[7];		/* zero: hashed with the key */
};

#endif /* KS_BPF_UEXITS_H */
