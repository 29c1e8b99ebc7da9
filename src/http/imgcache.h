/* imgcache.h - a small cache of rendered heatmap answers.
 *
 * Drawing a heatmap costs about a millisecond of CPU, and the usual client
 * is a page polling the same view once a second: with many viewers, or
 * many tabs, the same picture is drawn again and again from the same data.
 * The cache keeps a few finished response bodies, each under a key that
 * the caller builds from everything the answer depends on (the
 * instrumentation and its data generation, the engine's second, every
 * parameter, the caller's scope), so an entry is served only to a request
 * that would have drawn exactly the same bytes.
 *
 * Entries also carry the engine second ("epoch") they were drawn in: a
 * put for a newer second drops every entry older than the second before
 * it, since every older key is dead once the second advances, and a put
 * for a second older than that (a slow render finishing late) is
 * dropped.  Size is
 * bounded by entry count and bytes; the least recently used entry goes
 * first.  The cache has its own lock, so it may be used from any thread.
 *
 * Single flight: every live view expires at once when the second
 * advances, and with many viewers each of its next requests missed and
 * drew the same picture again, all at the same time (the HTTP load bench
 * measured 1.35 ms of CPU per cached answer, nearly all of it such
 * duplicate drawing).  So the first miss of a key claims it, and the
 * requests for it that come while it is drawn either get the previous
 * second's answer of the same view (a live view's, which moves with the
 * clock: the caller names it, as a second, coarser key) or wait for the
 * drawing and share its bytes.  Claims and waiters are bounded; past the
 * bounds, or after KS_IMGCACHE_WAIT_MS, a request draws on its own as
 * before.
 *
 * Handoff: the claimer itself need not draw.  With ask.handoff, a claim
 * of a live view whose previous second's answer is here comes back with
 * that answer (STALE_DRAW): the caller has the key drawn elsewhere (a
 * drawing thread) and may wait for it (__await) or answer the stale one.
 */
#ifndef KS_HTTP_IMGCACHE_H
#define KS_HTTP_IMGCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_IMGCACHE_ENTRIES 128
#define KS_IMGCACHE_BYTES (8u << 20)	/* all bodies together */
#define KS_IMGCACHE_MAX_BODY (1u << 20)	/* larger answers are not kept */
#define KS_IMGCACHE_FLIGHTS 32		/* keys claimed (being drawn) at once */
#define KS_IMGCACHE_WAITERS 64		/* requests waiting for them, in all */
#define KS_IMGCACHE_WAIT_MS 2000	/* the longest one waits */

struct ks_imgcache;

struct ks_imgcache_stats {
	uint64_t hits, misses, puts, evictions, flushes;
	uint64_t stale;		/* previous second's answers served */
	uint64_t shared;	/* answers had by waiting for another's draw */
	uint64_t claims;	/* misses that claimed their key */
	size_t entries, bytes;
	size_t flights, waiters;	/* now */
};

/* A cache of at most nentries bodies of max_bytes in all; 0 takes the
 * defaults above.  NULL on ENOMEM. */
struct ks_imgcache *ks_imgcache__new(size_t nentries, size_t max_bytes);
void ks_imgcache__free(struct ks_imgcache *c);

/* Copies the body stored under key in epoch into *body (malloc'd, NUL
 * terminated) and *len.  0, -ENOENT (not cached) or -ENOMEM. */
int ks_imgcache__get(struct ks_imgcache *c, const char *key, int64_t epoch,
		     char **body, size_t *len);
/* Stores a copy of body under key for epoch, replacing any entry of the
 * same key, and ends key's claim, if any (stored or not).  0; -EFBIG for
 * a body over KS_IMGCACHE_MAX_BODY or the cache's bytes, -ESTALE for an
 * epoch older than the one before the newest seen (not stored),
 * -ENOMEM. */
int ks_imgcache__put(struct ks_imgcache *c, const char *key, int64_t epoch,
		     const char *body, size_t len);

/* What one request asks of the cache (ks_imgcache__fetch). */
struct ks_imgcache_ask {
	const char *key;	/* the exact answer */
	const char *view;	/* the view the key belongs to, whose previous
				 * second's answer may stand in while key is
				 * drawn; NULL: none may */
	int64_t epoch;
	bool handoff;		/* the caller can have key drawn elsewhere:
				 * a claim whose view has the previous
				 * second's answer is STALE_DRAW */
};

/* The answer to a fetch. */
enum ks_imgcache_got {
	KS_IMGCACHE_HIT,	/* *body: key's answer */
	KS_IMGCACHE_STALE,	/* *body: view's answer of epoch - 1 */
	KS_IMGCACHE_DRAW,	/* the caller draws; it claimed the key and
				 * must end with __put or __abandon */
	KS_IMGCACHE_DRAW_ALONE,	/* the caller draws; claimed nothing */
	KS_IMGCACHE_BUSY,	/* another draws key (wait was false) */
	KS_IMGCACHE_STALE_DRAW,	/* *body: view's answer of epoch - 1, and
				 * the caller claimed key (handoff): it has
				 * it drawn, ending with __put or __abandon */
};

/* Looks key up.  A hit, else the view's previous answer while another
 * request draws key, else: with wait false, BUSY if another draws key,
 * else DRAW (a claim) or DRAW_ALONE (claims full); with wait true, waits
 * for the other's draw (the caller must hold no lock the drawer needs)
 * and returns HIT with its bytes, or DRAW_ALONE if it failed or took too
 * long.  A body is malloc'd, NUL terminated.  A got, or -ENOMEM. */
int ks_imgcache__fetch(struct ks_imgcache *c, const struct ks_imgcache_ask *q,
		       bool wait, char **body, size_t *len);
/* Waits at most ms for key's answer of epoch while key is claimed (its
 * draw was handed off): 0 with *body (malloc'd, NUL terminated) and *len,
 * -ENOENT when the claim ended without one or the wait is over, or
 * -ENOMEM. */
int ks_imgcache__await(struct ks_imgcache *c, const char *key, int64_t epoch,
		       unsigned int ms, char **body, size_t *len);
/* Gives up a claim without an answer (the draw failed). */
void ks_imgcache__abandon(struct ks_imgcache *c, const char *key);
/* ks_imgcache__put, for an ask with a view (the view is kept with the
 * entry, for the next second's requests); ends key's claim, if any. */
int ks_imgcache__put_view(struct ks_imgcache *c,
			  const struct ks_imgcache_ask *q, const char *body,
			  size_t len);

/* Empties the cache (an instrumentation changed or went away). */
void ks_imgcache__flush(struct ks_imgcache *c);
void ks_imgcache__stats(struct ks_imgcache *c, struct ks_imgcache_stats *st);

#endif /* KS_HTTP_IMGCACHE_H */
