/* prom.h - Prometheus exposition of what the sources saw.
 *
 * Fleets aggregate in Prometheus (DESIGN.md decision 7): every record the
 * agent receives is also counted here, cumulatively, into a bounded set of
 * series per metric (counters, and classic histograms whose `le` edges are
 * edges of the shared log-linear buckets, so they are exact).  Label sets are
 * chosen per metric to keep cardinality bounded; series beyond the cap are
 * counted in kvmscope_prom_series_dropped_total instead of created.
 * Served in the text format, or in the protobuf format with native
 * histograms when the scraper asks for it.
 */
#ifndef KS_EXPO_PROM_H
#define KS_EXPO_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/record.h"
#include "expo/protobuf.h"

#define KS_PROM_MAX_SERIES_DEFAULT 20000

struct ks_prom;

struct ks_prom *ks_prom__new(size_t max_series);
void ks_prom__free(struct ks_prom *p);

void ks_prom__feed(struct ks_prom *p, const struct ks_record *r, size_t n);

/* The text exposition format (version 0.0.4) in a malloc'ed string; the
 * engine's own statistics are included when e is non-NULL.  NULL on ENOMEM. */
char *ks_prom__render(const struct ks_prom *p, const struct ks_engine *e,
		      size_t *len);
/* The same series in Prometheus' protobuf format (expo/prom_pb.h),
 * appended to b: every family of the text format, plus one in nanoseconds
 * with native buckets per histogram.  0 or -ENOMEM. */
int ks_prom__render_pb(const struct ks_prom *p, const struct ks_engine *e,
		       struct ks_pb *b);
size_t ks_prom__nseries(const struct ks_prom *p);

#endif /* KS_EXPO_PROM_H */
