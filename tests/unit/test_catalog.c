/* test_catalog.c - the metric catalogue and CA's self-description of it.
 *
 * CA's clients and documentation name CA's metrics and fields, so each of
 * CA's KVM metrics must exist under CA's name with CA's field names, and
 * the type table must carry CA's units, bases and powers (a time is in
 * nanoseconds: seconds, base 10, power -9).  The expected names and
 * numbers come from CA's metrics.json as summarised in the research notes,
 * not from catalog.c.  GET /ca (ks_describe_catalog) is checked to say
 * the same as the table it is generated from.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/catalog.h"
#include "engine/describe.h"

static int metric(const char *name)
{
	int m = ks_metric_lookup_full(name);

	if (m < 0)
		fail_msg("metric %s is missing", name);
	return m;
}

static void has_fields(const char *name, const char *const *want)
{
	int m = metric(name);

	for (; *want; want++) {
		int f = ks_field_lookup(*want);

		if (f < 0 || !ks_metric_has_field(m, f))
			fail_msg("%s lacks field %s", name, *want);
	}
}

static void test_ca_metrics_and_fields(void **state)
{
	static const char *const exits[] = { "vleavereason", "latency", "vm",
					     "vmuuid", "pid", "vcpu",
					     "guestrip", NULL };
	static const char *const irqs[] = { "irqvector", "subsecond", "vcpu",
					    NULL };
	static const char *const samples[] = { "vmmmuctx", "subsecond",
					       "guestmode", "guestrip", NULL };
	static const char *const physio[] = { "optype", "latency", "size",
					      "offset", "errno", "disk", NULL };
	static const char *const bytes[] = { "optype", "disk", NULL };
	static const char *const nic[] = { "direction", "nic", NULL };

	(void)state;
	has_fields("vm.exits", exits);
	has_fields("vm.irqs", irqs);
	has_fields("vm.thread_samples", samples);
	has_fields("vm.physio_ops", physio);
	has_fields("vm.physio_bytes", bytes);
	has_fields("nic.vnic_bytes", nic);
	has_fields("nic.vnic_packets", nic);
	/* Every metric names its VM three ways. */
	for (int m = 0; m < KS_M__COUNT; m++) {
		assert_true(ks_metric_has_field(m, KS_F_VM));
		assert_true(ks_metric_has_field(m, KS_F_VMUUID));
		assert_true(ks_metric_has_field(m, KS_F_PID));
	}
}

static void test_type_table(void **state)
{
	const struct ks_typeinfo *t;

	(void)state;
	t = ks_type_info(KS_TYPE_TIME);
	assert_string_equal(t->name, "time");
	assert_string_equal(t->unit, "seconds");
	assert_int_equal(t->base, 10);
	assert_int_equal(t->power, -9);
	t = ks_type_info(KS_TYPE_SUBSECOND);
	assert_string_equal(t->name, "subsecond");
	assert_string_equal(t->unit, "seconds");
	assert_int_equal(t->power, -3);
	t = ks_type_info(KS_TYPE_SIZE);
	assert_string_equal(t->unit, "bytes");
	assert_int_equal(t->base, 2);
	t = ks_type_info(KS_TYPE_PERCENT);
	assert_int_equal(t->minmax, 100);
	assert_true(ks_type_info(KS_TYPE_NUMBER)->numeric);
	assert_false(ks_type_info(KS_TYPE_STRING)->numeric);
}

/* Identifiers that look like numbers are discrete, as CA made them. */
static void test_field_types(void **state)
{
	static const char *const discrete[] = { "pid", "vcpu", "irqvector",
						"errno", "vmmmuctx", "guestrip",
						"vleavereason", "direction" };
	static const struct { const char *name; enum ks_type type; } num[] = {
		{ "latency", KS_TYPE_TIME }, { "size", KS_TYPE_SIZE },
		{ "offset", KS_TYPE_SIZE }, { "subsecond", KS_TYPE_SUBSECOND },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(discrete) / sizeof(discrete[0]); i++)
		assert_false(ks_field_numeric(ks_field_lookup(discrete[i])));
	for (size_t i = 0; i < sizeof(num) / sizeof(num[0]); i++) {
		int f = ks_field_lookup(num[i].name);

		assert_true(f >= 0);
		assert_int_equal(ks_field_info(f)->type, num[i].type);
	}
}

