/* test_router.c - the HTTP layer without a server: route matching,
 * parameter decoding and merging, and CA's API over a real engine
 * (statuses, shapes, errors that name their parameter and change nothing).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/engine.h"
#include "engine/symtab.h"
#include "http/api.h"
#include "http/message.h"
#include "http/params.h"
#include "http/router.h"

/* ---- route matching -------------------------------------------------- */

static void h_dummy(void *ctx, const struct ks_http_req *req,
		    const struct ks_route_match *m, struct ks_http_resp *resp)
{
	(void)ctx, (void)req, (void)m, (void)resp;
}

static const struct ks_route table[] = {
	{ "GET", "/", h_dummy, true },
	{ "GET", "", h_dummy, false },
	{ "GET", "/instrumentations", h_dummy, false },
	{ "POST", "/instrumentations", h_dummy, false },
	{ "GET", "/instrumentations/:id", h_dummy, false },
	{ "DELETE", "/instrumentations/:id", h_dummy, false },
	{ "GET", "/instrumentations/:id/value/raw", h_dummy, false },
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

static enum ks_route_result match(const char *method, const char *path,
				  struct ks_route_match *m, char *allow)
{
	return ks_router_match(table, NTABLE, method, path, m, allow, 128);
}

static void test_match_basic(void **state)
{
	struct ks_route_match m;
	char allow[128];

	(void)state;
	assert_int_equal(match("GET", "/ca", &m, allow), KS_ROUTE_FOUND);
	assert_ptr_equal(m.route, &table[1]);
	assert_string_equal(m.base, "/ca");
	assert_false(m.customer);
	/* One trailing slash is ignored. */
	assert_int_equal(match("GET", "/ca/", &m, allow), KS_ROUTE_FOUND);
	assert_ptr_equal(m.route, &table[1]);
	assert_int_equal(match("GET", "/ca/instrumentations/", &m, allow),
			 KS_ROUTE_FOUND);
	assert_ptr_equal(m.route, &table[2]);
	assert_int_equal(match("POST", "/ca/instrumentations", &m, allow),
			 KS_ROUTE_FOUND);
	assert_ptr_equal(m.route, &table[3]);
	assert_int_equal(match("GET", "/ca/instrumentations/42/value/raw", &m,
			       allow), KS_ROUTE_FOUND);
	assert_ptr_equal(m.route, &table[6]);
	assert_string_equal(ks_route_match__get(&m, "id"), "42");
	assert_null(ks_route_match__get(&m, "custid"));
	/* The absolute page. */
	assert_int_equal(match("GET", "/", &m, allow), KS_ROUTE_FOUND);
	assert_ptr_equal(m.route, &table[0]);
	/* HEAD is served by GET routes. */
	assert_int_equal(match("HEAD", "/ca/instrumentations/7", &m, allow),
			 KS_ROUTE_FOUND);
	assert_ptr_equal(m.route, &table[4]);
}

static void test_match_customer(void **state)
{
	struct ks_route_match m;
	char allow[128];

	(void)state;
	assert_int_equal(match("GET", "/ca/customers/acme/instrumentations/9",
			       &m, allow), KS_ROUTE_FOUND);
	assert_ptr_equal(m.route, &table[4]);
	assert_true(m.customer);
	/* The absolute route tried first must not clobber the custid. */
	assert_string_equal(ks_route_match__get(&m, "custid"), "acme");
	assert_string_equal(ks_route_match__get(&m, "id"), "9");
	assert_string_equal(m.base, "/ca/customers/acme");
	assert_int_equal(match("GET", "/ca/customers/acme", &m, allow),
			 KS_ROUTE_FOUND);
	assert_ptr_equal(m.route, &table[1]);
	assert_int_equal(match("GET", "/ca/customers", &m, allow),
			 KS_ROUTE_NOT_FOUND);
}

static void test_match_misses(void **state)
{
	struct ks_route_match m;
	char allow[128], longseg[300];

	(void)state;
	assert_int_equal(match("GET", "/nope", &m, allow), KS_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/ca//instrumentations", &m, allow),
			 KS_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/ca/instrumentations//", &m, allow),
			 KS_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "ca/instrumentations", &m, allow),
			 KS_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/ca/instrumentations/1/value/raw/x",
			       &m, allow), KS_ROUTE_NOT_FOUND);
	assert_int_equal(match("GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r",
			       &m, allow), KS_ROUTE_NOT_FOUND);
	memset(longseg, 'x', sizeof(longseg));
	memcpy(longseg, "/ca/instrumentations/", 21);
	longseg[sizeof(longseg) - 1] = '\0';
	assert_int_equal(match("GET", longseg, &m, allow), KS_ROUTE_NOT_FOUND);
}

