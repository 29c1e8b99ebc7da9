/* test_fleet.c - the PromQL the fleet plans: a tenant's selector carries
 * its label, inside the sum; the operator's none; what the labels cannot
 * answer is refused before any query. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/instn.h"
#include "fleet/fleet.h"

/* The query for params (JSON text) in namespace owner with label. */
static int query(const char *params, const char *owner, const char *label,
		 char *q, size_t n, struct ks_err *err)
{
	json_t *p = json_loads(params, 0, NULL);
	struct ks_instn_conf c;
	int rc;

	assert_non_null(p);
	assert_int_equal(ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c,
					     err), 0);
	json_decref(p);
	rc = ks_fleet_query(&c, owner, label, q, n, err);
	ks_instn_conf_fini(&c);
	return rc;
}

static void test_operator_unrestricted(void **state)
{
	char q[1024];
	struct ks_err err;

	(void)state;
	assert_int_equal(query("{\"module\":\"vm\",\"stat\":\"exits\","
			       "\"decomposition\":[\"vleavereason\"]}", "",
			       "tenant", q, sizeof(q), &err), 0);
	assert_string_equal(q, "sum by (hostname,vm,vleavereason) "
			    "(kvmscope_vm_exits_total)");
}

static void test_tenant_selector(void **state)
{
	char q[1024];
	struct ks_err err;

	(void)state;
	assert_int_equal(query("{\"module\":\"vm\",\"stat\":\"exits\","
			       "\"decomposition\":[\"vm\"]}", "acme",
			       "tenant", q, sizeof(q), &err), 0);
	assert_string_equal(q, "sum by (hostname,vm) "
			    "(kvmscope_vm_exits_total{tenant=\"acme\"})");
	/* A histogram's buckets too, before the sum. */
	assert_int_equal(query("{\"module\":\"vm\",\"stat\":\"exits\","
			       "\"decomposition\":[\"latency\"]}", "globex",
			       "owner", q, sizeof(q), &err), 0);
	assert_string_equal(q, "sum by (hostname,vm,le) "
			    "(kvmscope_vm_exits_latency_seconds_bucket"
			    "{owner=\"globex\"})");
}

static void test_refused(void **state)
{
	char q[1024];
	struct ks_err err;

	(void)state;
	/* A tenant without a label: 403's errno. */
	assert_int_equal(query("{\"module\":\"vm\",\"stat\":\"exits\"}",
			       "acme", NULL, q, sizeof(q), &err), -EACCES);
	assert_int_equal(query("{\"module\":\"vm\",\"stat\":\"exits\","
			       "\"decomposition\":[\"guestrip\"]}", "", NULL,
			       q, sizeof(q), &err), -EINVAL);
	assert_string_equal(err.param, "guestrip");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operator_unrestricted),
		cmocka_unit_test(test_tenant_selector),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
