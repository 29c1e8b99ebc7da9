/* carry.c - counter increases carried across range queries (see carry.h).
 *
 * The series keys live in an array the carry owns, indexed by util/dict
 * (ids are array positions + 1).  Expiry compacts the array and renumbers
 * the index: it runs once per poll at most, and the few thousand series
 * of an instrumentation rehash in microseconds.
 */
#include "fleet/carry.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/dict.h"

struct ent {
	char *key;
	double last;
	int64_t seen;
};

struct ks_carry {
	struct ks_dict idx;
	struct ent *e;
	size_t n, cap;
	uint64_t dropped;
};

static uint64_t hash_id(void *ctx, uint32_t id)
{
	const struct ks_carry *c = ctx;
	const char *k = c->e[id - 1].key;

	return ks_dict_hash_bytes(k, strlen(k));
}

static bool eq_id(void *ctx, uint32_t id, const void *key)
{
	const struct ks_carry *c = ctx;

	return !strcmp(c->e[id - 1].key, key);
}

struct ks_carry *ks_carry__new(void)
{
	return calloc(1, sizeof(struct ks_carry));
}

void ks_carry__free(struct ks_carry *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].key);
	free(c->e);
	ks_dict__fini(&c->idx);
	free(c);
}

static uint32_t find(const struct ks_carry *c, const char *key)
{
	return ks_dict__find(&c->idx, ks_dict_hash_bytes(key, strlen(key)),
			     eq_id, (void *)c, key);
}

double ks_carry__last(const struct ks_carry *c, const char *key)
{
	uint32_t id = c ? find(c, key) : 0;

	return id ? c->e[id - 1].last : NAN;
}

int ks_carry__set(struct ks_carry *c, const char *key, double v,
		  int64_t at)
{
	uint32_t id = find(c, key), *s;
	uint64_t h = ks_dict_hash_bytes(key, strlen(key));
	char *k;

	if (id) {
		c->e[id - 1].last = v;
		c->e[id - 1].seen = at;
		return 0;
	}
	if (c->n >= KS_CARRY_MAX) {
		c->dropped++;
		return -ENOSPC;
	}
	if (ks_dict__room(&c->idx, &c->e, &c->cap, c->n, sizeof(*c->e),
			  hash_id, c) || !(k = strdup(key)))
		return -ENOMEM;
	c->e[c->n] = (struct ent){ k, v, at };
	s = ks_dict__slot(&c->idx, h, eq_id, c, key);
	ks_dict__set(&c->idx, s, (uint32_t)++c->n);
	return 0;
}

void ks_carry__expire(struct ks_carry *c, int64_t before)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (c->e[i].seen < before)
			free(c->e[i].key);
		else
			c->e[kept++] = c->e[i];
	}
	if (kept == c->n)
		return;
	c->n = kept;
	ks_dict__renumber(&c->idx, c->n, hash_id, c);
}

size_t ks_carry__count(const struct ks_carry *c)
{
	return c ? c->n : 0;
}

uint64_t ks_carry__dropped(const struct ks_carry *c)
{
	return c ? c->dropped : 0;
}

double ks_carry_increases(const double *at, size_t n, double last,
			  double *d)
{
	for (size_t i = 0; i < n; i++)
		d[i] = 0;
	for (size_t i = 0; i <= n; i++) {
		if (isnan(at[i]))
			continue;	/* a gap: the next sample tells */
		if (i > 0)
			d[i - 1] = isnan(last) || at[i] < last ?
				   at[i] : at[i] - last;
		last = at[i];
	}
	return last;
}
