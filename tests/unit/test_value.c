/* test_value.c - values in CA's four shapes, their merge and their order.
 *
 * The JSON of each arity is compared with CA's documented shapes (a
 * number; {"key":n}; [[[lo,hi],n],...] sorted, inclusive, zero buckets
 * left out; {"key":[[[lo,hi],n],...]}) with bucket bounds worked out by
 * hand from the log-linear scheme: 5 is exact, 17 is [17,17], 1000 lies in
 * [992,1023] (2^9 + 15 * 2^5 .. 2^10 - 1).  Merges are checked to give
 * the same JSON as adding the same observations into one value, whichever
 * form (dense or compacted) the distributions are in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/symtab.h"
#include "engine/value.h"

/* CA's JSON text of v, compact, keys sorted. */
static char *text(const struct ks_value *v)
{
	json_t *j = ks_value__to_json(v);
	char *s;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static void assert_json(const struct ks_value *v, const char *want)
{
	char *s = text(v);

	if (strcmp(s, want))
		fail_msg("got %s, want %s", s, want);
	free(s);
}

static void add(struct ks_value *v, const char *key, uint64_t x, uint64_t n)
{
	uint32_t k = key ? ks_sym_intern(key) : 0;

	assert_int_equal(ks_value__add(v, k, ks_ll_index(x), n), 0);
}

static void test_scalar(void **state)
{
	struct ks_value v;

	(void)state;
	ks_value_init(&v, KS_ARITY_SCALAR);
	assert_json(&v, "0");
	add(&v, NULL, 0, 3);
	add(&v, NULL, 0, 570);
	assert_json(&v, "573");
	ks_value_fini(&v);
}

static void test_discrete(void **state)
{
	struct ks_value v;

	(void)state;
	ks_value_init(&v, KS_ARITY_DISCRETE);
	assert_json(&v, "{}");
	add(&v, "io", 0, 2);
	add(&v, "hlt", 0, 1);
	add(&v, "io", 0, 1);
	assert_json(&v, "{\"hlt\":1,\"io\":3}");
	assert_int_equal(v.total, 4);
	ks_value_fini(&v);
}

static void test_numeric(void **state)
{
	struct ks_value v;

	(void)state;
	ks_value_init(&v, KS_ARITY_NUMERIC);
	assert_json(&v, "[]");
	add(&v, NULL, 1000, 1);
	add(&v, NULL, 5, 1);
	add(&v, NULL, 17, 1);
	add(&v, NULL, 5, 1);
	add(&v, NULL, 1023, 1);
	/* Sorted by range, inclusive bounds, counts summed per bucket. */
	assert_json(&v, "[[[5,5],2],[[17,17],1],[[992,1023],2]]");
	assert_int_equal(v.total, 5);
	/* Compacting changes the form, not the value. */
	assert_int_equal(ks_value__compact(&v), 0);
	assert_json(&v, "[[[5,5],2],[[17,17],1],[[992,1023],2]]");
	ks_value_fini(&v);
}

static void test_discrete_numeric(void **state)
{
	struct ks_value v;

	(void)state;
	ks_value_init(&v, KS_ARITY_DISCRETE_NUMERIC);
	add(&v, "io", 5, 1);
	add(&v, "hlt", 1000, 3);
	add(&v, "io", 17, 2);
	assert_json(&v, "{\"hlt\":[[[992,1023],3]],"
			"\"io\":[[[5,5],1],[[17,17],2]]}");
	/* The whole distribution is kept beside the keys. */
	assert_int_equal(ks_dist__total(&v.dist), 6);
	assert_int_equal(v.total, 6);
	ks_value_fini(&v);
}

/* JSON integers are signed: the top bucket ends at INT64_MAX, as CA's
 * last llquantize range did, instead of wrapping negative. */
static void test_top_bucket_clamped(void **state)
{
	struct ks_value v;
	char *s;

	(void)state;
	ks_value_init(&v, KS_ARITY_NUMERIC);
	add(&v, NULL, UINT64_MAX, 1);
	s = text(&v);
	assert_non_null(strstr(s, ",9223372036854775807],1]]"));
	assert_null(strchr(s, '-'));
	free(s);
	ks_value_fini(&v);
}

/* a += b gives what adding b's observations into a directly gives. */
static void test_merge_equals_adding(void **state)
{
	static const struct { const char *key; uint64_t x, n; } obs[] = {
		{ "io", 5, 1 }, { "hlt", 1000, 2 }, { "io", 900000, 1 },
		{ "npf", 17, 4 }, { "io", 5, 3 }, { "hlt", 3, 1 },
	};
	struct ks_value a, b, all;
	char *want, *got;

	(void)state;
	ks_value_init(&a, KS_ARITY_DISCRETE_NUMERIC);
	ks_value_init(&b, KS_ARITY_DISCRETE_NUMERIC);
	ks_value_init(&all, KS_ARITY_DISCRETE_NUMERIC);
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++) {
		add(i % 2 ? &a : &b, obs[i].key, obs[i].x, obs[i].n);
		add(&all, obs[i].key, obs[i].x, obs[i].n);
	}
	/* One side compacted, as an old slot merged into a query is. */
	assert_int_equal(ks_value__compact(&b), 0);
	assert_int_equal(ks_value__merge(&a, &b), 0);
	want = text(&all);
	got = text(&a);
	assert_string_equal(got, want);
	assert_int_equal(a.total, all.total);
	assert_int_equal(ks_dist__total(&a.dist), ks_dist__total(&all.dist));
	free(want);
	free(got);
	ks_value_fini(&a);
	ks_value_fini(&b);
	ks_value_fini(&all);
}

