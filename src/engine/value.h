/* value.h - a value of an instrumentation over an interval, in CA's shapes.
 *
 * The four arities of CA: a scalar (573), a discrete decomposition
 * ({"io":12,"hlt":1}), a numeric decomposition ([[[lo,hi],count],...]) and
 * both ({"io":[[[lo,hi],count],...]}).  Discrete keys are symtab ids;
 * entries stay in insertion order until ks_value__sort() orders them by key.
 */
#ifndef KS_ENGINE_VALUE_H
#define KS_ENGINE_VALUE_H

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/dist.h"
#include "util/dict.h"

enum ks_arity {
	KS_ARITY_SCALAR,
	KS_ARITY_DISCRETE,
	KS_ARITY_NUMERIC,
	KS_ARITY_DISCRETE_NUMERIC,
};

struct ks_value_entry {
	uint32_t key;		/* symtab id of the discrete value */
	uint64_t count;		/* sum of values (all arities keep it) */
	struct ks_dist dist;	/* numeric arities only */
};

struct ks_value {
	enum ks_arity arity;
	uint64_t total;		/* sum over everything */
	struct ks_dist dist;	/* numeric arities: the whole distribution */
	size_t n, cap;
	struct ks_value_entry *e;
	struct ks_dict idx;	/* key -> k + 1, the entry e[k] */
	size_t nsorted;		/* e[0..nsorted) are in key order (entries
				 * are only ever appended): all when == n */
};

void ks_value_init(struct ks_value *v, enum ks_arity arity);
void ks_value_fini(struct ks_value *v);

static inline bool ks_arity_discrete(enum ks_arity a)
{
	return a == KS_ARITY_DISCRETE || a == KS_ARITY_DISCRETE_NUMERIC;
}

static inline bool ks_arity_numeric(enum ks_arity a)
{
	return a == KS_ARITY_NUMERIC || a == KS_ARITY_DISCRETE_NUMERIC;
}

/* The hash of a key in a value's index. */
static inline uint64_t ks_value_key_hash(uint32_t key)
{
	return key * 2654435761u;
}

/* The entry for key, created if absent; NULL on ENOMEM. */
struct ks_value_entry *ks_value__entry(struct ks_value *v, uint32_t key);
/* The entry for key if v has one, else NULL: the probe every record
 * makes, inline (the index is ks_dict's, read without its callbacks). */
static inline struct ks_value_entry *ks_value__lookup(struct ks_value *v,
						      uint32_t key)
{
	size_t mask = v->idx.nslot - 1;

	if (!v->idx.nslot)
		return NULL;
	for (size_t i = ks_value_key_hash(key) & mask;; i = (i + 1) & mask) {
		uint32_t id = v->idx.slot[i];

		if (!id)
			return NULL;
		if (v->e[id - 1].key == key)
			return &v->e[id - 1];
	}
}
/* The entry for key, or NULL. */
const struct ks_value_entry *ks_value__find(const struct ks_value *v,
					    uint32_t key);
/* Adds one observation: count to the total (and key), and for numeric
 * arities count into bucket idx.  0 or -ENOMEM. */
static inline __attribute__((always_inline))
int ks_value__add(struct ks_value *v, uint32_t key,
				uint32_t idx, uint64_t count)
{
	bool numeric = ks_arity_numeric(v->arity);
	int err;

	if (ks_arity_discrete(v->arity)) {
		struct ks_value_entry *e = ks_value__lookup(v, key);

		if (!e && !(e = ks_value__entry(v, key)))
			return -ENOMEM;
		if (numeric && (err = ks_dist__add_idx(&e->dist, idx, count)))
			return err;
		e->count += count;
	}
	if (numeric && (err = ks_dist__add_idx(&v->dist, idx, count)))
		return err;
	v->total += count;
	return 0;
}
/* v += src (same arity).  0 or -ENOMEM. */
int ks_value__merge(struct ks_value *v, const struct ks_value *src);
/* Orders the entries by key string (nothing to do if they are). */
void ks_value__sort(struct ks_value *v);
/* v (uninitialised) becomes a copy of src: entries in the same order,
 * each key held again.  0 or -ENOMEM (v then empty). */
int ks_value__copy(struct ks_value *v, const struct ks_value *src);
/* Compacts every distribution (for long-lived storage). */
int ks_value__compact(struct ks_value *v);
size_t ks_value__bytes(const struct ks_value *v);
/* The numbers its JSON holds: 1 for a scalar, else one per key and per
 * bucket (what a raw answer's size is budgeted in). */
size_t ks_value__cells(const struct ks_value *v);

/* CA's JSON for the value alone: a number, an object, or a range list. */
json_t *ks_value__to_json(const struct ks_value *v);
/* CA's [[lo,hi],count] list for a distribution. */
json_t *ks_dist__to_json(const struct ks_dist *d);

#endif /* KS_ENGINE_VALUE_H */
