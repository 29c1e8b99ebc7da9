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
 * put for a newer second empties the cache, since every older key is dead
 * once the second advances, and a put for an older second (a slow render
 * finishing late) is dropped.  Size is bounded by entry count and bytes;
 * the least recently used entry goes first.  The cache has its own lock,
 * so it may be used from any thread.
 */
#ifndef KS_HTTP_IMGCACHE_H
#define KS_HTTP_IMGCACHE_H

#include <stddef.h>
#include <stdint.h>

#define KS_IMGCACHE_ENTRIES 128
#define KS_IMGCACHE_BYTES (8u << 20)	/* all bodies together */
#define KS_IMGCACHE_MAX_BODY (1u << 20)	/* larger answers are not kept */

struct ks_imgcache;

struct ks_imgcache_stats {
	uint64_t hits, misses, puts, evictions, flushes;
	size_t entries, bytes;
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
 * same key.  0; -EFBIG for a body over KS_IMGCACHE_MAX_BODY or the
 * cache's bytes, -ESTALE for an epoch older than the newest seen (not
 * stored), -ENOMEM. */
int ks_imgcache__put(struct ks_imgcache *c, const char *key, int64_t epoch,
		     const char *body, size_t len);
/* Empties the cache (an instrumentation changed or went away). */
void ks_imgcache__flush(struct ks_imgcache *c);
void ks_imgcache__stats(struct ks_imgcache *c, struct ks_imgcache_stats *st);

#endif /* KS_HTTP_IMGCACHE_H */