static void test_match_method(void **state)
{
	struct ks_route_match m;
	char allow[128];

	(void)state;
	assert_int_equal(match("PUT", "/ca/instrumentations", &m, allow),
			 KS_ROUTE_BAD_METHOD);
	assert_string_equal(allow, "GET, HEAD, POST");
	assert_int_equal(match("POST", "/ca/instrumentations/3", &m, allow),
			 KS_ROUTE_BAD_METHOD);
	assert_string_equal(allow, "GET, HEAD, DELETE");
	assert_int_equal(match("DELETE", "/", &m, allow), KS_ROUTE_BAD_METHOD);
	assert_string_equal(allow, "GET, HEAD");
}

/* ---- parameters ------------------------------------------------------ */

static void test_params_merge(void **state)
{
	json_t *p = json_object();
	struct ks_err err;
	const json_t *a;

	(void)state;
	assert_int_equal(ks_params_parse_form(p, "a=1&b=x%20y+z&a=2&&c[]=q&d=",
					      27, &err), 0);
	a = json_object_get(p, "a");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "1");
	assert_string_equal(json_string_value(json_array_get(a, 1)), "2");
	assert_string_equal(json_string_value(json_object_get(p, "b")),
			    "x y z");
	a = json_object_get(p, "c");
	assert_true(json_is_array(a));
	assert_string_equal(json_string_value(json_array_get(a, 0)), "q");
	assert_string_equal(json_string_value(json_object_get(p, "d")), "");
	/* A JSON body keeps its types and replaces query-string keys. */
	assert_int_equal(ks_params_parse_body(p, "application/json; charset=utf-8",
					      "{\"b\":5,\"e\":[\"x\"]}", 17,
					      &err), 0);
	assert_true(json_is_integer(json_object_get(p, "b")));
	assert_true(json_is_array(json_object_get(p, "e")));
	/* A form body without a type is sniffed. */
	assert_int_equal(ks_params_parse_body(p, NULL, "f=1", 3, &err), 0);
	assert_string_equal(json_string_value(json_object_get(p, "f")), "1");
	assert_int_equal(ks_params_parse_body(p, NULL, " {\"g\":true}", 11,
					      &err), 0);
	assert_true(json_is_true(json_object_get(p, "g")));
	/* An empty body adds nothing whatever its type. */
	assert_int_equal(ks_params_parse_body(p, "text/plain", "  ", 2, &err), 0);
	json_decref(p);
}

static void expect_param_err(json_t *p, int rc, int want, const char *param,
			     const struct ks_err *err, size_t nkeys)
{
	assert_int_equal(rc, want);
	assert_string_equal(err->param, param);
	assert_true(err->msg[0] != '\0');
	/* A failed parse leaves nothing behind. */
	assert_int_equal(json_object_size(p), nkeys);
}

