/* promql.h - the fleet's one network client: Prometheus' HTTP query API.
 *
 * Everything `kvmscope fleet` says to a Prometheus-compatible endpoint
 * (Prometheus, VictoriaMetrics, Thanos, Mimir) goes through here: instant
 * and range queries (GET /api/v1/query, /api/v1/query_range) with a bounded
 * timeout, answers parsed with jansson.  The base URL is the endpoint's
 * root as the operator gives it: http://HOST:9090 for Prometheus,
 * http://HOST:8428 or .../prometheus for VictoriaMetrics.  Every failure
 * (unreachable, timeout, HTTP error, an error answer, unparseable JSON)
 * comes back as a ks_err naming the endpoint and the cause, never a hang.
 */
#ifndef KS_FLEET_PROMQL_H
#define KS_FLEET_PROMQL_H

#include <jansson.h>
#include <stdint.h>

#include "util/err.h"

#define KS_PROMQL_TIMEOUT_MS_DEFAULT 5000
#define KS_PROMQL_BODY_MAX (256u << 20)	/* bytes of one answer */

struct ks_promql;

/* url is copied; timeout_ms bounds each request (connect included).
 * NULL with err set when libcurl cannot be loaded (ENOSYS, naming it) or
 * memory runs out. */
struct ks_promql *ks_promql__new(const char *url, unsigned timeout_ms,
				 struct ks_err *err);
void ks_promql__free(struct ks_promql *p);
const char *ks_promql__url(const struct ks_promql *p);

/* query_range from start to end (s, inclusive) every step s: returns the
 * answer's data.result (a new reference: an array of {metric, values}) or
 * NULL with err set (param "prometheus"). */
json_t *ks_promql__range(struct ks_promql *p, const char *query,
			 int64_t start, int64_t end, unsigned step,
			 struct ks_err *err);
/* An instant query at t (s; 0: now): data.result, as above. */
json_t *ks_promql__instant(struct ks_promql *p, const char *query, int64_t t,
			   struct ks_err *err);

/* Why the last request failed: 0, or -EHOSTUNREACH (could not connect
 * or transfer), -ETIMEDOUT, -EIO (an HTTP or query error), -E2BIG. */
int ks_promql__errno(const struct ks_promql *p);

#endif /* KS_FLEET_PROMQL_H */
