/* vmident.h - names for the VMM processes and vCPUs BPF probes report.
 *
 * Probes key their counts by tgid only; records name a VM by pid, name and
 * UUID as every live source does (DESIGN decision 4, vm/vmrec.h): for a
 * process VM discovery knows, its name (QEMU's -name, else "comm-pid") and
 * UUID; for any other, the process's comm (/proc/PID/comm) and no UUID -
 * never a made-up one.  Names are cached per process and re-read at most
 * once per tick, since a process may rename itself, discovery may find it
 * late or a pid be reused; the last known name is kept once the process
 * is gone, so counts read after a VM exits are still named.
 *
 * Probes also know a vCPU only as KVM's vcpu_id, which QEMU makes the APIC
 * id; records name it by QEMU's vCPU index (DESIGN decision 4), which
 * differs when the topology leaves holes in the APIC ids.  VM discovery
 * (vm/discovery.h) knows which thread runs which index (QEMU's "CPU n/KVM"
 * thread names, else KVM's debugfs, whose vcpuN is the vcpu_id), and the
 * probe knows which vcpu_id each thread last entered: together they map
 * vcpu_id to index.  A vCPU neither knows (the VMM names no threads and
 * debugfs is not mounted, or the thread ended before discovery saw it) keeps
 * its vcpu_id.  The map of a VM is refreshed once per tick and remembered
 * after its threads end.
 */
#ifndef KS_SOURCE_VMIDENT_H
#define KS_SOURCE_VMIDENT_H

#include <stdbool.h>
#include <stdint.h>

#include "source/bpfrec.h"
#include "vm/discovery.h"

struct ks_vmident;

/* The vcpu_id the probe last saw thread tid enter, or -1 if none. */
typedef int64_t (*ks_vmident_tid_fn)(void *ctx, uint32_t tid);

/* procroot: "/proc" when NULL (tests pass a fake tree). */
struct ks_vmident *ks_vmident__new(const char *procroot);
void ks_vmident__free(struct ks_vmident *vi);

/* Starts a new tick: names are re-read on their next lookup. */
void ks_vmident__tick(struct ks_vmident *vi);

/* Fills *out for tgid; tgid 0 (a kernel thread) gives an empty ident.
 * 0, or -ENOMEM. */
int ks_vmident__get(struct ks_vmident *vi, uint32_t tgid,
		    struct ks_ident *out);

/* Names tgid name (n bytes) if /proc gave it no name: a process the
 * probes saw end before it could be read.  0, or -ENOMEM. */
int ks_vmident__fallback(struct ks_vmident *vi, uint32_t tgid,
			 const char *name, size_t n);

/* Names VMs and maps vcpu_ids through discovery d (not owned; NULL: comm
 * names, no mapping) and the probe's thread map tid_vcpu.  Each tick then asks d for a rescan if its
 * view is older than a second. */
void ks_vmident__set_discovery(struct ks_vmident *vi, struct ks_vmdisc *d,
			       ks_vmident_tid_fn tid_vcpu, void *ctx);

/* The vCPU index of vcpu_id in process tgid: QEMU's index where the map
 * knows it, else vcpu_id itself; *mapped (may be NULL) says which.
 * KS_VCPU_UNKNOWN stays unknown.  0, or -ENOMEM. */
int ks_vmident__vcpu(struct ks_vmident *vi, uint32_t tgid, uint32_t vcpu_id,
		     uint32_t *index, bool *mapped);

/* The name of tgid as last read, or NULL; valid until the next call. */
const char *ks_vmident__name(struct ks_vmident *vi, uint32_t tgid);

#endif /* KS_SOURCE_VMIDENT_H */
