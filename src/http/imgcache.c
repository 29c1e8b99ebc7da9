/* imgcache.c - a small cache of rendered heatmap answers (imgcache.h).
 *
 * A fixed array searched linearly: with at most a hundred or so entries a
 * scan comparing 64-bit key hashes costs well under a microsecond, far
 * below the millisecond an entry saves, and needs no table to resize.
 * Recency is a counter stamped on each use; eviction takes the smallest.
 * Claims are a second fixed array, of keys being drawn; waiters sleep on
 * one condition variable, woken whenever a claim ends, and look again.
 */
#include "http/imgcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

struct entry {
	char *key;		/* NULL: free */
	uint64_t hash;
	char *view;		/* or NULL */
	uint64_t vhash;
	int64_t epoch;
	char *body;
	size_t len;
	uint64_t used;		/* recency stamp */
};

/* A key being drawn by the request that claimed it. */
struct flight {
	char *key;		/* NULL: free */
	uint64_t hash;
};

struct ks_imgcache {
	pthread_mutex_t lock;
	pthread_cond_t done;	/* a claim ended */
	struct flight fl[KS_IMGCACHE_FLIGHTS];
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

/* Waits are timed on the monotonic clock: a wall clock step must not
 * stretch or cut them. */
static int cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t at;
	int rc;

