/* test_prom.c - Prometheus exposition: counters, exact histogram edges,
 * label escaping, and the cardinality cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/symtab.h"
#include "expo/prom.h"
#include "util/version.h"

static struct ks_record exitrec(const char *vm, const char *vcpu,
				const char *reason, uint64_t lat)
{
	struct ks_record r;

	ks_record_init(&r, KS_M_VM_EXITS, 1, 1);
	ks_record_set(&r, KS_F_VM, ks_sym_intern(vm));
	ks_record_set(&r, KS_F_VCPU, ks_sym_intern(vcpu));
	ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern(reason));
	if (lat)
		ks_record_set(&r, KS_F_LATENCY, lat);
	return r;
}

/* The value of the line starting with prefix, or -1. */
static double value_of(const char *text, const char *prefix)
{
	const char *p = text;

	while ((p = strstr(p, prefix))) {
		if (p == text || p[-1] == '\n')
			return strtod(p + strlen(prefix), NULL);
		p++;
	}
	return -1;
}

static void test_counters_and_histograms(void **state)
{
	struct ks_prom *p = ks_prom__new(0);
	struct ks_record r[5];
	char *t;

	(void)state;
	r[0] = exitrec("web", "0", "io", 1000);
	r[1] = exitrec("web", "0", "io", 1023);	/* < 2^10: first bucket */
	r[2] = exitrec("web", "0", "io", 1024);	/* = 2^10: next bucket */
	r[3] = exitrec("web", "1", "hlt", 5000000);
	r[4] = exitrec("web", "1", "hlt", 0);	/* latency unknown */
	ks_prom__feed(p, r, 5);
	t = ks_prom__render(p, NULL, NULL);
	assert_non_null(t);
	assert_true(value_of(t, "kvmscope_vm_exits_total{vm=\"web\",vmuuid=\"\","
				"vcpu=\"0\",reason=\"io\"} ") == 3);
	assert_true(value_of(t, "kvmscope_vm_exits_total{vm=\"web\",vmuuid=\"\","
				"vcpu=\"1\",reason=\"hlt\"} ") == 2);
	/* le edges are bucket edges: 1023 ns is <= 1.023e-06 s, 1024 is not. */
	assert_true(value_of(t, "kvmscope_vm_exit_handling_seconds_bucket{vm=\"web\","
				"vmuuid=\"\",reason=\"io\",le=\"2.55e-07\"} ") == 0);
	assert_true(value_of(t, "kvmscope_vm_exit_handling_seconds_bucket{vm=\"web\","
				"vmuuid=\"\",reason=\"io\",le=\"1.023e-06\"} ") == 2);
	assert_true(value_of(t, "kvmscope_vm_exit_handling_seconds_bucket{vm=\"web\","
				"vmuuid=\"\",reason=\"io\",le=\"+Inf\"} ") == 3);
	assert_true(value_of(t, "kvmscope_vm_exit_handling_seconds_count{vm=\"web\","
				"vmuuid=\"\",reason=\"hlt\"} ") == 1);
	assert_non_null(strstr(t, "# TYPE kvmscope_vm_exit_handling_seconds histogram"));
	assert_non_null(strstr(t, "# TYPE kvmscope_vm_exits_total counter"));
	free(t);
	ks_prom__free(p);
}

static void test_escaping_and_cap(void **state)
{
	struct ks_prom *p = ks_prom__new(3);
	struct ks_record r;
	char *t, vm[32];

	(void)state;
	r = exitrec("a\"b\\c\nd", "0", "io", 0);
	ks_prom__feed(p, &r, 1);
	for (int i = 0; i < 10; i++) {
		snprintf(vm, sizeof(vm), "vm%d", i);
		r = exitrec(vm, "0", "io", 0);
		ks_prom__feed(p, &r, 1);
	}
	assert_int_equal(ks_prom__nseries(p), 3);
	t = ks_prom__render(p, NULL, NULL);
	assert_non_null(strstr(t, "vm=\"a\\\"b\\\\c\\nd\""));
	assert_true(value_of(t, "kvmscope_prom_series_dropped_total ") == 8);
	free(t);
	ks_prom__free(p);
}

/* The build, in labels of a gauge that is always 1. */
static void test_build_info(void **state)
{
	struct ks_prom *p = ks_prom__new(0);
	char *t, want[256];

	(void)state;
	t = ks_prom__render(p, NULL, NULL);
	snprintf(want, sizeof(want), "kvmscope_build_info{version=\"%s\","
		 "revision=\"%s\"} ", ks_version(), ks_revision());
	assert_true(value_of(t, want) == 1);
	assert_non_null(strstr(t, "# TYPE kvmscope_build_info gauge\n"));
	assert_non_null(strchr(ks_version(), '.'));
	free(t);
	ks_prom__free(p);
}

/* Disk operations are all counted, those without a latency (QMP
 * discards, disks without kvmscope's histogram) included; the histogram
 * has only those with one. */
static void test_disk_ops_without_latency(void **state)
{
	struct ks_prom *p = ks_prom__new(0);
	struct ks_record r[3];
	char *t;

	(void)state;
	for (int i = 0; i < 3; i++) {
		ks_record_init(&r[i], KS_M_VM_PHYSIO_OPS, 1, 2);
		ks_record_set(&r[i], KS_F_VM, ks_sym_intern("db"));
		ks_record_set(&r[i], KS_F_DISK, ks_sym_intern("vda"));
		ks_record_set(&r[i], KS_F_OPTYPE,
			      ks_sym_intern(i ? "read" : "discard"));
	}
	ks_record_set(&r[2], KS_F_LATENCY, 50000);
	ks_prom__feed(p, r, 3);
	t = ks_prom__render(p, NULL, NULL);
	assert_non_null(t);
	assert_true(value_of(t, "kvmscope_vm_disk_ops_total{vm=\"db\","
				"vmuuid=\"\",disk=\"vda\",optype=\"read\"} ") == 4);
	assert_true(value_of(t, "kvmscope_vm_disk_ops_total{vm=\"db\","
				"vmuuid=\"\",disk=\"vda\",optype=\"discard\"} ") == 2);
	assert_true(value_of(t, "kvmscope_vm_disk_latency_seconds_count{vm=\"db\","
				"vmuuid=\"\",disk=\"vda\",optype=\"read\"} ") == 2);
	assert_null(strstr(t, "kvmscope_vm_disk_latency_seconds_count{vm=\"db\","
				"vmuuid=\"\",disk=\"vda\",optype=\"discard\"}"));
	free(t);
	ks_prom__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_and_histograms),
		cmocka_unit_test(test_escaping_and_cap),
		cmocka_unit_test(test_build_info),
		cmocka_unit_test(test_disk_ops_without_latency),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	ks_sym_reset();
	return rc;
}
