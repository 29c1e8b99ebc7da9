/* vmdevs.h - a VM's threads and NICs, from what /proc shows.
 *
 * Pure functions, so the joins are unit-tested without processes:
 * thread names to vCPU indexes ("CPU 3/KVM" is vCPU 3), and the tap and
 * macvtap descriptors a VMM holds to the NICs its command line declares.
 * The descriptors are the truth about which host interfaces a VM uses
 * (they are what carries its packets); the command line adds the guest
 * MAC, the model and QEMU's ids.
 */
#ifndef KS_VM_VMDEVS_H
#define KS_VM_VMDEVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/qemuargs.h"
#include "vm/vm.h"

/* The vCPU index a VMM thread's name gives: QEMU's "CPU n/KVM" and
 * "CPU n/TCG" (named with -name debug-threads=on), Firecracker's
 * "fc_vcpu n", cloud-hypervisor's "vcpuN", crosvm's "crosvm_vcpuN".
 * -1 for any other thread. */
int64_t ks_vmdevs_vcpu_of_comm(const char *comm);

/* One tap-like descriptor of the VMM. */
struct ks_vmdevs_tap {
	int fd;
	char ifname[IF_NAMESIZE];
	enum ks_vm_nic_kind kind;
};

/* Joins taps (the VMM's descriptors, any order; several fds of one
 * multiqueue interface count once) with cfg's NICs: a netdev passed as
 * fd= or fds= gets the interface of that fd, one with ifname= gets that
 * interface, and the remaining tap netdevs get the remaining interfaces
 * in fd order (QEMU opens them in command-line order).  Interfaces no
 * netdev claims are still NICs, without MAC.  When fds_known is false
 * (the VMM's fds could not be read), the NICs are the netdevs with an
 * ifname=.  *out is malloc'd; 0 or -ENOMEM. */
int ks_vmdevs_nics(const struct ks_qemu_cfg *cfg,
		   const struct ks_vmdevs_tap *taps, size_t ntaps,
		   bool fds_known, struct ks_vm_nic **out, size_t *nout);

/* Whether two NIC lists say the same (for the change counter). */
bool ks_vmdevs_nics_equal(const struct ks_vm_nic *a, size_t na,
			  const struct ks_vm_nic *b, size_t nb);

#endif /* KS_VM_VMDEVS_H */
