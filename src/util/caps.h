/* caps.h - keeping only the capabilities the running agent needs.
 *
 * Loading BPF programs and attaching probes needs CAP_BPF and
 * CAP_PERFMON (and the agent usually starts as root, with everything);
 * running them does not.  Once the probes are attached and the socket
 * bound, the agent narrows its capabilities to the few its periodic work
 * still needs (ks_caps_agent_keep) with ks_caps_limit(): effective,
 * permitted and bounding sets cut to that set, the inheritable and
 * ambient sets emptied, and no_new_privs set, so nothing the agent could
 * be tricked into running gets more than it has.
 *
 * Capabilities belong to threads, not processes: the limit must be set
 * while the process has a single thread (before the HTTP server starts
 * its own), or the other threads would keep everything.
 * ks_caps_limit() refuses to run otherwise.
 *
 * Uses capget/capset and prctl directly (no libcap), with the kernel's
 * capability numbers from <linux/capability.h>.
 */
#ifndef KS_UTIL_CAPS_H
#define KS_UTIL_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define KS_CAP(c) (1ull << (c))

struct ks_caps {
	uint64_t effective, permitted, inheritable, bounding;
};

/* What the agent still needs after start, given what it runs:
 *  - proc: discovery of VMs in /proc (always, live): CAP_SYS_PTRACE to
 *    read /proc/PID/{fd,fdinfo,environ} of QEMUs run by other users
 *    (ptrace access checks), CAP_DAC_READ_SEARCH for their mode-0400/0500
 *    files and directories;
 *  - qmp: talking to QEMU monitors of VMs that start later: their
 *    sockets belong to the VM's user, and connect() needs write access,
 *    CAP_DAC_OVERRIDE;
 *  - bpf: BPF probes attached: kernels before 6.5 check CAP_BPF on every
 *    bpf() command, map reads and updates included, while unprivileged
 *    BPF is disabled (the default), so the per-tick drain needs it.
 * Replay alone needs none. */
uint64_t ks_caps_agent_keep(bool proc, bool qmp, bool bpf);

/* The calling thread's sets (bounding from prctl).  0 or -errno. */
int ks_caps_get(struct ks_caps *c);

/* Narrows the process (which must be single-threaded) to keep, which is
 * first intersected with what it has.  Bounding set entries are dropped
 * only when CAP_SETPCAP allows (otherwise they cannot be, and an
 * unprivileged process has nothing to drop anyway).  0, or a negative
 * errno with err (param "capabilities"). */
int ks_caps_limit(uint64_t keep, struct ks_err *err);

/* "cap_bpf,cap_sys_ptrace" (or "none") into buf. */
void ks_caps_names(uint64_t set, char *buf, size_t len);

#endif /* KS_UTIL_CAPS_H */
