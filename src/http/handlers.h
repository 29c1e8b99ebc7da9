/* handlers.h - what the API's handler files (api.c, api_heatmap.c) share.
 *
 * The API state, the lookup of the instrumentation a path names, the check
 * of a resource's accepted parameters, and the heatmap handlers, which
 * live in their own file because they are most of the code.
 */
#ifndef KS_HTTP_HANDLERS_H
#define KS_HTTP_HANDLERS_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/query.h"
#include "http/access.h"
#include "http/api.h"
#include "http/message.h"
#include "http/router.h"

struct ks_workq;

/* Draws waiting for the drawing thread, at most (api_heatmap.c): past
 * them a claimer draws itself. */
#define KS_REDRAW_JOBS 64
/* The longest a claimer waits for its handed-off draw before it answers
 * the second before's picture: an hour of 600x300 draws in about 7 ms on
 * an idle core, so a lone viewer gets this second's; under load the
 * claimer's latency stays bounded. */
#define KS_REDRAW_WAIT_MS 15
/* Heatmap requests in this second and the one before past which a
 * claimer does not wait at all: under load its HTTP thread would hold up
 * every connection it serves meanwhile (bench_http_load). */
#define KS_REDRAW_BUSY 20

struct ks_api {
	struct ks_engine *e;
	pthread_mutex_t lock;
	ks_api_status_fn status_fn;
	void *status_ctx;
	ks_api_change_fn change_fn;
	void *change_ctx;
	ks_api_saved_fn saved_fn;
	ks_api_check_fn check_fn;
	void *check_ctx;
	size_t changes;		/* by the request being handled */
	ks_api_metrics_fn metrics_fn;
	void *metrics_ctx;
	ks_api_metrics_pb_fn metrics_pb_fn;
	void *metrics_pb_ctx;
	char *web_root;		/* the web UI's files (static.h), or NULL */
	const struct ks_tokens *tokens;	/* NULL: no access control */
	struct ks_tenancy *tenancy;	/* namespaces (http/tenancy.h) */
	/* Finished heatmap answers (http/imgcache.h), made by the first
	 * heatmap request (api_heatmap.c). */
	struct ks_imgcache *imgcache;
	/* The thread that draws live views' next pictures off the request
	 * path (api_heatmap.c), started by the first handoff. */
	struct ks_workq *redraw;
	uint32_t redraw_wait_ms;	/* KS_REDRAW_WAIT_MS; tests change it */
	int64_t hm_sec;			/* the engine second counted in */
	uint32_t hm_count, hm_prev;	/* heatmap requests in it, the one
					 * before */
	/* The longest a value request waits for late data (ms). */
	uint32_t wait_max_ms;
	/* The scope of the request being served (set under the lock). */
	const struct ks_scope *scope;
};

/* The scope outside any request: sees nothing. */
extern const struct ks_scope ks_api_scope_none;

/* The engine clock in seconds (the wall clock before the first tick). */
int64_t ks_api_now(const struct ks_api *a);

/* The instrumentation named by the path's :id in the request scope's
 * namespace, or NULL; answers nothing. */
struct ks_instn *ks_api_find(struct ks_api *a, const struct ks_route_match *m);

/* The instrumentation named by the path's :id in the request scope's
 * namespace, marked used (idle-max); answers 404 (param "id") and returns
 * NULL if there is none. */
struct ks_instn *ks_api_instn(struct ks_api *a, const struct ks_route_match *m,
			      struct ks_http_resp *resp);

/* CA's timeout: if the data of the request's last point (ending at end,
 * see ks_api_query_end) is not complete yet, waits for it with the engine
 * lock let go, at most timeout_ms, then takes the lock and the request's
 * scope back.  Returns the instrumentation again (NULL, 404 answered, if
 * it was deleted meanwhile); *delay_ms is how long it waited if it gave up
 * (CA's "delay" member), else -1. */
struct ks_instn *ks_api_wait(struct ks_api *a, const struct ks_route_match *m,
			     struct ks_instn *in, int64_t end,
			     uint32_t timeout_ms, int64_t *delay_ms,
			     struct ks_http_resp *resp);
/* Adds "delay" to a value object, or to each of an array's (no-op when
 * delay_ms < 0). */
void ks_api_add_delay(json_t *v, int64_t delay_ms);
/* Where the request's last point ends (seconds). */
int64_t ks_api_query_end(const struct ks_query *q);

/* Checks the transformations parameter: kvmscope's metrics have no
 * transformable field yet, so only an empty list is accepted. */
int ks_api_check_xforms(const json_t *params, struct ks_http_resp *resp);

/* Answers a parameter error: like ks_http_resp__from_err, except that a
 * name that does not exist (ENOENT) is a bad parameter value, 400. */
void ks_api_param_error(struct ks_http_resp *resp, int rc,
			const struct ks_err *err);

/* "<base>/instrumentations/<id>" into buf. */
void ks_api_instn_uri(const struct ks_route_match *m,
		      const struct ks_instn *in, char *buf, size_t len);

/* The heatmap resources (api_heatmap.c). */
void ks_api_hm_list(void *ctx, const struct ks_http_req *req,
		    const struct ks_route_match *m, struct ks_http_resp *resp);
void ks_api_hm_image(void *ctx, const struct ks_http_req *req,
		     const struct ks_route_match *m, struct ks_http_resp *resp);
void ks_api_hm_grid(void *ctx, const struct ks_http_req *req,
		    const struct ks_route_match *m, struct ks_http_resp *resp);
void ks_api_hm_details(void *ctx, const struct ks_http_req *req,
		       const struct ks_route_match *m,
		       struct ks_http_resp *resp);
void ks_api_hm_average(void *ctx, const struct ks_http_req *req,
		       const struct ks_route_match *m,
		       struct ks_http_resp *resp);
void ks_api_hm_percentile(void *ctx, const struct ks_http_req *req,
			  const struct ks_route_match *m,
			  struct ks_http_resp *resp);

/* GET /healthz (api_health.c): anonymous, 200 or 503. */
void ks_api_health(void *ctx, const struct ks_http_req *req,
		   const struct ks_route_match *m, struct ks_http_resp *resp);

#endif /* KS_HTTP_HANDLERS_H */
