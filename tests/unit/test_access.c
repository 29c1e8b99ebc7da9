/* test_access.c - access control over CA's API, without a server: tokens
 * to scopes (401/403/404), the loopback rule, and tenants kept apart in
 * one engine fed with three VMs' records (alpha is tenant acme's, beta
 * tenant beta's by uuid, gamma nobody's).  Every way for acme to see
 * beta is tried: lists, ids, values decomposed by vm, predicates naming
 * beta, heatmap keys and details, GET /ca, status, /metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apifx.h"

#include "engine/engine.h"
#include "engine/symtab.h"
#include "http/access.h"
#include "http/api.h"
#include "http/message.h"
#include "http/params.h"
#include "http/tenancy.h"
#include "http/tokens.h"

#define NOW_S 1700000000LL
#define OP "Bearer op-0123456789abcdef"
#define TA "Bearer acme-0123456789abcdef"
#define TB "Bearer beta-0123456789abcdef"
#define BETA_UUID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define CAP 4

static const char tokens_text[] =
	"op-0123456789abcdef operator\n"
	"acme-0123456789abcdef tenant acme alpha\n"
	"beta-0123456789abcdef tenant beta " BETA_UUID ",beta-by-name\n";

static int setup(void **state)
{
	return apifx_setup(state, tokens_text, CAP, NOW_S);
}

static int teardown(void **state)
{
	return apifx_teardown(state);
}

/* The body as text, for "never mentions" checks. */
static bool body_has(struct fx *f, const char *s)
{
	return f->r.body && memmem(f->r.body, f->r.len, s, strlen(s));
}

/* Asserts the body's predicate is the JSON text want. */
static void pred_is(struct fx *f, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);

	assert_non_null(w);
	if (!json_equal(json_object_get(f->body, "predicate"), w))
		fail_msg("predicate shown: %.*s", (int)f->r.len, f->r.body);
	json_decref(w);
}

static const char *str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* n exits of vm (and uuid, pid) at second sec, reason "io". */
static void feed(struct fx *f, const char *vm, const char *uuid,
		 const char *pid, int64_t sec, unsigned int n)
{
	struct ks_record r;

	for (unsigned int i = 0; i < n; i++) {
		ks_record_init(&r, KS_M_VM_EXITS,
			       (uint64_t)sec * KS_NSEC_PER_SEC + i * 1000, 1);
		ks_record_set(&r, KS_F_VM, ks_sym_intern(vm));
		if (uuid)
			ks_record_set(&r, KS_F_VMUUID, ks_sym_intern(uuid));
		ks_record_set(&r, KS_F_PID, ks_sym_intern(pid));
		ks_record_set(&r, KS_F_VCPU, ks_sym_intern("0"));
		ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern("io"));
		ks_record_set(&r, KS_F_LATENCY, 1000 + i);
		ks_engine__feed(f->e, &r, 1);
	}
}

static void feed_all(struct fx *f)
{
	feed(f, "alpha", "11111111-2222-3333-4444-555555555555", "100",
	     NOW_S - 5, 3);
	feed(f, "beta", BETA_UUID, "200", NOW_S - 5, 5);
	/* beta's uuid missing: unknown ownership never reaches a tenant. */
	feed(f, "beta-by-name", NULL, "201", NOW_S - 5, 11);
	feed(f, "gamma", NULL, "300", NOW_S - 5, 7);
}

/* POSTs a create; returns the new id (static buffer) or fails. */
static const char *create(struct fx *f, const char *auth, const char *base,
			  const char *json)
{
	static char id[4][16];
	static int next;
	char target[128];

	snprintf(target, sizeof(target), "%s/instrumentations", base);
	if (apifx_call(f, auth, "POST", target, json) != 201)
		fail_msg("create %s %s: %d %.*s", base, json, f->r.status,
			 (int)f->r.len, f->r.body ? f->r.body : "");
	next = (next + 1) % 4;
	snprintf(id[next], sizeof(id[next]), "%s", str(f->body, "id"));
	return id[next];
}