	if (pthread_condattr_init(&at))
		return -ENOMEM;
	rc = pthread_condattr_setclock(&at, CLOCK_MONOTONIC) ||
	     pthread_cond_init(cv, &at);
	pthread_condattr_destroy(&at);
	return rc ? -ENOMEM : 0;
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
	if (cond_init(&c->done)) {
		pthread_mutex_destroy(&c->lock);
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
	free(e->view);
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
	for (size_t i = 0; i < KS_IMGCACHE_FLIGHTS; i++)
		free(c->fl[i].key);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
	free(c->e);
	free(c);
}

/* The entry of key, whatever its epoch. */
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

/* The entry of key drawn in epoch, the cache's second or the one before
 * (a request that read the clock just before it moved). */
static struct entry *find_now(struct ks_imgcache *c, const char *key,
			      int64_t epoch)
{
	struct entry *e;

	if (!c->have_epoch || epoch > c->epoch || epoch < c->epoch - 1)
		return NULL;
	e = find(c, key, key_hash(key));
	return e && e->epoch == epoch ? e : NULL;
}

/* The entry of view drawn in epoch (the second before the asker's). */
static struct entry *find_view(struct ks_imgcache *c, const char *view,
			       int64_t epoch)
{
	uint64_t h = key_hash(view);

	for (size_t i = 0; i < c->n; i++) {
		struct entry *e = &c->e[i];

		if (e->view && e->epoch == epoch && e->vhash == h &&
		    !strcmp(e->view, view))
			return e;
	}
	return NULL;
}

/* A malloc'd, NUL terminated copy of e's body, e marked used. */
static int copy_out(struct ks_imgcache *c, struct entry *e, char **body,
		    size_t *len)
{
	if (!(*body = malloc(e->len + 1)))
		return -ENOMEM;
	memcpy(*body, e->body, e->len);
	(*body)[e->len] = '\0';
	*len = e->len;
	e->used = ++c->clock;
	return 0;
}

int ks_imgcache__get(struct ks_imgcache *c, const char *key, int64_t epoch,
		     char **body, size_t *len)
{
	struct entry *e;
	int rc = -ENOENT;

	*body = NULL;
	*len = 0;
	pthread_mutex_lock(&c->lock);
	if ((e = find_now(c, key, epoch)))
		rc = copy_out(c, e, body, len);
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

/* Moves the cache to epoch: false if epoch is older than the second
 * before its own.  The entries of the second before stay, to stand in for
 * their views while the new second's are drawn, and to answer requests
 * that read the clock just before it moved (a draw that ends just after
 * the second is kept: under load, every draw did, and none was kept);
 * older ones go. */
static bool advance(struct ks_imgcache *c, int64_t epoch)
{
	bool dropped = false;

	if (c->have_epoch && epoch < c->epoch - 1)
		return false;
	if (c->have_epoch && epoch < c->epoch)
		return true;
	for (size_t i = 0; c->have_epoch && epoch > c->epoch && i < c->n; i++)
		if (c->e[i].key && c->e[i].epoch < epoch - 1) {
			entry_drop(c, &c->e[i]);
			dropped = true;
		}
	c->st.flushes += dropped;
	c->epoch = epoch;
	c->have_epoch = true;
	return true;
}

static int store(struct ks_imgcache *c, const struct ks_imgcache_ask *q,
		 const char *body, size_t len)
{
	char *k = strdup(q->key), *b = malloc(len ? len : 1);
	char *v = q->view ? strdup(q->view) : NULL;
	uint64_t hash = key_hash(q->key);
	struct entry *e;

	if (!k || !b || (q->view && !v)) {
		free(k);
		free(b);
		free(v);
		return -ENOMEM;
	}
	memcpy(b, body, len);
	if ((e = find(c, q->key, hash)))
		entry_drop(c, e);
	make_room(c, len);
	e = victim(c);
	if (e->key)
		c->st.evictions++;
	entry_drop(c, e);
	*e = (struct entry){ .key = k, .hash = hash, .view = v,
			     .vhash = v ? key_hash(v) : 0, .epoch = q->epoch,
			     .body = b, .len = len, .used = ++c->clock };
	c->st.entries++;
	c->st.bytes += len;
	c->st.puts++;
	return 0;
}

/* ---- claims ------------------------------------------------------------ */

static struct flight *flight_find(struct ks_imgcache *c, const char *key,
				  uint64_t hash)
{
	for (size_t i = 0; i < KS_IMGCACHE_FLIGHTS; i++) {
		struct flight *f = &c->fl[i];

		if (f->key && f->hash == hash && !strcmp(f->key, key))
			return f;
	}
	return NULL;
}

/* Claims key: true, or false if every claim is taken (or no memory). */
static bool flight_claim(struct ks_imgcache *c, const char *key,
			 uint64_t hash)
{
	for (size_t i = 0; i < KS_IMGCACHE_FLIGHTS; i++) {
		struct flight *f = &c->fl[i];

		if (f->key)
			continue;
		if (!(f->key = strdup(key)))
			return false;
		f->hash = hash;
		c->st.flights++;
		c->st.claims++;
		return true;
	}
	return false;
}

/* Ends key's claim, if there is one, and wakes the waiters. */
static void flight_end(struct ks_imgcache *c, const char *key)
{
	struct flight *f = flight_find(c, key, key_hash(key));

	if (!f)
		return;
	free(f->key);
	memset(f, 0, sizeof(*f));
	c->st.flights--;
	pthread_cond_broadcast(&c->done);
}

/* Waits (locked) until key is no longer being drawn or the wait is over:
 * the entry the draw left, or NULL. */
static struct entry *wait_for(struct ks_imgcache *c, const char *key,
			      int64_t epoch, uint64_t hash, unsigned int ms)
{
	struct timespec until = ks_clock_deadline(CLOCK_MONOTONIC,
						  ms * 1000000LL);
	struct entry *e = NULL;

	c->st.waiters++;
	while (!(e = find_now(c, key, epoch)) && flight_find(c, key, hash) &&
	       !pthread_cond_timedwait(&c->done, &c->lock, &until))
		;
	c->st.waiters--;
	return e ? e : find_now(c, key, epoch);
}

/* fetch's decision (locked), with *e the entry to copy for HIT/STALE. */
static enum ks_imgcache_got decide(struct ks_imgcache *c,
				   const struct ks_imgcache_ask *q, bool wait,
				   struct entry **e)
{
	uint64_t hash = key_hash(q->key);

	if ((*e = find_now(c, q->key, q->epoch)))
		return KS_IMGCACHE_HIT;
	if (!flight_find(c, q->key, hash)) {
		if (!flight_claim(c, q->key, hash))
			return KS_IMGCACHE_DRAW_ALONE;
		if (q->handoff && q->view &&
		    (*e = find_view(c, q->view, q->epoch - 1)))
			return KS_IMGCACHE_STALE_DRAW;
		return KS_IMGCACHE_DRAW;
	}
	if (q->view && (*e = find_view(c, q->view, q->epoch - 1)))
		return KS_IMGCACHE_STALE;
	if (!wait)
		return KS_IMGCACHE_BUSY;
	if (c->st.waiters >= KS_IMGCACHE_WAITERS)
		return KS_IMGCACHE_DRAW_ALONE;
	*e = wait_for(c, q->key, q->epoch, hash, KS_IMGCACHE_WAIT_MS);
	c->st.shared += *e != NULL;
	return *e ? KS_IMGCACHE_HIT : KS_IMGCACHE_DRAW_ALONE;
}

int ks_imgcache__await(struct ks_imgcache *c, const char *key, int64_t epoch,
		       unsigned int ms, char **body, size_t *len)
{
	struct entry *e;
	int rc = -ENOENT;

	*body = NULL;
	*len = 0;
	pthread_mutex_lock(&c->lock);
	if ((e = wait_for(c, key, epoch, key_hash(key), ms)))
		rc = copy_out(c, e, body, len);
	c->st.shared += !rc;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int ks_imgcache__fetch(struct ks_imgcache *c, const struct ks_imgcache_ask *q,
		       bool wait, char **body, size_t *len)
{
	struct entry *e;
	int got;

	*body = NULL;
	*len = 0;
	pthread_mutex_lock(&c->lock);
	got = decide(c, q, wait, &e);
	if (e && copy_out(c, e, body, len)) {
		if (got == KS_IMGCACHE_STALE_DRAW)
			flight_end(c, q->key);
		got = -ENOMEM;
	}
	if (got == KS_IMGCACHE_HIT)
		c->st.hits++;
	else if (got == KS_IMGCACHE_STALE || got == KS_IMGCACHE_STALE_DRAW)
		c->st.stale++;
	else if (got != KS_IMGCACHE_BUSY)
		c->st.misses++;
	pthread_mutex_unlock(&c->lock);
	return got;
}

void ks_imgcache__abandon(struct ks_imgcache *c, const char *key)
{
	pthread_mutex_lock(&c->lock);
	flight_end(c, key);
	pthread_mutex_unlock(&c->lock);
}

int ks_imgcache__put_view(struct ks_imgcache *c,
			  const struct ks_imgcache_ask *q, const char *body,
			  size_t len)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	if (len > KS_IMGCACHE_MAX_BODY || len > c->max_bytes)
		rc = -EFBIG;
	else
		rc = advance(c, q->epoch) ? store(c, q, body, len) : -ESTALE;
	/* After the store: a woken waiter finds the entry. */
	flight_end(c, q->key);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int ks_imgcache__put(struct ks_imgcache *c, const char *key, int64_t epoch,
		     const char *body, size_t len)
{
	struct ks_imgcache_ask q = { .key = key, .epoch = epoch };

	return ks_imgcache__put_view(c, &q, body, len);
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