static void test_params_errors(void **state)
{
	json_t *p = json_object();
	struct ks_err err;

	(void)state;
	json_object_set_new(p, "keep", json_string("x"));
	expect_param_err(p, ks_params_parse_body(p, "application/json", "{bad",
						 4, &err), -EINVAL, "body",
			 &err, 1);
	expect_param_err(p, ks_params_parse_body(p, "application/json", "[1]",
						 3, &err), -EINVAL, "body",
			 &err, 1);
	expect_param_err(p, ks_params_parse_body(p, "application/json",
						 "{\"a\":1,\"a\":2}", 13, &err),
			 -EINVAL, "body", &err, 1);
	/* CA: a body of another media type is not parameters: ignored. */
	assert_int_equal(ks_params_parse_body(p, "text/plain", "x=1", 3, &err),
			 0);
	assert_int_equal(json_object_size(p), 1);
	expect_param_err(p, ks_params_parse_body(p, "multipart/form-data; b=1",
						 "x", 1, &err),
			 -ENOTSUP, "Content-Type", &err, 1);
	expect_param_err(p, ks_params_parse_body(p, NULL, "z=1&y=%zz", 9, &err),
			 -EINVAL, "", &err, 1);
	expect_param_err(p, ks_params_parse_body(p, NULL, "z=1&y=%4", 8, &err),
			 -EINVAL, "", &err, 1);
	expect_param_err(p, ks_params_parse_body(p, NULL, "z=1&y=a%00b", 11,
						 &err), -EINVAL, "y", &err, 1);
	expect_param_err(p, ks_params_parse_body(p, NULL, "z=1&y=%ff", 9, &err),
			 -EINVAL, "y", &err, 1);
	expect_param_err(p, ks_params_parse_body(p, NULL, "z=1&=v", 6, &err),
			 -EINVAL, "", &err, 1);
	json_decref(p);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(ks_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	assert_false(ks_utf8_valid("\xc0\xaf", 2));		/* overlong */
	assert_false(ks_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(ks_utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	assert_false(ks_utf8_valid("\xe2\x82", 2));		/* truncated */
	assert_false(ks_utf8_valid("a\nb", 3));
	assert_true(ks_utf8_valid("a\tb", 3));
}

/* ---- the API over an engine ------------------------------------------ */

#define NOW_S 1700000000LL

struct fx {
	struct ks_engine *e;
	struct ks_api *a;
	struct ks_http_resp r;
	json_t *body;	/* the decoded answer, or NULL */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->e = ks_engine__new();
	f->a = ks_api__new(f->e);
	ks_engine__tick(f->e, (uint64_t)NOW_S * KS_NSEC_PER_SEC);
	ks_http_resp_init(&f->r);
	*state = f;
	return f->e && f->a ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ks_http_resp_fini(&f->r);
	json_decref(f->body);
	ks_api__free(f->a);
	ks_engine__free(f->e);
	free(f);
	ks_sym_reset();
	return 0;
}

/* Sends one request; returns the status and leaves the decoded body in
 * f->body. */
static int call_v(struct fx *f, const char *method, const char *target,
		  const char *ctype, const char *body, const char *version)
{
	struct ks_http_req req = { .method = method, .api_version = version };
	char path[512];
	struct ks_err err;
	int rc;

	ks_http_resp__reset(&f->r);
	json_decref(f->body);
	f->body = NULL;
	req.params = json_object();
	req.path = path;
	rc = ks_params_from_target(req.params, target, path, sizeof(path),
				   ctype, body ? body : "",
				   body ? strlen(body) : 0, &err);
	/* As the server does: a body that does not parse never reaches the
	 * handlers. */
	if (rc) {
		ks_http_resp__from_err(&f->r, rc, &err);
		ks_http_resp__cors(&f->r);
	} else
		ks_api__handle(f->a, &req, &f->r);
	json_decref(req.params);
	if (f->r.body && f->r.content_type &&
	    !strcmp(f->r.content_type, KS_HTTP_JSON)) {
		f->body = json_loadb(f->r.body, f->r.len, 0, NULL);
		assert_non_null(f->body);
	}
	return f->r.status;
}

static int call(struct fx *f, const char *method, const char *target,
		const char *ctype, const char *body)
{
	return call_v(f, method, target, ctype, body, NULL);
}

static const char *str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* The CA error object of the answer, {code, message, param}. */
static const json_t *err_of(const struct fx *f)
{
	const json_t *e = json_object_get(f->body, "error");

	assert_true(json_is_object(e));
	return e;
}

/* Asserts f holds an error in CA's shape with the given status and param:
 * ECA_INVAL for 409, ECA_NOENT for 404. */
static void expect_error(struct fx *f, int status, int got, const char *param)
{
	const json_t *e;

	assert_int_equal(got, status);
	assert_non_null(f->body);
	e = err_of(f);
	assert_string_equal(str(e, "code"), status == 404 ? "ECA_NOENT" :
			    "ECA_INVAL");
	assert_true(strlen(str(e, "message")) > 0);
	assert_string_equal(str(e, "param"), param);
	assert_string_equal(ks_http_resp__get_header(&f->r,
		"Access-Control-Allow-Origin"), "*");
}

static size_t ninstn(struct fx *f)
{
	size_t n;

	assert_int_equal(call(f, "GET", "/ca/instrumentations", NULL, NULL),
			 200);
	assert_true(json_is_array(f->body));
	n = json_array_size(f->body);
	assert_int_equal(n, ks_engine__count(f->e));
	return n;
}

static void test_api_describe(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, "GET", "/ca", NULL, NULL), 200);
	assert_true(json_is_object(json_object_get(f->body, "modules")));
	assert_true(json_is_array(json_object_get(f->body, "metrics")));
	assert_string_equal(ks_http_resp__get_header(&f->r, "X-API-Version"),
			    KS_API_VERSION);
	assert_int_equal(call(f, "GET", "/ca/metrics", NULL, NULL), 200);
	assert_true(json_is_object(json_object_get(
		json_object_get(json_object_get(f->body, "vm"), "stats"),
		"exits")));
	assert_int_equal(call(f, "GET", "/", NULL, NULL), 200);
	assert_non_null(strstr(f->r.body, "href=\"/ca\""));
	assert_int_equal(call(f, "GET", "/ca/admin/status", NULL, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(f->body, "now")),
			 NOW_S);
}

static void test_api_lifecycle(void **state)
{
	struct fx *f = *state;
	char id[16];

	(void)state;
	assert_int_equal(ninstn(f), 0);
	/* Create from a query string. */
	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits&decomposition=vleavereason,latency", NULL,
			      NULL), 201);
	snprintf(id, sizeof(id), "%s", str(f->body, "id"));
	assert_string_equal(str(f->body, "value-arity"),
			    "numeric-decomposition");
	assert_int_equal(json_integer_value(json_object_get(f->body,
					    "value-dimension")), 3);
	assert_string_equal(ks_http_resp__get_header(&f->r, "Location"),
			    str(f->body, "uri"));
	/* From a form body, with a repeated key as the array. */
	assert_int_equal(call(f, "POST", "/ca/instrumentations",
			      "application/x-www-form-urlencoded",
			      "module=vm&stat=exits&decomposition=vcpu"
			      "&granularity=5"), 201);
	assert_int_equal(json_integer_value(json_object_get(f->body,
					    "granularity")), 5);
	/* From JSON, under a customer: URIs stay in its namespace. */
	assert_int_equal(call(f, "POST", "/ca/customers/acme/instrumentations",
			      "application/json",
			      "{\"module\":\"vm\",\"stat\":\"exits\","
			      "\"predicate\":{\"eq\":[\"vleavereason\",\"hlt\"]},"
			      "\"retention-time\":60}"), 201);
	assert_non_null(strstr(str(f->body, "uri"),
			       "/ca/customers/acme/instrumentations/"));
	assert_int_equal(ninstn(f), 3);
	/* Get, modify, clone two ways, delete. */
	char uri[64];

	snprintf(uri, sizeof(uri), "/ca/instrumentations/%s", id);
	assert_int_equal(call(f, "GET", uri, NULL, NULL), 200);
	assert_string_equal(str(f->body, "id"), id);
	assert_int_equal(call(f, "PUT", uri, "application/json",
			      "{\"retention-time\":120,\"idle-max\":\"60\"}"),
			 200);
	assert_int_equal(json_integer_value(json_object_get(f->body,
					    "retention-time")), 120);
	assert_int_equal(json_integer_value(json_object_get(f->body,
					    "idle-max")), 60);
	snprintf(uri, sizeof(uri), "/ca/instrumentations/%s/clone", id);
	assert_int_equal(call(f, "POST", uri, NULL, "decomposition=vcpu"), 201);
	assert_string_equal(str(f->body, "value-arity"),
			    "discrete-decomposition");
	/* The clone inherits what it does not override. */
	assert_int_equal(json_integer_value(json_object_get(f->body,
					    "retention-time")), 120);
	snprintf(uri, sizeof(uri), "/ca/instrumentations/%s?action=clone", id);
	assert_int_equal(call(f, "POST", uri, NULL, NULL), 201);
	assert_int_equal(ninstn(f), 5);
	snprintf(uri, sizeof(uri), "/ca/instrumentations/%s", id);
	assert_int_equal(call(f, "DELETE", uri, NULL, NULL), 204);
	assert_null(f->r.body);
	assert_int_equal(call(f, "GET", uri, NULL, NULL), 404);
	assert_int_equal(ninstn(f), 4);
}