static void test_authn(void **state)
{
	struct fx *f = *state;

	/* No token, a wrong one, another scheme: 401 with the challenge. */
	assert_int_equal(apifx_call(f, NULL, "GET", "/ca", NULL), 401);
	assert_string_equal(ks_http_resp__get_header(&f->r,
						     "WWW-Authenticate"),
			    "Bearer realm=\"kvmscope\"");
	assert_string_equal(str(f->err, "param"), "Authorization");
	assert_int_equal(apifx_call(f, "Bearer op-0123456789abcdeX", "GET", "/ca",
			      NULL), 401);
	assert_int_equal(apifx_call(f, "Basic b3A6eA==", "GET", "/ca", NULL), 401);
	assert_int_equal(apifx_call(f, "Bearer", "GET", "/ca", NULL), 401);
	/* Even for paths that exist for no one, or a tenant's. */
	assert_int_equal(apifx_call(f, NULL, "GET", "/ca/nothing", NULL), 401);
	assert_int_equal(apifx_call(f, NULL, "GET", "/ca/customers/acme/"
			      "instrumentations", NULL), 401);
	assert_int_equal(apifx_call(f, NULL, "GET", "/metrics", NULL), 401);
	/* The web UI's files hold no data: no token needed. */
	assert_int_equal(apifx_call(f, NULL, "GET", "/", NULL), 200);
	/* The scheme is case-insensitive; spaces around the token too. */
	assert_int_equal(apifx_call(f, "bearer   op-0123456789abcdef  ", "GET", "/ca",
			      NULL), 200);
	assert_int_equal(apifx_call(f, OP, "GET", "/ca/instrumentations", NULL), 200);
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/customers/acme", NULL), 200);
}

static void test_namespaces(void **state)
{
	struct fx *f = *state;
	char msg_other[300], msg_none[300];

	/* A tenant on the operator's routes: 403, naming its own routes. */
	assert_int_equal(apifx_call(f, TA, "GET", "/ca", NULL), 403);
	assert_non_null(strstr(str(f->err, "message"),
			       "/ca/customers/acme/"));
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/instrumentations", NULL), 403);
	assert_int_equal(apifx_call(f, TA, "GET", "/metrics", NULL), 403);
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/admin/status", NULL), 403);
	/* On another tenant's: the very answer of a tenant that does not
	 * exist, so names cannot be probed. */
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/customers/beta/"
			      "instrumentations", NULL), 404);
	snprintf(msg_other, sizeof(msg_other), "%s %s", str(f->err, "code"),
		 str(f->err, "param"));
	assert_false(body_has(f, "alpha"));
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/customers/zeta/"
			      "instrumentations", NULL), 404);
	snprintf(msg_none, sizeof(msg_none), "%s %s", str(f->err, "code"),
		 str(f->err, "param"));
	assert_string_equal(msg_other, msg_none);
	assert_int_equal(apifx_call(f, TA, "POST", "/ca/customers/beta/"
			      "instrumentations",
			      "{\"module\":\"vm\",\"stat\":\"exits\"}"), 404);
	/* The operator reaches every tenant, and no tenant that isn't. */
	assert_int_equal(apifx_call(f, OP, "GET", "/ca/customers/beta/"
			      "instrumentations", NULL), 200);
	assert_int_equal(apifx_call(f, OP, "GET", "/ca/customers/zeta/"
			      "instrumentations", NULL), 404);
	/* A tenant's own unknown path is a plain 404. */
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/customers/acme/nothing", NULL),
			 404);
}

