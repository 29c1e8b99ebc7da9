/* dist.h - distributions over the shared log-linear buckets.
 *
 * A distribution counts values in the buckets of bpf/loglin.h.  While it is
 * being filled it is dense over the window of bucket indexes seen so far
 * (an add is an index computation and an increment); once its time slot is
 * closed it can be compacted to sorted (index, count) pairs.  Both forms
 * merge exactly, since every distribution uses the same buckets.
 */
#ifndef KS_ENGINE_DIST_H
#define KS_ENGINE_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/loglin.h"

struct ks_dist {
	uint64_t *counts;	/* dense: counts[i - lo]; sparse: counts[k] */
	uint16_t *idx;		/* sparse only: bucket index of counts[k] */
	uint32_t n;		/* dense: window length; sparse: pairs */
	uint16_t lo;		/* dense: first bucket index of the window */
	bool sparse;
};

#define KS_DIST_INIT { NULL, NULL, 0, 0, false }

static inline void ks_dist_init(struct ks_dist *d)
{
	*d = (struct ks_dist)KS_DIST_INIT;
}

void ks_dist_fini(struct ks_dist *d);

/* ks_dist__add_idx past its fast path: a sparse distribution, or a
 * bucket outside the dense window. */
int ks_dist__add_idx_slow(struct ks_dist *d, uint32_t idx, uint64_t count);

/* Adds count to bucket idx (value v).  0 or -ENOMEM (d unchanged).
 * Inline for the case of nearly every record: a dense window already
 * covering idx (unsigned wrap makes idx < lo fail the test too). */
static inline int ks_dist__add_idx(struct ks_dist *d, uint32_t idx,
				   uint64_t count)
{
	if (!d->sparse && idx - (uint32_t)d->lo < d->n) {
		d->counts[idx - d->lo] += count;
		return 0;
	}
	return ks_dist__add_idx_slow(d, idx, count);
}
static inline int ks_dist__add(struct ks_dist *d, uint64_t v, uint64_t count)
{
	return ks_dist__add_idx(d, ks_ll_index(v), count);
}
/* d (uninitialised) becomes a copy of src, in src's form.  0 or -ENOMEM
 * (d then empty). */
int ks_dist__copy(struct ks_dist *d, const struct ks_dist *src);
/* d += src, exactly.  0 or -ENOMEM. */
int ks_dist__merge(struct ks_dist *d, const struct ks_dist *src);
/* Converts to the compact sorted-pairs form.  0 or -ENOMEM (d unchanged). */
int ks_dist__compact(struct ks_dist *d);
uint64_t ks_dist__total(const struct ks_dist *d);
bool ks_dist__empty(const struct ks_dist *d);
/* Bytes of heap held. */
size_t ks_dist__bytes(const struct ks_dist *d);

/* Iterates non-zero buckets in increasing index order:
 *   size_t it = 0; uint32_t i; uint64_t c;
 *   while (ks_dist__next(d, &it, &i, &c)) ...                        */
bool ks_dist__next(const struct ks_dist *d, size_t *it, uint32_t *idx,
		   uint64_t *count);

/* Values below edge, exactly, when edge is a bucket's lower bound (as
 * Prometheus' le = 2^k - 1 edges are); else those of the buckets below
 * edge's own. */
uint64_t ks_dist__count_below(const struct ks_dist *d, uint64_t edge);

/* Estimated value at quantile q (0..1), linear inside a bucket; 0 if empty. */
double ks_dist__quantile(const struct ks_dist *d, double q);
/* Mean using bucket midpoints; 0 if empty. */
double ks_dist__mean(const struct ks_dist *d);

#endif /* KS_ENGINE_DIST_H */