/* Each bad request gets a JSON error naming the parameter, and the list
 * of instrumentations is the same afterwards. */
static void test_api_errors(void **state)
{
	static const struct {
		const char *method, *target, *ctype, *body;
		int status;
		const char *param;
	} bad[] = {
		{ "POST", "/ca/instrumentations", NULL, "stat=exits", 409,
		  "module" },
		{ "POST", "/ca/instrumentations?module=vm&stat=nope", NULL, NULL,
		  409, "stat" },
		{ "POST", "/ca/instrumentations?module=vm&stat=exits&"
		  "granularity=7", NULL, NULL, 409, "granularity" },
		{ "POST", "/ca/instrumentations?module=vm&stat=exits&"
		  "decomposition=nosuch", NULL, NULL, 409, "decomposition" },
		{ "POST", "/ca/instrumentations", "application/json",
		  "{\"module\":\"vm\",\"stat\":\"exits\",\"predicate\":"
		  "{\"gt\":[\"vleavereason\",1]}}", 409, "predicate" },
		{ "POST", "/ca/instrumentations/1", NULL, NULL, 404, "" },
		{ "POST", "/ca/instrumentations/1?action=explode", NULL, NULL,
		  409, "action" },
		{ "PUT", "/ca/instrumentations/1", NULL, "retention-time=1", 409,
		  "retention-time" },
		{ "PUT", "/ca/instrumentations/99", NULL, "retention-time=60",
		  404, "id" },
		{ "DELETE", "/ca/instrumentations/99", NULL, NULL, 404, "id" },
		{ "POST", "/ca/instrumentations/99/clone", NULL, NULL, 404,
		  "id" },
		{ "GET", "/ca/instrumentations/1/value/raw?duration=0", NULL,
		  NULL, 409, "duration" },
		{ "GET", "/ca/instrumentations/1/value/raw?start_time=x", NULL,
		  NULL, 409, "start_time" },
		{ "GET", "/ca/instrumentations/1/value/raw?ndatapoints=0", NULL,
		  NULL, 409, "ndatapoints" },
		{ "GET", "/ca/instrumentations/1/value/raw?start_time="
		  "9999999999", NULL, NULL, 409, "start_time" },
		{ "GET", "/ca/instrumentations/1/value/raw?transformations="
		  "reversedns", NULL, NULL, 409, "transformations" },
		{ "GET", "/ca/instrumentations/1/value/heatmap/image?width=5",
		  NULL, NULL, 409, "width" },
		{ "GET", "/ca/instrumentations/1/value/heatmap/image?"
		  "ymin=10&ymax=5", NULL, NULL, 409, "ymax" },
		{ "GET", "/ca/instrumentations/1/value/heatmap/image?"
		  "isolate=true&exclude=true", NULL, NULL, 409, "exclude" },
		{ "GET", "/ca/instrumentations/1/value/heatmap/image?"
		  "coloring=pink", NULL, NULL, 409, "coloring" },
		{ "GET", "/ca/instrumentations/1/value/heatmap/percentile?"
		  "percentile=2", NULL, NULL, 409, "percentile" },
		{ "GET", "/ca/instrumentations/2/value/heatmap/image", NULL,
		  NULL, 404, "id" },
		{ "GET", "/ca/instrumentations/1/value/nothing", NULL, NULL, 404,
		  "" },
		{ "PATCH", "/ca/instrumentations/1", NULL, NULL, 404, "method" },
		{ "PUT", "/ca/instrumentations", NULL, NULL, 404, "method" },
		{ "POST", "/ca/instrumentations", "application/json", "{\"mod",
		  409, "body" },
		{ "POST", "/ca/instrumentations", "application/json", "42", 409,
		  "body" },
	};
	struct fx *f = *state;
	char before[4096];

	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits&decomposition=latency", NULL, NULL), 201);
	assert_string_equal(str(f->body, "id"), "1");
	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits", NULL, NULL), 201);
	assert_int_equal(ninstn(f), 2);
	snprintf(before, sizeof(before), "%s", f->r.body);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int got = call(f, bad[i].method, bad[i].target, bad[i].ctype,
			       bad[i].body);

		if (got != bad[i].status ||
		    strcmp(str(err_of(f), "param"), bad[i].param))
			fail_msg("case %zu (%s %s): got %d %s", i,
				 bad[i].method, bad[i].target, got, f->r.body);
		expect_error(f, bad[i].status, got, bad[i].param);
		assert_int_equal(ninstn(f), 2);
		assert_string_equal(f->r.body, before);
	}
	expect_error(f, 409, call_v(f, "GET", "/ca", NULL, NULL, "0.1.8"),
		     "X-API-Version");
	expect_error(f, 409, call_v(f, "GET", "/ca", NULL, NULL, "ca/1.2"),
		     "X-API-Version");
	/* What CA ignored is ignored, and changes nothing either. */
	assert_int_equal(call(f, "GET", "/ca/instrumentations/1/value/raw?"
			      "frob=1&profile=none", NULL, NULL), 200);
	assert_int_equal(call(f, "PUT", "/ca/instrumentations/1", NULL,
			      "module=nic&granularity=5"), 200);
	assert_int_equal(json_integer_value(json_object_get(f->body,
							    "granularity")), 1);
	assert_string_equal(str(f->body, "module"), "vm");
	assert_int_equal(call(f, "OPTIONS", "/no/such/thing", NULL, NULL),
			 200);
	assert_string_equal(ks_http_resp__get_header(&f->r,
		"Access-Control-Allow-Methods"), "POST, GET, DELETE, PUT");
	assert_int_equal(call_v(f, "GET", "/ca", NULL, NULL, "ca/0.1.7"), 200);
}

