/* test_carry.c - the fleet's counter differencing across range queries.
 *
 * One counter's samples are split into successive calls the way the
 * fleet's polls split them (call k + 1 starts at call k's last step);
 * whatever the split and wherever the gaps fall, the windows' increases
 * must sum to what differencing the whole series at once gives, which
 * with no reset is the counter's rise since its first sample.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fleet/carry.h"

/* Sums every window's increase when at[0..n] is fetched in calls of step
 * steps each, carrying through c under key. */
static double split_sum(struct ks_carry *c, const char *key,
			const double *at, size_t n, size_t step)
{
	double d[64], sum = 0;

	for (size_t s = 0; s < n; s += step) {
		size_t m = s + step <= n ? step : n - s;
		double last = ks_carry_increases(at + s, m,
						 ks_carry__last(c, key), d);

		if (!isnan(last))
			assert_int_equal(ks_carry__set(c, key, last,
						       (int64_t)(s + m)), 0);
		for (size_t i = 0; i < m; i++)
			sum += d[i];
	}
	return sum;
}

static void test_gap_at_boundary(void **state)
{
	/* Absent exactly at step 4, where the second call starts: without
	 * the carry, 1000+ would be counted from 0 at step 5. */
	double at[9] = { 1000, 1010, 1020, 1030, NAN, 1050, 1060, 1070, 1080 };
	struct ks_carry *c = ks_carry__new();

	(void)state;
	assert_non_null(c);
	assert_true(split_sum(c, "s", at, 8, 4) == 80);
	ks_carry__free(c);
}

static void test_any_split_any_gaps(void **state)
{
	double at[33];

	(void)state;
	srand(7);
	for (int round = 0; round < 200; round++) {
		double v = 500, first = NAN, lastv = NAN;

		for (size_t i = 0; i <= 32; i++) {
			v += rand() % 20;
			at[i] = rand() % 4 == 0 ? NAN : v;
			if (!isnan(at[i])) {
				if (isnan(first))
					first = at[i];
				lastv = at[i];
			}
		}
		for (size_t step = 1; step <= 32; step++) {
			struct ks_carry *c = ks_carry__new();
			double want = isnan(first) ? 0 : lastv - first;

			/* A series first seen after step 0 is born in the
			 * range and counts from 0, split or not. */
			if (!isnan(first) && isnan(at[0]))
				want = lastv;
			assert_true(split_sum(c, "k", at, 32, step) == want);
			ks_carry__free(c);
		}
	}
}

static void test_reset_counts_from_zero(void **state)
{
	double at[7] = { 100, 110, 120, 5, 15, NAN, 30 };
	struct ks_carry *c = ks_carry__new();

	(void)state;
	/* 10 + 10 + 5 (the reset) + 10 + 15. */
	assert_true(split_sum(c, "r", at, 6, 3) == 50);
	ks_carry__free(c);
}

static void test_bound_and_expiry(void **state)
{
	struct ks_carry *c = ks_carry__new();
	char key[32];

	(void)state;
	for (int i = 0; i < KS_CARRY_MAX; i++) {
		snprintf(key, sizeof(key), "s%d", i);
		assert_int_equal(ks_carry__set(c, key, i, i % 2 ? 100 : 10), 0);
	}
	assert_int_equal(ks_carry__set(c, "one-more", 1, 100), -ENOSPC);
	assert_int_equal(ks_carry__dropped(c), 1);
	assert_true(ks_carry__last(c, "s7") == 7);
	ks_carry__expire(c, 50);
	assert_int_equal(ks_carry__count(c), KS_CARRY_MAX / 2);
	assert_true(isnan(ks_carry__last(c, "s8")));
	assert_true(ks_carry__last(c, "s9") == 9);
	assert_int_equal(ks_carry__set(c, "one-more", 1, 100), 0);
	assert_true(ks_carry__last(c, "one-more") == 1);
	ks_carry__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gap_at_boundary),
		cmocka_unit_test(test_any_split_any_gaps),
		cmocka_unit_test(test_reset_counts_from_zero),
		cmocka_unit_test(test_bound_and_expiry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
