/* vmident.h - names for the VMM processes BPF probes report by tgid.
 *
 * Probes key their counts by tgid only; records name a VM by pid and name.
 * Until VM discovery supplies libvirt names and UUIDs, the name is the
 * process's comm (/proc/PID/comm).  Names are cached per process and
 * re-read at most once per tick, since a process may rename itself or a
 * pid be reused; the last known name is kept once the process is gone, so
 * counts read after a VM exits are still named.
 */
#ifndef KS_SOURCE_VMIDENT_H
#define KS_SOURCE_VMIDENT_H

#include <stdint.h>

#include "source/bpfrec.h"

struct ks_vmident;

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

/* The name of tgid as last read, or NULL; valid until the next call. */
const char *ks_vmident__name(struct ks_vmident *vi, uint32_t tgid);

#endif /* KS_SOURCE_VMIDENT_H */
