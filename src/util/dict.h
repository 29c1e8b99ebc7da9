/* dict.h - an open-addressing index of non-zero 32-bit ids.
 *
 * The tables of the tree (symbols, value keys, series) all map a key to a
 * small id that indexes an array the owner keeps; the index is the same
 * each time: a power-of-two array of ids (0 = empty), linear probing, load
 * at most 1/2.  The owner keeps the keys, so the index asks it through two
 * callbacks: the hash of an id's key (to rehash and delete) and whether an
 * id's key equals the one looked for.  Lookups never allocate.
 */
#ifndef KS_UTIL_DICT_H
#define KS_UTIL_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_dict {
	uint32_t *slot;		/* ids, 0 = empty */
	size_t nslot;		/* 0 or a power of two */
	size_t n;		/* ids held */
};

typedef uint64_t (*ks_dict_hash_fn)(void *ctx, uint32_t id);
typedef bool (*ks_dict_eq_fn)(void *ctx, uint32_t id, const void *key);

#define KS_DICT_INIT { NULL, 0, 0 }

/* The slot holding the id whose key equals key (hash h), or the empty slot
 * where it would go.  The index must have slots (ks_dict__reserve). */
static inline uint32_t *ks_dict__slot(const struct ks_dict *d, uint64_t h,
				      ks_dict_eq_fn eq, void *ctx,
				      const void *key)
{
	size_t mask = d->nslot - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask)
		if (!d->slot[i] || eq(ctx, d->slot[i], key))
			return &d->slot[i];
}

/* The id of key, or 0. */
static inline uint32_t ks_dict__find(const struct ks_dict *d, uint64_t h,
				     ks_dict_eq_fn eq, void *ctx,
				     const void *key)
{
	return d->nslot ? *ks_dict__slot(d, h, eq, ctx, key) : 0;
}

/* Room for n ids at load at most 1/2, rehashing the ids held.  0 or
 * -ENOMEM (the index unchanged). */
int ks_dict__reserve(struct ks_dict *d, size_t n, ks_dict_hash_fn hash,
		     void *ctx);
/* Room for one more element in an owner's array *arrp (arrp points to the
 * owner's pointer; *cap elements of size esz, n of them used): grown to
 * hold n + 1, doubling, 16 at first.  0 or -ENOMEM (the array as it was).
 * The tables that need no index (a few rows found by a scan) use it too. */
int ks_array_room(void *arrp, size_t *cap, size_t n, size_t esz);
/* Room for one more id when n are held: the index reserved for n + 1 and
 * the owner's array *arrp (of *cap elements of size esz; arrp points to
 * the owner's pointer) grown to hold n + 1 (doubling, 16 at first).  0 or
 * -ENOMEM (both still as usable as before). */
int ks_dict__room(struct ks_dict *d, void *arrp, size_t *cap, size_t n,
		  size_t esz, ks_dict_hash_fn hash, void *ctx);
/* Stores id in the empty slot s found by ks_dict__slot. */
static inline void ks_dict__set(struct ks_dict *d, uint32_t *s, uint32_t id)
{
	*s = id;
	d->n++;
}
/* Removes id (whose key hashes to h); keeps every other id findable. */
void ks_dict__del(struct ks_dict *d, uint32_t id, uint64_t h,
		  ks_dict_hash_fn hash, void *ctx);
/* Empties the index, keeping its slots. */
void ks_dict__clear(struct ks_dict *d);
/* Indexes ids 1..n anew, each where hash(ctx, id) puts it: after the
 * owner compacted or reordered its array (whose keys are distinct).  The
 * index must have held at least n ids before (it has the slots). */
void ks_dict__renumber(struct ks_dict *d, size_t n, ks_dict_hash_fn hash,
		       void *ctx);
void ks_dict__fini(struct ks_dict *d);
/* d, empty, becomes a copy of src (the same ids in the same slots: for an
 * owner whose array is copied as it is).  0 or -ENOMEM (d stays empty). */
int ks_dict__copy(struct ks_dict *d, const struct ks_dict *src);
size_t ks_dict__bytes(const struct ks_dict *d);

/* FNV-1a over bytes, the hash of string keys. */
static inline uint64_t ks_dict_hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

/* Fibonacci hashing, the hash of integer keys. */
static inline uint64_t ks_dict_hash_u64(uint64_t x)
{
	return (x * 11400714819323198485ull) >> 17;
}

#endif /* KS_UTIL_DICT_H */
