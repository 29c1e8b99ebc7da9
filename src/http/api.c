/* api.c - CA's resources: self-description, instrumentations, raw values.
 *
 * The route table below is the whole API surface; each handler parses and
 * checks all of its parameters before it touches the engine, so an error
 * answer never leaves a change behind.  Handlers run with the engine lock
 * held (ks_api__handle takes it), one request at a time.
 *
 * Without a token file, customer routes (/ca/customers/:custid/...) behave
 * like the global ones.  With one, ks_api__handle first decides the
 * request's scope (http/access.h) and the handlers see and change only
 * that scope's instrumentations, restricted to its VMs (http/tenancy.h).
 * Ids are looked up and allocated in the scope's namespace only (the
 * engine numbers each namespace on its own), so nothing a scope is told,
 * ids and errors included, depends on what other scopes do.  URIs in
 * answers use the base the client used, so a client never sees the other
 * namespace.
 */
#include "http/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/describe.h"
#include "engine/instn.h"
#include "engine/query.h"
#include "expo/prom_pb.h"
#include "http/handlers.h"
#include "http/imgcache.h"
#include "http/params.h"
#include "http/router.h"
#include "http/static.h"
#include "http/tenancy.h"
#include "util/clock.h"
#include "util/workq.h"

/* Parameters that belong to the HTTP layer, not to the instrumentation. */
#define ROUTING_PARAM "action"

