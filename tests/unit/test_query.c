/* test_query.c - CA's time parameters: defaults, rounding, bounds, errors.
 *
 * Each case is a request's parameters and the interval CA's rules give
 * for them (caAggrInterval, normalizeInterval), worked out by hand, or the
 * parameter an error must name.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/query.h"

static int parse(const char *json, uint32_t g, int64_t now, uint32_t defdur,
		 struct ks_query *q, struct ks_err *err)
{
	json_t *p = json_loads(json, 0, NULL);
	int rc;

	assert_non_null(p);
	rc = ks_query_parse(p, g, now, defdur, q, err);
	json_decref(p);
	return rc;
}

static void test_defaults(void **state)
{
	struct ks_query q;
	struct ks_err err;

	(void)state;
	/* None given: the latest complete interval. */
	assert_int_equal(parse("{}", 1, 1000, 1, &q, &err), 0);
	assert_int_equal(q.start, 998);
	assert_int_equal(q.duration, 1);
	assert_false(q.multi);
	/* CA echoes the resolved interval as requested_*. */
	assert_int_equal(q.req_start, 998);
	assert_int_equal(q.req_duration, 1);
	assert_int_equal(parse("{}", 1, 1000, 60, &q, &err), 0);
	assert_int_equal(q.start, 939);
	assert_int_equal(q.duration, 60);
}

static void test_two_of_three(void **state)
{
	struct ks_query q;
	struct ks_err err;

	(void)state;
	assert_int_equal(parse("{\"start_time\":900,\"end_time\":960}", 1, 1000,
			       1, &q, &err), 0);
	assert_int_equal(q.start, 900);
	assert_int_equal(q.duration, 60);
	assert_int_equal(parse("{\"end_time\":\"960\",\"duration\":\"10\"}", 1,
			       1000, 1, &q, &err), 0);
	assert_int_equal(q.start, 950);
	assert_int_equal(q.duration, 10);
	assert_int_equal(q.req_end, 960);
	assert_int_equal(parse("{\"start_time\":900,\"duration\":5,"
			       "\"end_time\":906}", 1, 1000, 1, &q, &err),
			 -EINVAL);
	assert_string_equal(err.param, "end_time");
	assert_int_equal(parse("{\"start_time\":900,\"end_time\":800}", 1,
			       1000, 1, &q, &err), -EINVAL);
	assert_string_equal(err.param, "end_time");
	assert_non_null(strstr(err.msg, "later than start_time"));
}

static void test_rounding(void **state)
{
	struct ks_query q;
	struct ks_err err;

	(void)state;
	/* Start rounds down to the granularity, duration up to cover. */
	assert_int_equal(parse("{\"start_time\":903,\"duration\":6}", 5, 1000,
			       1, &q, &err), 0);
	assert_int_equal(q.start, 900);
	assert_int_equal(q.duration, 10);
	/* As CA's normalizeInterval: the duration is rounded on its own, so
	 * consecutive points are exactly one duration apart and do not grow
	 * by the start's shift. */
	assert_int_equal(parse("{\"start_time\":903,\"duration\":5,"
			       "\"ndatapoints\":3}", 5, 1000, 1, &q, &err), 0);
	assert_int_equal(q.start, 900);
	assert_int_equal(q.duration, 5);
	assert_int_equal(parse("{\"start_time\":61,\"duration\":60}", 60,
			       1000, 1, &q, &err), 0);
	assert_int_equal(q.start, 60);
	assert_int_equal(q.duration, 60);
	/* From start and end: the span, rounded the same way. */
	assert_int_equal(parse("{\"start_time\":901,\"end_time\":911}", 5,
			       1000, 1, &q, &err), 0);
	assert_int_equal(q.start, 900);
	assert_int_equal(q.duration, 10);
}