static void test_isolation(void **state)
{
	struct fx *f = *state;
	const char *a_vm, *a_pred, *b_vm, *o_vm;
	char q[256], a_vm_id[16], b_vm_id[16];

	a_vm = create(f, TA, "/ca/customers/acme",
		      "{\"module\":\"vm\",\"stat\":\"exits\","
		      "\"decomposition\":[\"vm\",\"latency\"]}");
	snprintf(a_vm_id, sizeof(a_vm_id), "%s", a_vm);
	/* A predicate naming beta's VM: accepted, matches nothing. */
	a_pred = create(f, TA, "/ca/customers/acme",
			"{\"module\":\"vm\",\"stat\":\"exits\","
			"\"predicate\":{\"or\":[{\"eq\":[\"vm\",\"beta\"]},"
			"{\"eq\":[\"vmuuid\",\"" BETA_UUID "\"]}]}}");
	/* The tenant sees the predicate it wrote, not the restriction. */
	pred_is(f, "{\"or\":[{\"eq\":[\"vm\",\"beta\"]},"
		"{\"eq\":[\"vmuuid\",\"" BETA_UUID "\"]}]}");
	/* Ids are numbered per namespace: beta's and the operator's first
	 * two share acme's ids, their third is one acme does not have. */
	for (int i = 0; i < 2; i++) {
		create(f, TB, "/ca/customers/beta",
		       "{\"module\":\"vm\",\"stat\":\"irqs\"}");
		create(f, OP, "/ca", "{\"module\":\"vm\",\"stat\":\"irqs\"}");
	}
	b_vm = create(f, TB, "/ca/customers/beta",
		      "{\"module\":\"vm\",\"stat\":\"exits\","
		      "\"decomposition\":[\"vm\"]}");
	snprintf(b_vm_id, sizeof(b_vm_id), "%s", b_vm);
	o_vm = create(f, OP, "/ca", "{\"module\":\"vm\",\"stat\":\"exits\","
		      "\"decomposition\":[\"vm\"]}");
	feed_all(f);

	/* Lists are per namespace. */
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/customers/acme/"
			      "instrumentations", NULL), 200);
	assert_int_equal(json_array_size(f->body), 2);
	assert_int_equal(apifx_call(f, OP, "GET", "/ca/instrumentations", NULL), 200);
	assert_int_equal(json_array_size(f->body), 3);
	assert_string_equal(str(json_array_get(f->body, 2), "id"), o_vm);
	assert_string_equal(o_vm, "3");
	assert_int_equal(apifx_call(f, OP, "GET", "/ca/customers/acme/"
			      "instrumentations", NULL), 200);
	assert_int_equal(json_array_size(f->body), 2);

	/* Another namespace's ids are absent, for every verb and value. */
	static const char *const tails[] = {
		"", "/value", "/value/raw", "/value/heatmap",
		"/value/heatmap/image",
		"/value/heatmap/details?x=1&y=1&ymax=10",
	};
	const char *foreign[] = { b_vm_id, o_vm };

	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < sizeof(tails) / sizeof(tails[0]); j++) {
			snprintf(q, sizeof(q), "/ca/customers/acme/"
				 "instrumentations/%s%s", foreign[i], tails[j]);
			assert_int_equal(apifx_call(f, TA, "GET", q, NULL), 404);
			assert_false(body_has(f, "beta"));
		}
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s",
		 b_vm_id);
	assert_int_equal(apifx_call(f, TA, "DELETE", q, NULL), 404);
	assert_int_equal(apifx_call(f, TA, "PUT", q, "{\"retention-time\":60}"), 404);
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s/clone",
		 b_vm_id);
	assert_int_equal(apifx_call(f, TA, "POST", q, NULL), 404);
	/* The operator's global namespace does not show tenants' either:
	 * its id 1 is its own. */
	snprintf(q, sizeof(q), "/ca/instrumentations/%s", a_vm_id);
	assert_int_equal(apifx_call(f, OP, "GET", q, NULL), 200);
	assert_string_equal(str(f->body, "stat"), "irqs");
	/* ... and beta's is intact. */
	snprintf(q, sizeof(q), "/ca/customers/beta/instrumentations/%s",
		 b_vm_id);
	assert_int_equal(apifx_call(f, TB, "GET", q, NULL), 200);

	/* Values: acme's decomposition holds alpha alone. */
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s/value/"
		 "raw?start_time=%lld&duration=1", a_vm_id, NOW_S - 5);
	assert_int_equal(apifx_call(f, TA, "GET", q, NULL), 200);
	assert_int_equal(json_object_size(json_object_get(f->body, "value")),
			 1);
	assert_non_null(json_object_get(json_object_get(f->body, "value"),
					"alpha"));
	assert_false(body_has(f, "beta") || body_has(f, "gamma"));
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s/value/"
		 "raw?start_time=%lld&duration=1", a_pred, NOW_S - 5);
	assert_int_equal(apifx_call(f, TA, "GET", q, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(f->body, "value")),
			 0);
	/* beta's by uuid: its uuid-less records do not count. */
	snprintf(q, sizeof(q), "/ca/customers/beta/instrumentations/%s/value/"
		 "raw?start_time=%lld&duration=1", b_vm_id, NOW_S - 5);
	assert_int_equal(apifx_call(f, TB, "GET", q, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
				f->body, "value"), "beta")), 5);
	assert_null(json_object_get(json_object_get(f->body, "value"),
				    "beta-by-name"));
	/* The operator sees all four VMs. */
	snprintf(q, sizeof(q), "/ca/instrumentations/%s/value/raw?start_time="
		 "%lld&duration=1", o_vm, NOW_S - 5);
	assert_int_equal(apifx_call(f, OP, "GET", q, NULL), 200);
	assert_int_equal(json_object_size(json_object_get(f->body, "value")),
			 4);

	/* Heatmap keys and details: alpha alone. */
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s/value/"
		 "heatmap/image?start_time=%lld&duration=2&decompose_all=true",
		 a_vm_id, NOW_S - 5);
	assert_int_equal(apifx_call(f, TA, "GET", q, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->body, "present")),
			 1);
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(f->body, "present"), 0)), "alpha");
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s/value/"
		 "heatmap/details?start_time=%lld&duration=1&ymax=100000&"
		 "nbuckets=1&height=10&width=10&x=0&y=5", a_vm_id, NOW_S - 5);
	assert_int_equal(apifx_call(f, TA, "GET", q, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(f->body, "total")),
			 3);
	assert_false(body_has(f, "beta") || body_has(f, "gamma"));
}

