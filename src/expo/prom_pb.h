/* prom_pb.h - Prometheus' protobuf exposition, and when to serve it.
 *
 * Prometheus scrapes native histograms only in its protobuf format: a
 * stream of io.prometheus.client.MetricFamily messages, each preceded by
 * its length as a varint (metrics.proto in prometheus/client_model).  This
 * module writes those messages with the encoder of protobuf.h: families,
 * counters, gauges, and histograms that carry both classic buckets (field
 * `bucket`, cumulative, as in the text format) and native schema-0
 * buckets.
 *
 * Native buckets come from the shared log-linear distributions
 * (bpf/loglin.h) by summing each power of two's 16 sub-buckets, which is
 * exact: no count is split or invented.  Schema 0 buckets are
 * (2^(i-1), 2^i], upper-inclusive; ours are [2^(i-1), 2^i), lower-
 * inclusive, and values are integers.  So native bucket i holds exactly
 * the values 2^(i-1) .. 2^i - 1: a value of exactly 2^i is counted one
 * bucket up, in bucket i+1 (2^i, 2^(i+1)], as if Prometheus' bounds were
 * lower-inclusive.  Value 0 is counted in the zero bucket, whose threshold
 * is 2^-128 (as in client_golang).  Edges are powers of two of the raw
 * unit (nanoseconds), never of a scaled one (1e-9 s is no power of two),
 * so native buckets are only written for histograms exposed in the raw
 * unit (scale 1).
 *
 * Text stays the default: protobuf is served only when the Accept header
 * prefers it (ks_prom_pb_wanted).  Families are written through
 * expo/emit.h, which calls these encoders or writes text, so both formats
 * carry the same families.
 */
#ifndef KS_EXPO_PROM_PB_H
#define KS_EXPO_PROM_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/dist.h"
#include "expo/protobuf.h"
#include "util/err.h"

#define KS_PROM_PB_TYPE "application/vnd.google.protobuf; " \
	"proto=io.prometheus.client.MetricFamily; encoding=delimited"

/* MetricType, with metrics.proto's numbers. */
enum ks_prom_type {
	KS_PROM_COUNTER = 0,
	KS_PROM_GAUGE = 1,
	KS_PROM_UNTYPED = 3,
	KS_PROM_HISTOGRAM = 4,
};

struct ks_prom_label {
	const char *name;
	const char *value;
};

struct ks_prom_hist {
	const struct ks_dist *dist;	/* counts, in raw units */
	uint64_t count;
	double sum;			/* in the exposed unit */
	double scale;			/* raw unit -> exposed unit */
	const uint64_t *edges;		/* classic le = (edge - 1) * scale, */
	size_t nedges;			/* edges log-linear bucket bounds */
	bool native;			/* schema-0 buckets (scale 1 only) */
};

/* Native schema-0 counts: [0] the zero bucket (value 0), [i] (1 <= i <= 64)
 * the bucket (2^(i-1), 2^i], holding the values 2^(i-1) .. 2^i - 1. */
#define KS_PROM_NATIVE0_N 65
#define KS_PROM_ZERO_THRESHOLD 2.938735877055719e-39	/* 2^-128 */
void ks_prom_native0(const struct ks_dist *d,
		     uint64_t counts[KS_PROM_NATIVE0_N]);

/* below[k] = the values of d less than edge[k], for increasing edges that
 * are log-linear bucket lower bounds (then exact): one pass over d. */
void ks_prom_below(const struct ks_dist *d, const uint64_t *edge,
		   uint64_t *below, size_t n);

/* Opens a delimited MetricFamily with its name, help and type; write its
 * metrics, then ks_pb__close() the returned mark. */
size_t ks_prom_pb__family(struct ks_pb *b, const char *name,
			  const char *help, enum ks_prom_type type);
/* One Metric of a counter, gauge or untyped family. */
void ks_prom_pb__value(struct ks_pb *b, enum ks_prom_type type,
		       const struct ks_prom_label *l, size_t nl, double v);
/* One Metric of a histogram family. */
void ks_prom_pb__histogram(struct ks_pb *b, const struct ks_prom_label *l,
			   size_t nl, const struct ks_prom_hist *h);

/* True if the Accept header value prefers the protobuf exposition
 * (delimited MetricFamily) to the text format: its q is higher than that
 * of every text/plain, text/ * or * / * entry.  NULL or unparsable entries
 * mean text, the default. */
bool ks_prom_pb_wanted(const char *accept);

#endif /* KS_EXPO_PROM_PB_H */
