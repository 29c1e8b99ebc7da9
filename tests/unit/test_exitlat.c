/* test_exitlat.c - exits by reason for stat -L (source/exitlat.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/symtab.h"
#include "source/exitlat.h"

static struct ks_record exit_rec(const char *reason, int64_t lat,
				 uint64_t n)
{
	struct ks_record r;

	ks_record_init(&r, KS_M_VM_EXITS, 1, n);
	if (reason)
		ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern(reason));
	if (lat >= 0)
		ks_record_set(&r, KS_F_LATENCY, (uint64_t)lat);
	return r;
}

static void test_rows(void **state)
{
	struct ks_exitlat *t = ks_exitlat__new();
	const struct ks_exitlat_row *rows;
	struct ks_exitlat_row all;
	struct ks_record r;
	size_t n;

	(void)state;
	r = exit_rec("hlt", 1000000, 2);	/* 2 long halts */
	assert_int_equal(ks_exitlat__add(t, &r), 0);
	r = exit_rec("io", 1000, 5);
	assert_int_equal(ks_exitlat__add(t, &r), 0);
	r = exit_rec("io", 3000, 1);
	assert_int_equal(ks_exitlat__add(t, &r), 0);
	r = exit_rec("io", -1, 4);		/* no latency: counted only */
	assert_int_equal(ks_exitlat__add(t, &r), 0);
	r = exit_rec(NULL, 50, 1);		/* no reason */
	assert_int_equal(ks_exitlat__add(t, &r), 0);
	ks_record_init(&r, KS_M_VM_IRQS, 1, 7);	/* not an exit */
	assert_int_equal(ks_exitlat__add(t, &r), 0);

	n = ks_exitlat__rows(t, &rows, &all);
	assert_int_equal(n, 3);
	/* By count: io (10), hlt (2), then the one without a reason. */
	assert_string_equal(ks_sym_str(rows[0].reason), "io");
	assert_int_equal(rows[0].count, 10);
	assert_int_equal(rows[0].timed, 6);
	assert_int_equal(rows[0].min_ns, 1000);
	assert_int_equal(rows[0].max_ns, 3000);
	assert_true(rows[0].total_ns == 8000);
	assert_true(ks_exitlat_mean(&rows[0]) == 8000.0 / 6);
	/* The 99th percentile stays within what was seen. */
	assert_true(ks_exitlat_quantile(&rows[0], 0.99) <= 3000);
	assert_true(ks_exitlat_quantile(&rows[0], 0.01) >= 1000);
	assert_string_equal(ks_sym_str(rows[1].reason), "hlt");
	assert_int_equal(rows[2].reason, 0);
	assert_int_equal(all.count, 13);
	assert_int_equal(all.timed, 9);
	assert_int_equal(all.min_ns, 50);
	assert_int_equal(all.max_ns, 1000000);
	assert_true(all.total_ns == 2000000 + 8000 + 50);

	ks_exitlat__reset(t);
	assert_int_equal(ks_exitlat__rows(t, &rows, &all), 0);
	assert_int_equal(all.count, 0);
	ks_exitlat__free(t);
	ks_sym_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
