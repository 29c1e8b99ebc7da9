/* agree.h - the probes' counts, held against KVM's own statistics.
 *
 * `kvmscope check` counts with kvmscope's own sources for a window and
 * compares each VM's totals with the statistics KVM keeps itself
 * (vm/kvmcounters.h): every exit, HLT exits, port I/O and MMIO handed to
 * the VMM, injected interrupts.  This module is the sink that sorts the
 * sources' records into those five numbers per VM (and exits per vCPU, for
 * the report), and the judge that compares them.
 *
 * The window's edges are where a comparison can honestly differ: the
 * sources cut time at their own second boundaries, while debugfs is read a
 * little before and a little after each boundary.  KVM's count over the
 * window therefore lies between (B_before - A_after) and (B_after -
 * A_before); the probes agree when their exact count falls inside it, and
 * the width of that range is what was in flight at the edges.  A quiet
 * guest at the edges gives a range of one number: exact agreement.
 */
#ifndef KS_SOURCE_AGREE_H
#define KS_SOURCE_AGREE_H

#include <stddef.h>
#include <stdint.h>

#include "source/source.h"
#include "vm/kvmcounters.h"

/* The most VMs, and vCPUs, one window keeps; more are counted. */
#define KS_AGREE_MAXVM 256
#define KS_AGREE_MAXVCPU 4096

struct ks_agree_vcpu {
	uint32_t pid;
	int64_t vcpu;		/* -1: not known */
	uint64_t exits;
};

struct ks_agree_vm {
	uint32_t pid;
	uint32_t vm_sym;	/* VM name, 0 if unknown */
	uint64_t ours[KS_KC__COUNT];
};

struct ks_agree;

struct ks_agree *ks_agree__new(void);
void ks_agree__free(struct ks_agree *a);
/* The sink the sources are read into. */
const struct ks_source_sink *ks_agree__sink(struct ks_agree *a);
/* Forgets every count (the window starts). */
void ks_agree__reset(struct ks_agree *a);
/* The VMs and vCPUs seen, sorted by pid (and vCPU); records that could
 * not be kept (past the bounds) in *dropped. */
size_t ks_agree__vms(const struct ks_agree *a,
		     const struct ks_agree_vm **vms);
size_t ks_agree__vcpus(const struct ks_agree *a,
		       const struct ks_agree_vcpu **vcpus);
uint64_t ks_agree__dropped(const struct ks_agree *a);

enum ks_agree_verdict {
	KS_AGREE_EXACT,		/* KVM's count is one number, and ours */
	KS_AGREE_EDGES,		/* ours is inside KVM's range at the edges */
	KS_AGREE_DIFFER,	/* ours is outside it */
	KS_AGREE_NONE,		/* KVM's statistic is missing */
};

/* KVM's four readings of one statistic: before and after the window's
 * first edge, before and after its last. */
struct ks_agree_kvm {
	uint64_t a_before, a_after, b_before, b_after;
};

/* Judges ours against KVM's readings; *lo and *hi get KVM's range. */
enum ks_agree_verdict ks_agree_judge(uint64_t ours,
				     const struct ks_agree_kvm *kvm,
				     uint64_t *lo, uint64_t *hi);

const char *ks_agree_verdict_name(enum ks_agree_verdict v);

#endif /* KS_SOURCE_AGREE_H */
