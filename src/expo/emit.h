/* emit.h - one writer of Prometheus families, in two formats.
 *
 * Every family the agent exposes on /metrics is written once, through
 * these calls, into either the text format (0.0.4) or the protobuf one
 * (prom_pb.h): both carry the same families, labels and values by
 * construction, and nothing is written in one format to be parsed back
 * into the other.  The exporter's series (prom.c) and the live sources'
 * counters (agent/live.c) both write here, into the same writer.
 *
 * A family is ks_emit__family(), its samples (ks_emit__value() or
 * ks_emit__hist()), then ks_emit__end().  Text writes a family's header
 * at once, so an empty family still says it exists; protobuf opens the
 * message at its first sample, since Prometheus skips empty ones.
 * Allocation failure is sticky: check ks_emit__err() once at the end.
 */
#ifndef KS_EXPO_EMIT_H
#define KS_EXPO_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expo/prom_pb.h"
#include "expo/protobuf.h"

/* Classic histogram edges a family may have (more are not written). */
#define KS_EMIT_MAXEDGES 64

struct ks_emit;

/* A writer into b (protobuf), or, with b NULL, into its own text buffer.
 * NULL on ENOMEM. */
struct ks_emit *ks_emit__new(struct ks_pb *b);
void ks_emit__free(struct ks_emit *m);

void ks_emit__family(struct ks_emit *m, const char *name, const char *help,
		     enum ks_prom_type type);
/* One sample of a counter, gauge or untyped family; label values are
 * escaped as the text format requires. */
void ks_emit__value(struct ks_emit *m, const struct ks_prom_label *l,
		    size_t nl, uint64_t v);
/* One series of a histogram family: classic buckets in text; in
 * protobuf, classic and (h->native) native ones. */
void ks_emit__hist(struct ks_emit *m, const struct ks_prom_label *l,
		   size_t nl, const struct ks_prom_hist *h);
void ks_emit__end(struct ks_emit *m);

/* Whether m writes protobuf (the format that has native histograms). */
bool ks_emit__is_pb(const struct ks_emit *m);
/* 0, or -ENOMEM if any write failed. */
int ks_emit__err(const struct ks_emit *m);
/* Text: the exposition written so far, malloc'ed (the writer starts
 * empty again), *len its length.  NULL after a failed write, or for a
 * protobuf writer. */
char *ks_emit__take_text(struct ks_emit *m, size_t *len);

#endif /* KS_EXPO_EMIT_H */
