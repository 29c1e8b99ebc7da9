/* test_instn.c - instrumentation parameters: defaults, bounds, forms.
 *
 * Each parameter is given in both spellings CA accepted (query-string
 * strings and JSON values) and each bound is crossed by one: the error
 * must name the parameter, and the output must stay untouched.  Clone and
 * modify are checked for what they inherit and what they refuse, and the
 * JSON form is checked to parse back to itself.
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

#include "engine/instn.h"
#include "engine/symtab.h"

/* Parses JSON text params; fails the test on error. */
static void parse_ok(const char *text, const struct ks_instn_conf *base,
		     enum ks_instn_op op, struct ks_instn_conf *out)
{
	struct ks_err err = { "", "" };
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	int rc;

	if (!j)
		fail_msg("bad test JSON %s: %s", text, je.text);
	rc = ks_instn_conf_parse(j, base, op, out, &err);
	json_decref(j);
	if (rc)
		fail_msg("%s: unexpected error (%s): %s", text, err.param,
			 err.msg);
	assert_non_null(out->pred);
}

/* Fails unless the params are rejected naming param, with want in the
 * message, leaving the output untouched. */
static void parse_bad(const char *text, const struct ks_instn_conf *base,
		      enum ks_instn_op op, const char *param, const char *want)
{
	struct ks_err err = { "", "" };
	struct ks_instn_conf out, before;
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	int rc;

	if (!j)
		fail_msg("bad test JSON %s: %s", text, je.text);
	memset(&out, 0x5a, sizeof(out));
	before = out;
	rc = ks_instn_conf_parse(j, base, op, &out, &err);
	json_decref(j);
	if (!rc) {
		ks_instn_conf_fini(&out);
		fail_msg("%s: accepted, expected an error on %s", text, param);
	}
	assert_true(rc < 0);
	if (strcmp(err.param, param))
		fail_msg("%s: error names \"%s\" (%s), expected \"%s\"", text,
			 err.param, err.msg, param);
	if (!strstr(err.msg, want))
		fail_msg("%s: message \"%s\" lacks \"%s\"", text, err.msg, want);
	assert_memory_equal(&out, &before, sizeof(out));
}

#define EXITS "\"module\":\"vm\",\"stat\":\"exits\""

static void test_defaults(void **state)
{
	struct ks_instn_conf c;

	(void)state;
	parse_ok("{" EXITS "}", NULL, KS_INSTN_CREATE, &c);
	assert_int_equal(c.metric, KS_M_VM_EXITS);
	assert_true(ks_pred__trivial(c.pred));
	assert_int_equal(c.discrete, -1);
	assert_int_equal(c.numeric, -1);
	assert_int_equal(c.granularity, KS_GRANULARITY_DEFAULT);
	assert_int_equal(c.retention_time, KS_RETENTION_DEFAULT);
	assert_int_equal(c.idle_max, KS_IDLE_MAX_DEFAULT);
	assert_false(c.persist_data);
	assert_true(c.enabled);
	assert_int_equal(ks_instn_conf_arity(&c), KS_ARITY_SCALAR);
	assert_int_equal(ks_instn_conf_dimension(&c), 1);
	assert_int_equal(ks_instn_conf_fields(&c), 0);
	ks_instn_conf_fini(&c);
	ks_instn_conf_fini(&c);	/* twice is harmless */
}

/* Query-string spellings: every value a string. */
static void test_string_forms(void **state)
{
	struct ks_instn_conf c;
	struct ks_record r;

	(void)state;
	parse_ok("{" EXITS ",\"predicate\":\"{\\\"gt\\\":[\\\"latency\\\",1000]}\","
		 "\"decomposition\":\"vleavereason,latency\","
		 "\"granularity\":\"5\",\"retention-time\":\"1200\","
		 "\"idle-max\":\"0\",\"persist-data\":\"true\","
		 "\"enabled\":\"true\"}", NULL, KS_INSTN_CREATE, &c);
	assert_int_equal(c.discrete, KS_F_VLEAVEREASON);
	assert_int_equal(c.numeric, KS_F_LATENCY);
	assert_int_equal(c.granularity, 5);
	assert_int_equal(c.retention_time, 1200);
	assert_int_equal(c.idle_max, 0);
	assert_true(c.persist_data);
	ks_record_init(&r, KS_M_VM_EXITS, 0, 1);
	ks_record_set(&r, KS_F_LATENCY, 1001);
	assert_true(ks_pred__eval(c.pred, &r));
	ks_record_set(&r, KS_F_LATENCY, 1000);
	assert_false(ks_pred__eval(c.pred, &r));
	ks_instn_conf_fini(&c);

	/* spaces around names; empty strings mean "none" */
	parse_ok("{" EXITS ",\"decomposition\":\" latency , vm \","
		 "\"predicate\":\"\"}", NULL, KS_INSTN_CREATE, &c);
	assert_int_equal(c.discrete, KS_F_VM);
	assert_int_equal(c.numeric, KS_F_LATENCY);
	assert_true(ks_pred__trivial(c.pred));
	ks_instn_conf_fini(&c);
	parse_ok("{" EXITS ",\"decomposition\":\"\",\"persist-data\":\"false\"}",
		 NULL, KS_INSTN_CREATE, &c);
	assert_int_equal(ks_instn_conf_arity(&c), KS_ARITY_SCALAR);
	assert_false(c.persist_data);
	ks_instn_conf_fini(&c);
}