static void feed(struct fx *f, int64_t sec, const char *reason,
		 uint64_t latency, unsigned int n)
{
	struct ks_record r;

	for (unsigned int i = 0; i < n; i++) {
		ks_record_init(&r, KS_M_VM_EXITS,
			       (uint64_t)sec * KS_NSEC_PER_SEC + i * 1000, 1);
		ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern(reason));
		ks_record_set(&r, KS_F_LATENCY, latency);
		ks_record_set(&r, KS_F_VCPU, ks_sym_intern("0"));
		ks_engine__feed(f->e, &r, 1);
	}
}

static void test_api_values(void **state)
{
	struct fx *f = *state;
	char q[160];
	const json_t *v;

	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits", NULL, NULL), 201);
	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits&decomposition=vleavereason", NULL, NULL),
			 201);
	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits&decomposition=latency", NULL, NULL), 201);
	assert_int_equal(call(f, "POST", "/ca/instrumentations", NULL,
			      "module=vm&stat=exits&decomposition[]=latency&"
			      "decomposition[]=vleavereason"), 201);
	feed(f, NOW_S - 5, "hlt", 1000, 3);
	feed(f, NOW_S - 5, "io", 100000, 2);
	feed(f, NOW_S - 4, "io", 100000, 7);

	/* Scalar. */
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/raw?start_time="
		 "%lld&duration=1", NOW_S - 5);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(f->body, "value")),
			 5);
	assert_int_equal(json_integer_value(json_object_get(f->body,
					    "start_time")), NOW_S - 5);
	/* ndatapoints gives an array of consecutive intervals. */
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/raw?start_time="
		 "%lld&duration=1&ndatapoints=3", NOW_S - 5);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	assert_int_equal(json_array_size(f->body), 3);
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(f->body, 1), "value")), 7);
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(f->body, 2), "value")), 0);
	/* Discrete. */
	snprintf(q, sizeof(q), "/ca/instrumentations/2/value/raw?start_time="
		 "%lld&duration=2", NOW_S - 5);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	v = json_object_get(f->body, "value");
	assert_int_equal(json_integer_value(json_object_get(v, "hlt")), 3);
	assert_int_equal(json_integer_value(json_object_get(v, "io")), 9);
	/* Numeric: [[lo,hi],count] ranges around the latencies. */
	snprintf(q, sizeof(q), "/ca/instrumentations/3/value/raw?end_time="
		 "%lld&duration=2", NOW_S - 3);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	v = json_object_get(f->body, "value");
	assert_int_equal(json_array_size(v), 2);
	assert_true(json_integer_value(json_array_get(json_array_get(
		json_array_get(v, 0), 0), 0)) <= 1000);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(v, 0),
							   1)), 3);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(v, 1),
							   1)), 9);
	/* Both. */
	snprintf(q, sizeof(q), "/ca/instrumentations/4/value/raw?start_time="
		 "%lld&duration=2", NOW_S - 5);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	v = json_object_get(json_object_get(f->body, "value"), "io");
	assert_int_equal(json_array_size(v), 1);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(v, 0),
							   1)), 9);
	/* The value and heatmap lists. */
	assert_int_equal(call(f, "GET", "/ca/instrumentations/1/value", NULL,
			      NULL), 200);
	assert_int_equal(json_array_size(f->body), 1);
	assert_int_equal(call(f, "GET", "/ca/instrumentations/4/value", NULL,
			      NULL), 200);
	assert_int_equal(json_array_size(f->body), 2);
	assert_int_equal(call(f, "GET", "/ca/instrumentations/4/value/heatmap",
			      NULL, NULL), 200);
	assert_string_equal(str(json_array_get(f->body, 0), "uri"),
			    "/ca/instrumentations/4/value/heatmap/image");
}

