/* test_feed_mode.c - when the agent times VM exits.
 *
 * The agent switches the exits source between count-only and latency mode
 * each tick from ks_feed_exit_latency_wanted(): latency exactly while a
 * vm.exits instrumentation decomposes by latency or names it in its
 * predicate.  These tests walk an engine through the instrumentations an
 * operator creates and deletes and check the answer at each step,
 * including the look-alikes that must not switch (latency of another
 * metric, exits by other fields); and the latency cuts the probe gets
 * from the instrumentations' predicates.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/feed.h"
#include "engine/engine.h"
#include "engine/instn.h"
#include "engine/symtab.h"

/* Creates the instrumentation of JSON params text; returns its id. */
static const char *create(struct ks_engine *e, const char *text)
{
	struct ks_err err = { "", "" };
	struct ks_instn_conf c;
	struct ks_instn *in = NULL;
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (!j)
		fail_msg("bad test JSON %s: %s", text, je.text);
	if (ks_instn_conf_parse(j, NULL, KS_INSTN_CREATE, &c, &err))
		fail_msg("%s: %s: %s", text, err.param, err.msg);
	json_decref(j);
	if (ks_engine__create(e, &c, &in, &err))
		fail_msg("%s: create: %s", text, err.msg);
	return in->id;
}

static void drop(struct ks_engine *e, const char *id)
{
	assert_int_equal(ks_engine__delete(e, id), 0);
}

static int teardown(void **state)
{
	(void)state;
	ks_sym_reset();
	return 0;
}

#define EXITS "\"module\":\"vm\",\"stat\":\"exits\""

static void test_mode_follows_instrumentations(void **state)
{
	struct ks_engine *e = ks_engine__new();
	char reason[16], lat[16], pred[16];

	(void)state;
	assert_non_null(e);
	/* Nothing at all: count only. */
	assert_false(ks_feed_exit_latency_wanted(e));
	snprintf(reason, sizeof(reason), "%s", create(e, "{" EXITS
		 ",\"decomposition\":\"vleavereason\"}"));
	assert_false(ks_feed_exit_latency_wanted(e));
	/* Latency, but of disk operations: exits stay counted. */
	create(e, "{\"module\":\"vm\",\"stat\":\"physio_ops\","
		  "\"decomposition\":\"latency\"}");
	assert_false(ks_feed_exit_latency_wanted(e));
	snprintf(lat, sizeof(lat), "%s", create(e, "{" EXITS
		 ",\"decomposition\":\"vcpu,latency\"}"));
	assert_true(ks_feed_exit_latency_wanted(e));
	/* A predicate naming latency wants it as much. */
	snprintf(pred, sizeof(pred), "%s", create(e, "{" EXITS
		 ",\"predicate\":{\"gt\":[\"latency\",5000]}}"));
	drop(e, lat);
	assert_true(ks_feed_exit_latency_wanted(e));
	drop(e, pred);
	assert_false(ks_feed_exit_latency_wanted(e));
	drop(e, reason);
	assert_false(ks_feed_exit_latency_wanted(e));
	ks_engine__free(e);
}

/* The cuts handed to the probe: every vm.exits instrumentation's latency
 * edges, merged and sorted, and none from other metrics. */
static void test_cuts_follow_predicates(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_latcuts c;
	char a[16];

	(void)state;
	assert_non_null(e);
	ks_feed_exit_latency_cuts(e, &c);
	assert_int_equal(c.n, 0);
	snprintf(a, sizeof(a), "%s", create(e, "{" EXITS
		 ",\"predicate\":{\"gt\":[\"latency\",100000]}}"));
	create(e, "{" EXITS ",\"predicate\":{\"and\":["
		  "{\"ge\":[\"latency\",7000]},{\"le\":[\"latency\",100000]}]}}");
	create(e, "{\"module\":\"vm\",\"stat\":\"physio_ops\","
		  "\"predicate\":{\"gt\":[\"latency\",33333]}}");
	ks_feed_exit_latency_cuts(e, &c);
	/* gt and le 100000 share the edge 100001. */
	assert_int_equal(c.n, 2);
	assert_int_equal(c.v[0], 7000);
	assert_int_equal(c.v[1], 100001);
	drop(e, a);
	ks_feed_exit_latency_cuts(e, &c);
	assert_int_equal(c.n, 2);
	ks_engine__free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_mode_follows_instrumentations,
					  teardown),
		cmocka_unit_test_teardown(test_cuts_follow_predicates,
					  teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