/* JSON body spellings. */
static void test_json_forms(void **state)
{
	struct ks_instn_conf c;

	(void)state;
	parse_ok("{" EXITS ",\"predicate\":{\"eq\":[\"vm\",\"web1\"]},"
		 "\"decomposition\":[\"vcpu\"],\"granularity\":60,"
		 "\"retention-time\":3600.0,\"idle-max\":604800,"
		 "\"persist-data\":false,\"enabled\":true}",
		 NULL, KS_INSTN_CREATE, &c);
	assert_int_equal(c.discrete, KS_F_VCPU);
	assert_int_equal(c.numeric, -1);
	assert_int_equal(c.granularity, 60);
	assert_int_equal(c.retention_time, 3600);
	assert_int_equal(c.idle_max, 604800);
	assert_int_equal(ks_instn_conf_arity(&c), KS_ARITY_DISCRETE);
	assert_int_equal(ks_instn_conf_dimension(&c), 2);
	assert_int_equal(ks_instn_conf_fields(&c), (1u << KS_F_VCPU) |
			 (1u << KS_F_VM));
	ks_instn_conf_fini(&c);
	parse_ok("{" EXITS ",\"decomposition\":[],\"predicate\":{}}",
		 NULL, KS_INSTN_CREATE, &c);
	assert_int_equal(ks_instn_conf_arity(&c), KS_ARITY_SCALAR);
	ks_instn_conf_fini(&c);
}

static void test_arity(void **state)
{
	static const struct {
		const char *decomp;
		enum ks_arity arity;
		const char *name;
		int dim;
	} t[] = {
		{ "", KS_ARITY_SCALAR, "scalar", 1 },
		{ "vm", KS_ARITY_DISCRETE, "discrete-decomposition", 2 },
		{ "latency", KS_ARITY_NUMERIC, "numeric-decomposition", 2 },
		{ "latency,vm", KS_ARITY_DISCRETE_NUMERIC,
		  "numeric-decomposition", 3 },
	};
	struct ks_instn_conf c;
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "{" EXITS ",\"decomposition\":"
			 "\"%s\"}", t[i].decomp);
		parse_ok(text, NULL, KS_INSTN_CREATE, &c);
		assert_int_equal(ks_instn_conf_arity(&c), t[i].arity);
		assert_string_equal(ks_arity_name(ks_instn_conf_arity(&c)),
				    t[i].name);
		assert_int_equal(ks_instn_conf_dimension(&c), t[i].dim);
		ks_instn_conf_fini(&c);
	}
}

static void test_metric_errors(void **state)
{
	(void)state;
	parse_bad("{}", NULL, KS_INSTN_CREATE, "module", "module is required");
	parse_bad("{\"module\":\"vm\"}", NULL, KS_INSTN_CREATE, "stat",
		  "stat is required");
	parse_bad("{\"stat\":\"exits\"}", NULL, KS_INSTN_CREATE, "module",
		  "module is required");
	parse_bad("{\"module\":\"cpu\",\"stat\":\"exits\"}", NULL,
		  KS_INSTN_CREATE, "module",
		  "module \"cpu\" does not exist (modules: vm, nic)");
	parse_bad("{\"module\":\"vm\",\"stat\":\"exitz\"}", NULL,
		  KS_INSTN_CREATE, "stat",
		  "stat \"exitz\" does not exist in module vm (stats: exits");
	parse_bad("{\"module\":\"nic\",\"stat\":\"exits\"}", NULL,
		  KS_INSTN_CREATE, "stat", "(stats: vnic_bytes, vnic_packets)");
	parse_bad("{\"module\":5,\"stat\":\"exits\"}", NULL, KS_INSTN_CREATE,
		  "module", "module must be a string (got an integer)");
	parse_bad("{\"module\":\"\",\"stat\":\"exits\"}", NULL,
		  KS_INSTN_CREATE, "module", "module must not be empty");
	parse_bad("{\"module\":\"vm\",\"stat\":[\"exits\"]}", NULL,
		  KS_INSTN_CREATE, "stat", "stat must be a string");
}