static int b64val(char c)
{
	const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789+/";
	const char *p = strchr(abc, c);

	return p && c ? (int)(p - abc) : -1;
}

/* Decodes the first n bytes of a base64 string. */
static void b64_head(const char *s, unsigned char *out, size_t n)
{
	size_t o = 0;
	unsigned int acc = 0, bits = 0;

	for (; *s && o < n; s++) {
		int v = b64val(*s);

		assert_true(v >= 0);
		acc = acc << 6 | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	assert_int_equal(o, n);
}

static void test_api_heatmaps(void **state)
{
	static const unsigned char png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
					      0x1a, '\n' };
	struct fx *f = *state;
	unsigned char head[8];
	char q[256];
	int64_t atime;

	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits&decomposition=latency,vleavereason", NULL,
			      NULL), 201);
	for (int s = 10; s > 0; s--)
		feed(f, NOW_S - s, s % 2 ? "io" : "hlt", 1000u * (unsigned)s,
		     (unsigned)s);
	atime = ks_engine__get(f->e, "1")->atime_s;
	ks_engine__tick(f->e, (uint64_t)(NOW_S + 2) * KS_NSEC_PER_SEC);
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/heatmap/image?"
		 "start_time=%lld&duration=10&width=100&height=50&"
		 "selected=io&nbuckets=10", NOW_S - 10);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	/* A value request marks the instrumentation as used. */
	assert_true(ks_engine__get(f->e, "1")->atime_s > atime);
	b64_head(str(f->body, "image"), head, sizeof(head));
	assert_memory_equal(head, png, sizeof(png));
	assert_int_equal(json_integer_value(json_object_get(f->body, "width")),
			 100);
	assert_int_equal(json_integer_value(json_object_get(f->body,
					    "start_time")), NOW_S - 10);
	assert_true(json_integer_value(json_object_get(f->body, "ymax")) >=
		    10000);
	assert_true(json_is_array(json_object_get(f->body, "present")));
	assert_int_equal(json_array_size(json_object_get(f->body, "present")),
			 2);
	/* The grid behind it. */
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/heatmap/grid?"
		 "start_time=%lld&duration=10&nbuckets=10", NOW_S - 10);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	assert_non_null(json_object_get(f->body, "grid"));
	assert_null(json_object_get(f->body, "image"));
	/* Details, average, percentile. */
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/heatmap/details?"
		 "start_time=%lld&duration=10&ymax=20000&x=5&y=290", NOW_S - 10);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	assert_non_null(json_object_get(f->body, "bucket_time"));
	assert_non_null(json_object_get(f->body, "total"));
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/heatmap/average?"
		 "start_time=%lld&duration=3&ymax=20000", NOW_S - 10);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	assert_non_null(json_object_get(f->body, "average"));
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/heatmap/"
		 "percentile?start_time=%lld&percentile=0.5&ymax=20000",
		 NOW_S - 10);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	assert_non_null(json_object_get(f->body, "percentile"));
	/* Multiple points, bounded. */
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/heatmap/image?"
		 "start_time=%lld&duration=2&ndatapoints=3&width=10&height=10",
		 NOW_S - 10);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	assert_int_equal(json_array_size(f->body), 3);
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/heatmap/image?"
		 "start_time=%lld&duration=3600&ndatapoints=2", NOW_S - 7300);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 409);
	assert_string_equal(str(err_of(f), "param"), "ndatapoints");
}

