/* dict.c - the open-addressing index of ids (see dict.h).
 *
 * Deletion shifts later members of the probe run back instead of leaving
 * tombstones, so a table whose keys come and go (symbols of guests that
 * come and go) never fills with dead slots and never needs a rebuild.
 */
#include "util/dict.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ks_dict__reserve(struct ks_dict *d, size_t n, ks_dict_hash_fn hash,
		     void *ctx)
{
	size_t nslot = d->nslot ? d->nslot : 16;
	uint32_t *s;

	while (n * 2 > nslot)
		nslot *= 2;
	if (nslot == d->nslot)
		return 0;
	s = calloc(nslot, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < d->nslot; i++) {
		uint32_t id = d->slot[i];
		size_t j;

		if (!id)
			continue;
		for (j = hash(ctx, id) & (nslot - 1); s[j];
		     j = (j + 1) & (nslot - 1))
			;
		s[j] = id;
	}
	free(d->slot);
	d->slot = s;
	d->nslot = nslot;
	return 0;
}

int ks_array_room(void *arrp, size_t *cap, size_t n, size_t esz)
{
	size_t want = *cap ? *cap * 2 : 16;
	void *arr, *p;

	if (n < *cap)
		return 0;
	memcpy(&arr, arrp, sizeof(arr));
	if (want > SIZE_MAX / esz || !(p = realloc(arr, want * esz)))
		return -ENOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = want;
	return 0;
}

int ks_dict__room(struct ks_dict *d, void *arrp, size_t *cap, size_t n,
		  size_t esz, ks_dict_hash_fn hash, void *ctx)
{
	/* The index first: rehashing reads the keys where they are now. */
	if (ks_dict__reserve(d, n + 1, hash, ctx))
		return -ENOMEM;
	return ks_array_room(arrp, cap, n, esz);
}

void ks_dict__del(struct ks_dict *d, uint32_t id, uint64_t h,
		  ks_dict_hash_fn hash, void *ctx)
{
	size_t mask = d->nslot - 1, i, j;

	if (!d->nslot)
		return;
	for (i = h & mask; d->slot[i] != id; i = (i + 1) & mask)
		if (!d->slot[i])
			return;
	/* Move back each later member of the run whose home is not
	 * between the hole and it (cyclically). */
	for (j = (i + 1) & mask; d->slot[j]; j = (j + 1) & mask) {
		size_t k = hash(ctx, d->slot[j]) & mask;

		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		d->slot[i] = d->slot[j];
		i = j;
	}
	d->slot[i] = 0;
	d->n--;
}

void ks_dict__clear(struct ks_dict *d)
{
	if (d->nslot)
		memset(d->slot, 0, d->nslot * sizeof(*d->slot));
	d->n = 0;
}

void ks_dict__renumber(struct ks_dict *d, size_t n, ks_dict_hash_fn hash,
		       void *ctx)
{
	size_t mask = d->nslot - 1;

	ks_dict__clear(d);
	for (size_t id = 1; id <= n; id++) {
		size_t j = hash(ctx, (uint32_t)id) & mask;

		while (d->slot[j])
			j = (j + 1) & mask;
		d->slot[j] = (uint32_t)id;
	}
	d->n = n;
}

void ks_dict__fini(struct ks_dict *d)
{
	free(d->slot);
	*d = (struct ks_dict)KS_DICT_INIT;
}

int ks_dict__copy(struct ks_dict *d, const struct ks_dict *src)
{
	*d = (struct ks_dict)KS_DICT_INIT;
	if (!src->nslot)
		return 0;
	if (!(d->slot = malloc(src->nslot * sizeof(*d->slot))))
		return -ENOMEM;
	memcpy(d->slot, src->slot, src->nslot * sizeof(*d->slot));
	d->nslot = src->nslot;
	d->n = src->n;
	return 0;
}

size_t ks_dict__bytes(const struct ks_dict *d)
{
	return d->nslot * sizeof(*d->slot);
}
