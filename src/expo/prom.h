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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/record.h"
#include "expo/emit.h"
#include "expo/protobuf.h"
#include "util/err.h"

#define KS_PROM_MAX_SERIES_DEFAULT 20000
/* Series of a VM not seen for this long stop being exposed. */
#define KS_PROM_GRACE_DEFAULT_S 600

/* One exported family: the table the agent exports with, and the one the
 * fleet command translates CA instrumentations into PromQL with (so the
 * two cannot disagree).  For CA metric MODULE.STAT the base name is
 * kvmscope_MODULE_STAT; a counter is exposed as `series` (..._total, CA's
 * value of the metric), a gauge (point metric) as `series` too.  A
 * histogram family (hist >= 0) exposes `hist_name`_bucket/_sum/_count of
 * numeric field hist, in the exported unit (raw * hist_scale), with `le`
 * edges that are edges of the agent's log-linear buckets (so counts are
 * exact); its protobuf twin `native_name` (time fields only) is in the raw
 * unit with native schema-0 buckets.  Labels are ks_catalog field names,
 * in order; labels[0] is always KS_F_HOSTNAME.  A metric may have several
 * entries: its counter, and one histogram per numeric field. */
struct ks_prom_family {
	enum ks_metric metric;
	const char *name;	/* base name, kvmscope_vm_exits */
	const char *series;	/* counter/gauge name, ..._total; NULL: hist */
	bool gauge;
	int nlabels;		/* labels[0] is KS_F_HOSTNAME */
	enum ks_field labels[8];
	int hist;		/* numeric KS_F_* or -1 */
	const char *hist_name;	/* kvmscope_vm_exits_latency_seconds */
	double hist_scale;	/* raw unit -> exported unit (ns -> s) */
	/* Added after the contract's fields. */
	const char *help;
	/* Classic edges, in raw units: values < edge are counted in
	 * le = (edge - 1) * hist_scale (raw values are integers).  Edges are
	 * 2^k for k = le_lo, le_lo + le_step, ... le_hi; or, when le_linear is
	 * non-zero, le_linear * k for k = le_lo .. le_hi. */
	int le_lo, le_hi, le_step;
	uint32_t le_linear;
	const char *native_name;	/* NULL: no native twin */
};

/* The table: *out and its length. */
size_t ks_prom__families(const struct ks_prom_family **out);
/* The classic edges of histogram family f in raw units, into edge[]
 * (up to max); returns their number. */
size_t ks_prom_family__edges(const struct ks_prom_family *f, uint64_t *edge,
			     size_t max);

struct ks_prom;

struct ks_prom *ks_prom__new(size_t max_series);
void ks_prom__free(struct ks_prom *p);
/* The hostname label's value (default: gethostname(), as the engine's
 * hostname field; the agent sets both from --hostname or config). */
void ks_prom__set_hostname(struct ks_prom *p, const char *name);

/* Who owns a VM (its vm and vmuuid label values): the tenant's name, or
 * NULL for none.  The string must outlive the exporter. */
typedef const char *(*ks_prom_tenant_fn)(void *ctx, const char *vm,
					 const char *vmuuid);
/* Every series of a VM that fn says a tenant owns carries the label
 * `label` = that tenant, after the family's own labels (asked once, when
 * the series is made: a VM's owner does not change while the agent runs).
 * The fleet restricts a tenant's PromQL to it (fleet/fleet.h).  label
 * must have passed ks_prom_label_check() and outlive p; set it before the
 * first feed. */
void ks_prom__set_tenants(struct ks_prom *p, const char *label,
			  ks_prom_tenant_fn fn, void *ctx);
/* 0 if name can be the tenant label: a Prometheus label name
 * ([a-zA-Z_][a-zA-Z0-9_]*, at most 64, not __reserved) that no exported
 * family uses (no catalog field name, nor le, job or instance, which the
 * scraper sets).  -EINVAL with err (param) naming why. */
int ks_prom_label_check(const char *name, const char *param,
			struct ks_err *err);

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

/* Writes the same families into m, a writer of either format: the
 * agent's /metrics adds the live sources' families to the same writer. */
void ks_prom__emit(const struct ks_prom *p, const struct ks_engine *e,
		   struct ks_emit *m);
/* The hostname label's value, which every family carries first. */
const char *ks_prom__hostname(const struct ks_prom *p);

/* Series of a VM (its vm label) whose VM sent no record for grace_s
 * seconds (default KS_PROM_GRACE_DEFAULT_S) are removed at the next
 * ks_prom__expire(), and counted in kvmscope_prom_series_expired_total:
 * a gone VM's series stop crowding new ones out of the cap.  A VM that
 * comes back starts new series (Prometheus sees counters reset). */
void ks_prom__set_grace(struct ks_prom *p, uint64_t grace_s);
/* Removes the series of VMs gone by now_ns (the records' clock: wall ns
 * live and in replay); returns how many. */
size_t ks_prom__expire(struct ks_prom *p, uint64_t now_ns);
uint64_t ks_prom__expired(const struct ks_prom *p);

#endif /* KS_EXPO_PROM_H */
