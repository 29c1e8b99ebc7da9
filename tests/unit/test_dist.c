/* test_dist.c - the log-linear buckets and distributions.
 *
 * Bucket edges are checked exhaustively around every power of two; merges
 * are checked to be exact and associative against brute-force sums; the
 * quantile and mean estimates against sorted raw values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "engine/dist.h"

static void test_index_edges(void **state)
{
	(void)state;
	for (uint64_t v = 0; v < 16; v++) {
		assert_int_equal(ks_ll_index(v), v);
		assert_int_equal(ks_ll_lo((uint32_t)v), v);
		assert_int_equal(ks_ll_hi((uint32_t)v), v);
	}
	for (int e = 4; e < 64; e++) {
		uint64_t p = 1ULL << e;
		uint64_t around[] = { p - 1, p, p + 1, p + (p >> 4) - 1,
				      p + (p >> 4), (p << 1) - 1 };

		for (size_t k = 0; k < sizeof(around) / sizeof(around[0]); k++) {
			uint64_t v = around[k];
			uint32_t i = ks_ll_index(v);

			assert_true(i < KS_LL_NBUCKETS);
			assert_true(ks_ll_lo(i) <= v);
			assert_true(v <= ks_ll_hi(i));
			/* Relative width bounded by 1/16. */
			if (v >= 16)
				assert_true((ks_ll_hi(i) - ks_ll_lo(i) + 1) * 16 <=
					    ks_ll_lo(i));
		}
	}
	assert_int_equal(ks_ll_index(~0ULL), KS_LL_NBUCKETS - 1);
	/* Buckets tile the number line: each starts where the last ended. */
	for (uint32_t i = 1; i < KS_LL_NBUCKETS; i++)
		assert_true(ks_ll_lo(i) == ks_ll_hi(i - 1) + 1);
}

static void test_log2_cascade(void **state)
{
	(void)state;
	for (int e = 0; e < 64; e++) {
		assert_int_equal(ks_ll_log2(1ULL << e), e);
		if (e > 1)
			assert_int_equal(ks_ll_log2((1ULL << e) - 1), e - 1);
	}
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill(struct ks_dist *d, uint64_t *brute, uint64_t seed, int n)
{
	for (int k = 0; k < n; k++) {
		uint64_t v = rnd(&seed) >> (rnd(&seed) % 64);

		assert_int_equal(ks_dist__add(d, v, 1 + k % 3), 0);
		brute[ks_ll_index(v)] += 1 + k % 3;
	}
}

static void assert_equals_brute(const struct ks_dist *d, const uint64_t *b)
{
	uint64_t seen[KS_LL_NBUCKETS] = { 0 };
	size_t it = 0;
	uint32_t i;
	uint64_t c, last = 0;
	int first = 1;

	while (ks_dist__next(d, &it, &i, &c)) {
		assert_true(first || i > last);
		first = 0;
		last = i;
		seen[i] = c;
	}
	for (i = 0; i < KS_LL_NBUCKETS; i++)
		assert_true(seen[i] == b[i]);
}

static void test_merge_exact_associative(void **state)
{
	static uint64_t ba[KS_LL_NBUCKETS], bb[KS_LL_NBUCKETS],
		bc[KS_LL_NBUCKETS], sum[KS_LL_NBUCKETS];
	struct ks_dist a = KS_DIST_INIT, b = KS_DIST_INIT, c = KS_DIST_INIT;
	struct ks_dist l = KS_DIST_INIT, r = KS_DIST_INIT, bc2 = KS_DIST_INIT;

	(void)state;
	fill(&a, ba, 1, 500);
	fill(&b, bb, 2, 300);
	fill(&c, bc, 3, 700);
	for (uint32_t i = 0; i < KS_LL_NBUCKETS; i++)
		sum[i] = ba[i] + bb[i] + bc[i];
	/* (a + b) + c, with b compacted, ... */
	assert_int_equal(ks_dist__compact(&b), 0);
	assert_int_equal(ks_dist__merge(&l, &a), 0);
	assert_int_equal(ks_dist__merge(&l, &b), 0);
	assert_int_equal(ks_dist__merge(&l, &c), 0);
	/* ... equals a + (b + c), with the left side compacted first. */
	assert_int_equal(ks_dist__merge(&bc2, &b), 0);
	assert_int_equal(ks_dist__merge(&bc2, &c), 0);
	assert_int_equal(ks_dist__merge(&r, &a), 0);
	assert_int_equal(ks_dist__compact(&r), 0);
	assert_int_equal(ks_dist__merge(&r, &bc2), 0);
	assert_equals_brute(&l, sum);
	assert_equals_brute(&r, sum);
	assert_int_equal(ks_dist__total(&l), ks_dist__total(&r));
	ks_dist_fini(&a);
	ks_dist_fini(&b);
	ks_dist_fini(&c);
	ks_dist_fini(&l);
	ks_dist_fini(&r);
	ks_dist_fini(&bc2);
}

static void test_compact_roundtrip(void **state)
{
	static uint64_t b[KS_LL_NBUCKETS];
	struct ks_dist d = KS_DIST_INIT;

	(void)state;
	fill(&d, b, 9, 1000);
	assert_int_equal(ks_dist__compact(&d), 0);
	assert_true(d.sparse);
	assert_equals_brute(&d, b);
	/* Adding to a compact distribution densifies it again. */
	assert_int_equal(ks_dist__add(&d, 12345, 5), 0);
	b[ks_ll_index(12345)] += 5;
	assert_equals_brute(&d, b);
	ks_dist_fini(&d);
	/* An empty distribution compacts to nothing. */
	assert_int_equal(ks_dist__compact(&d), 0);
	assert_int_equal(ks_dist__total(&d), 0);
	ks_dist_fini(&d);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_quantile_bounded_error(void **state)
{
	enum { N = 20000 };
	static uint64_t raw[N];
	struct ks_dist d = KS_DIST_INIT;
	uint64_t s = 77;
	double mean = 0;

	(void)state;
	for (int k = 0; k < N; k++) {
		raw[k] = 1000 + rnd(&s) % 1000000;
		mean += (double)raw[k] / N;
		assert_int_equal(ks_dist__add(&d, raw[k], 1), 0);
	}
	qsort(raw, N, sizeof(raw[0]), cmp_u64);
	for (int p = 1; p < 100; p += 7) {
		double want = (double)raw[(size_t)(p / 100.0 * N)];
		double got = ks_dist__quantile(&d, p / 100.0);

		assert_true(got >= want * (1 - 1 / 16.0) - 1);
		assert_true(got <= want * (1 + 1 / 16.0) + 1);
	}
	assert_true(ks_dist__mean(&d) > mean * 0.97);
	assert_true(ks_dist__mean(&d) < mean * 1.03);
	assert_true(ks_dist__quantile(&(struct ks_dist)KS_DIST_INIT, 0.5) == 0);
	ks_dist_fini(&d);
}

static void test_bad_index(void **state)
{
	struct ks_dist d = KS_DIST_INIT;

	(void)state;
	assert_int_equal(ks_dist__add_idx(&d, KS_LL_NBUCKETS, 1), -22);
	assert_int_equal(ks_dist__total(&d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_edges),
		cmocka_unit_test(test_log2_cascade),
		cmocka_unit_test(test_merge_exact_associative),
		cmocka_unit_test(test_compact_roundtrip),
		cmocka_unit_test(test_quantile_bounded_error),
		cmocka_unit_test(test_bad_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
