/* imgcache.c - a small cache of rendered heatmap answers (imgcache.h).
 *
 * A fixed array searched linearly: with at most a hundred or so entries a
 * scan comparing 64-bit key hashes costs well under a microsecond, far
 * below the millisecond an entry saves, and needs no table to resize.
 * Recency is a counter stamped on each use; eviction takes the smallest.
 */
#include "http/imgcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char *key;		/* NULL: free */
	uint64_t hash;
	char *body;
	size_t len;
	uint64_t used;		/* recency stamp */
};

struct ks_imgcache {
	pthread_mutex_t lock;
	struct entry *e;
	size_t n;
	size_t max_bytes;
	int64_t epoch;
	bool have_epoch;
	uint64_t clock;
	struct ks_imgcache_stats st;
};

/* FNV-1a: the keys are short text and this only narrows the strcmp. */
static uint64_t key_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

struct ks_imgcache *ks_imgcache__new(size_t nentries, size_t max_bytes)
{
	struct ks_imgcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->n = nentries ? nentries : KS_IMGCACHE_ENTRIES;
	c->max_bytes = max_bytes ? max_bytes : KS_IMGCACHE_BYTES;
	c->e = calloc(c->n, sizeof(*c->e));
	if (!c->e || pthread_mutex_init(&c->lock, NULL)) {
		free(c->e);
		free(c);
		return NULL;
	}
	return c;
}

static void entry_drop(struct ks_imgcache *c, struct entry *e)
{
	if (!e->key)
		return;
	c->st.bytes -= e->len;
	c->st.entries--;
	free(e->key);
	free(e->body);
	memset(e, 0, sizeof(*e));
}

static void drop_all(struct ks_imgcache *c)
{
	for (size_t i = 0; i < c->n; i++)
		entry_drop(c, &c->e[i]);
}

void ks_imgcache__free(struct ks_imgcache *c)
{
	if (!c)
		return;
	drop_all(c);
	pthread_mutex_destroy(&c->lock);
	free(c->e);
	free(c);
}

static struct entry *find(struct ks_imgcache *c, const char *key,
			  uint64_t hash)
{
	for (size_t i = 0; i < c->n; i++) {
		struct entry *e = &c->e[i];

		if (e->key && e->hash == hash && !strcmp(e->key, key))
			return e;
	}
	return NULL;
}

int ks_imgcache__get(struct ks_imgcache *c, const char *key, int64_t epoch,
		     char **body, size_t *len)
{
	struct entry *e;
	int rc = -ENOENT;

	*body = NULL;
	*len = 0;
	pthread_mutex_lock(&c->lock);
	e = c->have_epoch && epoch == c->epoch ? find(c, key, key_hash(key))
					       : NULL;
	if (e && (*body = malloc(e->len + 1))) {
		memcpy(*body, e->body, e->len);
		(*body)[e->len] = '\0';
		*len = e->len;
		e->used = ++c->clock;
		rc = 0;
	} else if (e) {
		rc = -ENOMEM;
	}
	if (rc)
		c->st.misses++;
	else
		c->st.hits++;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* The entry to fill: a free one, else the least recently used. */
static struct entry *victim(struct ks_imgcache *c)
{
	struct entry *v = &c->e[0];

	for (size_t i = 0; i < c->n; i++) {
		if (!c->e[i].key)
			return &c->e[i];
		if (c->e[i].used < v->used)
			v = &c->e[i];
	}
	return v;
}

/* Evicts least recently used entries until len more bytes fit. */
static void make_room(struct ks_imgcache *c, size_t len)
{
	while (c->st.entries && c->st.bytes + len > c->max_bytes) {
		struct entry *v = NULL;

		for (size_t i = 0; i < c->n; i++)
			if (c->e[i].key && (!v || c->e[i].used < v->used))
				v = &c->e[i];
		entry_drop(c, v);
		c->st.evictions++;
	}
}

/* Moves the cache to epoch: false if epoch is older than its own. */
static bool advance(struct ks_imgcache *c, int64_t epoch)
{
	if (c->have_epoch && epoch < c->epoch)
		return false;
	if (c->have_epoch && epoch > c->epoch && c->st.entries) {
		drop_all(c);
		c->st.flushes++;
	}
	c->epoch = epoch;
	c->have_epoch = true;
	return true;
}

static int store(struct ks_imgcache *c, const char *key, uint64_t hash,
		 const char *body, size_t len)
{
	char *k = strdup(key), *b = malloc(len ? len : 1);
	struct entry *e;

	if (!k || !b) {
		free(k);
		free(b);
		return -ENOMEM;
	}
	memcpy(b, body, len);
	if ((e = find(c, key, hash)))
		entry_drop(c, e);
	make_room(c, len);
	e = victim(c);
	if (e->key)
		c->st.evictions++;
	entry_drop(c, e);
	*e = (struct entry){ .key = k, .hash = hash, .body = b, .len = len,
			     .used = ++c->clock };
	c->st.entries++;
	c->st.bytes += len;
	c->st.puts++;
	return 0;
}

int ks_imgcache__put(struct ks_imgcache *c, const char *key, int64_t epoch,
		     const char *body, size_t len)
{
	int rc;

	if (len > KS_IMGCACHE_MAX_BODY || len > c->max_bytes)
		return -EFBIG;
	pthread_mutex_lock(&c->lock);
	rc = advance(c, epoch) ? store(c, key, key_hash(key), body, len)
			       : -ESTALE;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void ks_imgcache__flush(struct ks_imgcache *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->st.entries)
		c->st.flushes++;
	drop_all(c);
	pthread_mutex_unlock(&c->lock);
}

void ks_imgcache__stats(struct ks_imgcache *c, struct ks_imgcache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	pthread_mutex_unlock(&c->lock);
}