/* Unknown parameters are ignored, as CA ignored them (its tests send
 * profile=none). */
static void test_unknown_params(void **state)
{
	struct ks_err err = { "", "" };
	struct ks_instn_conf out;
	json_t *j;

	(void)state;
	parse_ok("{" EXITS ",\"granularty\":5,\"profile\":\"none\"}", NULL,
		 KS_INSTN_CREATE, &out);
	assert_int_equal(out.granularity, KS_GRANULARITY_DEFAULT);
	ks_instn_conf_fini(&out);
	parse_ok("{" EXITS ",\"foo\":1,\"bar\":{}}", NULL, KS_INSTN_CREATE,
		 &out);
	ks_instn_conf_fini(&out);
	j = json_array();
	assert_int_equal(ks_instn_conf_parse(j, NULL, KS_INSTN_CREATE, &out,
					     &err), -EINVAL);
	assert_non_null(strstr(err.msg, "parameters must be a JSON object"));
	json_decref(j);
	assert_int_equal(ks_instn_conf_parse(NULL, NULL, KS_INSTN_CREATE, &out,
					     &err), -EINVAL);
	assert_string_equal(err.param, "module");
}

static void test_predicate_param(void **state)
{
	(void)state;
	parse_bad("{" EXITS ",\"predicate\":{\"eq\":[\"latncy\",1]}}", NULL,
		  KS_INSTN_CREATE, "predicate",
		  "eq: field \"latncy\" is not a field of vm.exits");
	parse_bad("{" EXITS ",\"predicate\":\"{\\\"eq\\\":\"}", NULL,
		  KS_INSTN_CREATE, "predicate", "invalid JSON");
	parse_bad("{" EXITS ",\"predicate\":5}", NULL, KS_INSTN_CREATE,
		  "predicate", "predicate must be an object or its JSON text");
	parse_bad("{" EXITS ",\"predicate\":null}", NULL, KS_INSTN_CREATE,
		  "predicate", "(got null)");
	parse_bad("{" EXITS ",\"predicate\":[]}", NULL, KS_INSTN_CREATE,
		  "predicate", "(got an array)");
}

static void test_decomposition_param(void **state)
{
	const char *d = "decomposition";

	(void)state;
	parse_bad("{" EXITS ",\"decomposition\":\"latncy\"}", NULL,
		  KS_INSTN_CREATE, d,
		  "\"latncy\" is not a field of vm.exits (its fields: hostname, vm,");
	parse_bad("{" EXITS ",\"decomposition\":[\"irqvector\"]}", NULL,
		  KS_INSTN_CREATE, d, "\"irqvector\" is not a field of vm.exits");
	parse_bad("{" EXITS ",\"decomposition\":\"vm,vcpu\"}", NULL,
		  KS_INSTN_CREATE, d, "at most one discrete field, but \"vm\" "
		  "and \"vcpu\" are both discrete");
	parse_bad("{\"module\":\"vm\",\"stat\":\"physio_ops\","
		  "\"decomposition\":[\"latency\",\"size\"]}", NULL,
		  KS_INSTN_CREATE, d, "at most one numeric field");
	parse_bad("{" EXITS ",\"decomposition\":[\"vm\",\"vm\"]}", NULL,
		  KS_INSTN_CREATE, d, "\"vm\" is given twice");
	parse_bad("{" EXITS ",\"decomposition\":\"latency, latency\"}", NULL,
		  KS_INSTN_CREATE, d, "\"latency\" is given twice");
	parse_bad("{" EXITS ",\"decomposition\":\"vm,,latency\"}", NULL,
		  KS_INSTN_CREATE, d, "empty field name");
	parse_bad("{" EXITS ",\"decomposition\":\"vm,\"}", NULL,
		  KS_INSTN_CREATE, d, "empty field name");
	parse_bad("{" EXITS ",\"decomposition\":[\"\"]}", NULL,
		  KS_INSTN_CREATE, d, "empty field name");
	parse_bad("{" EXITS ",\"decomposition\":[\"vm\",3]}", NULL,
		  KS_INSTN_CREATE, d, "decomposition[1] must be a field name "
		  "(got an integer)");
	parse_bad("{" EXITS ",\"decomposition\":{}}", NULL, KS_INSTN_CREATE, d,
		  "must be an array of field names or a comma-separated");
	parse_bad("{" EXITS ",\"decomposition\":\"vm,latency,vcpu\"}", NULL,
		  KS_INSTN_CREATE, d, "at most one discrete field");
	parse_bad("{" EXITS ",\"decomposition\":\"averyveryveryveryveryvery"
		  "veryveryveryveryveryveryveryveryverylongname\"}", NULL,
		  KS_INSTN_CREATE, d, "is not a field of vm.exits");
}

