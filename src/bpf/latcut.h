/* latcut.h - exact sides of latency predicates for bucketed latencies.
 *
 * The exits probe counts each exit's latency as a log-linear bucket, so a
 * live record can only carry a value of that bucket, and a predicate such
 * as {"gt":["latency",100000]} whose constant falls inside a bucket would
 * be answered for the whole bucket alike.  The agent therefore hands the
 * probe the edges its instrumentations' latency predicates turn on
 * (predicate.h, ks_pred__edges), up to KS_LATCUT_MAX, sorted; for each
 * exit the probe counts how many of them lie inside its bucket at or below
 * its latency (the "side"), which costs nothing unless a cut falls in the
 * bucket, and user space gives the record a value on the same side of
 * every edge (source/latcuts.h).  Every predicate on those edges is then
 * exact, in user space, for every instrumentation at once.
 *
 * Shared by BPF and user space (with loglin.h's fixed-width types), so the
 * probe and the tests compute the side the same way.
 */
#ifndef KS_BPF_LATCUT_H
#define KS_BPF_LATCUT_H

#include "loglin.h"

/* As many as the probe compares per exit: a bounded, unrolled loop. */
#define KS_LATCUT_MAX 8

/* The number of cuts c (sorted, n of them) with lo < c <= lat, for a
 * latency lat in the bucket that starts at lo. */
static inline ks_ll_u32 ks_latcut_side(const ks_ll_u64 *cuts, ks_ll_u32 n,
				       ks_ll_u64 lo, ks_ll_u64 lat)
{
	ks_ll_u32 side = 0;

	for (ks_ll_u32 i = 0; i < KS_LATCUT_MAX; i++)
		if (i < n && cuts[i] > lo && cuts[i] <= lat)
			side++;
	return side;
}

#endif /* KS_BPF_LATCUT_H */
