/* api.h - Cloud Analytics' HTTP API over the engine.
 *
 * The handlers of CA's resources (GET /ca, instrumentations, values,
 * heatmaps), each at /ca/... and /ca/customers/:custid/..., plus a small
 * page at "/".  A ks_api serves one engine, which it does not own, and
 * holds the one mutex that serialises every use of it: the engine is not
 * thread-safe, and the server thread and the thread feeding records must
 * take turns (ks_api__lock around feeding and ticking).
 *
 * Handlers never change state when they answer with an error: every
 * parameter is parsed and checked before the engine is touched.
 */
#ifndef KS_HTTP_API_H
#define KS_HTTP_API_H

#include <jansson.h>

#include "engine/engine.h"
#include "http/message.h"

#define KS_API_VERSION "ca/0.1.8"
#define KS_API_PROM_TYPE "text/plain; version=0.0.4"

struct ks_api;

/* Adds members to the GET /ca/admin/status object (called locked). */
typedef void (*ks_api_status_fn)(void *ctx, json_t *status);

struct ks_api *ks_api__new(struct ks_engine *e);
void ks_api__free(struct ks_api *a);
void ks_api__set_status_hook(struct ks_api *a, ks_api_status_fn fn,
			     void *ctx);

/* Turns on access control (http/access.h, http/tenancy.h): tokens (which
 * must outlive a) decide each request's scope, and each tenant may have
 * at most tenant_cap instrumentations.  Without it the API is open. */
struct ks_tokens;
void ks_api__set_tokens(struct ks_api *a, const struct ks_tokens *tokens,
			size_t tenant_cap);

/* The tenancy and tokens, for restoring tenants' saved instrumentations
 * (agent/state.h); tokens are NULL without access control. */
struct ks_tenancy *ks_api__tenancy(struct ks_api *a);
const struct ks_tokens *ks_api__tokens(const struct ks_api *a);

/* Told (locked) after the API created, cloned or modified an
 * instrumentation (in is it) or deleted one (in is NULL), so the agent can
 * save it.  owner and id are its engine key (engine.h). */
typedef void (*ks_api_change_fn)(void *ctx, const char *owner,
				 const char *id, const struct ks_instn *in);
void ks_api__set_change_hook(struct ks_api *a, ks_api_change_fn fn,
			     void *ctx);
/* Called (unlocked, with the change hook's ctx) after a request that
 * changed something, before it is answered: the agent waits there,
 * bounded, for the change to be saved. */
typedef void (*ks_api_saved_fn)(void *ctx);
void ks_api__set_saved_hook(struct ks_api *a, ks_api_saved_fn fn);

/* GET /metrics (Prometheus' text format 0.0.4): returns the body, malloc'd,
 * and its length, or NULL on ENOMEM (called locked).  Without a hook,
 * /metrics is 404. */
typedef char *(*ks_api_metrics_fn)(void *ctx, size_t *len);
void ks_api__set_metrics_hook(struct ks_api *a, ks_api_metrics_fn fn,
			      void *ctx);

/* GET /metrics in Prometheus' protobuf format (expo/prom_pb.h), served
 * instead of the text when the request's Accept header prefers it: 0 with
 * the malloc'd body in *body and its length in *len, or a negative errno
 * with err filled (called locked).  Without it, /metrics is always text. */
typedef int (*ks_api_metrics_pb_fn)(void *ctx, char **body, size_t *len,
				    struct ks_err *err);
void ks_api__set_metrics_pb_hook(struct ks_api *a, ks_api_metrics_pb_fn fn,
				 void *ctx);

/* Serves the web UI from dir (a real path, see http/static.h) at "/";
 * NULL serves only a short page pointing at the API.  0 or -ENOMEM. */
int ks_api__set_web_root(struct ks_api *a, const char *dir);

/* Bounds CA's timeout parameter (how long a value request waits for the
 * data of an interval not yet complete): default 5000 ms, CA's maximum;
 * the fuzzer sets 0 so that no input sleeps. */
void ks_api__set_max_wait(struct ks_api *a, uint32_t ms);

/* Asked (locked) before an instrumentation is created or cloned under
 * base (the route's, "/ca" or "/ca/customers/NAME") in namespace owner
 * ("" the operator's): 0 lets it be, a negative errno
 * refuses it with err (-EACCES answers 403; -EHOSTUNREACH and -EIO, an
 * upstream that failed, 502; -ETIMEDOUT 504; others as parameter errors).
 * `kvmscope fleet` refuses there what Prometheus' labels cannot answer. */
typedef int (*ks_api_check_fn)(void *ctx, const char *base,
			       const char *owner,
			       const struct ks_instn_conf *c,
			       struct ks_err *err);
void ks_api__set_check_hook(struct ks_api *a, ks_api_check_fn fn,
			    void *ctx);

void ks_api__lock(struct ks_api *a);
void ks_api__unlock(struct ks_api *a);

/* Serves one request: checks X-API-Version, routes, runs the handler with
 * the engine locked.  Always leaves a complete response in resp.  The
 * signature fits the server's handler type (api is the struct ks_api). */
void ks_api__handle(void *api, const struct ks_http_req *req,
		    struct ks_http_resp *resp);

#endif /* KS_HTTP_API_H */