/* Each number parameter, read with CA's parseInt: only a value without a
 * numeric prefix, or a negative one, is refused. */
static void test_number_syntax(void **state)
{
	static const struct {
		const char *value;	/* JSON text */
		const char *want;
	} bad[] = {
		{ "\"abc\"", "value \"abc\" for " },
		{ "\"\"", "not valid: not a number" },
		{ "\"-5\"", " must not be negative (got -5)" },
		{ "-5", " must not be negative (got -5)" },
		{ "-5.0", "must not be negative" },
		{ "true", " is not a number (got a boolean)" },
		{ "null", " is not a number (got null)" },
	};
	static const struct {
		const char *value;
		uint32_t want;
	} good[] = {
		{ "\"60x\"", 60 }, { "\" 60\"", 60 }, { "\"+60\"", 60 },
		{ "\"60e1\"", 60 }, { "\"60.5\"", 60 }, { "60.9", 60 },
		{ "[\"60\"]", 60 },
	};
	static const char *const names[] = { "granularity", "retention-time",
					      "idle-max" };
	struct ks_instn_conf c;
	char text[200];

	(void)state;
	for (size_t n = 0; n < 3; n++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(text, sizeof(text), "{" EXITS ",\"%s\":%s}",
				 names[n], bad[i].value);
			parse_bad(text, NULL, KS_INSTN_CREATE, names[n],
				  bad[i].want);
		}
		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			snprintf(text, sizeof(text), "{" EXITS ",\"%s\":%s}",
				 names[n], good[i].value);
			parse_ok(text, NULL, KS_INSTN_CREATE, &c);
			assert_int_equal(n == 0 ? c.granularity :
					 n == 1 ? c.retention_time : c.idle_max,
					 good[i].want);
			ks_instn_conf_fini(&c);
		}
	}
	/* CA's own case: granularity "10.5" is 10. */
	parse_ok("{" EXITS ",\"granularity\":\"10.5\"}", NULL, KS_INSTN_CREATE,
		 &c);
	assert_int_equal(c.granularity, 10);
	ks_instn_conf_fini(&c);
}

static void test_granularity_bounds(void **state)
{
	static const int good[] = { 1, 5, 10, 60, 300, 3600 };
	struct ks_instn_conf c;
	char text[128];
	const char *g = "granularity";

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "{" EXITS ",\"granularity\":%d}",
			 good[i]);
		parse_ok(text, NULL, KS_INSTN_CREATE, &c);
		assert_int_equal(c.granularity, good[i]);
		/* the retention default follows the granularity's bounds */
		assert_true(c.retention_time >= c.granularity);
		assert_true(c.retention_time <=
			    (uint64_t)c.granularity * KS_MAX_DATAPOINTS);
		ks_instn_conf_fini(&c);
	}
	parse_bad("{" EXITS ",\"granularity\":0}", NULL, KS_INSTN_CREATE, g,
		  "granularity must be at least 1 (got 0)");
	parse_bad("{" EXITS ",\"granularity\":7}", NULL, KS_INSTN_CREATE, g,
		  "granularity must be 1 or a multiple of 5 seconds (got 7)");
	parse_bad("{" EXITS ",\"granularity\":2}", NULL, KS_INSTN_CREATE, g,
		  "multiple of 5");
	parse_bad("{" EXITS ",\"granularity\":3605}", NULL, KS_INSTN_CREATE, g,
		  "granularity must be at most 3600 (got 3605)");
	parse_bad("{" EXITS ",\"granularity\":\"4294967301\"}", NULL,
		  KS_INSTN_CREATE, g, "must be at most 3600");
}

