/* exitlat.c - exit handling time by reason (exitlat.h).
 *
 * Rows are few (tens of reasons), so they live in an array searched
 * linearly, each with its own distribution over the shared buckets.
 */
#include "source/exitlat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "util/dict.h"

struct ks_exitlat {
	struct ks_exitlat_row *rows;
	size_t n, cap;
};

struct ks_exitlat *ks_exitlat__new(void)
{
	return calloc(1, sizeof(struct ks_exitlat));
}

void ks_exitlat__reset(struct ks_exitlat *t)
{
	for (size_t i = 0; i < t->n; i++)
		ks_dist_fini(&t->rows[i].dist);
	t->n = 0;
}

void ks_exitlat__free(struct ks_exitlat *t)
{
	if (!t)
		return;
	ks_exitlat__reset(t);
	free(t->rows);
	free(t);
}

static struct ks_exitlat_row *row_of(struct ks_exitlat *t, uint32_t reason)
{
	struct ks_exitlat_row *r;

	for (size_t i = 0; i < t->n; i++)
		if (t->rows[i].reason == reason)
			return &t->rows[i];
	if (ks_array_room(&t->rows, &t->cap, t->n, sizeof(*r)))
		return NULL;
	r = &t->rows[t->n++];
	memset(r, 0, sizeof(*r));
	ks_dist_init(&r->dist);
	r->reason = reason;
	r->min_ns = UINT64_MAX;
	return r;
}

int ks_exitlat__add(struct ks_exitlat *t, const struct ks_record *r)
{
	struct ks_exitlat_row *row;
	uint64_t ns;

	if (r->metric != KS_M_VM_EXITS || !r->value)
		return 0;
	row = row_of(t, ks_record_has(r, KS_F_VLEAVEREASON) ?
			(uint32_t)r->f[KS_F_VLEAVEREASON] : 0);
	if (!row)
		return -ENOMEM;
	if (ks_record_has(r, KS_F_LATENCY)) {
		ns = (uint64_t)r->f[KS_F_LATENCY];
		if (ks_dist__add(&row->dist, ns, r->value))
			return -ENOMEM;
		row->timed += r->value;
		row->total_ns += (double)ns * (double)r->value;
		if (ns < row->min_ns)
			row->min_ns = ns;
		if (ns > row->max_ns)
			row->max_ns = ns;
	}
	row->count += r->value;
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct ks_exitlat_row *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->reason ? ks_sym_str(x->reason) : "",
		      y->reason ? ks_sym_str(y->reason) : "");
}

size_t ks_exitlat__rows(struct ks_exitlat *t,
			const struct ks_exitlat_row **rows,
			struct ks_exitlat_row *all)
{
	memset(all, 0, sizeof(*all));
	all->min_ns = UINT64_MAX;
	if (t->n)
		qsort(t->rows, t->n, sizeof(*t->rows), cmp_row);
	for (size_t i = 0; i < t->n; i++) {
		const struct ks_exitlat_row *r = &t->rows[i];

		all->count += r->count;
		all->timed += r->timed;
		all->total_ns += r->total_ns;
		if (r->timed && r->min_ns < all->min_ns)
			all->min_ns = r->min_ns;
		if (r->timed && r->max_ns > all->max_ns)
			all->max_ns = r->max_ns;
	}
	*rows = t->rows;
	return t->n;
}

double ks_exitlat_mean(const struct ks_exitlat_row *r)
{
	return r->timed ? r->total_ns / (double)r->timed : 0;
}

/* Interpolated inside its bucket, it could pass the values seen: kept
 * between them. */
double ks_exitlat_quantile(const struct ks_exitlat_row *r, double q)
{
	double v;

	if (!r->timed)
		return 0;
	v = ks_dist__quantile(&r->dist, q);
	if (v < (double)r->min_ns)
		v = (double)r->min_ns;
	if (v > (double)r->max_ns)
		v = (double)r->max_ns;
	return v;
}
