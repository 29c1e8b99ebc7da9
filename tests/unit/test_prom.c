/* test_prom.c - Prometheus exposition: counters, exact histogram edges,
 * label escaping, and the cardinality cap. */
#include <errno.h>
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
	ks_prom__set_hostname(p, "h");
	r[0] = exitrec("web", "0", "io", 1000);
	r[1] = exitrec("web", "0", "io", 1023);	/* < 2^10: first bucket */
	r[2] = exitrec("web", "0", "io", 1024);	/* = 2^10: next bucket */
	r[3] = exitrec("web", "1", "hlt", 5000000);
	r[4] = exitrec("web", "1", "hlt", 0);	/* latency unknown */
	ks_prom__feed(p, r, 5);
	t = ks_prom__render(p, NULL, NULL);
	assert_non_null(t);
	assert_true(value_of(t, "kvmscope_vm_exits_total{hostname=\"h\",vm=\"web\",vmuuid=\"\","
				"vcpu=\"0\",vleavereason=\"io\"} ") == 3);
	assert_true(value_of(t, "kvmscope_vm_exits_total{hostname=\"h\",vm=\"web\",vmuuid=\"\","
				"vcpu=\"1\",vleavereason=\"hlt\"} ") == 2);
	/* le edges are bucket edges: 1023 ns is <= 1.023e-06 s, 1024 is not. */
	assert_true(value_of(t, "kvmscope_vm_exits_latency_seconds_bucket{hostname=\"h\",vm=\"web\","
				"vmuuid=\"\",vleavereason=\"io\",le=\"2.55e-07\"} ") == 0);
	assert_true(value_of(t, "kvmscope_vm_exits_latency_seconds_bucket{hostname=\"h\",vm=\"web\","
				"vmuuid=\"\",vleavereason=\"io\",le=\"1.023e-06\"} ") == 2);
	assert_true(value_of(t, "kvmscope_vm_exits_latency_seconds_bucket{hostname=\"h\",vm=\"web\","
				"vmuuid=\"\",vleavereason=\"io\",le=\"+Inf\"} ") == 3);
	assert_true(value_of(t, "kvmscope_vm_exits_latency_seconds_count{hostname=\"h\",vm=\"web\","
				"vmuuid=\"\",vleavereason=\"hlt\"} ") == 1);
	assert_non_null(strstr(t, "# TYPE kvmscope_vm_exits_latency_seconds histogram"));
	assert_non_null(strstr(t, "# TYPE kvmscope_vm_exits_total counter"));
	free(t);
	ks_prom__free(p);
}

static const char *owner_of(void *ctx, const char *vm, const char *uuid)
{
	(void)ctx;
	return !strcmp(vm, "web") || !strcmp(uuid, "u-db") ? "acme" : NULL;
}

/* The tenant label: on every series of an owned VM (by name or uuid),
 * last, counters and histograms, text and protobuf; on nothing else. */
static void test_tenant_label(void **state)
{
	struct ks_prom *p = ks_prom__new(0);
	struct ks_record r[3];
	struct ks_pb b = KS_PB_INIT;
	char *t;

	(void)state;
	ks_prom__set_hostname(p, "h");
	ks_prom__set_tenants(p, "tenant", owner_of, NULL);
	r[0] = exitrec("web", "0", "io", 1000);
	r[1] = exitrec("db", "0", "io", 1000);
	ks_record_set(&r[1], KS_F_VMUUID, ks_sym_intern("u-db"));
	r[2] = exitrec("other", "0", "io", 1000);
	ks_prom__feed(p, r, 3);
	t = ks_prom__render(p, NULL, NULL);
	assert_non_null(t);
	assert_true(value_of(t, "kvmscope_vm_exits_total{hostname=\"h\",vm=\"web\",vmuuid=\"\","
				"vcpu=\"0\",vleavereason=\"io\",tenant=\"acme\"} ") == 1);
	assert_true(value_of(t, "kvmscope_vm_exits_total{hostname=\"h\",vm=\"db\",vmuuid=\"u-db\","
				"vcpu=\"0\",vleavereason=\"io\",tenant=\"acme\"} ") == 1);
	assert_true(value_of(t, "kvmscope_vm_exits_total{hostname=\"h\",vm=\"other\",vmuuid=\"\","
				"vcpu=\"0\",vleavereason=\"io\"} ") == 1);
	assert_true(value_of(t, "kvmscope_vm_exits_latency_seconds_bucket{hostname=\"h\",vm=\"web\","
				"vmuuid=\"\",vleavereason=\"io\",tenant=\"acme\",le=\"+Inf\"} ") == 1);
	/* Not the unowned VM's series, nor the engine's. */
	assert_null(strstr(t, "vm=\"other\",vmuuid=\"\",vcpu=\"0\",vleavereason=\"io\",tenant"));
	assert_null(strstr(t, "kvmscope_records_total{hostname=\"h\",tenant"));
	free(t);
	assert_int_equal(ks_prom__render_pb(p, NULL, &b), 0);
	assert_non_null(memmem(b.buf, b.len, "tenant", 6));
	assert_non_null(memmem(b.buf, b.len, "acme", 4));
	ks_pb_fini(&b);
	ks_prom__free(p);
}