static void test_profile_and_cap(void **state)
{
	struct fx *f = *state;
	char q[128];

	/* The host's pid is not a tenant's field. */
	assert_int_equal(apifx_call(f, TA, "POST", "/ca/customers/acme/"
			      "instrumentations",
			      "{\"module\":\"vm\",\"stat\":\"exits\","
			      "\"decomposition\":[\"pid\"]}"), 409);
	assert_string_equal(str(f->err, "param"), "decomposition");
	assert_int_equal(apifx_call(f, TA, "POST", "/ca/customers/acme/"
			      "instrumentations",
			      "{\"module\":\"vm\",\"stat\":\"exits\","
			      "\"predicate\":{\"eq\":[\"pid\",\"200\"]}}"),
			 409);
	assert_string_equal(str(f->err, "param"), "predicate");
	assert_int_equal(apifx_call(f, TA, "POST", "/ca/customers/acme/"
			      "instrumentations",
			      "{\"module\":\"vm\",\"stat\":\"exits\","
			      "\"idle-max\":0}"), 409);
	assert_string_equal(str(f->err, "param"), "idle-max");
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/customers/acme", NULL), 200);
	assert_null(json_object_get(json_object_get(f->body, "fields"), "pid"));
	assert_false(body_has(f, "\"pid\""));
	assert_true(body_has(f, "\"vmuuid\""));
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/customers/acme/metrics", NULL),
			 200);
	assert_false(body_has(f, "\"pid\""));
	assert_true(body_has(f, "\"vm\""));
	/* The operator has it. */
	assert_int_equal(apifx_call(f, OP, "GET", "/ca", NULL), 200);
	assert_non_null(json_object_get(json_object_get(f->body, "fields"),
					"pid"));
	assert_int_equal(apifx_call(f, OP, "POST", "/ca/instrumentations",
			      "{\"module\":\"vm\",\"stat\":\"exits\","
			      "\"decomposition\":[\"pid\"]}"), 201);

	/* The cap counts this tenant's only, and frees up on delete. */
	for (int n = 0; n < CAP; n++)
		create(f, TA, "/ca/customers/acme",
		       "{\"module\":\"vm\",\"stat\":\"exits\"}");
	assert_int_equal(apifx_call(f, TA, "POST", "/ca/customers/acme/"
			      "instrumentations",
			      "{\"module\":\"vm\",\"stat\":\"exits\"}"), 409);
	assert_non_null(strstr(str(f->err, "message"), "at most 4"));
	create(f, TB, "/ca/customers/beta",
	       "{\"module\":\"vm\",\"stat\":\"exits\"}");
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/customers/acme/"
			      "instrumentations", NULL), 200);
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s",
		 str(json_array_get(f->body, 0), "id"));
	assert_int_equal(apifx_call(f, TA, "DELETE", q, NULL), 204);
	create(f, TA, "/ca/customers/acme",
	       "{\"module\":\"vm\",\"stat\":\"exits\"}");

	/* A tenant's status: its own count, no host counters. */
	feed_all(f);
	assert_int_equal(apifx_call(f, TA, "GET", "/ca/customers/acme/admin/status",
			      NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(f->body,
					    "instrumentations")), CAP);
	assert_null(json_object_get(f->body, "records"));
	assert_int_equal(apifx_call(f, OP, "GET", "/ca/admin/status", NULL), 200);
	assert_non_null(json_object_get(f->body, "records"));
	assert_int_equal(json_integer_value(json_object_get(f->body,
					    "instrumentations")),
			 (json_int_t)ks_engine__count(f->e));
}

