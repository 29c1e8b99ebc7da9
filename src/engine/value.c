/* value.c - values in CA's four shapes, and their JSON.
 *
 * A value keeps a total, a whole distribution for numeric arities, and for
 * discrete arities one entry per key, found through a small open-addressing
 * index so that adding a record is a hash probe and an increment.  Each
 * entry holds a reference on its key's symbol, so the strings of the keys
 * a value shows live exactly as long as the value.
 */
#include "engine/value.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"

void ks_value_init(struct ks_value *v, enum ks_arity arity)
{
	memset(v, 0, sizeof(*v));
	v->arity = arity;
	ks_dist_init(&v->dist);
}

void ks_value_fini(struct ks_value *v)
{
	for (size_t k = 0; k < v->n; k++) {
		ks_dist_fini(&v->e[k].dist);
		ks_sym_put(v->e[k].key);
	}
	free(v->e);
	ks_dict__fini(&v->idx);
	ks_dist_fini(&v->dist);
	ks_value_init(v, v->arity);
}

static uint64_t entry_hash(void *ctx, uint32_t k1)
{
	const struct ks_value *v = ctx;

	return ks_value_key_hash(v->e[k1 - 1].key);
}

static bool entry_eq(void *ctx, uint32_t k1, const void *key)
{
	const struct ks_value *v = ctx;

	return v->e[k1 - 1].key == *(const uint32_t *)key;
}

const struct ks_value_entry *ks_value__find(const struct ks_value *v,
					    uint32_t key)
{
	uint32_t k1 = ks_dict__find(&v->idx, ks_value_key_hash(key), entry_eq,
				    (void *)v, &key);

	return k1 ? &v->e[k1 - 1] : NULL;
}

struct ks_value_entry *ks_value__entry(struct ks_value *v, uint32_t key)
{
	struct ks_value_entry *e;
	uint32_t *s;

	if ((e = ks_value__lookup(v, key)))
		return e;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		struct ks_value_entry *p = realloc(v->e, cap * sizeof(*p));

		if (!p)
			return NULL;
		v->e = p;
		v->cap = cap;
	}
	if (ks_dict__reserve(&v->idx, v->n + 1, entry_hash, v))
		return NULL;
	e = &v->e[v->n];
	ks_sym_hold(key);
	e->key = key;
	e->count = 0;
	ks_dist_init(&e->dist);
	v->n++;
	s = ks_dict__slot(&v->idx, ks_value_key_hash(key), entry_eq, v, &key);
	ks_dict__set(&v->idx, s, (uint32_t)v->n);
	return e;
}

int ks_value__merge(struct ks_value *v, const struct ks_value *src)
{
	int err;

	if (ks_arity_numeric(v->arity) &&
	    (err = ks_dist__merge(&v->dist, &src->dist)))
		return err;
	for (size_t k = 0; k < src->n; k++) {
		struct ks_value_entry *e = ks_value__entry(v, src->e[k].key);

		if (!e)
			return -ENOMEM;
		if (ks_arity_numeric(v->arity) &&
		    (err = ks_dist__merge(&e->dist, &src->e[k].dist)))
			return err;
		e->count += src->e[k].count;
	}
	v->total += src->total;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct ks_value_entry *x = a, *y = b;

	return strcmp(ks_sym_str(x->key), ks_sym_str(y->key));
}

/* An entry with its key's string, read once: ks_sym_str takes the
 * symbol table's lock, and comparing entries by reading both strings
 * again took two locks per comparison (a slot of 1,000 keys, sorted when
 * it closes, made 20,000 of them). */
struct keyed {
	const char *s;
	struct ks_value_entry e;
};

static int cmp_keyed(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->s,
		      ((const struct keyed *)b)->s);
}

/* The strings stay put while the entries hold their symbols. */
static void sort_keyed(struct ks_value *v)
{
	struct keyed *k = malloc(v->n * sizeof(*k));

	if (!k) {
		qsort(v->e, v->n, sizeof(*v->e), cmp_entry);
		return;
	}
	for (size_t i = 0; i < v->n; i++)
		k[i] = (struct keyed){ ks_sym_str(v->e[i].key), v->e[i] };
	qsort(k, v->n, sizeof(*k), cmp_keyed);
	for (size_t i = 0; i < v->n; i++)
		v->e[i] = k[i].e;
	free(k);
}

