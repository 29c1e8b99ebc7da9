/* vmwatch.h - cheap signals that the set of VMs may have changed.
 *
 * Discovery rescans /proc once a second in any case; these signals let it
 * notice a VM starting or ending sooner, and let it skip work between
 * signals.  There is no KVM uevent on this kind of host, so two kernel
 * facilities stand in:
 *
 *  - inotify on /dev/kvm: IN_OPEN when any process opens it (a KVM VMM
 *    starting, or a tool probing), IN_CLOSE_* when a holder closes it or
 *    exits.  Cheap: events only on /dev/kvm.
 *  - the proc connector (NETLINK_CONNECTOR, CN_IDX_PROC, needs
 *    CAP_NET_ADMIN): an event per exec and per exit of every process on
 *    the host.  Discovery filters them (an exit of a known VM, an exec of a
 *    QEMU binary), so an ended VM is seen at once, not at the next scan.
 *    On a host forking thousands of processes a second this costs a
 *    wake-up per batch of events; it can be turned off.
 *
 * Either may be unavailable (no /dev/kvm, no privilege); the watch then
 * simply reports less, and the periodic rescan still finds everything.
 */
#ifndef KS_VM_VMWATCH_H
#define KS_VM_VMWATCH_H

#include <stdbool.h>
#include <sys/types.h>

struct ks_vmwatch;

enum ks_vmwatch_event {
	KS_VMW_KVM_OPEN,	/* /dev/kvm was opened (pid unknown: 0) */
	KS_VMW_KVM_CLOSE,	/* /dev/kvm was closed (pid unknown: 0) */
	KS_VMW_EXEC,		/* process pid exec'd */
	KS_VMW_EXIT,		/* process pid exited */
	KS_VMW_OVERRUN,		/* events were lost: rescan everything */
};

/* devkvm: NULL for "/dev/kvm", "" for none; proc_connector: listen for
 * exec/exit.  Never NULL for lack of either (see ks_vmwatch__active);
 * NULL only on ENOMEM. */
struct ks_vmwatch *ks_vmwatch__new(const char *devkvm, bool proc_connector);
void ks_vmwatch__free(struct ks_vmwatch *w);

/* A descriptor that becomes readable when events are pending (epoll of
 * the two), or -1 when neither signal is available. */
int ks_vmwatch__fd(const struct ks_vmwatch *w);

/* Which signals are on: bit 0 inotify, bit 1 proc connector. */
unsigned ks_vmwatch__active(const struct ks_vmwatch *w);

/* Reads every pending event without blocking and calls fn for each. */
int ks_vmwatch__drain(struct ks_vmwatch *w,
		      void (*fn)(void *ctx, enum ks_vmwatch_event ev,
				 pid_t pid),
		      void *ctx);

#endif /* KS_VM_VMWATCH_H */
