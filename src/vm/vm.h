/* vm.h - a virtual machine as discovery knows it.
 *
 * Identity first (DESIGN decision 4): a VM is its VMM process (pid, and
 * the process start time, which together never repeat), its name (QEMU's
 * -name, which is libvirt's domain name; else "comm-pid") and UUID; a vCPU
 * is QEMU's vCPU index with the host thread running it; a NIC is its host
 * interface with the guest MAC; a disk is QEMU's device id.  These structs
 * are read-only views owned by discovery, valid until its next scan.
 */
#ifndef KS_VM_VM_H
#define KS_VM_VM_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vm/qemuargs.h"

enum ks_vm_accel {
	KS_VM_ACCEL_UNKNOWN,
	KS_VM_ACCEL_KVM,	/* holds a KVM VM (anon_inode:kvm-vm) */
	KS_VM_ACCEL_TCG,	/* QEMU emulating in software */
};

struct ks_vm_vcpu {
	uint32_t index;		/* QEMU's cpu-index (debugfs: KVM vcpu_id) */
	pid_t tid;		/* host thread running it */
};

enum ks_vm_nic_kind {
	KS_VM_NIC_TAP,		/* tun/tap: host rx = guest sent */
	KS_VM_NIC_MACVTAP,	/* macvtap: host rx = guest received */
};

struct ks_vm_nic {
	char ifname[IF_NAMESIZE];	/* host interface */
	enum ks_vm_nic_kind kind;
	int fd;			/* the VMM's first fd on it; -1 if unseen */
	const char *mac;	/* guest MAC from the command line; NULL */
	const char *netdev;	/* QEMU netdev id; NULL */
	const char *model;	/* "virtio-net-pci"; NULL */
	const char *device;	/* QEMU device id; NULL */
};

struct ks_vm {
	pid_t pid;
	uint64_t start;		/* process start, clock ticks since boot */
	uint64_t serial;	/* unique per discovery: a new VM, a new one */
	char comm[16];
	const char *name;	/* never NULL */
	bool named;		/* name from the command line, not comm-pid */
	const char *uuid;	/* NULL if unknown */
	bool qemu;
	enum ks_vm_accel accel;
	const char *qmp;	/* QMP unix socket path; NULL */
	unsigned smp;		/* vCPUs the command line asks for; 0 */
	const struct ks_vm_vcpu *vcpus;	/* by index; threads found so far */
	size_t nvcpus;
	const struct ks_vm_nic *nics;
	size_t nnics;
	const struct ks_qemu_disk *disks;
	size_t ndisks;
};

static inline const char *ks_vm_accel_name(enum ks_vm_accel a)
{
	return a == KS_VM_ACCEL_KVM ? "kvm" :
	       a == KS_VM_ACCEL_TCG ? "tcg" : "unknown";
}

/* The vCPU index run by thread tid, or -1. */
static inline int64_t ks_vm_vcpu_of_tid(const struct ks_vm *vm, pid_t tid)
{
	for (size_t i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].tid == tid)
			return vm->vcpus[i].index;
	return -1;
}

#endif /* KS_VM_VM_H */
