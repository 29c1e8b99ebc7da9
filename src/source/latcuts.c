/* latcuts.c - the latency edges handed to the exits probe (latcuts.h).
 *
 * Sets are tiny (KS_LATCUT_MAX), so insertion keeps them sorted by
 * shifting, and the value of a (bucket, side) pair is found by walking
 * the cuts inside the bucket.
 */
#include "source/latcuts.h"

#include <string.h>

void ks_latcuts_init(struct ks_latcuts *c)
{
	memset(c, 0, sizeof(*c));
}

static void add_one(struct ks_latcuts *c, uint64_t e)
{
	uint32_t i = 0;

	/* A bucket's lower bound splits no bucket. */
	if (ks_ll_lo(ks_ll_index(e)) == e)
		return;
	while (i < c->n && c->v[i] < e)
		i++;
	if (i < c->n && c->v[i] == e)
		return;
	if (c->n == KS_LATCUT_MAX) {
		c->over++;
		return;
	}
	memmove(&c->v[i + 1], &c->v[i], (c->n - i) * sizeof(c->v[0]));
	c->v[i] = e;
	c->n++;
}

void ks_latcuts_add(struct ks_latcuts *c, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add_one(c, v[i]);
}

int ks_latcuts_equal(const struct ks_latcuts *a, const struct ks_latcuts *b)
{
	return a->n == b->n && !memcmp(a->v, b->v, a->n * sizeof(a->v[0]));
}

uint64_t ks_latcuts_value(const struct ks_latcuts *c, uint32_t bucket,
			  uint32_t side)
{
	uint64_t lo = ks_ll_lo(bucket), hi = ks_ll_hi(bucket), v = lo;
	uint32_t seen = 0;

	for (uint32_t i = 0; i < c->n && seen < side; i++) {
		if (c->v[i] <= lo || c->v[i] > hi)
			continue;
		v = c->v[i];
		seen++;
	}
	/* A side counted against other cuts (they changed meanwhile) keeps
	 * the last cut inside: still a value of the bucket. */
	return v;
}
