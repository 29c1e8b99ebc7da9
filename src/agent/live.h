/* live.h - the agent's live sources, read once a wall-clock second.
 *
 * `kvmscope serve` without --replay gets its data from every source of the
 * registry (src/source/) that can run on this host.  A ks_live holds one
 * entry per source: those that cannot be opened (no root, no BPF, no kvm
 * tracepoints) are logged once with the reason and stay in the list as
 * "unavailable", so an operator sees in GET /ca/admin/status what this
 * host can and cannot show, and why.  Each tick reads every running source
 * and hands the records, in batches, to one feed function (the agent's one
 * path into the engine and the Prometheus aggregator).
 *
 * Ticks run on one thread; the status and the Prometheus lines may be
 * asked for from another at any time: they read a snapshot that each tick
 * refreshes under the ks_live's own lock.
 */
#ifndef KS_AGENT_LIVE_H
#define KS_AGENT_LIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/record.h"
#include "expo/emit.h"
#include "source/source.h"

/* Where the records of a tick go, n at a time. */
typedef void (*ks_live_feed_fn)(void *ctx, const struct ks_record *r,
				size_t n);

struct ks_live;

/* One entry per ops[0..n) (the registry: ks_source_at()), none opened.
 * NULL on ENOMEM. */
struct ks_live *ks_live__new(const struct ks_source_ops *const *ops, size_t n,
			     ks_live_feed_fn feed, void *ctx);
void ks_live__free(struct ks_live *l);

/* Keeps source i closed; why is shown in the status ("--sources"). */
void ks_live__off(struct ks_live *l, size_t i, const char *why);

/* Opens and attaches every source not turned off; one that cannot run is
 * logged once on stderr with its reason.  Returns how many run. */
size_t ks_live__start(struct ks_live *l, const struct ks_source_opts *o);

/* Reads every running source once, its records stamped ts (ns).  A read
 * that fails is logged (once until the source recovers) and counted; the
 * source stays open and is read again next tick.  Returns the number of
 * reads that failed. */
size_t ks_live__tick(struct ks_live *l, uint64_t ts);

/* Asks every running source that has modes (bpf_exits) to time its
 * events (on) or only count them; call between ticks, from the ticking
 * thread.  A source that cannot switch stays as it is (logged once per
 * failure).  Returns how many failed. */
size_t ks_live__set_latency(struct ks_live *l, bool on);
/* Hands the latency cuts to every running source that takes them; same
 * rules. */
void ks_live__set_cuts(struct ks_live *l, const struct ks_latcuts *cuts);

/* The sources for GET /ca/admin/status: [{name, summary, metrics, status,
 * reason?, mode?, ticks, records, events, lost, ...}]; status is "running",
 * "failing" (its last read failed), "unavailable" or "off". */
json_t *ks_live__status(struct ks_live *l);

/* Writes the sources' own counters into m (either format), every sample
 * labelled first with hostname host (none if NULL), then with its source;
 * m keeps any allocation failure (ks_emit__err). */
void ks_live__emit(struct ks_live *l, struct ks_emit *m, const char *host);

#endif /* KS_AGENT_LIVE_H */
