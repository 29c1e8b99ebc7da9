/* test_health.c - GET /healthz: anonymous, and what "unhealthy" means.
 *
 * The API runs with access control on, so that the check proves the
 * endpoint needs no token; the agent's status hook is played by a
 * function that reports sources as the live sources do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "apifx.h"
#include "util/version.h"

static const char tokens_text[] = "op-0123456789abcdef operator\n";

/* What the agent's status hook adds: the sources, as live.c lists them. */
static const char *sources_json;

static void status_hook(void *ctx, json_t *status)
{
	(void)ctx;
	json_object_set_new(status, "sources",
			    json_loads(sources_json, 0, NULL));
}

static int setup(void **state)
{
	int rc = apifx_setup(state, tokens_text, 4, (int64_t)time(NULL));
	struct fx *f = *state;

	if (!rc)
		ks_api__set_status_hook(f->a, status_hook, NULL);
	return rc;
}

static int teardown(void **state)
{
	return apifx_teardown(state);
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_int_t num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(json_object_get(o, "sources"),
						  k));
}

/* Sources this host cannot run are no reason to restart: healthy. */
static void test_ok_without_token(void **state)
{
	struct fx *f = *state;

	sources_json = "[{\"name\":\"bpf_exits\",\"status\":\"running\"},"
		       "{\"name\":\"nic\",\"status\":\"running\"},"
		       "{\"name\":\"bpf_samples\",\"status\":\"unavailable\","
		       "\"reason\":\"no perf events\"},"
		       "{\"name\":\"disk_qmp\",\"status\":\"off\"}]";
	assert_int_equal(apifx_call(f, NULL, "GET", "/healthz", NULL), 200);
	assert_non_null(f->body);
	assert_string_equal(str(f->body, "status"), "ok");
	assert_string_equal(str(f->body, "version"), ks_version());
	assert_int_equal(json_array_size(json_object_get(f->body, "problems")),
			 0);
	assert_int_equal(num(f->body, "running"), 2);
	assert_int_equal(num(f->body, "unavailable"), 1);
	assert_int_equal(num(f->body, "off"), 1);
	assert_int_equal(num(f->body, "failing"), 0);
	/* The same request elsewhere still needs the token. */
	assert_int_equal(apifx_call(f, NULL, "GET", "/ca/admin/status", NULL),
			 401);
	assert_int_equal(apifx_call(f, NULL, "HEAD", "/healthz", NULL), 200);
	/* Another method: no such resource, as CA answers it. */
	assert_int_equal(apifx_call(f, "Bearer op-0123456789abcdef", "POST",
				    "/healthz", NULL), 404);
}

/* A source whose last read failed makes the agent unhealthy, named. */
static void test_failing_source(void **state)
{
	struct fx *f = *state;
	json_t *p;

	sources_json = "[{\"name\":\"bpf_exits\",\"status\":\"failing\","
		       "\"reason\":\"reading failed: Bad address\"},"
		       "{\"name\":\"nic\",\"status\":\"running\"}]";
	assert_int_equal(apifx_call(f, NULL, "GET", "/healthz", NULL), 503);
	assert_string_equal(str(f->body, "status"), "unhealthy");
	assert_int_equal(num(f->body, "failing"), 1);
	p = json_object_get(f->body, "problems");
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(json_string_value(json_array_get(p, 0)),
			    "source bpf_exits is failing: reading failed: "
			    "Bad address");
}

/* A clock that stopped ticking a minute ago: the main loop is stuck. */
static int setup_stalled(void **state)
{
	int rc = apifx_setup(state, tokens_text, 4, (int64_t)time(NULL) - 60);
	struct fx *f = *state;

	if (!rc)
		ks_api__set_status_hook(f->a, status_hook, NULL);
	return rc;
}

static void test_stalled_clock(void **state)
{
	struct fx *f = *state;
	const char *why;

	sources_json = "[{\"name\":\"bpf_exits\",\"status\":\"running\"}]";
	assert_int_equal(apifx_call(f, NULL, "GET", "/healthz", NULL), 503);
	assert_string_equal(str(f->body, "status"), "unhealthy");
	why = json_string_value(json_array_get(json_object_get(f->body,
							       "problems"), 0));
	assert_non_null(why);
	assert_non_null(strstr(why, "clock stalled"));
	/* A tick now heals it. */
	ks_engine__tick(f->e, (uint64_t)time(NULL) * KS_NSEC_PER_SEC);
	assert_int_equal(apifx_call(f, NULL, "GET", "/healthz", NULL), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ok_without_token, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failing_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stalled_clock,
						setup_stalled, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
