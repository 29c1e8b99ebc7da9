/* fuzz_router.c - libFuzzer target for the HTTP API without a server.
 *
 * Input: four selector bytes (method, Content-Type, X-API-Version, and a
 * path prefix that gives the fuzzer a head start into the deeper
 * resources), then the rest of the request target up to a newline, then
 * the body.  The request goes through the very parser the server uses
 * (ks_params_from_target: path, query and body decoding, merging) into
 * the router and handlers, over a
 * fresh engine holding a scalar and a latency-by-reason instrumentation
 * with a few seconds of data.  Checks beyond "no crash, no leak, no UB":
 * every answer has a status; a JSON body parses; an error is CA's
 * {"error": {code, message, param}} with one of CA's codes; every answer
 * of the API carries CA's CORS header; and an error changes no
 * instrumentation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/symtab.h"
#include "http/api.h"
#include "http/message.h"
#include "http/params.h"

#define NOW_S 1700000000LL
#define MAX_TARGET 4096

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE",
				       "HEAD", "PATCH", "OPTIONS", "" };
static const char *const ctypes[] = {
	NULL, "application/json", "application/x-www-form-urlencoded",
	"text/plain", "multipart/form-data; boundary=x",
	"Application/JSON ; charset=latin1", "",
};
static const char *const versions[] = { NULL, "ca/0.1.8", "ca/0.1", "x",
					"ca/1.2.3.4", "ca/99999999999.1.1" };
static const char *const prefixes[] = {
	"", "/ca", "/ca/instrumentations", "/ca/instrumentations/1",
	"/ca/instrumentations/2", "/ca/instrumentations/2/value/raw",
	"/ca/instrumentations/2/value/heatmap/image",
	"/ca/instrumentations/2/value/heatmap/details",
	"/ca/instrumentations/2/value/heatmap/average",
	"/ca/instrumentations/2/value/heatmap/percentile",
	"/ca/instrumentations/2/value/heatmap/grid",
	"/ca/customers/acme/instrumentations/1/clone",
	"/ca/instrumentations/1/value/raw",
};
#define PICK(a, b) ((a)[(b) % (sizeof(a) / sizeof((a)[0]))])

static void feed_data(struct ks_engine *e)
{
	static const char *const reasons[] = { "hlt", "io", "msr_write" };
	struct ks_record r;

	for (int s = 1; s <= 5; s++)
		for (int i = 0; i < 20; i++) {
			ks_record_init(&r, KS_M_VM_EXITS,
				       (uint64_t)(NOW_S - s) * 1000000000ULL +
					       (uint64_t)i * 1000, 1);
			ks_record_set(&r, KS_F_VLEAVEREASON,
				      ks_sym_intern(reasons[i % 3]));
			ks_record_set(&r, KS_F_LATENCY,
				      (uint64_t)(i + 1) * 997 * (uint64_t)s);
			ks_record_set(&r, KS_F_VCPU, ks_sym_intern("0"));
			ks_engine__feed(e, &r, 1);
		}
}

static struct ks_engine *make_engine(void)
{
	static const char *const confs[] = {
		"{\"module\":\"vm\",\"stat\":\"exits\"}",
		"{\"module\":\"vm\",\"stat\":\"exits\",\"decomposition\":"
		"[\"vleavereason\",\"latency\"],\"idle-max\":30}",
	};
	struct ks_engine *e = ks_engine__new();
	struct ks_err err;

	if (!e)
		abort();
	ks_engine__set_max(e, 16);
	ks_engine__tick(e, (uint64_t)NOW_S * 1000000000ULL);
	for (size_t i = 0; i < 2; i++) {
		json_t *p = json_loads(confs[i], 0, NULL);
		struct ks_instn_conf c;

		if (!p || ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c, &err) ||
		    ks_engine__create(e, &c, NULL, &err))
			abort();
		json_decref(p);
	}
	feed_data(e);
	return e;
}

/* The instrumentations as GET /ca/instrumentations shows them. */
static char *list(struct ks_api *a)
{
	struct ks_http_req req = { .method = "GET",
				   .path = "/ca/instrumentations" };
	struct ks_http_resp r;
	char *s;

	ks_http_resp_init(&r);
	req.params = json_object();
	ks_api__handle(a, &req, &r);
	json_decref(req.params);
	if (r.status != 200 || !r.body)
		abort();
	s = r.body;
	r.body = NULL;
	ks_http_resp_fini(&r);
	return s;
}

static void check_resp(const struct ks_http_resp *r)
{
	json_t *j;

	if (r->status < 200 || r->status > 599)
		abort();
	if (!r->body || !r->content_type || strcmp(r->content_type, KS_HTTP_JSON)) {
		if (r->status >= 400)
			abort();	/* errors are always JSON */
		return;
	}
	j = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
	if (!j)
		abort();
	if (r->status >= 400) {
		const json_t *e = json_object_get(j, "error");
		const char *code = json_string_value(json_object_get(e,
								     "code"));

		if (!code || strncmp(code, "ECA_", 4) ||
		    !json_is_string(json_object_get(e, "message")) ||
		    !json_is_string(json_object_get(e, "param")))
			abort();
	}
	json_decref(j);
}

/* Target: the chosen prefix and the input up to a newline, NUL-free. */
static size_t build_target(char *t, uint8_t sel, const uint8_t *d, size_t n)
{
	size_t len = strlen(PICK(prefixes, sel)), i;

	memcpy(t, PICK(prefixes, sel), len);
	for (i = 0; i < n && d[i] != '\n' && len < MAX_TARGET - 1; i++)
		t[len++] = d[i] ? (char)d[i] : '?';
	t[len] = '\0';
	return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_http_req req = { 0 };
	struct ks_http_resp r;
	struct ks_engine *e;
	struct ks_api *a;
	struct ks_err err;
	char target[MAX_TARGET], path[MAX_TARGET], *before, *after;
	size_t used;
	int rc;

	if (size < 4 || size > 64 * 1024)
		return 0;
	used = build_target(target, data[3], data + 4, size - 4);
	e = make_engine();
	if (!(a = ks_api__new(e)))
		abort();
	ks_api__set_max_wait(a, 0);	/* no input sleeps */
	before = list(a);
	ks_http_resp_init(&r);
	req.method = PICK(methods, data[0]);
	req.api_version = PICK(versions, data[2]);
	req.path = path;
	req.params = json_object();
	used = used < size - 4 ? used + 1 : used;	/* the newline */
	rc = ks_params_from_target(req.params, target, path, sizeof(path),
				   PICK(ctypes, data[1]),
				   (const char *)data + 4 + used,
				   size - 4 - used, &err);
	if (rc) {
		ks_http_resp__from_err(&r, rc, &err);
	} else {
		ks_api__handle(a, &req, &r);
		if (!ks_http_resp__get_header(&r,
					      "Access-Control-Allow-Origin"))
			abort();
	}
	check_resp(&r);
	after = list(a);
	if (r.status >= 400 && strcmp(before, after))
		abort();
	free(before);
	free(after);
	json_decref(req.params);
	ks_http_resp_fini(&r);
	ks_api__free(a);
	ks_engine__free(e);
	ks_sym_reset();
	return 0;
}
