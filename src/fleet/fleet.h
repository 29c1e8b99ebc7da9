/* fleet.h - Cloud Analytics over a fleet: instrumentations answered from
 * Prometheus.
 *
 * `kvmscope fleet` runs the agent's engine and HTTP API unchanged; this
 * module is its source.  For each instrumentation it plans PromQL from the
 * family table the agents export with (expo/prom.h): the counter family of
 * the metric, or the histogram of its numeric decomposition, summed by the
 * labels the instrumentation uses plus hostname and vm.  Each granularity
 * window that Prometheus holds whole (its end at least `lag` seconds ago)
 * is fetched once with query_range (step = granularity), each series is
 * differenced here (exact counter increases: a reset counts from 0, a
 * series born inside the range from 0, a gap changes nothing, even one
 * at the step where a poll's range starts: fleet/carry.h), and the
 * increases are fed to that one instrumentation as weighted records,
 * histogram buckets at their upper edge.  Raw values, heatmaps, details,
 * averages and percentiles then come from the engine's own code.
 *
 * What the exported labels cannot express is refused at create with the
 * field named: a field the family does not carry (guestrip, pid, ...), a
 * numeric predicate (histogram buckets cannot be cut at an arbitrary
 * value), vcpu with a numeric decomposition (histograms are VM-level),
 * point metrics, granularity under the scrape interval.
 *
 * Tenants: the agents label each series of a tenant's VM with the tenant
 * (`serve --tenant-label L`, expo/prom.h).  With the same label given
 * here, a tenant's instrumentation (engine owner = the tenant's name) is
 * planned with {L="TENANT"} in its selector, so Prometheus returns only
 * that tenant's series; the operator's are unrestricted.  Without it, a
 * tenant's create is refused with 403 naming the cause.
 *
 * The create check never waits on the network (it runs under the API's
 * lock): Prometheus' reachability is the last poll's, and the first poll
 * runs before the API serves.
 */
#ifndef KS_FLEET_FLEET_H
#define KS_FLEET_FLEET_H

#include <jansson.h>
#include <stdint.h>

#include "engine/engine.h"
#include "http/api.h"
#include "util/err.h"

#define KS_FLEET_AGENTS_MAX 4096

struct ks_fleet_conf {
	const char *prometheus;	/* the query API's base URL */
	unsigned timeout_ms;	/* per request; 0: the default */
	unsigned scrape_s;	/* the scrape interval of the agents */
	unsigned lag_s;		/* a window is fetched once this old */
	const char *agents;	/* HOSTNAME=URL[,...], or NULL: from up */
	const char *tenant_label;	/* the agents' tenant label, or NULL */
};

struct ks_fleet;

struct ks_fleet *ks_fleet__new(const struct ks_fleet_conf *c,
			       struct ks_err *err);
void ks_fleet__free(struct ks_fleet *f);

/* The API's create check (http/api.h ks_api_check_fn): 0, or a negative
 * errno with err naming the field; -EACCES for a tenant without a tenant
 * label configured; -EHOSTUNREACH or -ETIMEDOUT when the last poll could
 * not reach Prometheus.  No network I/O. */
int ks_fleet__check(void *fleet, const char *base, const char *owner,
		    const struct ks_instn_conf *c, struct ks_err *err);

/* Fetches the windows that are due for every instrumentation and feeds
 * them; takes the API's lock only around engine work, never around the
 * network.  now: wall clock, s. */
void ks_fleet__poll(struct ks_fleet *f, struct ks_api *api,
		    struct ks_engine *e, int64_t now);

/* GET /ca/admin/status's "fleet" member: the endpoint, its last error,
 * and each host: reporting or stale, its last sample, its agent's URL
 * (called locked). */
void ks_fleet__status(void *fleet, json_t *status);

/* The PromQL the fleet asks for instrumentation c in namespace owner (""
 * the operator's; a tenant's is restricted to {label="owner"}), into q.
 * 0, or a negative errno with err naming what Prometheus cannot answer. */
int ks_fleet_query(const struct ks_instn_conf *c, const char *owner,
		   const char *label, char *q, size_t n, struct ks_err *err);

#endif /* KS_FLEET_FLEET_H */