static void test_lookups(void **state)
{
	char long_module[64];

	(void)state;
	assert_int_equal(ks_metric_lookup("vm", "exits"),
			 ks_metric_lookup_full("vm.exits"));
	assert_int_equal(ks_metric_lookup_full("vm.nosuch"), -ENOENT);
	assert_int_equal(ks_metric_lookup_full("vm."), -ENOENT);
	assert_int_equal(ks_metric_lookup_full("vmexits"), -ENOENT);
	assert_int_equal(ks_metric_lookup_full(".exits"), -ENOENT);
	memset(long_module, 'v', sizeof(long_module));
	strcpy(long_module + 40, ".exits");
	assert_int_equal(ks_metric_lookup_full(long_module), -ENOENT);
	assert_int_equal(ks_field_lookup("nosuch"), -ENOENT);
	assert_false(ks_metric_info(metric("vm.exits"))->point);
	assert_true(ks_metric_info(metric("vm.vcpus"))->point);
}

static void test_field_list(void **state)
{
	char buf[128], tiny[8];

	(void)state;
	ks_metric_field_list(metric("vm.irqs"), buf, sizeof(buf));
	assert_string_equal(buf, "hostname, vm, vmuuid, pid, vcpu, irqvector, "
			    "subsecond");
	/* Cut short, still a C string. */
	memset(tiny, 'x', sizeof(tiny));
	ks_metric_field_list(metric("vm.irqs"), tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_string_equal(tiny, "hostnam");
}

/* GET /ca says what the table says, in CA's shape. */
static void test_describe(void **state)
{
	json_t *ca = ks_describe_catalog(), *fields, *types, *metrics, *m;
	size_t i;

	(void)state;
	assert_non_null(ca);
	fields = json_object_get(ca, "fields");
	types = json_object_get(ca, "types");
	metrics = json_object_get(ca, "metrics");
	assert_non_null(json_object_get(ca, "modules"));
	assert_non_null(json_object_get(ca, "transformations"));
	/* Every field, and CA's aliases (vcpuid, zonename) beside them. */
	assert_int_equal(json_object_size(fields),
			 KS_F__COUNT + ks_field_alias_count());
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(fields, "vcpuid"), "alias")), "vcpu");
	assert_int_equal(ks_field_lookup("zonename"), KS_F_VMUUID);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(types, "percent"), "unit")), "percent");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(types, "percent"), "abbr")), "%");
	assert_int_equal(json_array_size(metrics), KS_M__COUNT);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(types, "time"), "power")), -9);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(types, "string"), "arity")), "discrete");
	/* A field's note reaches the API as it reaches the CLI and docs. */
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(fields, "vcpu"), "note")),
		ks_field_info(KS_F_VCPU)->note);
	assert_null(json_object_get(json_object_get(fields, "latency"),
				    "note"));
	json_array_foreach(metrics, i, m) {
		const struct ks_metricinfo *mi = ks_metric_info((int)i);

		assert_string_equal(json_string_value(json_object_get(m,
				    "module")), mi->module);
		assert_int_equal(json_array_size(json_object_get(m, "fields")),
				 mi->nfields);
		/* A count has a unit, anything else a type: never both. */
		assert_true(!json_object_get(m, "unit") !=
			    !json_object_get(m, "type"));
	}
	json_decref(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_metrics_and_fields),
		cmocka_unit_test(test_type_table),
		cmocka_unit_test(test_field_types),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_field_list),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
