/* feed.h - the one path records take into the agent, and its /metrics.
 *
 * Live sources and a replayed trace hand their records to
 * ks_feed__records(), which adds them, under the API's lock, both to the
 * engine (CA's instrumentations) and to the Prometheus aggregator, so the
 * CA API and /metrics always count the same records.  ks_feed__metrics()
 * renders GET /metrics: the aggregator's series, the engine's own counters
 * (records received and dropped, by reason), and the live sources' counters.
 * It also says which live-source modes the instrumentations need.
 */
#ifndef KS_AGENT_FEED_H
#define KS_AGENT_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/live.h"
#include "engine/engine.h"
#include "engine/record.h"
#include "expo/prom.h"
#include "http/api.h"
#include "source/latcuts.h"

struct ks_feed {
	struct ks_engine *e;
	struct ks_prom *prom;
	struct ks_api *api;	/* its lock guards e and prom; NULL: unlocked */
	struct ks_live *live;	/* NULL: no live sources */
};

/* Whether some vm.exits instrumentation of e decomposes or filters by
 * latency: the exits source must then time exits, and may only count
 * them otherwise (count-only records have no latency field, which those
 * instrumentations never ask for).  Called with the API's lock held, each
 * tick: one pass over the instrumentations. */
bool ks_feed_exit_latency_wanted(struct ks_engine *e);
/* The edges the vm.exits instrumentations' latency predicates turn on,
 * as cuts for the exits probe (source/latcuts.h). */
void ks_feed_exit_latency_cuts(struct ks_engine *e, struct ks_latcuts *cuts);

/* A batch is fed in parts of about this many (record, instrumentation)
 * pairs, letting the API's lock go between them (about 1 ms each here),
 * and of at least KS_FEED_HOLD_MIN records. */
#define KS_FEED_HOLD_ADDS 4096
#define KS_FEED_HOLD_MIN 16

/* Feeds r[0..n) to the engine and the aggregator (fits ks_live_feed_fn),
 * each part to both in one hold of the lock: a scrape and a value request
 * see a part in both or in neither. */
void ks_feed__records(void *feed, const struct ks_record *r, size_t n);

/* The Prometheus text exposition (version 0.0.4), malloc'd; NULL on
 * ENOMEM.  Called with the API's lock held (it is the API's metrics hook). */
char *ks_feed__metrics(void *feed, size_t *len);

/* The same in Prometheus' protobuf format, with native histograms (fits
 * ks_api_metrics_pb_fn): 0 and the malloc'd body, or a negative errno and
 * err.  Called with the API's lock held. */
int ks_feed__metrics_pb(void *feed, char **body, size_t *len,
			struct ks_err *err);

#endif /* KS_AGENT_FEED_H */
