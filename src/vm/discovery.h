/* discovery.h - which VMs run on this host, kept current.
 *
 * A VM is a process that holds a KVM VM (an "anon_inode:kvm-vm" fd: real
 * KVM, whatever the VMM) or a QEMU system emulator (qemu-system-*, also
 * under TCG, which needs no /dev/kvm).  For each, discovery reads the
 * command line once (name, UUID, disks, QMP socket, NIC declarations) and
 * on every scan what can change: the tap/macvtap descriptors (NICs), the
 * vCPU threads (by their names, else KVM debugfs), the accelerator.
 *
 * Scans read /proc: one stat read per process, plus per VM its fds and,
 * when threads are named, its threads.  Processes that are neither QEMU
 * nor KVM holders are remembered (pid + start time) and their fds are not
 * read again until /dev/kvm is opened by someone (inotify), so a scan of a
 * busy host costs about one small read per process.  A caller asks for a
 * scan with ks_vmdisc__update(): it rescans when the last scan is older
 * than it allows, or at once when a change signal (vmwatch.h) says a VM
 * may have started or ended.
 *
 * The VM views returned stay valid until the next scan; nothing is kept
 * across scans by pointer.  Sources that keep per-VM state key it by the
 * VM's serial, which is never reused.  Not thread-safe: one thread scans
 * and reads (the agent's tick thread).
 */
#ifndef KS_VM_DISCOVERY_H
#define KS_VM_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"
#include "vm/vm.h"

struct ks_vmdisc_opts {
	const char *procroot;	/* "/proc" */
	const char *devkvm;	/* "/dev/kvm"; "" when there is no KVM */
	const char *debugfs;	/* "/sys/kernel/debug" */
	bool no_watch;		/* no inotify / proc connector signals */
};

struct ks_vmdisc_stats {
	uint64_t scans;
	uint64_t procs;		/* processes looked at, last scan */
	uint64_t fd_scans;	/* processes whose fds were read, last scan */
	uint64_t last_cpu_ns;	/* CPU time of the last scan */
	uint64_t total_cpu_ns;
	uint64_t max_cpu_ns;
	uint64_t signals;	/* change signals that asked for a rescan */
	uint64_t added, removed;	/* VMs, since creation */
	uint64_t cut_cmdlines;	/* command lines too long to read whole */
	unsigned watch;		/* ks_vmwatch__active() */
};

struct ks_vmdisc;

/* The name of a VM whose VMM gives it none: "comm-pid" (comm is n bytes,
 * not terminated).  Discovery and the probes' identities both use it, so
 * a VM keeps one name whichever of them sees it first.  Returns buf. */
const char *ks_vm_default_name(char *buf, size_t size, const char *comm,
			       size_t n, pid_t pid);

void ks_vmdisc_opts_init(struct ks_vmdisc_opts *o);

/* Opens the procfs root and the change signals; does not scan yet.  NULL
 * with err filled if procroot cannot be opened or memory runs out. */
struct ks_vmdisc *ks_vmdisc__new(const struct ks_vmdisc_opts *o,
				 struct ks_err *err);
void ks_vmdisc__free(struct ks_vmdisc *d);

/* Rescans now.  0, or -ENOMEM (the previous view is then kept). */
int ks_vmdisc__scan(struct ks_vmdisc *d);

/* Rescans if a change signal came or the last scan is older than
 * max_age_ns (0: always).  1 if it rescanned, 0 if not, or -ENOMEM. */
int ks_vmdisc__update(struct ks_vmdisc *d, uint64_t max_age_ns);

/* A descriptor readable when a change signal is pending (for poll), or
 * -1; then call ks_vmdisc__update(). */
int ks_vmdisc__fd(const struct ks_vmdisc *d);

/* Changes whenever a VM comes or goes, or a VM's name, accelerator,
 * vCPU threads or NICs change. */
uint64_t ks_vmdisc__generation(const struct ks_vmdisc *d);

/* The VMs, ordered by pid. */
size_t ks_vmdisc__count(const struct ks_vmdisc *d);
const struct ks_vm *ks_vmdisc__at(const struct ks_vmdisc *d, size_t i);
const struct ks_vm *ks_vmdisc__find(const struct ks_vmdisc *d, pid_t pid);

const struct ks_vmdisc_stats *ks_vmdisc__stats(const struct ks_vmdisc *d);

/* One discovery per process, shared by the sources that need it (NIC and
 * disk sources read in the same tick; the second update within max_age
 * costs nothing).  Reference counted: each __shared() is matched by a
 * __put().  NULL with err filled on failure. */
struct ks_vmdisc *ks_vmdisc__shared(struct ks_err *err);
void ks_vmdisc__put(struct ks_vmdisc *d);

#endif /* KS_VM_DISCOVERY_H */