static const char root_page[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<title>kvmscope</title></head>\n"
	"<body>\n"
	"<h1>kvmscope</h1>\n"
	"<p>Cloud Analytics for Linux KVM hosts. The web interface's files "
	"were not found (see <code>kvmscope serve --web-root DIR</code>); "
	"the API is:</p>\n"
	"<ul>\n"
	"<li><a href=\"/ca\">/ca</a>: metrics, fields and types</li>\n"
	"<li><a href=\"/ca/instrumentations\">/ca/instrumentations</a>: "
	"instrumentations (POST to create one)</li>\n"
	"<li><a href=\"/ca/admin/status\">/ca/admin/status</a>: agent "
	"status</li>\n"
	"</ul>\n"
	"</body></html>\n";

/* /ca/docs: what the API is, for a person who opened the URL. */
static const char docs_page[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<title>kvmscope API</title></head>\n"
	"<body>\n"
	"<h1>kvmscope: Cloud Analytics API</h1>\n"
	"<p>kvmscope speaks Cloud Analytics' HTTP API (X-API-Version "
	KS_API_VERSION "), so CA's documentation applies; where it differs, "
	"docs/ca-compat.md in the source says how and why.</p>\n"
	"<ul>\n"
	"<li><a href=\"/ca\">GET /ca</a>: modules, metrics, fields, types "
	"and transformations</li>\n"
	"<li><a href=\"/ca/instrumentations\">GET /ca/instrumentations</a>"
	": instrumentations; POST to create one; GET, PUT (retention-time, "
	"idle-max, persist-data, enabled), DELETE "
	"/ca/instrumentations/:id; POST .../:id/clone</li>\n"
	"<li>GET .../:id/value/raw, .../value/heatmap/image, details, "
	"average, percentile: values (start_time, duration, end_time, "
	"ndatapoints, timeout)</li>\n"
	"<li><a href=\"/ca/admin/status\">GET /ca/admin/status</a>: agent "
	"status</li>\n"
	"</ul>\n"
	"<p>Errors are 409 with {\"error\": {\"code\": \"ECA_INVAL\", "
	"\"message\": ...}} for a bad request, 404 for what does not "
	"exist.</p>\n"
	"</body></html>\n";

const struct ks_scope ks_api_scope_none = { .kind = KS_SCOPE_ANON };

int64_t ks_api_now(const struct ks_api *a)
{
	uint64_t ns = ks_engine__now(a->e);

	return ns ? (int64_t)(ns / KS_NSEC_PER_SEC) : (int64_t)time(NULL);
}

void ks_api_instn_uri(const struct ks_route_match *m,
		      const struct ks_instn *in, char *buf, size_t len)
{
	snprintf(buf, len, "%s/instrumentations/%s", m->base, in->id);
}

struct ks_instn *ks_api_find(struct ks_api *a, const struct ks_route_match *m)
{
	return ks_tenancy__find(a->tenancy, a->scope,
				ks_route_match__get(m, "id"));
}

struct ks_instn *ks_api_instn(struct ks_api *a, const struct ks_route_match *m,
			      struct ks_http_resp *resp)
{
	const char *id = ks_route_match__get(m, "id");
	/* Only the scope's namespace is searched: another namespace's id is
	 * absent here, answered as one that never existed. */
	struct ks_instn *in = ks_api_find(a, m);

	if (!in) {
		ks_http_resp__error(resp, 404, NULL, "id",
				    "no instrumentation \"%.64s\"",
				    id ? id : "");
		return NULL;
	}
	/* Any use counts against idle-max (CA: "accessed via the API"). */
	in->atime_s = ks_api_now(a);
	return in;
}

int ks_api_check_xforms(const json_t *params, struct ks_http_resp *resp)
{
	const json_t *x = json_object_get(params, "transformations");
	const char *name = NULL;

	if (!x || (json_is_array(x) && !json_array_size(x)) ||
	    (json_is_string(x) && !json_string_value(x)[0]))
		return 0;
	if (json_is_array(x) && json_is_string(json_array_get(x, 0)))
		name = json_string_value(json_array_get(x, 0));
	else if (json_is_string(x))
		name = json_string_value(x);
	ks_http_resp__error(resp, 409, NULL, "transformations",
			    "transformation%s%.40s%s does not exist", name ? " \"" : "",
			    name ? name : "", name ? "\"" : "");
	return -EINVAL;
}

void ks_api_param_error(struct ks_http_resp *resp, int rc,
			const struct ks_err *err)
{
	ks_http_resp__from_err(resp, rc == -ENOENT ? -EINVAL : rc, err);
}

struct ks_instn *ks_api_wait(struct ks_api *a, const struct ks_route_match *m,
			     struct ks_instn *in, int64_t end,
			     uint32_t timeout_ms, int64_t *delay_ms,
			     struct ks_http_resp *resp)
{
	const struct ks_scope *scope = a->scope;
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	int64_t t0, waited = 0;

	*delay_ms = -1;
	if (timeout_ms > a->wait_max_ms)
		timeout_ms = a->wait_max_ms;
	if (ks_api_now(a) >= end)
		return in;
	t0 = ks_clock_mono_ns();
	while (ks_api_now(a) < end && waited <= timeout_ms) {
		ks_api__unlock(a);
		nanosleep(&nap, NULL);
		ks_api__lock(a);
		a->scope = scope;
		waited = (ks_clock_mono_ns() - t0) / 1000000;
	}
	if (ks_api_now(a) < end)
		*delay_ms = waited;
	/* Deleted while we waited: answered as gone. */
	return ks_api_instn(a, m, resp);
}

void ks_api_add_delay(json_t *v, int64_t delay_ms)
{
	size_t i;
	json_t *p;

	if (delay_ms < 0 || !v)
		return;
	if (json_is_object(v)) {
		json_object_set_new(v, "delay", json_integer(delay_ms));
		return;
	}
	json_array_foreach(v, i, p)
		json_object_set_new(p, "delay", json_integer(delay_ms));
}

int64_t ks_api_query_end(const struct ks_query *q)
{
	return q->start + (int64_t)q->ndatapoints * q->duration;
}

/* Tells the agent (its change hook) what the API changed. */
static void changed(struct ks_api *a, const char *owner, const char *id,
		    const struct ks_instn *in)
{
	a->changes++;
	if (a->change_fn)
		a->change_fn(a->change_ctx, owner, id, in);
}

/* The instrumentation object, or a 500. */
static void send_instn(struct ks_api *a, struct ks_http_resp *resp,
		       int status, const struct ks_route_match *m,
		       const struct ks_instn *in)
{
	char base[sizeof(m->base) + 32];

	snprintf(base, sizeof(base), "%s/instrumentations", m->base);
	ks_http_resp__json(resp, status,
			   ks_tenancy__instn_json(a->tenancy, in, base));
}

/* ---- self-description ------------------------------------------------ */

/* Serves a web UI file with the engine lock released: no file I/O under
 * the lock, so a slow or odd file never stalls the API.  The web root is
 * fixed before the server starts; nothing shared is touched meanwhile. */
static int serve_file(struct ks_api *a, const char *path,
		      struct ks_http_resp *resp)
{
	int rc;

	ks_api__unlock(a);
	rc = ks_static_serve(a->web_root, path, resp);
	ks_api__lock(a);
	return rc;
}

static void h_root(void *ctx, const struct ks_http_req *req,
		   const struct ks_route_match *m, struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;

	(void)m;
	if (!serve_file(a, req->path, resp))
		return;
	ks_http_resp__data(resp, 200, "text/html; charset=utf-8", root_page,
			   sizeof(root_page) - 1);
}

/* The web UI's other files, all at the top level (GET /:file). */
static void h_web_file(void *ctx, const struct ks_http_req *req,
		       const struct ks_route_match *m,
		       struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;

	(void)m;
	if (serve_file(a, req->path, resp))
		ks_http_resp__error(resp, 404, NULL, "",
				    "no resource at %.200s", req->path);
}

/* GET /ca/docs: CA served its API documentation there. */
static void h_docs(void *ctx, const struct ks_http_req *req,
		   const struct ks_route_match *m, struct ks_http_resp *resp)
{
	(void)ctx, (void)req;
	ks_http_resp__data(resp, 200, "text/html; charset=utf-8",
			   docs_page, sizeof(docs_page) - 1);
	(void)m;
}

static void h_describe(void *ctx, const struct ks_http_req *req,
		       const struct ks_route_match *m,
		       struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;

	(void)req, (void)m;
	ks_http_resp__json(resp, 200,
			   ks_tenancy__catalog(a->scope, ks_describe_catalog()));
}

/* CA's legacy field types: "latency" for times, else number or string. */
static const char *legacy_type(enum ks_field f)
{
	enum ks_type t = ks_field_info(f)->type;

	if (t == KS_TYPE_TIME)
		return "latency";
	return ks_type_info(t)->numeric ? "number" : "string";
}

static json_t *legacy_stat(const struct ks_metricinfo *mi)
{
	json_t *fields = json_object();

	for (size_t i = 0; fields && i < mi->nfields; i++) {
		const struct ks_fieldinfo *fi = ks_field_info(mi->fields[i]);

		if (json_object_set_new(fields, fi->name,
					json_pack("{s:s,s:s}", "label", fi->label,
						  "type",
						  legacy_type(mi->fields[i])))) {
			json_decref(fields);
			return NULL;
		}
	}
	return json_pack("{s:s,s:s,s:o?}", "label", mi->label, "type",
			 "unused", "fields", fields);
}

/* GET /ca/metrics: CA's pre-0.1 shape, {module: {label, stats: {...}}}. */
static void h_legacy_metrics(void *ctx, const struct ks_http_req *req,
			     const struct ks_route_match *m,
			     struct ks_http_resp *resp)
{
	json_t *o = json_object();

	(void)ctx, (void)req, (void)m;
	for (size_t i = 0; o && i < ks_module_count(); i++) {
		const struct ks_moduleinfo *mod = ks_module_info(i);

		if (json_object_set_new(o, mod->name,
					json_pack("{s:s,s:{}}", "label",
						  mod->label, "stats"))) {
			json_decref(o);
			o = NULL;
		}
	}
	for (int k = 0; o && k < KS_M__COUNT; k++) {
		const struct ks_metricinfo *mi = ks_metric_info(k);
		json_t *stats = json_object_get(json_object_get(o, mi->module),
						"stats");

		if (!stats || json_object_set_new(stats, mi->stat,
						  legacy_stat(mi))) {
			json_decref(o);
			o = NULL;
		}
	}
	ks_http_resp__json(resp, 200,
			   ks_tenancy__legacy_metrics(((struct ks_api *)ctx)->scope,
						      o));
}

static void h_legacy_types(void *ctx, const struct ks_http_req *req,
			   const struct ks_route_match *m,
			   struct ks_http_resp *resp)
{
	(void)ctx, (void)req, (void)m;
	ks_http_resp__json(resp, 200,
			   json_pack("{s:s,s:s,s:s}", "latency", "numeric",
				     "string", "discrete", "number", "numeric"));
}

static void h_legacy_xforms(void *ctx, const struct ks_http_req *req,
			    const struct ks_route_match *m,
			    struct ks_http_resp *resp)
{
	json_t *d = ks_describe_catalog();
	json_t *x = d ? json_object_get(d, "transformations") : NULL;

	(void)ctx, (void)req, (void)m;
	ks_http_resp__json(resp, 200, x ? json_incref(x) : json_object());
	json_decref(d);
}

static void h_status(void *ctx, const struct ks_http_req *req,
		     const struct ks_route_match *m, struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;
	const struct ks_engine_stats *st = ks_engine__stats(a->e);
	json_t *o;

	(void)req, (void)m;
	o = json_pack("{s:s,s:s,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
		      "s:I}}",
		      "service", "kvmscope", "api_version", KS_API_VERSION,
		      "now", (json_int_t)ks_api_now(a),
		      "instrumentations", (json_int_t)ks_engine__count(a->e),
		      "records",
		      "fed", (json_int_t)st->records,
		      "added", (json_int_t)st->added,
		      "filtered", (json_int_t)st->filtered,
		      "lacking", (json_int_t)st->lacking,
		      "future", (json_int_t)st->future,
		      "expired", (json_int_t)st->expired,
		      "nomem", (json_int_t)st->nomem,
		      "keycap", (json_int_t)st->keycap,
		      "overbudget", (json_int_t)st->overbudget);
	if (o && a->status_fn)
		a->status_fn(a->status_ctx, o);
	ks_http_resp__json(resp, 200, ks_tenancy__status(a->tenancy, a->scope, o));
}

/* GET /metrics: Prometheus' text format, or its protobuf format when the
 * Accept header prefers it (Prometheus asks for it to scrape native
 * histograms); both from the agent's hooks. */
static void h_prom(void *ctx, const struct ks_http_req *req,
		   const struct ks_route_match *m, struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;
	bool pb = a->metrics_pb_fn && ks_prom_pb_wanted(req->accept);
	struct ks_err err = { "", "out of memory" };
	size_t len = 0;
	char *body = NULL;
	int rc = 0;

	(void)m;
	if (!a->metrics_fn) {
		ks_http_resp__error(resp, 404, NULL, "",
				    "no resource at %.200s", req->path);
		return;
	}
	if (pb)
		rc = a->metrics_pb_fn(a->metrics_pb_ctx, &body, &len, &err);
	else if (!(body = a->metrics_fn(a->metrics_ctx, &len)))
		rc = -ENOMEM;
	if (rc) {
		ks_http_resp__error(resp, 500, NULL, err.param,
				    "%s", err.msg);
		return;
	}
	/* The body is taken as is: it can be megabytes on a big host. */
	ks_http_resp__reset(resp);
	resp->status = 200;
	resp->content_type = pb ? KS_PROM_PB_TYPE : KS_API_PROM_TYPE;
	resp->body = body;
	resp->len = len;
	ks_http_resp__header(resp, "Vary", "Accept");
}

/* ---- instrumentations ------------------------------------------------ */

static void h_list(void *ctx, const struct ks_http_req *req,
		   const struct ks_route_match *m, struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;
	char base[sizeof(m->base) + 32];
	json_t *arr = json_array();

	(void)req;
	snprintf(base, sizeof(base), "%s/instrumentations", m->base);
	for (struct ks_instn *in = ks_engine__next(a->e, NULL); arr && in;
	     in = ks_engine__next(a->e, in)) {
		if (!ks_tenancy__visible(a->tenancy, a->scope, in))
			continue;
		if (json_array_append_new(arr, ks_tenancy__instn_json(
						       a->tenancy, in, base))) {
			json_decref(arr);
			arr = NULL;
		}
	}
	ks_http_resp__json(resp, 200, arr);
}

/* The instrumentation parameters of a request: a shallow copy without the
 * HTTP layer's own parameters. */
static json_t *instn_params(const struct ks_http_req *req)
{
	json_t *p = json_copy(req->params);

	if (p)
		json_object_del(p, ROUTING_PARAM);
	return p;
}

/* Creates from conf (taken) and answers 201 with Location; shown (taken)
 * is the predicate the scope sees (http/tenancy.h). */
static void create_from(struct ks_api *a, const struct ks_route_match *m,
			struct ks_instn_conf *conf, json_t *shown,
			struct ks_http_resp *resp)
{
	const char *ns = ks_tenancy_ns(a->scope);
	struct ks_instn *in;
	struct ks_err err;
	char uri[sizeof(m->base) + 64];
	int rc;

	if (ns && a->check_fn &&
	    (rc = a->check_fn(a->check_ctx, m->base, ns, conf, &err))) {
		json_decref(shown);
		ks_instn_conf_fini(conf);
		if (rc == -EACCES || rc == -EHOSTUNREACH ||
		    rc == -ETIMEDOUT || rc == -EIO)
			ks_http_resp__error(resp, rc == -EACCES ? 403 :
					    rc == -ETIMEDOUT ? 504 : 502,
					    NULL, err.param, "%s", err.msg);
		else
			ks_api_param_error(resp, rc, &err);
		return;
	}
	if ((rc = ns ? ks_engine__create_in(a->e, ns, conf, &in, &err) :
		  ks_err_set(&err, EPERM, "", "not allowed"))) {
		json_decref(shown);
		ks_instn_conf_fini(conf);
		ks_http_resp__from_err(resp, rc, &err);
		return;
	}
	if (ks_tenancy__adopt(a->tenancy, a->scope, in, shown)) {
		ks_engine__delete_in(a->e, ns, in->id);
		ks_http_resp__error(resp, 500, NULL, "",
				    "out of memory");
		return;
	}
	in->atime_s = ks_api_now(a);
	ks_api_instn_uri(m, in, uri, sizeof(uri));
	send_instn(a, resp, 201, m, in);
	if (resp->status != 201 || ks_http_resp__header(resp, "Location", uri)) {
		/* Out of memory answering: undo, so the error is the truth. */
		ks_engine__delete_in(a->e, ns, in->id);
		ks_http_resp__error(resp, 500, NULL, "",
				    "out of memory");
		return;
	}
	changed(a, in->owner, in->id, in);
}

/* Parses params over src's configuration (NULL: CA's defaults), limits
 * it to the request's scope and creates. */
static void create(struct ks_api *a, const struct ks_http_req *req,
		   const struct ks_route_match *m,
		   const struct ks_instn *src, struct ks_http_resp *resp)
{
	const struct ks_instn_conf *base = src ? &src->conf : NULL;
	struct ks_instn_conf conf;
	struct ks_err err;
	json_t *p = instn_params(req), *shown = NULL;
	int rc;

	if (!p || ks_tenancy__prepare(a->tenancy, a->scope, src, p)) {
		json_decref(p);
		ks_http_resp__error(resp, 500, NULL, "",
				    "out of memory");
		return;
	}
	rc = ks_instn_conf_parse(p, base,
				 base ? KS_INSTN_CLONE : KS_INSTN_CREATE, &conf,
				 &err);
	json_decref(p);
	if (!rc && (rc = ks_tenancy__restrict(a->tenancy, a->scope, &conf,
					      &shown, &err)))
		ks_instn_conf_fini(&conf);
	if (rc) {
		ks_tenancy__scrub_err(a->scope, &err);
		ks_api_param_error(resp, rc, &err);
		return;
	}
	create_from(a, m, &conf, shown, resp);
}

static void h_create(void *ctx, const struct ks_http_req *req,
		     const struct ks_route_match *m, struct ks_http_resp *resp)
{
	create(ctx, req, m, NULL, resp);
}

static void h_get(void *ctx, const struct ks_http_req *req,
		  const struct ks_route_match *m, struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;
	struct ks_instn *in = ks_api_instn(a, m, resp);

	(void)req;
	if (!in)
		return;
	in->atime_s = ks_api_now(a);
	send_instn(a, resp, 200, m, in);
}

static void h_modify(void *ctx, const struct ks_http_req *req,
		     const struct ks_route_match *m, struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;
	struct ks_instn *in = ks_api_instn(a, m, resp);
	struct ks_instn_conf conf;
	struct ks_err err;
	json_t *p;
	int rc;

	if (!in)
		return;
	if (!(p = instn_params(req))) {
		ks_http_resp__error(resp, 500, NULL, "",
				    "out of memory");
		return;
	}
	rc = ks_instn_conf_parse(p, &in->conf, KS_INSTN_MODIFY, &conf, &err);
	json_decref(p);
	if (rc) {
		ks_tenancy__scrub_err(a->scope, &err);
		ks_api_param_error(resp, rc, &err);
		return;
	}
	if ((rc = ks_engine__modify(a->e, in, &conf, &err))) {
		ks_instn_conf_fini(&conf);
		ks_http_resp__from_err(resp, rc, &err);
		return;
	}
	in->atime_s = ks_api_now(a);
	changed(a, in->owner, in->id, in);
	send_instn(a, resp, 200, m, in);
}

static void h_delete(void *ctx, const struct ks_http_req *req,
		     const struct ks_route_match *m, struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;
	struct ks_instn *in = ks_api_instn(a, m, resp);
	char owner[sizeof(in->owner)], id[sizeof(in->id)];

	(void)req;
	if (!in)
		return;
	snprintf(owner, sizeof(owner), "%s", in->owner);
	snprintf(id, sizeof(id), "%s", in->id);
	ks_engine__delete_in(a->e, owner, id);
	changed(a, owner, id, NULL);
	ks_http_resp__reset(resp);
	resp->status = 204;
}

static void h_clone(void *ctx, const struct ks_http_req *req,
		    const struct ks_route_match *m, struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;
	struct ks_instn *src = ks_api_instn(a, m, resp);

	if (!src)
		return;
	src->atime_s = ks_api_now(a);
	create(a, req, m, src, resp);
}

/* POST /ca/instrumentations/:id?action=clone, CloudAPI's spelling. */
static void h_action(void *ctx, const struct ks_http_req *req,
		     const struct ks_route_match *m, struct ks_http_resp *resp)
{
	const json_t *act = json_object_get(req->params, ROUTING_PARAM);

	/* CA had no POST here (404); CloudAPI's action=clone is ours. */
	if (!act) {
		ks_http_resp__error(resp, 404, NULL, "",
				    "no resource at %.200s for POST (clone with "
				    "POST .../clone or action=clone)", req->path);
		return;
	}
	if (!json_is_string(act) || strcmp(json_string_value(act), "clone")) {
		ks_http_resp__error(resp, 409, NULL, ROUTING_PARAM,
				    "the only action is \"clone\"");
		return;
	}
	h_clone(ctx, req, m, resp);
}

/* ---- values ---------------------------------------------------------- */

static json_t *uri_entry(const char *name, const char *uri, const char *tail)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s%s", uri, tail);
	return json_pack("{s:s,s:s}", "name", name, "uri", buf);
}

static void h_value_list(void *ctx, const struct ks_http_req *req,
			 const struct ks_route_match *m,
			 struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;
	struct ks_instn *in = ks_api_instn(a, m, resp);
	char uri[sizeof(m->base) + 64];
	json_t *arr;

	(void)req;
	if (!in)
		return;
	ks_api_instn_uri(m, in, uri, sizeof(uri));
	arr = json_array();
	if (arr)
		json_array_append_new(arr, uri_entry("value_raw", uri,
						     "/value/raw"));
	if (arr && ks_arity_numeric(ks_instn_conf_arity(&in->conf)))
		json_array_append_new(arr, uri_entry("value_heatmap", uri,
						     "/value/heatmap"));
	ks_http_resp__json(resp, 200, arr);
}

static void h_raw(void *ctx, const struct ks_http_req *req,
		  const struct ks_route_match *m, struct ks_http_resp *resp)
{
	struct ks_api *a = ctx;
	struct ks_instn *in = ks_api_instn(a, m, resp);
	int64_t now = ks_api_now(a), delay;
	struct ks_query q;
	struct ks_err err;
	json_t *v;
	int rc;

	if (!in || ks_api_check_xforms(req->params, resp))
		return;
	rc = ks_query_parse(req->params, in->conf.granularity, now, 1, &q,
			    &err);
	if (rc) {
		ks_api_param_error(resp, rc, &err);
		return;
	}
	in = ks_api_wait(a, m, in, ks_api_query_end(&q), q.timeout_ms, &delay,
			 resp);
	if (!in)
		return;
	in->atime_s = ks_api_now(a);
	rc = ks_query_value_max(in, &q, ks_engine__memory(a->e).raw_values,
				&v, &err);
	if (rc) {
		ks_api_param_error(resp, rc, &err);
		return;
	}
	ks_api_add_delay(v, delay);
	ks_http_resp__json(resp, 200, v);
}

/* ---- the table ------------------------------------------------------- */

#define INSTN "/instrumentations/:id"
#define HM INSTN "/value/heatmap"

static const struct ks_route routes[] = {
	{ "GET", "/", h_root, true, true },
	{ "GET", "", h_describe, false },
	{ "GET", "/metrics", h_legacy_metrics, false },
	{ "GET", "/types", h_legacy_types, false },
	{ "GET", "/transformations", h_legacy_xforms, false },
	{ "GET", "/admin/status", h_status, false },
	{ "GET", "/docs", h_docs, false },
	{ "GET", "/docs/index.html", h_docs, false },
	{ "GET", "/instrumentations", h_list, false },
	{ "POST", "/instrumentations", h_create, false },
	{ "GET", INSTN, h_get, false },
	{ "PUT", INSTN, h_modify, false },
	{ "DELETE", INSTN, h_delete, false },
	{ "POST", INSTN, h_action, false },
	{ "POST", INSTN "/clone", h_clone, false },
	{ "GET", INSTN "/value", h_value_list, false },
	{ "GET", INSTN "/value/raw", h_raw, false },
	{ "GET", HM, ks_api_hm_list, false },
	{ "GET", HM "/image", ks_api_hm_image, false },
	{ "GET", HM "/grid", ks_api_hm_grid, false },
	{ "GET", HM "/details", ks_api_hm_details, false },
	{ "GET", HM "/average", ks_api_hm_average, false },
	{ "GET", HM "/percentile", ks_api_hm_percentile, false },
	{ "GET", "/metrics", h_prom, true },
	{ "GET", "/healthz", ks_api_health, true, true },
	{ "GET", "/:file", h_web_file, true, true },	/* last: /ca wins */
};

struct ks_api *ks_api__new(struct ks_engine *e)
{
	struct ks_api *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (pthread_mutex_init(&a->lock, NULL)) {
		free(a);
		return NULL;
	}
	a->e = e;
	a->scope = &ks_api_scope_none;
	a->wait_max_ms = KS_TIMEOUT_MAX_MS;
	a->redraw_wait_ms = KS_REDRAW_WAIT_MS;
	if (!(a->tenancy = ks_tenancy__new(e))) {
		pthread_mutex_destroy(&a->lock);
		free(a);
		return NULL;
	}
	return a;
}

void ks_api__free(struct ks_api *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	/* the drawing thread first: its jobs end claims in the cache */
	ks_workq__free(a->redraw);
	ks_tenancy__free(a->tenancy);
	ks_imgcache__free(a->imgcache);
	free(a->web_root);
	free(a);
}

void ks_api__set_tokens(struct ks_api *a, const struct ks_tokens *tokens,
			size_t tenant_cap)
{
	a->tokens = tokens;
	ks_tenancy__set_cap(a->tenancy, tenant_cap);
}

struct ks_tenancy *ks_api__tenancy(struct ks_api *a)
{
	return a->tenancy;
}

const struct ks_tokens *ks_api__tokens(const struct ks_api *a)
{
	return a->tokens;
}

void ks_api__set_status_hook(struct ks_api *a, ks_api_status_fn fn, void *ctx)
{
	a->status_fn = fn;
	a->status_ctx = ctx;
}

void ks_api__set_change_hook(struct ks_api *a, ks_api_change_fn fn, void *ctx)
{
	a->change_fn = fn;
	a->change_ctx = ctx;
}

void ks_api__set_saved_hook(struct ks_api *a, ks_api_saved_fn fn)
{
	a->saved_fn = fn;
}

void ks_api__set_check_hook(struct ks_api *a, ks_api_check_fn fn, void *ctx)
{
	a->check_fn = fn;
	a->check_ctx = ctx;
}

void ks_api__set_metrics_hook(struct ks_api *a, ks_api_metrics_fn fn,
			      void *ctx)
{
	a->metrics_fn = fn;
	a->metrics_ctx = ctx;
}

void ks_api__set_metrics_pb_hook(struct ks_api *a, ks_api_metrics_pb_fn fn,
				 void *ctx)
{
	a->metrics_pb_fn = fn;
	a->metrics_pb_ctx = ctx;
}

int ks_api__set_web_root(struct ks_api *a, const char *dir)
{
	char *copy = dir ? strdup(dir) : NULL;

	if (dir && !copy)
		return -ENOMEM;
	free(a->web_root);
	a->web_root = copy;
	return 0;
}

void ks_api__set_max_wait(struct ks_api *a, uint32_t ms)
{
	a->wait_max_ms = ms;
}

void ks_api__lock(struct ks_api *a)
{
	pthread_mutex_lock(&a->lock);
}

void ks_api__unlock(struct ks_api *a)
{
	pthread_mutex_unlock(&a->lock);
}

/* CA's rule: "ca/" and three '.'-separated parts; absent means ca/0.1.0. */
static bool version_ok(const char *v)
{
	int dots = 0;

	if (strncmp(v, "ca/", 3))
		return false;
	for (v += 3; *v; v++)
		dots += *v == '.';
	return dots == 2;
}

void ks_api__handle(void *api, const struct ks_http_req *req,
		    struct ks_http_resp *resp)
{
	struct ks_api *a = api;
	struct ks_scope scope;

	if (req->api_version && !version_ok(req->api_version)) {
		ks_http_resp__error(resp, 409, NULL, "X-API-Version",
				    "invalid API version string: %.40s",
				    req->api_version);
	} else if (req->method && !strcmp(req->method, "OPTIONS")) {
		/* CA: 200 on any path, for browsers' preflight (CORS). */
		ks_http_resp__reset(resp);
		resp->status = 200;
	} else if (ks_access_authorize(a->tokens, routes,
				       sizeof(routes) / sizeof(routes[0]), req,
				       &scope, resp)) {
		/* refused: resp says why (401, 403 or 404) */
	} else if (!req->params || !json_is_object(req->params)) {
		ks_http_resp__error(resp, 500, NULL, "",
				    "request without parameters");
	} else {
		size_t changes;

		ks_api__lock(a);
		a->scope = &scope;
		a->changes = 0;
		ks_router_dispatch(routes, sizeof(routes) / sizeof(routes[0]),
				   a, req, resp);
		a->scope = &ks_api_scope_none;
		changes = a->changes;
		ks_api__unlock(a);
		/* Answered once saved (or its save is pending, retried). */
		if (changes && a->saved_fn)
			a->saved_fn(a->change_ctx);
	}
	ks_http_resp__header(resp, "X-API-Version", KS_API_VERSION);
	ks_http_resp__cors(resp);
}
