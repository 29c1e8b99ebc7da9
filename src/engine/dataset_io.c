/* dataset_io.c - a dataset's slots as a self-checking binary blob.
 *
 * Persisted data (persist-data) is saved as the non-empty slots: start
 * time, total, and the distribution and per-key entries in their sparse
 * form, keys as strings (symtab ids are per process).  Every length and
 * index is checked on load, so a damaged blob is refused whole instead of
 * half loaded.  Little-endian, versioned by a magic word.
 */
#include "engine/dataset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"

#define MAGIC 0x3244534bu	/* "KSD2" */
#define KS_MAX_DATAPOINTS_STORED 100000

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->err)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		uint8_t *p;

		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->p, cap);
		if (!p) {
			w->err = -ENOMEM;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_u64(struct wbuf *w, uint64_t v)
{
	put(w, &v, sizeof(v));
}

static void put_dist(struct wbuf *w, const struct ks_dist *d)
{
	size_t it = 0, n = 0;
	uint32_t i;
	uint64_t c;

	while (ks_dist__next(d, &it, &i, &c))
		n++;
	put_u64(w, n);
	it = 0;
	while (ks_dist__next(d, &it, &i, &c)) {
		put_u64(w, i);
		put_u64(w, c);
	}
}

static void put_value(struct wbuf *w, const struct ks_value *v)
{
	put_u64(w, v->total);
	put_dist(w, &v->dist);
	put_u64(w, v->n);
	for (size_t k = 0; k < v->n; k++) {
		const char *key = ks_sym_str(v->e[k].key);

		put_u64(w, strlen(key));
		put(w, key, strlen(key));
		put_u64(w, v->e[k].count);
		put_dist(w, &v->e[k].dist);
	}
}

int ks_dataset__save(const struct ks_dataset *ds, uint8_t **buf, size_t *len)
{
	struct wbuf w = { 0 };
	const struct ks_value *v;
	uint64_t nslots = 0;
	size_t it = 0;
	int64_t t;

	while (ks_dataset__next_slot(ds, &it, &t, &v))
		nslots++;
	put_u64(&w, MAGIC);
	put_u64(&w, ks_dataset__granularity(ds));
	put_u64(&w, nslots);	/* so a blob cut at a slot edge is caught */
	it = 0;
	while (ks_dataset__next_slot(ds, &it, &t, &v)) {
		put_u64(&w, (uint64_t)t);
		put_value(&w, v);
	}
	if (w.err) {
		free(w.p);
		return w.err;
	}
	*buf = w.p;
	*len = w.len;
	return 0;
}

struct rbuf {
	const uint8_t *p;
	size_t left;
	int err;
};

static uint64_t get_u64(struct rbuf *r)
{
	uint64_t v = 0;

	if (r->err || r->left < sizeof(v)) {
		r->err = -EINVAL;
		return 0;
	}
	memcpy(&v, r->p, sizeof(v));
	r->p += sizeof(v);
	r->left -= sizeof(v);
	return v;
}

/* Reads a distribution into d.  A value of an arity without one may only
 * hold an empty list (numeric false). */
static void get_dist(struct rbuf *r, struct ks_dist *d, bool numeric)
{
	uint64_t n = get_u64(r);

	if (n > KS_LL_NBUCKETS || (n && !numeric))
		r->err = -EINVAL;
	for (uint64_t k = 0; k < n && !r->err; k++) {
		uint64_t i = get_u64(r), c = get_u64(r);

		if (r->err || i >= KS_LL_NBUCKETS) {
			r->err = -EINVAL;
			return;
		}
		if (ks_dist__add_idx(d, (uint32_t)i, c))
			r->err = -ENOMEM;
	}
}

/* Reads one slot's value into v, whose arity says what it may hold:
 * entries only when discrete, distributions only when numeric. */
static void get_value(struct rbuf *r, struct ks_value *v)
{
	bool numeric = ks_arity_numeric(v->arity);
	uint64_t n;

	v->total = get_u64(r);
	get_dist(r, &v->dist, numeric);
	n = get_u64(r);
	if (n && !ks_arity_discrete(v->arity))
		r->err = -EINVAL;
	for (uint64_t k = 0; k < n && !r->err; k++) {
		uint64_t klen = get_u64(r);
		struct ks_value_entry *e;
		uint32_t sym;

		if (r->err || klen > KS_SYM_MAXLEN || klen > r->left) {
			r->err = -EINVAL;
			return;
		}
		/* The entry made below holds the symbol. */
		sym = ks_sym_transient_n((const char *)r->p, klen);
		r->p += klen;
		r->left -= klen;
		/* A key with a NUL inside, or given twice, is not ours. */
		if (!sym || ks_value__find(v, sym)) {
			r->err = !sym && (errno == ENOMEM || errno == ENOSPC) ?
				 -ENOMEM : -EINVAL;
			return;
		}
		if (!(e = ks_value__entry(v, sym))) {
			r->err = -ENOMEM;
			return;
		}
		e->count = get_u64(r);
		get_dist(r, &e->dist, numeric);
	}
}

int ks_dataset__load(struct ks_dataset *ds, const uint8_t *buf, size_t len)
{
	struct rbuf r = { buf, len, 0 };
	struct ks_value v;
	uint64_t n;

	ks_dataset__clear(ds);
	if (get_u64(&r) != MAGIC ||
	    get_u64(&r) != ks_dataset__granularity(ds))
		return -EINVAL;
	n = get_u64(&r);
	if (r.err || n > KS_MAX_DATAPOINTS_STORED)
		return -EINVAL;
	for (; n && !r.err; n--) {
		int64_t t = (int64_t)get_u64(&r);

		ks_value_init(&v, ks_dataset__arity(ds));
		get_value(&r, &v);
		if (!r.err)	/* -EINVAL for a negative or unaligned t */
			r.err = ks_dataset__put_slot(ds, t, &v);
		ks_value_fini(&v);
	}
	if (!r.err && r.left)
		r.err = -EINVAL;	/* trailing bytes: not our blob */
	if (r.err)
		ks_dataset__clear(ds);
	return r.err;
}
