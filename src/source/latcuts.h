/* latcuts.h - the latency edges handed to the exits probe, and the values
 * records get from them (see bpf/latcut.h for why).
 *
 * A set is built from every live instrumentation's latency edges: sorted,
 * without repeats, without edges that are a bucket's lower bound (every
 * value of such a bucket is already on one side), at most KS_LATCUT_MAX;
 * those beyond are counted in `over` and their predicates stay at bucket
 * resolution.
 */
#ifndef KS_SOURCE_LATCUTS_H
#define KS_SOURCE_LATCUTS_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/latcut.h"

struct ks_latcuts {
	uint32_t n;
	uint64_t v[KS_LATCUT_MAX];
	uint32_t over;		/* edges left out: more than KS_LATCUT_MAX */
};

void ks_latcuts_init(struct ks_latcuts *c);
/* Adds edges v[0..n), keeping the set sorted and unique. */
void ks_latcuts_add(struct ks_latcuts *c, const uint64_t *v, size_t n);
/* Whether a and b hold the same cuts. */
int ks_latcuts_equal(const struct ks_latcuts *a, const struct ks_latcuts *b);
/* The value for an exit of log-linear bucket `bucket` that the probe found
 * on side `side` of the cuts in it: the bucket's lower bound, or the
 * side-th cut inside the bucket, which lies on the same side of every cut
 * as the exit's latency. */
uint64_t ks_latcuts_value(const struct ks_latcuts *c, uint32_t bucket,
			  uint32_t side);

#endif /* KS_SOURCE_LATCUTS_H */
