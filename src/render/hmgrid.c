/* hmgrid.c - heatmap rows, display columns and re-bucketing.
 *
 * There are only KS_LL_NBUCKETS source buckets, so for a request's rows
 * the share of each bucket in each row is worked out once (struct spans)
 * and re-bucketing a column is a walk over its non-zero buckets doing a
 * lookup and a multiply-add each.  "Everything else" is a sum of
 * non-negative terms: the unselected keys' distributions when the keys
 * cover the total (as values built from records do), otherwise the total
 * minus the selected keys per source bucket in integers, clamped at zero.
 * Either way it cannot go negative or keep a rounding residue that rank
 * colouring would paint as a faint cell.  An hour of 1 s columns is tens of
 * megabytes of engine data in separate allocations, so the walk prefetches
 * a couple of columns ahead.
 */
#include "render/hmgrid.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "util/dict.h"

int ks_hm_input__check(const struct ks_hm_input *in, struct ks_err *err)
{
	if (!in->ncols)
		return ks_err_set(err, EINVAL, "duration",
				  "must cover at least one column");
	if (!in->step)
		return ks_err_set(err, EINVAL, "granularity",
				  "must be at least one second");
	for (size_t i = 0; i < in->ncols; i++) {
		const struct ks_value *v = in->cols[i];

		if (v && !ks_arity_numeric(v->arity))
			return ks_err_set(err, ENOTSUP, "",
					  "heatmaps need a numeric "
					  "decomposition, and column %zu has "
					  "none", i);
	}
	return 0;
}

/* Index of the highest non-empty bucket of d; false if d is empty. */
static bool dist_top(const struct ks_dist *d, uint32_t *idx)
{
	for (uint32_t k = d->n; k-- > 0;) {
		if (!d->counts[k])
			continue;
		*idx = d->sparse ? d->idx[k] : d->lo + k;
		return true;
	}
	return false;
}

uint64_t ks_hm_input__max(const struct ks_hm_input *in)
{
	uint64_t max = 0;
	uint32_t idx;

	for (size_t i = 0; i < in->ncols; i++) {
		const struct ks_value *v = in->cols[i];
		uint64_t hi;

		if (!v || !dist_top(&v->dist, &idx))
			continue;
		hi = ks_ll_hi(idx);
		hi = hi == UINT64_MAX ? hi : hi + 1;
		if (hi > max)
			max = hi;
	}
	return max;
}

uint64_t ks_hm_autoscale(uint64_t max)
{
	uint64_t round = 1;
	int pow = 0;

	/* Beyond 10^18 the powers of ten overflow; ymax is capped far below. */
	if (!max || max >= 1000000000000000000ULL)
		return max;
	while (round <= max) {
		round *= 10;
		pow++;
	}
	for (int i = 0; i < 2 * pow; i++) {
		uint64_t scaled = (max / round + 1) * round;

		if (scaled * 4 < max * 5)
			return scaled;
		round /= i % 2 ? 2 : 5;
	}
	return max;
}

void ks_hm_rows_init(struct ks_hm_rows *r, enum ks_hm_scale scale,
		     uint64_t ymin, uint64_t ymax, uint32_t n)
{
	double lo = (double)ymin, hi = (double)ymax;
	double base = ymin < 1 ? 1 : lo, decades = log10(hi / base);

	r->n = n;
	r->e[0] = lo;
	r->e[n] = hi;
	/* Powers of ten rather than of the ratio: when the range spans
	 * whole decades, the edges land exactly on 10, 100, ... */
	for (uint32_t k = 1; k < n; k++) {
		if (scale == KS_HM_SCALE_LOG)
			r->e[k] = base * pow(10, decades * k / n);
		else
			r->e[k] = lo + (hi - lo) * k / n;
	}
}

static int cols_alloc(struct ks_hm_cols *c, size_t n)
{
	c->n = 0;
	c->first = malloc((n + 1) * sizeof(*c->first));
	c->x = malloc((n + 1) * sizeof(*c->x));
	if (c->first && c->x)
		return 0;
	ks_hm_cols_fini(c);
	return -ENOMEM;
}

/* CA's pixel edge i of n parts of size pixels: floor(i * (size / n)) in
 * doubles, as node-heatmap's generate() computes it, rounding included
 * (e.g. 77 * (10 / 154) is 4.999..., so edge 77 of 154 on 10 px is 4, not
 * 5).  The far edge is the size itself: CA's n * (size / n) can fall just
 * short of it and leave the last pixel column or row white. */
