/* api_health.c - GET /healthz, for service managers and load balancers.
 *
 * Anonymous (no token: a probe has none) and small, so it says nothing a
 * tenant could not know: whether the agent works, and how many of its
 * sources run.  "Unhealthy" (503) means the agent cannot do its job and
 * a restart may help:
 *   - its clock stalled: the main loop, which ticks the engine and reads
 *     the sources every second, has not ticked for KS_HEALTH_STALL_S;
 *   - a source is failing: it ran, and its last read failed.
 * Anything else is healthy (200), including sources this host cannot run
 * (no BPF, no KVM: "unavailable") or that were not chosen ("off"), which
 * a restart would not change and which GET /ca/admin/status explains.
 * The answer is the same JSON either way:
 *   {"status": "ok"|"unhealthy", "version": ..., "problems": [...],
 *    "sources": {"running": n, "failing": n, "unavailable": n, "off": n},
 *    "replay": true?}
 */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "http/handlers.h"
#include "util/version.h"

#define KS_HEALTH_STALL_S 10

/* Counts the sources by status and names the failing ones. */
static void health_sources(json_t *status, json_t *counts, json_t *problems)
{
	json_t *srcs = json_object_get(status, "sources"), *s;
	size_t i;

	json_array_foreach(srcs, i, s) {
		const char *st = json_string_value(json_object_get(s, "status"));
		json_t *n;

		if (!st)
			continue;
		n = json_object_get(counts, st);
		json_object_set_new(counts, st,
				    json_integer(json_integer_value(n) + 1));
		if (!strcmp(st, "failing"))
			json_array_append_new(problems, json_sprintf(
				"source %s is failing: %s",
				json_string_value(json_object_get(s, "name")),
				json_string_value(json_object_get(s,
								  "reason"))));
	}
}

void ks_api_health(void *ctx, const struct ks_http_req *req,
		   const struct ks_route_match *m, struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;
	uint64_t tick = ks_engine__now(a->e);
	int64_t lag = (int64_t)time(NULL) - (int64_t)(tick / KS_NSEC_PER_SEC);
	json_t *status = json_object(), *problems = json_array();
	json_t *counts = json_pack("{s:i,s:i,s:i,s:i}", "running", 0,
				   "failing", 0, "unavailable", 0, "off", 0);
	json_t *o;

	(void)req, (void)m;
	if (status && a->status_fn)
		a->status_fn(a->status_ctx, status);
	if (tick && lag > KS_HEALTH_STALL_S)
		json_array_append_new(problems, json_sprintf(
			"the agent's clock stalled %lld s ago", (long long)lag));
	health_sources(status, counts, problems);
	o = json_pack("{s:s,s:s,s:O,s:o}", "status",
		      json_array_size(problems) ? "unhealthy" : "ok",
		      "version", ks_version(), "problems", problems,
		      "sources", counts);
	if (o && json_object_get(status, "replay"))
		json_object_set_new(o, "replay", json_true());
	ks_http_resp__json(resp, json_array_size(problems) ? 503 : 200, o);
	json_decref(problems);
	json_decref(status);
}