/* Sorting orders entries by key string and keeps every lookup working. */
static void test_sort_keeps_index(void **state)
{
	static const char *const keys[] = { "zeta", "alpha", "mu", "beta",
					    "omega", "delta", "kappa", "pi",
					    "eta", "iota", "chi", "rho" };
	const size_t n = sizeof(keys) / sizeof(keys[0]);
	struct ks_value v;

	(void)state;
	ks_value_init(&v, KS_ARITY_DISCRETE);
	for (size_t i = 0; i < n; i++)
		add(&v, keys[i], 0, i + 1);
	ks_value__sort(&v);
	for (size_t k = 1; k < v.n; k++)
		assert_true(strcmp(ks_sym_str(v.e[k - 1].key),
				   ks_sym_str(v.e[k].key)) < 0);
	for (size_t i = 0; i < n; i++) {
		const struct ks_value_entry *e =
			ks_value__find(&v, ks_sym_find(keys[i]));

		assert_non_null(e);
		assert_int_equal(e->count, i + 1);
	}
	assert_null(ks_value__find(&v, ks_sym_intern("absent")));
	/* Adding after a sort still finds the existing entry. */
	add(&v, "mu", 0, 10);
	assert_int_equal(ks_value__find(&v, ks_sym_find("mu"))->count, 13);
	assert_int_equal(v.n, n);
	ks_value_fini(&v);
}

/* A copy shows and finds what the original does, keeps its order (and
 * whether it is sorted), and lives on its own: freeing the original, or
 * adding to the copy, leaves the other as it was. */
static void test_copy(void **state)
{
	static const char *const keys[] = { "io", "hlt", "npf", "cpuid" };
	struct ks_value v, c;
	char *want, *got;

	(void)state;
	ks_value_init(&v, KS_ARITY_DISCRETE_NUMERIC);
	for (size_t i = 0; i < 4; i++)
		for (uint64_t x = 1; x < 5000; x *= 3)
			add(&v, keys[i], x * (i + 1), i + 1);
	assert_int_equal(ks_value__copy(&c, &v), 0);
	assert_int_equal(c.nsorted, 0);
	ks_value__sort(&v);
	assert_int_equal(v.nsorted, v.n);
	ks_value_fini(&c);
	assert_int_equal(ks_value__compact(&v), 0);	/* sparse dists */
	assert_int_equal(ks_value__copy(&c, &v), 0);
	assert_int_equal(c.nsorted, c.n);
	want = text(&v);
	got = text(&c);
	assert_string_equal(got, want);
	free(got);
	for (size_t k = 0; k < v.n; k++)
		assert_int_equal(c.e[k].key, v.e[k].key);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(ks_value__find(&c, ks_sym_find(keys[i]))->count,
				 ks_value__find(&v, ks_sym_find(keys[i]))->count);
	ks_value_fini(&v);
	add(&c, "io", 7, 1);
	add(&c, "mmio", 7, 1);
	assert_int_equal(c.n, 5);
	assert_true(c.nsorted < c.n);
	ks_value__sort(&c);
	for (size_t k = 1; k < c.n; k++)
		assert_true(strcmp(ks_sym_str(c.e[k - 1].key),
				   ks_sym_str(c.e[k].key)) < 0);
	got = text(&c);
	assert_string_not_equal(got, want);
	free(got);
	free(want);
	ks_value_fini(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalar),
		cmocka_unit_test(test_discrete),
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_discrete_numeric),
		cmocka_unit_test(test_top_bucket_clamped),
		cmocka_unit_test(test_merge_equals_adding),
		cmocka_unit_test(test_sort_keeps_index),
		cmocka_unit_test(test_copy),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	ks_sym_reset();
	return rc;
}