static uint32_t ca_edge(uint64_t i, uint64_t n, uint32_t size)
{
	double e;

	if (i >= n)
		return size;
	e = floor((double)i * ((double)size / (double)n));
	return e >= size ? size : (uint32_t)e;
}

int ks_hm_cols_init(struct ks_hm_cols *c, size_t nsamples, uint32_t width)
{
	uint32_t last = UINT32_MAX;

	if (cols_alloc(c, nsamples))
		return -ENOMEM;
	/* Sample s starts at CA's edge s; samples starting on the same
	 * pixel column share it (CA drew only the last of them).  A start
	 * is kept left of the far edge so that no sample has zero width. */
	for (size_t s = 0; s < nsamples; s++) {
		uint32_t px = ca_edge(s, nsamples, width);

		if (px >= width)
			px = width - 1;
		if (px == last)
			continue;
		c->first[c->n] = (uint32_t)s;
		c->x[c->n++] = px;
		last = px;
	}
	c->first[c->n] = (uint32_t)nsamples;
	c->x[c->n] = width;
	return 0;
}

int ks_hm_cols_identity(struct ks_hm_cols *c, size_t nsamples)
{
	if (cols_alloc(c, nsamples))
		return -ENOMEM;
	for (size_t s = 0; s <= nsamples; s++)
		c->first[s] = c->x[s] = (uint32_t)s;
	c->n = nsamples;
	return 0;
}

void ks_hm_cols_fini(struct ks_hm_cols *c)
{
	free(c->first);
	free(c->x);
	memset(c, 0, sizeof(*c));
}

size_t ks_hm_cols__at(const struct ks_hm_cols *c, uint32_t x)
{
	size_t lo = 0, hi = c->n;

	/* Largest d with x[d] <= x. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->x[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

void ks_hm_row_pixels(uint32_t r, uint32_t n, uint32_t height, uint32_t *y0,
		      uint32_t *y1)
{
	uint32_t k = n - 1 - r;	/* rows count down from the top */

	*y0 = ca_edge(k, n, height);
	*y1 = ca_edge(k + 1, n, height);
}

uint32_t ks_hm_row_at(uint32_t y, uint32_t n, uint32_t height)
{
	uint32_t lo = 0, hi = n;

	/* The last row from the top whose top edge is at or above y: rows
	 * of zero height (more rows than pixels) are never the answer. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ca_edge(mid, n, height) <= y)
			lo = mid;
		else
			hi = mid;
	}
	return n - 1 - lo;
}

static uint64_t auto_ymax(const struct ks_hm_input *in,
			  const struct ks_hmparams *p)
{
	uint64_t max = ks_hm_input__max(in), floor_y = p->ymin + 1;

	/* Log rows need ymax above max(ymin, 1). */
	if (p->scale == KS_HM_SCALE_LOG && floor_y < 2)
		floor_y = 2;
	if (max < floor_y)
		max = floor_y;
	max = ks_hm_autoscale(max);
	return max > KS_HM_Y_MAX ? KS_HM_Y_MAX : max;
}

int ks_hm_geom_init(struct ks_hm_geom *g, const struct ks_hm_input *in,
		    const struct ks_hmparams *p, bool pixels,
		    struct ks_err *err)
{
	int rc;

	memset(g, 0, sizeof(*g));
	if ((rc = ks_hm_input__check(in, err)))
		return rc;
	g->width = p->width;
	g->height = p->height;
	g->ymin = p->ymin;
	g->ymax = p->ymax_auto ? auto_ymax(in, p) : p->ymax;
	ks_hm_rows_init(&g->rows, p->scale, g->ymin, g->ymax, p->nbuckets);
	if (!pixels)
		return 0;
	if (ks_hm_cols_init(&g->cols, in->ncols, p->width))
		return ks_err_set(err, ENOMEM, "", "out of memory");
	return 0;
}

void ks_hm_geom_fini(struct ks_hm_geom *g)
{
	ks_hm_cols_fini(&g->cols);
}

/* Sets of symtab ids: the ids sit in an array the caller keeps, indexed
 * by a util/dict whose ids are positions + 1 in it. */
static uint64_t key_hash(uint32_t key)
{
	return ks_dict_hash_u64(key);
}

static uint64_t id_hash(void *keys, uint32_t id)
{
	return key_hash(((const uint32_t *)keys)[id - 1]);
}

static bool id_eq(void *keys, uint32_t id, const void *key)
{
	return ((const uint32_t *)keys)[id - 1] == *(const uint32_t *)key;
}

