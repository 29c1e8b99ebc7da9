/* exitlat.h - exit handling time by exit reason, as `perf kvm stat report`.
 *
 * `kvmscope stat -L` shows, beside kvmstat's per-vCPU rates, one line per
 * exit reason: how many exits, their share of all exits, their share of
 * the time spent handling exits, and the minimum, mean, 99th percentile
 * and maximum of that time.  This module collects those from vm.exits
 * records (live sources or a trace) and hands back the rows; the command
 * prints them.
 *
 * A record's latency is exact from a trace (kvm_exit to kvm_entry), and
 * the lower bound of its log-linear bucket from the BPF probe, so live
 * minimum, mean, time and maximum are low by less than 6.25% (one
 * bucket); the percentile is interpolated inside its bucket.  Exits
 * without a latency (their thread ended or exited again before the
 * entry) count in the count and its share only.
 */
#ifndef KS_SOURCE_EXITLAT_H
#define KS_SOURCE_EXITLAT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/dist.h"
#include "engine/record.h"

struct ks_exitlat_row {
	uint32_t reason;	/* symbol: "hlt", "msr"; 0 if the record had none */
	uint64_t count;		/* exits */
	uint64_t timed;		/* of which with a latency */
	uint64_t min_ns, max_ns;
	double total_ns;	/* sum of the latencies */
	struct ks_dist dist;	/* their distribution */
};

struct ks_exitlat;

struct ks_exitlat *ks_exitlat__new(void);
void ks_exitlat__free(struct ks_exitlat *t);

/* Counts r if it is a vm.exits record; other metrics are ignored.  0 or
 * -ENOMEM. */
int ks_exitlat__add(struct ks_exitlat *t, const struct ks_record *r);

/* Rows by count, most first (ties by name), as perf sorts its report;
 * valid until the next call on t.  *all gets the sums of every row
 * (reason 0). */
size_t ks_exitlat__rows(struct ks_exitlat *t,
			const struct ks_exitlat_row **rows,
			struct ks_exitlat_row *all);

/* Mean and q-quantile (0..1, interpolated in its bucket and kept between
 * min_ns and max_ns) of a row's latencies; 0 without any. */
double ks_exitlat_mean(const struct ks_exitlat_row *r);
double ks_exitlat_quantile(const struct ks_exitlat_row *r, double q);

/* Forgets every row (a new interval). */
void ks_exitlat__reset(struct ks_exitlat *t);

#endif /* KS_SOURCE_EXITLAT_H */