static void test_retention_bounds(void **state)
{
	struct ks_instn_conf c;
	const char *r = "retention-time";

	(void)state;
	parse_ok("{" EXITS ",\"retention-time\":10}", NULL, KS_INSTN_CREATE, &c);
	assert_int_equal(c.retention_time, 10);
	ks_instn_conf_fini(&c);
	parse_ok("{" EXITS ",\"retention-time\":3600}", NULL, KS_INSTN_CREATE,
		 &c);
	assert_int_equal(c.retention_time, 3600);
	ks_instn_conf_fini(&c);
	parse_ok("{" EXITS ",\"granularity\":5,\"retention-time\":18000}",
		 NULL, KS_INSTN_CREATE, &c);
	assert_int_equal(c.retention_time, 18000);
	ks_instn_conf_fini(&c);
	parse_bad("{" EXITS ",\"retention-time\":9}", NULL, KS_INSTN_CREATE, r,
		  "retention-time must be at least 10 seconds (got 9)");
	parse_bad("{" EXITS ",\"retention-time\":3601}", NULL, KS_INSTN_CREATE,
		  r, "retention-time must be at most 3600 seconds for "
		  "granularity 1 (3600 data points; got 3601)");
	parse_bad("{" EXITS ",\"granularity\":5,\"retention-time\":18001}",
		  NULL, KS_INSTN_CREATE, r, "at most 18000 seconds");
	parse_bad("{" EXITS ",\"granularity\":60,\"retention-time\":30}",
		  NULL, KS_INSTN_CREATE, r, "retention-time must be at least "
		  "the granularity, 60 seconds (got 30)");
	parse_bad("{" EXITS ",\"retention-time\":\"18446744073709551616\"}",
		  NULL, KS_INSTN_CREATE, r, "at most 3600 seconds");
	parse_bad("{" EXITS ",\"retention-time\":\"18446744073709551615\"}",
		  NULL, KS_INSTN_CREATE, r, "at most 3600 seconds");
	/* default raised to the granularity when not given */
	parse_ok("{" EXITS ",\"granularity\":900}", NULL, KS_INSTN_CREATE, &c);
	assert_int_equal(c.retention_time, 900);
	ks_instn_conf_fini(&c);
}

static void test_idle_bool_enabled(void **state)
{
	struct ks_instn_conf c;

	(void)state;
	parse_ok("{" EXITS ",\"idle-max\":0,\"persist-data\":true}", NULL,
		 KS_INSTN_CREATE, &c);
	assert_int_equal(c.idle_max, 0);
	assert_true(c.persist_data);
	ks_instn_conf_fini(&c);
	parse_bad("{" EXITS ",\"idle-max\":604801}", NULL, KS_INSTN_CREATE,
		  "idle-max", "idle-max must be at most 604800 (got 604801)");
	parse_bad("{" EXITS ",\"persist-data\":\"yes\"}", NULL,
		  KS_INSTN_CREATE, "persist-data",
		  "persist-data must be true or false (got \"yes\")");
	parse_bad("{" EXITS ",\"persist-data\":1}", NULL, KS_INSTN_CREATE,
		  "persist-data", "(got an integer)");
	parse_bad("{" EXITS ",\"persist-data\":\"True\"}", NULL,
		  KS_INSTN_CREATE, "persist-data", "must be true or false");
	parse_bad("{" EXITS ",\"enabled\":false}", NULL, KS_INSTN_CREATE,
		  "enabled", "enabled only accepts true");
	parse_bad("{" EXITS ",\"enabled\":\"false\"}", NULL, KS_INSTN_CREATE,
		  "enabled", "enabled only accepts true");
	parse_bad("{" EXITS ",\"enabled\":\"on\"}", NULL, KS_INSTN_CREATE,
		  "enabled", "enabled must be true or false");
}

/* The first violated parameter, in a fixed order, is the one named. */
static void test_first_violation(void **state)
{
	(void)state;
	parse_bad("{\"module\":\"vm\",\"stat\":\"exits\",\"idle-max\":-1,"
		  "\"granularity\":7}", NULL, KS_INSTN_CREATE, "granularity",
		  "multiple of 5");
}