/* Position of key in keys (indexed by ix), or -1. */
static inline long key_pos(const struct ks_dict *ix, const uint32_t *keys,
			   uint32_t key)
{
	return (long)ks_dict__find(ix, key_hash(key), id_eq, (void *)keys,
				   &key) - 1;
}

/* The keys present, in the order first met. */
struct keyset {
	uint32_t *key;
	size_t n, cap;
	struct ks_dict ix;
};

static int cmp_sym(const void *a, const void *b)
{
	return strcmp(ks_sym_str(*(const uint32_t *)a),
		      ks_sym_str(*(const uint32_t *)b));
}

/* Adds key to the set if new. */
static int set_add(struct keyset *k, uint32_t key)
{
	if (key_pos(&k->ix, k->key, key) >= 0)
		return 0;
	if (ks_dict__room(&k->ix, &k->key, &k->cap, k->n, sizeof(*k->key),
			  id_hash, k->key))
		return -ENOMEM;
	k->key[k->n] = key;
	ks_dict__set(&k->ix, ks_dict__slot(&k->ix, key_hash(key), id_eq,
					   k->key, &key), (uint32_t)++k->n);
	return 0;
}

int ks_hm_present(const struct ks_hm_input *in, size_t s0, size_t s1,
		  uint32_t **keys, size_t *n)
{
	struct keyset set = { NULL, 0, 0, KS_DICT_INIT };

	*keys = NULL;
	*n = 0;
	for (size_t s = s0; s < s1 && s < in->ncols; s++) {
		const struct ks_value *v = in->cols[s];

		for (size_t k = 0; v && k < v->n; k++) {
			const struct ks_value_entry *e = &v->e[k];

			if (!e->count && ks_dist__empty(&e->dist))
				continue;
			if (set_add(&set, e->key)) {
				free(set.key);
				ks_dict__fini(&set.ix);
				return -ENOMEM;
			}
		}
	}
	ks_dict__fini(&set.ix);
	if (!set.n) {
		free(set.key);
		return 0;
	}
	qsort(set.key, set.n, sizeof(*set.key), cmp_sym);
	*keys = set.key;
	*n = set.n;
	return 0;
}

/* Where each source bucket lands, for one row geometry: bucket i adds
 * its count times frac[off[i] + j] to row row[i] + j, j < nrow[i] (the
 * overlap share, times the bucket's midpoint with weights).  There are
 * only KS_LL_NBUCKETS source buckets, so this is worked out once per
 * request and the inner loop is a lookup and a multiply-add. */
struct span {
	uint16_t row, nrow;	/* rows [row, row + nrow) */
	uint32_t off;		/* their shares: frac[off .. off + nrow) */
};

struct spans {
	uint32_t top;		/* buckets from here up start at/above ymax */
	struct span sp[KS_LL_NBUCKETS];
	double frac[KS_LL_NBUCKETS + KS_HM_NBUCKETS_MAX + 1];
};

/* Bucket [lo, hi] is taken as [lo, hi+1) and spread uniformly. */
static void spans_init(struct spans *s, const struct ks_hm_rows *r,
		       bool weight)
{
	const double *e = r->e;
	uint32_t k = 0, n = 0;

	s->top = KS_LL_NBUCKETS;
	for (uint32_t i = 0; i < KS_LL_NBUCKETS; i++) {
		double lo = (double)ks_ll_lo(i), hi = (double)ks_ll_hi(i);
		double b = hi + 1, val = weight ? lo + (hi - lo) / 2 : 1;
		struct span *sp = &s->sp[i];

		while (k < r->n && e[k + 1] <= lo)
			k++;
		if (k == r->n) {
			s->top = i;
			break;
		}
		sp->row = (uint16_t)k;
		sp->off = n;
		sp->nrow = 0;
		for (uint32_t j = k; j < r->n && e[j] < b; j++) {
			double l = lo > e[j] ? lo : e[j];
			double h = b < e[j + 1] ? b : e[j + 1];

			s->frac[n++] = val * ((h - l) / (b - lo));
			sp->nrow++;
		}
	}
}

/* Adds buckets into a column's rows.  Consecutive buckets mostly land in
 * the same row, so that row's sum is kept in a register until the row
 * changes: adding into memory each time would chain every add through a
 * store and a reload of the same cell. */
struct acc {
	double *out;
	double sum;		/* pending for out[row] */
	uint32_t row;
};