static void test_ndatapoints(void **state)
{
	struct ks_query q;
	struct ks_err err;

	(void)state;
	assert_int_equal(parse("{\"start_time\":900,\"ndatapoints\":3}", 1, 1000,
			       1, &q, &err), 0);
	assert_true(q.multi);
	assert_int_equal(q.ndatapoints, 3);
	assert_int_equal(parse("{\"ndatapoints\":0}", 1, 1000, 1, &q, &err),
			 -EINVAL);
	assert_string_equal(err.param, "ndatapoints");
}

/* CA's parseInt, and its value objects (tst/caagg/http_values.js). */
static void test_ca_values(void **state)
{
	struct ks_query q;
	struct ks_err err;

	(void)state;
	assert_int_equal(parse("{\"duration\":\"12x\",\"start_time\":\" 900\"}",
			       1, 1000, 1, &q, &err), 0);
	assert_int_equal(q.duration, 12);
	assert_int_equal(q.start, 900);
	assert_int_equal(parse("{\"duration\":1.5}", 1, 1000, 1, &q, &err), 0);
	assert_int_equal(q.duration, 1);
	/* start 12351, duration 8, granularity 10: the point is 12350+10,
	 * the request echoed as asked. */
	assert_int_equal(parse("{\"start_time\":\"12351\",\"duration\":8}",
			       10, 20000, 1, &q, &err), 0);
	assert_int_equal(q.start, 12350);
	assert_int_equal(q.duration, 10);
	assert_int_equal(q.req_start, 12351);
	assert_int_equal(q.req_duration, 8);
	assert_int_equal(q.req_end, 12359);
	/* ndatapoints: each point's requested_* advance by the duration
	 * asked for. */
	assert_int_equal(parse("{\"start_time\":12331,\"duration\":10,"
			       "\"ndatapoints\":3}", 10, 20000, 1, &q, &err), 0);
	assert_int_equal(q.req_start + 2 * q.req_duration, 12351);
	/* The future: a point ending more than timeout after now. */
	assert_int_equal(parse("{\"start_time\":1010}", 1, 1000, 1, &q, &err),
			 -EINVAL);
	assert_string_equal(err.msg,
			    "requested data point is too far in the future");
	assert_int_equal(parse("{\"start_time\":1004}", 1, 1000, 1, &q, &err),
			 0);
	assert_int_equal(parse("{\"start_time\":1002,\"timeout\":1000}", 1,
			       1000, 1, &q, &err), -EINVAL);
	assert_int_equal(parse("{\"start_time\":1000,\"timeout\":\"1000\"}",
			       1, 1000, 1, &q, &err), 0);
	assert_int_equal(q.timeout_ms, 1000);
}

static void test_errors(void **state)
{
	static const struct { const char *json, *param; } bad[] = {
		{ "{\"duration\":0}", "duration" },
		{ "{\"duration\":3601}", "duration" },
		{ "{\"duration\":\"-\"}", "duration" },
		{ "{\"start_time\":-5}", "start_time" },
		{ "{\"start_time\":\"\"}", "start_time" },
		{ "{\"start_time\":5000}", "start_time" },
		{ "{\"timeout\":5001}", "timeout" },
		{ "{\"end_time\":[\"x\"]}", "end_time" },
		/* CA's own messages: the end before the start, a duration
		 * reaching before time 0, a span over the limit. */
		{ "{\"start_time\":900,\"end_time\":900}", "end_time" },
		{ "{\"start_time\":900,\"end_time\":890}", "end_time" },
		{ "{\"start_time\":0,\"end_time\":3601}", "end_time" },
		{ "{\"end_time\":10,\"duration\":20}", "duration" },
	};
	struct ks_query q, before;
	struct ks_err err;

	(void)state;
	memset(&q, 0x5a, sizeof(q));
	before = q;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(parse(bad[i].json, 1, 1000, 1, &q, &err) < 0);
		assert_string_equal(err.param, bad[i].param);
		assert_true(strlen(err.msg) > 0);
		/* Nothing changes on error. */
		assert_memory_equal(&q, &before, sizeof(q));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_two_of_three),
		cmocka_unit_test(test_rounding),
		cmocka_unit_test(test_ndatapoints),
		cmocka_unit_test(test_ca_values),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