/* At the engine's limit a create is a conflict, and changes nothing. */
static void test_api_limit(void **state)
{
	struct fx *f = *state;

	ks_engine__set_max(f->e, 1);
	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits", NULL, NULL), 201);
	expect_error(f, 409, call(f, "POST", "/ca/instrumentations?module=vm&"
				  "stat=exits", NULL, NULL), "");
	expect_error(f, 409, call(f, "POST", "/ca/instrumentations/1/clone",
				  NULL, NULL), "");
	assert_int_equal(ninstn(f), 1);
	/* A method the resource lacks is 404 (CA); Allow says which. */
	expect_error(f, 404, call(f, "PUT", "/ca/instrumentations", NULL, NULL),
		     "method");
	assert_string_equal(ks_http_resp__get_header(&f->r, "Allow"),
			    "GET, HEAD, POST");
}

/* CA's timeout: the data of the interval asked for is not complete (the
 * clock stands still here, and timeout reaches past its end), so the
 * request waits timeout ms and says how long in "delay"; a complete
 * interval answers at once, without it. */
static void test_api_wait(void **state)
{
	struct fx *f = *state;
	char q[160];
	json_int_t d;

	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits", NULL, NULL), 201);
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/raw?start_time="
		 "%lld&timeout=1200", NOW_S);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	d = json_integer_value(json_object_get(f->body, "delay"));
	assert_true(d > 1200 && d < 2500);
	snprintf(q, sizeof(q), "/ca/instrumentations/1/value/raw?start_time="
		 "%lld&timeout=150", NOW_S - 1);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	assert_null(json_object_get(f->body, "delay"));
	/* A heatmap waits the same way. */
	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits&decomposition=latency", NULL, NULL), 201);
	snprintf(q, sizeof(q), "/ca/instrumentations/2/value/heatmap/image?"
		 "start_time=%lld&duration=1&timeout=1100", NOW_S);
	assert_int_equal(call(f, "GET", q, NULL, NULL), 200);
	assert_true(json_integer_value(json_object_get(f->body, "delay")) > 1100);
}

static void test_api_idle_reap(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, "POST", "/ca/instrumentations?module=vm&stat="
			      "exits&idle-max=10", NULL, NULL), 201);
	ks_engine__tick(f->e, (uint64_t)(NOW_S + 8) * KS_NSEC_PER_SEC);
	/* A value request keeps it alive ... */
	assert_int_equal(call(f, "GET", "/ca/instrumentations/1/value/raw",
			      NULL, NULL), 200);
	ks_engine__tick(f->e, (uint64_t)(NOW_S + 16) * KS_NSEC_PER_SEC);
	assert_int_equal(ninstn(f), 1);
	/* ... and without one it goes. */
	ks_engine__tick(f->e, (uint64_t)(NOW_S + 30) * KS_NSEC_PER_SEC);
	assert_int_equal(ninstn(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_basic),
		cmocka_unit_test(test_match_customer),
		cmocka_unit_test(test_match_misses),
		cmocka_unit_test(test_match_method),
		cmocka_unit_test(test_params_merge),
		cmocka_unit_test(test_params_errors),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test_setup_teardown(test_api_describe, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_lifecycle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_values, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_heatmaps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_idle_reap, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