static void test_label_check(void **state)
{
	static const char *const bad[] = {
		"", "9x", "a-b", "__x", "le", "job", "instance", "vm", "hostname",
		"vmuuid", "latency",
		"x2345678901234567890123456789012345678901234567890123456789012345",
	};
	struct ks_err err;

	(void)state;
	assert_int_equal(ks_prom_label_check("tenant", "--tenant-label", &err), 0);
	assert_int_equal(ks_prom_label_check("_owner9", "--tenant-label", &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ks_prom_label_check(bad[i], "--tenant-label",
						     &err), -EINVAL);
		assert_string_equal(err.param, "--tenant-label");
	}
}

static void test_escaping_and_cap(void **state)
{
	struct ks_prom *p = ks_prom__new(3);
	struct ks_record r;
	char *t, vm[32];

	(void)state;
	ks_prom__set_hostname(p, "h");
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
	assert_true(value_of(t, "kvmscope_prom_series_dropped_total{hostname=\"h\"} ") == 8);
	free(t);
	ks_prom__free(p);
}

/* The build, in labels of a gauge that is always 1. */
static void test_build_info(void **state)
{
	struct ks_prom *p = ks_prom__new(0);
	char *t, want[256];

	(void)state;
	ks_prom__set_hostname(p, "h");
	t = ks_prom__render(p, NULL, NULL);
	snprintf(want, sizeof(want), "kvmscope_build_info{hostname=\"h\",version=\"%s\","
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
	ks_prom__set_hostname(p, "h");
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
	assert_true(value_of(t, "kvmscope_vm_physio_ops_total{hostname=\"h\",vm=\"db\","
				"vmuuid=\"\",disk=\"vda\",optype=\"read\"} ") == 4);
	assert_true(value_of(t, "kvmscope_vm_physio_ops_total{hostname=\"h\",vm=\"db\","
				"vmuuid=\"\",disk=\"vda\",optype=\"discard\"} ") == 2);
	assert_true(value_of(t, "kvmscope_vm_physio_ops_latency_seconds_count{hostname=\"h\",vm=\"db\","
				"vmuuid=\"\",disk=\"vda\",optype=\"read\"} ") == 2);
	assert_null(strstr(t, "kvmscope_vm_physio_ops_latency_seconds_count{hostname=\"h\",vm=\"db\","
				"vmuuid=\"\",disk=\"vda\",optype=\"discard\"}"));
	free(t);
	ks_prom__free(p);
}

/* The exported table (the fleet command's too): hostname first, names
 * after the CA metric, and every classic edge a log-linear bucket's lower
 * bound, so `le` counts are exact. */
static void test_family_table(void **state)
{
	const struct ks_prom_family *f;
	size_t n = ks_prom__families(&f);
	uint64_t edge[64];
	char base[96];

	(void)state;
	assert_true(n >= KS_M__COUNT);
	for (size_t i = 0; i < n; i++) {
		const struct ks_metricinfo *mi = ks_metric_info(f[i].metric);
		size_t ne = ks_prom_family__edges(&f[i], edge, 64);

		snprintf(base, sizeof(base), "kvmscope_%s_%s", mi->module,
			 mi->stat);
		assert_string_equal(f[i].name, base);
		assert_true(f[i].nlabels >= 1 && f[i].nlabels <= 8);
		assert_int_equal(f[i].labels[0], KS_F_HOSTNAME);
		for (int k = 1; k < f[i].nlabels; k++)
			assert_true(ks_metric_has_field(f[i].metric,
							f[i].labels[k]));
		if (f[i].hist < 0) {
			assert_non_null(f[i].series);
			assert_int_equal(ne, 0);
			continue;
		}
		assert_true(ks_field_numeric((enum ks_field)f[i].hist));
		assert_non_null(f[i].hist_name);
		assert_true(ne >= 8);
		for (size_t k = 0; k < ne; k++) {
			assert_int_equal(ks_ll_lo(ks_ll_index(edge[k])), edge[k]);
			assert_true(!k || edge[k] > edge[k - 1]);
		}
	}
}

/* A gone VM's series expire after the grace and free their room under
 * the cap for a new VM; a VM that keeps sending (on any of its series)
 * keeps all of them. */
static void test_expiry_frees_the_cap(void **state)
{
	struct ks_prom *p = ks_prom__new(4);
	struct ks_record r[2];
	char *t;

	(void)state;
	ks_prom__set_hostname(p, "h");
	ks_prom__set_grace(p, 10);
	r[0] = exitrec("old", "0", "io", 0);
	r[1] = exitrec("old", "0", "hlt", 0);
	r[0].ts = r[1].ts = 1 * KS_NSEC_PER_SEC;
	ks_prom__feed(p, r, 2);
	r[0] = exitrec("live", "0", "io", 0);
	r[1] = exitrec("live", "0", "hlt", 0);
	r[0].ts = r[1].ts = 2 * KS_NSEC_PER_SEC;
	ks_prom__feed(p, r, 2);
	assert_int_equal(ks_prom__nseries(p), 4);
	/* The live VM sends on one series only, at 9 s and 20 s. */
	r[0].ts = 9 * KS_NSEC_PER_SEC;
	ks_prom__feed(p, r, 1);
	r[0] = exitrec("new", "0", "io", 0);
	r[0].ts = 9 * KS_NSEC_PER_SEC;
	ks_prom__feed(p, r, 1);		/* over the cap: dropped */
	assert_int_equal(ks_prom__expire(p, 11 * KS_NSEC_PER_SEC), 0);
	r[0] = exitrec("live", "0", "io", 0);
	r[0].ts = 20 * KS_NSEC_PER_SEC;
	ks_prom__feed(p, r, 1);
	assert_int_equal(ks_prom__expire(p, 12 * KS_NSEC_PER_SEC), 2);
	assert_int_equal(ks_prom__nseries(p), 2);
	r[0] = exitrec("new", "0", "io", 0);
	r[0].ts = 21 * KS_NSEC_PER_SEC;
	ks_prom__feed(p, r, 1);
	assert_int_equal(ks_prom__nseries(p), 3);
	t = ks_prom__render(p, NULL, NULL);
	assert_null(strstr(t, "vm=\"old\""));
	assert_true(value_of(t, "kvmscope_vm_exits_total{hostname=\"h\",vm=\"live\","
				"vmuuid=\"\",vcpu=\"0\",vleavereason=\"hlt\"} ") == 1);
	assert_true(value_of(t, "kvmscope_vm_exits_total{hostname=\"h\",vm=\"new\","
				"vmuuid=\"\",vcpu=\"0\",vleavereason=\"io\"} ") == 1);
	assert_true(value_of(t, "kvmscope_prom_series_expired_total{hostname=\"h\"} ") == 2);
	assert_true(value_of(t, "kvmscope_prom_series_dropped_total{hostname=\"h\"} ") == 1);
	assert_true(value_of(t, "kvmscope_prom_series{hostname=\"h\"} ") == 3);
	free(t);
	ks_prom__free(p);
}

/* The exporter's families and another module's, in one writer: the
 * other family follows, labelled with the exporter's hostname. */
static void test_emit_shared(void **state)
{
	struct ks_prom *p = ks_prom__new(0);
	struct ks_emit *m = ks_emit__new(NULL);
	struct ks_prom_label l[2] = { { "hostname", NULL }, { "source", "x" } };
	char *t, *last;
	size_t n;

	(void)state;
	assert_non_null(m);
	ks_prom__set_hostname(p, "h\"1");
	ks_prom__emit(p, NULL, m);
	l[0].value = ks_prom__hostname(p);
	assert_string_equal(l[0].value, "h\"1");
	ks_emit__family(m, "b_total", "Other.", KS_PROM_COUNTER);
	ks_emit__value(m, l, 2, 2);
	ks_emit__end(m);
	assert_int_equal(ks_emit__err(m), 0);
	t = ks_emit__take_text(m, &n);
	assert_non_null(t);
	assert_int_equal(n, strlen(t));
	assert_true(value_of(t, "kvmscope_prom_series{hostname=\"h\\\"1\"} ") == 0);
	last = strstr(t, "# HELP b_total Other.\n# TYPE b_total counter\n"
		      "b_total{hostname=\"h\\\"1\",source=\"x\"} 2\n");
	assert_non_null(last);
	assert_int_equal((size_t)(last - t) + strlen(last), n);
	assert_null(strstr(last + 1, "# HELP kvmscope"));
	free(t);
	ks_emit__free(m);
	ks_prom__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_and_histograms),
		cmocka_unit_test(test_escaping_and_cap),
		cmocka_unit_test(test_tenant_label),
		cmocka_unit_test(test_label_check),
		cmocka_unit_test(test_build_info),
		cmocka_unit_test(test_disk_ops_without_latency),
		cmocka_unit_test(test_family_table),
		cmocka_unit_test(test_expiry_frees_the_cap),
		cmocka_unit_test(test_emit_shared),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	ks_sym_reset();
	return rc;
}