void ks_value__sort(struct ks_value *v)
{
	if (v->n >= 2 && v->nsorted != v->n) {
		sort_keyed(v);
		/* Sorting cannot fail after the index exists: same slots. */
		ks_dict__renumber(&v->idx, v->n, entry_hash, v);
	}
	v->nsorted = v->n;
}

int ks_value__copy(struct ks_value *v, const struct ks_value *src)
{
	ks_value_init(v, src->arity);
	v->total = src->total;
	if (ks_dist__copy(&v->dist, &src->dist))
		goto nomem;
	if (src->n && !(v->e = malloc(src->n * sizeof(*v->e))))
		goto nomem;
	v->cap = src->n;
	for (size_t k = 0; k < src->n; k++) {
		struct ks_value_entry *e = &v->e[k];

		e->key = src->e[k].key;
		e->count = src->e[k].count;
		if (ks_dist__copy(&e->dist, &src->e[k].dist))
			goto nomem;
		ks_sym_hold(e->key);
		v->n = k + 1;
	}
	if (ks_dict__copy(&v->idx, &src->idx))
		goto nomem;
	v->nsorted = src->nsorted;
	return 0;
nomem:
	ks_value_fini(v);
	return -ENOMEM;
}

int ks_value__compact(struct ks_value *v)
{
	int err;

	if ((err = ks_dist__compact(&v->dist)))
		return err;
	for (size_t k = 0; k < v->n; k++)
		if ((err = ks_dist__compact(&v->e[k].dist)))
			return err;
	return 0;
}

size_t ks_value__bytes(const struct ks_value *v)
{
	size_t b = ks_dist__bytes(&v->dist) + v->cap * sizeof(*v->e) +
		   ks_dict__bytes(&v->idx);

	for (size_t k = 0; k < v->n; k++)
		b += ks_dist__bytes(&v->e[k].dist);
	return b;
}

static size_t dist_cells(const struct ks_dist *d)
{
	size_t it = 0, n = 0;
	uint32_t i;
	uint64_t c;

	while (ks_dist__next(d, &it, &i, &c))
		n++;
	return n;
}

size_t ks_value__cells(const struct ks_value *v)
{
	size_t n;

	switch (v->arity) {
	case KS_ARITY_SCALAR:
		return 1;
	case KS_ARITY_NUMERIC:
		return dist_cells(&v->dist);
	case KS_ARITY_DISCRETE:
		return v->n;
	default:
		break;
	}
	n = v->n;
	for (size_t k = 0; k < v->n; k++)
		n += dist_cells(&v->e[k].dist);
	return n;
}

/* JSON integers are signed: the top bucket ends at INT64_MAX, as CA's did. */
static json_int_t clamp(uint64_t x)
{
	return x > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)x;
}

json_t *ks_dist__to_json(const struct ks_dist *d)
{
	json_t *a = json_array();
	size_t it = 0;
	uint32_t i;
	uint64_t c;

	if (!a)
		return NULL;
	while (ks_dist__next(d, &it, &i, &c)) {
		json_t *r = json_pack("[[II]I]", clamp(ks_ll_lo(i)),
				      clamp(ks_ll_hi(i)), clamp(c));

		if (!r || json_array_append_new(a, r)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *ks_value__to_json(const struct ks_value *v)
{
	json_t *o;

	switch (v->arity) {
	case KS_ARITY_SCALAR:
		return json_integer(clamp(v->total));
	case KS_ARITY_NUMERIC:
		return ks_dist__to_json(&v->dist);
	default:
		break;
	}
	o = json_object();
	for (size_t k = 0; o && k < v->n; k++) {
		const struct ks_value_entry *e = &v->e[k];
		json_t *x = v->arity == KS_ARITY_DISCRETE ?
				json_integer(clamp(e->count)) :
				ks_dist__to_json(&e->dist);

		if (!x || json_object_set_new(o, ks_sym_str(e->key), x)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}
