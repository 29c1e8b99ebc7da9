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

struct ks_api;

/* Adds members to the GET /ca/admin/status object (called locked). */
typedef void (*ks_api_status_fn)(void *ctx, json_t *status);

struct ks_api *ks_api__new(struct ks_engine *e);
void ks_api__free(struct ks_api *a);
void ks_api__set_status_hook(struct ks_api *a, ks_api_status_fn fn,
			     void *ctx);

/* Serves the web UI from dir (a real path, see http/static.h) at "/";
 * NULL serves only a short page pointing at the API.  0 or -ENOMEM. */
int ks_api__set_web_root(struct ks_api *a, const char *dir);

void ks_api__lock(struct ks_api *a);
void ks_api__unlock(struct ks_api *a);

/* Serves one request: checks X-API-Version, routes, runs the handler with
 * the engine locked.  Always leaves a complete response in resp.  The
 * signature fits the server's handler type (api is the struct ks_api). */
void ks_api__handle(void *api, const struct ks_http_req *req,
		    struct ks_http_resp *resp);

#endif /* KS_HTTP_API_H */
