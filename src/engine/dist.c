/* dist.c - log-linear distributions: dense while filling, compact when done.
 *
 * The dense form keeps one counter per bucket between the lowest and highest
 * index seen, growing the window in either direction as values arrive;
 * typical latency distributions span a few hundred buckets.  The sparse form
 * keeps only non-zero buckets as sorted (index, count) pairs, which is what
 * closed time slots hold for the rest of their retention.
 */
#include "engine/dist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ks_dist_fini(struct ks_dist *d)
{
	free(d->counts);
	free(d->idx);
	ks_dist_init(d);
}

/* Dense form holding the same counts as sparse d. */
static int densify(struct ks_dist *d)
{
	uint32_t lo, hi, n;
	uint64_t *c;

	if (!d->n) {
		ks_dist_fini(d);
		return 0;
	}
	lo = d->idx[0];
	hi = d->idx[d->n - 1];
	n = hi - lo + 1;
	c = calloc(n, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (uint32_t k = 0; k < d->n; k++)
		c[d->idx[k] - lo] = d->counts[k];
	free(d->counts);
	free(d->idx);
	d->counts = c;
	d->idx = NULL;
	d->n = n;
	d->lo = (uint16_t)lo;
	d->sparse = false;
	return 0;
}

/* Widens the dense window to include idx, with slack on the growing side
 * so that a drifting distribution is not copied on every add. */
static int cover(struct ks_dist *d, uint32_t idx)
{
	uint32_t lo = idx, hi = idx, n;
	uint64_t *c;

	if (d->n) {
		uint32_t olo = d->lo, ohi = d->lo + d->n - 1;
		uint32_t slack = (ohi - olo + 1) / 4 + 4;

		if (idx < olo) {
			lo = idx > slack ? idx - slack : 0;
			hi = ohi;
		} else {
			lo = olo;
			hi = idx + slack < KS_LL_NBUCKETS ? idx + slack
							  : KS_LL_NBUCKETS - 1;
		}
	}
	n = hi - lo + 1;
	c = calloc(n, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (d->n)
		memcpy(c + (d->lo - lo), d->counts, d->n * sizeof(*c));
	free(d->counts);
	d->counts = c;
	d->lo = (uint16_t)lo;
	d->n = n;
	return 0;
}

int ks_dist__copy(struct ks_dist *d, const struct ks_dist *src)
{
	ks_dist_init(d);
	if (!src->n)
		return 0;
	d->counts = malloc(src->n * sizeof(*d->counts));
	if (src->sparse)
		d->idx = malloc(src->n * sizeof(*d->idx));
	if (!d->counts || (src->sparse && !d->idx)) {
		ks_dist_fini(d);
		return -ENOMEM;
	}
	memcpy(d->counts, src->counts, src->n * sizeof(*d->counts));
	if (src->sparse)
		memcpy(d->idx, src->idx, src->n * sizeof(*d->idx));
	d->n = src->n;
	d->lo = src->lo;
	d->sparse = src->sparse;
	return 0;
}

int ks_dist__add_idx_slow(struct ks_dist *d, uint32_t idx, uint64_t count)
{
	int err;

	if (idx >= KS_LL_NBUCKETS)
		return -EINVAL;
	if (d->sparse && (err = densify(d)))
		return err;
	if (idx < d->lo || idx >= (uint32_t)d->lo + d->n || !d->n) {
		if ((err = cover(d, idx)))
			return err;
	}
	d->counts[idx - d->lo] += count;
	return 0;
}

int ks_dist__merge(struct ks_dist *d, const struct ks_dist *src)
{
	size_t it = 0;
	uint32_t i;
	uint64_t c;
	int err;

	if (src->n == 0)
		return 0;
	/* Pre-size the window so a failed allocation leaves d unchanged. */
	if (d->sparse && (err = densify(d)))
		return err;
	if (ks_dist__next(src, &it, &i, &c)) {
		uint32_t last = src->sparse ? src->idx[src->n - 1]
					    : (uint32_t)src->lo + src->n - 1;

		if ((err = ks_dist__add_idx(d, i, 0)) ||
		    (err = ks_dist__add_idx(d, last, 0)))
			return err;
	}
	/* One loop per layout, not a call per bucket: a heatmap merges an
	 * hour of slots per drawing, and ks_dist__next was the agent's top
	 * symbol under heatmap load (perf, bench_http_load).  Zeros are
	 * skipped: a dense window's leading ones lie outside d's. */
	if (src->sparse)
		for (uint32_t k = 0; k < src->n; k++)
			d->counts[src->idx[k] - d->lo] += src->counts[k];
	else
		for (uint32_t k = 0; k < src->n; k++)
			if (src->counts[k])
				d->counts[src->lo + k - d->lo] +=
					src->counts[k];
	return 0;
}

int ks_dist__compact(struct ks_dist *d)
{
	uint32_t nz = 0, k = 0;
	uint64_t *c = NULL;
	uint16_t *ix = NULL;

	if (d->sparse)
		return 0;
	for (uint32_t i = 0; i < d->n; i++)
		nz += d->counts[i] != 0;
	if (nz) {
		c = malloc(nz * sizeof(*c));
		ix = malloc(nz * sizeof(*ix));
		if (!c || !ix) {
			free(c);
			free(ix);
			return -ENOMEM;
		}
	}
	for (uint32_t i = 0; i < d->n; i++) {
		if (!d->counts[i])
			continue;
		c[k] = d->counts[i];
		ix[k++] = (uint16_t)(d->lo + i);
	}
	free(d->counts);
	d->counts = c;
	d->idx = ix;
	d->n = nz;
	d->lo = 0;
	d->sparse = true;
	return 0;
}

uint64_t ks_dist__count_below(const struct ks_dist *d, uint64_t edge)
{
	uint32_t lim = ks_ll_index(edge);
	size_t it = 0;
	uint32_t i;
	uint64_t c, n = 0;

	while (ks_dist__next(d, &it, &i, &c) && i < lim)
		n += c;
	return n;
}

bool ks_dist__next(const struct ks_dist *d, size_t *it, uint32_t *idx,
		   uint64_t *count)
{
	while (*it < d->n) {
		size_t k = (*it)++;

		if (d->sparse) {
			*idx = d->idx[k];
			*count = d->counts[k];
			return true;
		}
		if (d->counts[k]) {
			*idx = d->lo + (uint32_t)k;
			*count = d->counts[k];
			return true;
		}
	}
	return false;
}

uint64_t ks_dist__total(const struct ks_dist *d)
{
	uint64_t t = 0;

	for (uint32_t k = 0; k < d->n; k++)
		t += d->counts[k];
	return t;
}

bool ks_dist__empty(const struct ks_dist *d)
{
	return ks_dist__total(d) == 0;
}

size_t ks_dist__bytes(const struct ks_dist *d)
{
	return d->n * (sizeof(uint64_t) + (d->sparse ? sizeof(uint16_t) : 0));
}

double ks_dist__quantile(const struct ks_dist *d, double q)
{
	uint64_t total = ks_dist__total(d);
	double want, seen = 0;
	size_t it = 0;
	uint32_t i = 0;
	uint64_t c;

	if (!total)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	want = q * (double)total;
	while (ks_dist__next(d, &it, &i, &c)) {
		if (seen + (double)c >= want) {
			double lo = (double)ks_ll_lo(i);
			double w = (double)ks_ll_hi(i) + 1 - lo;

			return lo + w * ((want - seen) / (double)c);
		}
		seen += (double)c;
	}
	return (double)ks_ll_hi(i);
}

double ks_dist__mean(const struct ks_dist *d)
{
	double sum = 0, n = 0;
	size_t it = 0;
	uint32_t i;
	uint64_t c;

	while (ks_dist__next(d, &it, &i, &c)) {
		double mid = ((double)ks_ll_lo(i) + (double)ks_ll_hi(i)) / 2;

		sum += mid * (double)c;
		n += (double)c;
	}
	return n ? sum / n : 0;
}