static void base_conf(struct ks_instn_conf *b)
{
	parse_ok("{" EXITS ",\"predicate\":{\"and\":[{\"eq\":[\"vm\",\"web1\"]},"
		 "{\"gt\":[\"latency\",1000]}]},\"decomposition\":\"vcpu,latency\","
		 "\"granularity\":5,\"retention-time\":7200,\"idle-max\":120,"
		 "\"persist-data\":true}", NULL, KS_INSTN_CREATE, b);
}

static void test_clone(void **state)
{
	struct ks_instn_conf b, c;
	json_t *jb, *jc;

	(void)state;
	base_conf(&b);
	/* everything inherited */
	parse_ok("{}", &b, KS_INSTN_CLONE, &c);
	jb = ks_instn_conf_to_json(&b);
	jc = ks_instn_conf_to_json(&c);
	assert_true(json_equal(jb, jc));
	assert_ptr_not_equal(b.pred, c.pred);
	json_decref(jc);
	ks_instn_conf_fini(&c);
	/* overrides; a new granularity brings the inherited retention down */
	parse_ok("{\"decomposition\":\"vleavereason\",\"granularity\":1,"
		 "\"predicate\":{}}", &b, KS_INSTN_CLONE, &c);
	assert_int_equal(c.metric, KS_M_VM_EXITS);
	assert_int_equal(c.discrete, KS_F_VLEAVEREASON);
	assert_int_equal(c.numeric, -1);
	assert_true(ks_pred__trivial(c.pred));
	assert_int_equal(c.granularity, 1);
	assert_int_equal(c.retention_time, 3600);
	assert_int_equal(c.idle_max, 120);
	assert_true(c.persist_data);
	ks_instn_conf_fini(&c);
	/* another metric: inherited fields are checked against it */
	parse_bad("{\"stat\":\"irqs\"}", &b, KS_INSTN_CLONE, "predicate",
		  "field \"latency\" is not a field of vm.irqs");
	parse_bad("{\"stat\":\"irqs\",\"predicate\":{\"eq\":[\"vm\",\"w\"]}}",
		  &b, KS_INSTN_CLONE, "decomposition",
		  "\"latency\" (inherited from the cloned instrumentation) is "
		  "not a field of vm.irqs");
	parse_ok("{\"stat\":\"physio_ops\",\"decomposition\":\"disk,latency\"}",
		 &b, KS_INSTN_CLONE, &c);
	assert_int_equal(c.metric, KS_M_VM_PHYSIO_OPS);
	assert_int_equal(c.discrete, KS_F_DISK);
	/* the re-validated predicate works on the new metric */
	jc = ks_pred__to_json(c.pred);
	assert_true(json_equal(jc, json_object_get(jb, "predicate")));
	json_decref(jc);
	ks_instn_conf_fini(&c);
	parse_bad("{\"module\":\"nic\"}", &b, KS_INSTN_CLONE, "stat",
		  "stat \"exits\" does not exist in module nic");
	parse_bad("{\"granularity\":7}", &b, KS_INSTN_CLONE, "granularity",
		  "multiple of 5");
	parse_bad("{}", NULL, KS_INSTN_CLONE, "", "no instrumentation");
	json_decref(jb);
	ks_instn_conf_fini(&b);
}