/* Adds c events of bucket i (below s->top). */
static inline void acc_add(struct acc *a, const struct spans *s, uint32_t i,
			   uint64_t c)
{
	struct span sp = s->sp[i];
	const double *f = s->frac + sp.off;
	/* Through int64: x86-64 converts signed integers in one
	 * instruction, unsigned ones in a branchy dozen. */
	double x = c <= INT64_MAX ? (double)(int64_t)c : (double)c;

	if (sp.nrow != 1) {
		for (uint32_t j = 0; j < sp.nrow; j++)
			a->out[sp.row + j] += x * f[j];
		return;
	}
	if (sp.row != a->row) {
		a->out[a->row] += a->sum;
		a->row = sp.row;
		a->sum = 0;
	}
	a->sum += x * *f;
}

static inline void acc_flush(struct acc *a)
{
	a->out[a->row] += a->sum;
}

/* The loops below come in a sparse and a dense flavour each, so the
 * choice is made once per distribution rather than once per bucket. */
static void spread_dist(const struct ks_dist *d, const struct spans *s,
			double *out)
{
	struct acc a = { out, 0, 0 };

	if (d->sparse) {
		for (uint32_t k = 0; k < d->n && d->idx[k] < s->top; k++)
			acc_add(&a, s, d->idx[k], d->counts[k]);
	} else {
		for (uint32_t k = 0; k < d->n && d->lo + k < s->top; k++)
			if (d->counts[k])
				acc_add(&a, s, d->lo + k, d->counts[k]);
	}
	acc_flush(&a);
}

/* tmp[i] = d's count in bucket i (tmp is all zero elsewhere). */
static void load(uint64_t *tmp, const struct ks_dist *d)
{
	if (d->sparse) {
		for (uint32_t k = 0; k < d->n; k++)
			tmp[d->idx[k]] = d->counts[k];
		return;
	}
	if (d->n)	/* an empty distribution has no counts array */
		memcpy(tmp + d->lo, d->counts, d->n * sizeof(*tmp));
}

static inline void sub0(uint64_t *t, uint64_t c)
{
	*t = *t > c ? *t - c : 0;
}

/* tmp -= d, bucket by bucket, never below zero. */
static void deduct(uint64_t *tmp, const struct ks_dist *d)
{
	if (d->sparse) {
		for (uint32_t k = 0; k < d->n; k++)
			sub0(tmp + d->idx[k], d->counts[k]);
		return;
	}
	for (uint32_t k = 0; k < d->n; k++)
		sub0(tmp + d->lo + k, d->counts[k]);
}

/* Spreads what is left in tmp over total's buckets, zeroing tmp again. */
static void spread_rest(uint64_t *tmp, const struct ks_dist *total,
			const struct spans *s, double *out)
{
	struct acc a = { out, 0, 0 };
	uint32_t k = 0, i;

	if (total->sparse) {
		for (; k < total->n && (i = total->idx[k]) < s->top; k++) {
			if (tmp[i])
				acc_add(&a, s, i, tmp[i]);
			tmp[i] = 0;
		}
		for (; k < total->n; k++)
			tmp[total->idx[k]] = 0;
	} else {
		for (; k < total->n && (i = total->lo + k) < s->top; k++)
			if (tmp[i])
				acc_add(&a, s, i, tmp[i]);
		memset(tmp + total->lo, 0, total->n * sizeof(*tmp));
	}
	acc_flush(&a);
}

struct bctx {
	const struct ks_hm_plan *plan;
	struct spans *spans;
	struct ks_dict ix;	/* plan->keys -> position + 1 */
	uint64_t *tmp;		/* remainder in progress, if keys deduct */
	size_t mstride;		/* cells per map */
};

#ifndef PF_DIST
#define PF_DIST 2	/* samples ahead; each is a few KiB */
#endif

/* Whether v's entries add up to its total, as values built by adding
 * records always do: then "everything else" is the sum of the unselected
 * entries, spread directly (sums of non-negative terms, nothing to
 * subtract), and the total distribution need not be read at all. */
static bool entries_cover(const struct ks_value *v)
{
	uint64_t sum = 0;

	for (size_t k = 0; k < v->n; k++)
		sum += v->e[k].count;
	return v->n && sum == v->total;
}

/* Warms the cache for a sample about to be bucketized: the engine's
 * distributions are separate allocations that hardware prefetchers only
 * pick up a few lines in. */
static void prefetch_dist(const struct ks_dist *d)
{
	for (uint32_t k = 0; k < d->n; k += 8)
		__builtin_prefetch(d->counts + k);
	if (d->sparse)
		for (uint32_t k = 0; k < d->n; k += 32)
			__builtin_prefetch(d->idx + k);
}