static void test_clone(void **state)
{
	struct fx *f = *state;
	const char *id;
	char q[160], src[16];

	id = create(f, TA, "/ca/customers/acme",
		    "{\"module\":\"vm\",\"stat\":\"exits\",\"predicate\":"
		    "{\"eq\":[\"vleavereason\",\"io\"]},"
		    "\"decomposition\":[\"vm\"]}");
	snprintf(src, sizeof(src), "%s", id);
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s/clone",
		 src);
	/* Without a predicate the clone keeps the tenant's own ... */
	assert_int_equal(apifx_call(f, TA, "POST", q, "{\"retention-time\":60}"),
			 201);
	pred_is(f, "{\"eq\":[\"vleavereason\",\"io\"]}");
	snprintf(src, sizeof(src), "%s", str(f->body, "id"));
	/* ... and is still limited to the tenant's VMs. */
	feed_all(f);
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s/value/"
		 "raw?start_time=%lld&duration=1", src, NOW_S - 5);
	assert_int_equal(apifx_call(f, TA, "GET", q, NULL), 200);
	assert_int_equal(json_object_size(json_object_get(f->body, "value")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
				f->body, "value"), "alpha")), 3);
	/* Cloned with a predicate naming another VM: nothing. */
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s/clone",
		 src);
	assert_int_equal(apifx_call(f, TA, "POST", q, "{\"predicate\":{\"eq\":"
			      "[\"vm\",\"gamma\"]}}"), 201);
	snprintf(src, sizeof(src), "%s", str(f->body, "id"));
	feed_all(f);
	snprintf(q, sizeof(q), "/ca/customers/acme/instrumentations/%s/value/"
		 "raw?start_time=%lld&duration=1", src, NOW_S - 5);
	assert_int_equal(apifx_call(f, TA, "GET", q, NULL), 200);
	assert_int_equal(json_object_size(json_object_get(f->body, "value")),
			 0);
}

static void test_open_mode(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_api *a = ks_api__new(e);
	struct fx f = { .e = e, .a = a };

	(void)state;
	ks_http_resp_init(&f.r);
	/* Without tokens, one namespace: customer routes alias global. */
	create(&f, NULL, "/ca/customers/acme",
	       "{\"module\":\"vm\",\"stat\":\"exits\",\"decomposition\":"
	       "[\"pid\"]}");
	assert_int_equal(apifx_call(&f, NULL, "GET", "/ca/instrumentations",
				    NULL),
			 200);
	assert_int_equal(json_array_size(f.body), 1);
	ks_http_resp_fini(&f.r);
	json_decref(f.body);
	ks_api__free(a);
	ks_engine__free(e);
	ks_sym_reset();
}

static void test_loopback(void **state)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct ks_err err;

	(void)state;
	inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
	assert_true(ks_access_is_loopback((struct sockaddr *)&s4));
	inet_pton(AF_INET, "127.45.6.7", &s4.sin_addr);
	assert_true(ks_access_is_loopback((struct sockaddr *)&s4));
	inet_pton(AF_INET, "0.0.0.0", &s4.sin_addr);
	assert_false(ks_access_is_loopback((struct sockaddr *)&s4));
	inet_pton(AF_INET, "10.0.0.1", &s4.sin_addr);
	assert_false(ks_access_is_loopback((struct sockaddr *)&s4));
	assert_int_equal(ks_access_check_listen((struct sockaddr *)&s4,
						"10.0.0.1", false, &err),
			 -EPERM);
	assert_non_null(strstr(err.msg, "--tokens"));
	assert_string_equal(err.param, "--listen");
	assert_int_equal(ks_access_check_listen((struct sockaddr *)&s4,
						"10.0.0.1", true, &err), 0);
	inet_pton(AF_INET6, "::1", &s6.sin6_addr);
	assert_true(ks_access_is_loopback((struct sockaddr *)&s6));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6.sin6_addr);
	assert_true(ks_access_is_loopback((struct sockaddr *)&s6));
	inet_pton(AF_INET6, "::", &s6.sin6_addr);
	assert_false(ks_access_is_loopback((struct sockaddr *)&s6));
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &s6.sin6_addr);
	assert_false(ks_access_is_loopback((struct sockaddr *)&s6));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_authn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_namespaces, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_isolation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_profile_and_cap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_clone, setup, teardown),
		cmocka_unit_test(test_open_mode),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