static void test_modify(void **state)
{
	struct ks_instn_conf b, c;

	(void)state;
	base_conf(&b);
	parse_ok("{\"retention-time\":\"600\",\"idle-max\":30,"
		 "\"persist-data\":\"false\",\"enabled\":true}", &b,
		 KS_INSTN_MODIFY, &c);
	assert_int_equal(c.metric, b.metric);
	assert_int_equal(c.discrete, b.discrete);
	assert_int_equal(c.numeric, b.numeric);
	assert_int_equal(c.granularity, 5);
	assert_int_equal(c.retention_time, 600);
	assert_int_equal(c.idle_max, 30);
	assert_false(c.persist_data);
	ks_instn_conf_fini(&c);
	parse_ok("{}", &b, KS_INSTN_MODIFY, &c);
	assert_int_equal(c.retention_time, 7200);
	ks_instn_conf_fini(&c);
	/* the retention bound uses the instrumentation's granularity */
	parse_bad("{\"retention-time\":18005}", &b, KS_INSTN_MODIFY,
		  "retention-time", "at most 18000 seconds for granularity 5");
	/* What cannot change, and unknown names, are ignored (CA's PUT). */
	parse_ok("{\"granularity\":10,\"module\":\"nic\",\"predicate\":"
		 "{\"eq\":[\"vm\",\"x\"]},\"decomposition\":\"\","
		 "\"nsources\":1,\"idle-max\":31}", &b, KS_INSTN_MODIFY, &c);
	assert_int_equal(c.granularity, 5);
	assert_int_equal(c.metric, b.metric);
	assert_int_equal(c.discrete, b.discrete);
	assert_int_equal(c.numeric, b.numeric);
	assert_true(ks_pred__trivial(c.pred) == ks_pred__trivial(b.pred));
	assert_int_equal(c.idle_max, 31);
	ks_instn_conf_fini(&c);
	parse_bad("{\"enabled\":false}", &b, KS_INSTN_MODIFY, "enabled",
		  "only accepts true");
	parse_bad("{}", NULL, KS_INSTN_MODIFY, "", "no instrumentation");
	/* in place: the old predicate is released, not leaked */
	parse_ok("{\"idle-max\":7}", &b, KS_INSTN_MODIFY, &b);
	assert_int_equal(b.idle_max, 7);
	assert_int_equal(b.retention_time, 7200);
	assert_false(ks_pred__trivial(b.pred));
	ks_instn_conf_fini(&b);
}

static void test_copy(void **state)
{
	struct ks_instn_conf b, c;
	json_t *jb, *jc;

	(void)state;
	base_conf(&b);
	jb = ks_instn_conf_to_json(&b);
	assert_int_equal(ks_instn_conf_copy(&c, &b), 0);
	assert_ptr_not_equal(c.pred, b.pred);
	ks_instn_conf_fini(&b);	/* the copy owns its own predicate */
	jc = ks_instn_conf_to_json(&c);
	assert_true(json_equal(jb, jc));
	json_decref(jb);
	json_decref(jc);
	ks_instn_conf_fini(&c);
}

static void test_to_json(void **state)
{
	struct ks_instn_conf c;
	json_t *j, *d;

	(void)state;
	/* numeric given first: the output lists the discrete field first */
	parse_ok("{" EXITS ",\"decomposition\":[\"latency\",\"vleavereason\"],"
		 "\"predicate\":{\"ne\":[\"vm\",\"x\"]}}", NULL,
		 KS_INSTN_CREATE, &c);
	j = ks_instn_conf_to_json(&c);
	assert_string_equal(json_string_value(json_object_get(j, "module")),
			    "vm");
	assert_string_equal(json_string_value(json_object_get(j, "stat")),
			    "exits");
	d = json_object_get(j, "decomposition");
	assert_int_equal(json_array_size(d), 2);
	assert_string_equal(json_string_value(json_array_get(d, 0)),
			    "vleavereason");
	assert_string_equal(json_string_value(json_array_get(d, 1)), "latency");
	assert_int_equal(json_integer_value(json_object_get(j,
			 "value-dimension")), 3);
	assert_string_equal(json_string_value(json_object_get(j,
			    "value-arity")), "numeric-decomposition");
	assert_true(json_is_true(json_object_get(j, "enabled")));
	assert_true(json_is_false(json_object_get(j, "persist-data")));
	assert_int_equal(json_integer_value(json_object_get(j,
			 "retention-time")), 600);
	assert_int_equal(json_integer_value(json_object_get(j, "idle-max")),
			 3600);
	assert_int_equal(json_integer_value(json_object_get(j, "granularity")),
			 1);
	assert_string_equal(json_string_value(json_object_get(j,
			    "value-scope")), "interval");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
		json_object_get(j, "predicate"), "ne"), 1)), "x");
	assert_int_equal(json_object_size(j), 12);
	json_decref(j);
	ks_instn_conf_fini(&c);
	parse_ok("{\"module\":\"vm\",\"stat\":\"vcpus\"}", NULL,
		 KS_INSTN_CREATE, &c);
	j = ks_instn_conf_to_json(&c);
	assert_string_equal(json_string_value(json_object_get(j,
			    "value-scope")), "point");
	assert_int_equal(json_array_size(json_object_get(j, "decomposition")),
			 0);
	json_decref(j);
	ks_instn_conf_fini(&c);
}