static void prefetch_value(const struct ks_value *v, bool total)
{
	if (total) {
		prefetch_dist(&v->dist);
		return;
	}
	for (size_t k = 0; k < v->n; k++)
		prefetch_dist(&v->e[k].dist);
}

/* Sample s is about to be bucketized: fetch what samples a little later
 * will read, each step needing the one before (value, entries, data). */
static void prefetch_ahead(const struct ks_hm_input *in, size_t s, bool total)
{
	if (s + PF_DIST + 2 < in->ncols && in->cols[s + PF_DIST + 2])
		__builtin_prefetch(in->cols[s + PF_DIST + 2]);
	if (s + PF_DIST + 1 < in->ncols && in->cols[s + PF_DIST + 1])
		__builtin_prefetch(in->cols[s + PF_DIST + 1]->e);
	if (s + PF_DIST < in->ncols && in->cols[s + PF_DIST])
		prefetch_value(in->cols[s + PF_DIST], total);
}

/* "Everything else" as the total minus the keys, per source bucket in
 * integers (clamped at zero), for values whose entries do not cover the
 * total. */
static void deduct_keys(struct bctx *b, const struct ks_value *v,
			double *rem, double *keys)
{
	load(b->tmp, &v->dist);
	for (size_t k = 0; k < v->n; k++) {
		const struct ks_value_entry *e = &v->e[k];
		long m = key_pos(&b->ix, b->plan->keys, e->key);

		if (m < 0)
			continue;
		deduct(b->tmp, &e->dist);
		if (b->plan->keymaps)
			spread_dist(&e->dist, b->spans,
				    keys + (size_t)m * b->mstride);
	}
	spread_rest(b->tmp, &v->dist, b->spans, rem);
}

/* One sample into display column cell offset off of every map. */
static void bucketize_one(struct bctx *b, const struct ks_value *v,
			  size_t off, double *cells)
{
	const struct ks_hm_plan *plan = b->plan;
	double *rem = cells + off;
	double *keys = cells + (plan->remainder ? b->mstride : 0) + off;

	if (plan->remainder && !plan->nkeys) {
		spread_dist(&v->dist, b->spans, rem);
		return;
	}
	if (plan->remainder && !entries_cover(v)) {
		deduct_keys(b, v, rem, keys);
		return;
	}
	for (size_t k = 0; k < v->n; k++) {
		const struct ks_value_entry *e = &v->e[k];
		long m = key_pos(&b->ix, b->plan->keys, e->key);

		if (m < 0 && plan->remainder)
			spread_dist(&e->dist, b->spans, rem);
		else if (m >= 0 && plan->keymaps)
			spread_dist(&e->dist, b->spans,
				    keys + (size_t)m * b->mstride);
	}
}

int ks_hm_bucketize(const struct ks_hm_input *in, const struct ks_hm_cols *cols,
		    const struct ks_hm_rows *rows, const struct ks_hm_plan *plan,
		    double *cells)
{
	struct bctx b = { plan, NULL, KS_DICT_INIT, NULL, cols->n * rows->n };
	void *keys = (void *)plan->keys;
	int rc = -ENOMEM;

	if (ks_dict__reserve(&b.ix, plan->nkeys, id_hash, keys))
		return -ENOMEM;
	for (size_t k = 0; k < plan->nkeys; k++) {
		uint32_t *s;

		if (plan->keys[k] == KS_HM_NOKEY)
			continue;
		/* A key listed twice maps to its last place. */
		s = ks_dict__slot(&b.ix, key_hash(plan->keys[k]), id_eq, keys,
				  &plan->keys[k]);
		if (*s)
			*s = (uint32_t)(k + 1);
		else
			ks_dict__set(&b.ix, s, (uint32_t)(k + 1));
	}
	if (!(b.spans = malloc(sizeof(*b.spans))))
		goto out;
	if (plan->remainder && plan->nkeys &&
	    !(b.tmp = calloc(KS_LL_NBUCKETS, sizeof(*b.tmp))))
		goto out;
	spans_init(b.spans, rows, plan->weight);
	for (size_t d = 0; d < cols->n; d++) {
		for (uint32_t s = cols->first[d]; s < cols->first[d + 1]; s++) {
			prefetch_ahead(in, s, !plan->nkeys);
			if (s < in->ncols && in->cols[s])
				bucketize_one(&b, in->cols[s], d * rows->n,
					      cells);
		}
	}
	rc = 0;
out:
	free(b.spans);
	free(b.tmp);
	ks_dict__fini(&b.ix);
	return rc;
}
