/* test_clock.c - the clock helpers against the system clocks: deadlines
 * normalised and as far ahead as asked, and the wall-minus-monotonic
 * offset bracketed by reads on either side, kept while it still holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "util/clock.h"

static int64_t ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * KS_NS_PER_S + t.tv_nsec;
}

static void test_deadline(void **state)
{
	/* Across a second's carry and beyond: every nanosecond count lands
	 * normalised, and between the readings taken around it. */
	static const int64_t ahead[] = { 0, 1, 999999999, 1000000000,
					 1500000000, 7 * KS_NS_PER_S + 3 };

	(void)state;
	for (size_t i = 0; i < sizeof(ahead) / sizeof(ahead[0]); i++) {
		int64_t before = ks_clock_mono_ns();
		struct timespec t = ks_clock_deadline(CLOCK_MONOTONIC,
						      ahead[i]);
		int64_t after = ks_clock_mono_ns();

		assert_true(t.tv_nsec >= 0 && t.tv_nsec < KS_NS_PER_S);
		assert_true(ts_ns(t) >= before + ahead[i]);
		assert_true(ts_ns(t) <= after + ahead[i]);
	}
}

static void test_wall_offset(void **state)
{
	int64_t m0, w, m1;
	uint64_t off, again, moved;

	(void)state;
	m0 = ks_clock_mono_ns();
	off = ks_clock_wall_offset(0);
	w = ks_clock_wall_ns();
	m1 = ks_clock_mono_ns();
	/* Within the span of the reads around it. */
	assert_true((int64_t)off >= w - m1 - (m1 - m0));
	assert_true((int64_t)off <= w - m0 + (m1 - m0));
	/* An offset that still holds is kept as it is. */
	again = ks_clock_wall_offset(off);
	assert_true(again == off ||
		    (again > off ? again - off : off - again) < 50000000);
	/* One a second off is replaced. */
	moved = ks_clock_wall_offset(off + (uint64_t)KS_NS_PER_S);
	assert_true(moved != off + (uint64_t)KS_NS_PER_S);
	assert_true((moved > off ? moved - off : off - moved) <
		    (uint64_t)KS_NS_PER_S / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_wall_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