/* The JSON form, fed back as parameters, gives the same configuration. */
static void test_roundtrip(void **state)
{
	static const char *const configs[] = {
		"{" EXITS "}",
		"{" EXITS ",\"decomposition\":\"latency,vcpu\",\"granularity\":10,"
		"\"retention-time\":36000,\"idle-max\":0,\"persist-data\":true,"
		"\"predicate\":{\"or\":[{\"lt\":[\"latency\",-3]},"
		"{\"ge\":[\"subsecond\",500]}]}}",
		"{\"module\":\"nic\",\"stat\":\"vnic_bytes\",\"decomposition\":"
		"[\"direction\"],\"predicate\":{\"eq\":[\"nic\",\"vnet0\"]}}",
		"{\"module\":\"vm\",\"stat\":\"physio_ops\",\"decomposition\":"
		"\"offset,optype\",\"granularity\":\"60\"}",
	};
	static const char *const keep[] = { "module", "stat", "predicate",
		"decomposition", "granularity", "retention-time", "idle-max",
		"persist-data", "enabled" };
	struct ks_err err = { "", "" };

	(void)state;
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		struct ks_instn_conf a, b;
		json_t *ja, *params, *jb;

		parse_ok(configs[i], NULL, KS_INSTN_CREATE, &a);
		ja = ks_instn_conf_to_json(&a);
		params = json_object();
		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
			json_object_set(params, keep[k],
					json_object_get(ja, keep[k]));
		assert_int_equal(ks_instn_conf_parse(params, NULL,
						     KS_INSTN_CREATE, &b,
						     &err), 0);
		jb = ks_instn_conf_to_json(&b);
		assert_true(json_equal(ja, jb));
		json_decref(ja);
		json_decref(jb);
		json_decref(params);
		ks_instn_conf_fini(&a);
		ks_instn_conf_fini(&b);
	}
}

static int teardown(void **state)
{
	(void)state;
	ks_sym_reset();
	return 0;
}

/* Which fields an instrumentation uses: by decomposition or predicate,
 * nested predicates included, and no others. */
static void test_uses_field(void **state)
{
	struct ks_instn_conf c;

	(void)state;
	parse_ok("{" EXITS "}", NULL, KS_INSTN_CREATE, &c);
	assert_false(ks_instn_conf_uses_field(&c, KS_F_LATENCY));
	assert_false(ks_instn_conf_uses_field(&c, KS_F_VLEAVEREASON));
	ks_instn_conf_fini(&c);
	parse_ok("{" EXITS ",\"decomposition\":\"vleavereason\"}", NULL,
		 KS_INSTN_CREATE, &c);
	assert_true(ks_instn_conf_uses_field(&c, KS_F_VLEAVEREASON));
	assert_false(ks_instn_conf_uses_field(&c, KS_F_LATENCY));
	ks_instn_conf_fini(&c);
	parse_ok("{" EXITS ",\"decomposition\":\"vcpu,latency\"}", NULL,
		 KS_INSTN_CREATE, &c);
	assert_true(ks_instn_conf_uses_field(&c, KS_F_LATENCY));
	assert_true(ks_instn_conf_uses_field(&c, KS_F_VCPU));
	assert_false(ks_instn_conf_uses_field(&c, KS_F_SUBSECOND));
	ks_instn_conf_fini(&c);
	parse_ok("{" EXITS ",\"predicate\":{\"and\":[{\"eq\":[\"vm\",\"a\"]},"
		 "{\"gt\":[\"latency\",1000]}]}}", NULL, KS_INSTN_CREATE, &c);
	assert_true(ks_instn_conf_uses_field(&c, KS_F_LATENCY));
	assert_true(ks_instn_conf_uses_field(&c, KS_F_VM));
	assert_false(ks_instn_conf_uses_field(&c, KS_F_VCPU));
	/* Ids past the bit set are nobody's. */
	assert_false(ks_instn_conf_uses_field(&c, (enum ks_field)40));
	ks_instn_conf_fini(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_string_forms),
		cmocka_unit_test(test_json_forms),
		cmocka_unit_test(test_arity),
		cmocka_unit_test(test_metric_errors),
		cmocka_unit_test(test_unknown_params),
		cmocka_unit_test(test_predicate_param),
		cmocka_unit_test(test_decomposition_param),
		cmocka_unit_test(test_number_syntax),
		cmocka_unit_test(test_granularity_bounds),
		cmocka_unit_test(test_retention_bounds),
		cmocka_unit_test(test_idle_bool_enabled),
		cmocka_unit_test(test_first_violation),
		cmocka_unit_test(test_clone),
		cmocka_unit_test(test_modify),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_uses_field),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
