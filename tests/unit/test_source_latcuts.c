/* test_source_latcuts.c - latency predicates stay exact on bucketed values.
 *
 * Random predicates on vm.exits' latency are parsed by the real predicate
 * code; their edges (ks_pred__edges) become the probe's cuts; random
 * latencies - many placed right at and around the constants - are turned
 * into (bucket, side) as the probe does (bpf/latcut.h) and back into a
 * value as the source does (latcuts.h).  The predicate must answer the
 * same for that value as for the exact latency, every time, while a bare
 * bucket lower bound (what records carried before) is shown to differ.
 * Set rules are checked too: sorted, unique, bucket lower bounds skipped,
 * overflow counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/predicate.h"
#include "engine/symtab.h"
#include "source/latcuts.h"

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool eval_at(const struct ks_pred *p, uint64_t lat)
{
	struct ks_record r;

	ks_record_init(&r, KS_M_VM_EXITS, 0, 1);
	ks_record_set(&r, KS_F_LATENCY, lat);
	return ks_pred__eval(p, &r);
}

__attribute__((format(printf, 1, 0)))
static struct ks_pred *vpred(const char *fmt, va_list ap)
{
	char js[256];
	struct ks_err err;
	struct ks_pred *p;

	vsnprintf(js, sizeof(js), fmt, ap);
	p = ks_pred__parse_str(js, KS_M_VM_EXITS, &err);
	if (!p)
		fail_msg("%s: %s", js, err.msg);
	return p;
}

__attribute__((format(printf, 1, 2)))
static struct ks_pred *pred(const char *fmt, ...)
{
	struct ks_pred *p;
	va_list ap;

	va_start(ap, fmt);
	p = vpred(fmt, ap);
	va_end(ap);
	return p;
}

static uint64_t probe_value(const struct ks_latcuts *c, uint64_t lat)
{
	uint32_t b = ks_ll_index(lat);
	uint32_t side = ks_latcut_side(c->v, c->n, ks_ll_lo(b), lat);

	return ks_latcuts_value(c, b, side);
}

static void test_exact_sides(void **state)
{
	static const char *const ops[] = { "gt", "ge", "lt", "le", "eq", "ne",
					   "range" };
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	unsigned int differ = 0;

	(void)state;
	for (int round = 0; round < 400; round++) {
		const char *f = ops[round % 7];
		uint64_t a = rnd(&s) % 2000000 + 1, b = a + rnd(&s) % 50000 + 1;
		struct ks_pred *p = round % 7 == 6 ?
			pred("{\"and\":[{\"ge\":[\"latency\",%llu]},"
			     "{\"lt\":[\"latency\",%llu]}]}",
			     (unsigned long long)a, (unsigned long long)b) :
			pred("{\"%s\":[\"latency\",%llu]}", f,
			     (unsigned long long)a);
		uint64_t e[8];
		size_t n = ks_pred__edges(p, KS_F_LATENCY, e, 8);
		struct ks_latcuts c;

		assert_true(n >= 1 && n <= 2);
		ks_latcuts_init(&c);
		ks_latcuts_add(&c, e, n);
		assert_int_equal(c.over, 0);
		for (int k = 0; k < 200; k++) {
			uint64_t near = (k & 1 ? a : b) + rnd(&s) % 9 - 4;
			uint64_t lat = k < 100 ? near : rnd(&s) % 4000000;
			uint64_t v = probe_value(&c, lat);

			assert_int_equal(ks_ll_index(v), ks_ll_index(lat));
			if (eval_at(p, v) != eval_at(p, lat))
				fail_msg("%s (%llu, %llu): latency %llu -> %llu",
					 f, (unsigned long long)a,
					 (unsigned long long)b,
					 (unsigned long long)lat,
					 (unsigned long long)v);
			differ += eval_at(p, ks_ll_lo(ks_ll_index(lat))) !=
				  eval_at(p, lat);
		}
		ks_pred__free(p);
	}
	/* Without the cuts, bucket lower bounds answer wrongly: the test
	 * would see it. */
	assert_true(differ > 100);
}

static void test_set_rules(void **state)
{
	uint64_t v[] = { 100001, 70000, 100001, 65536, 5, 900000, 1, 2, 3,
			 4000000, 4000001, 4000003, 12345678 };
	struct ks_latcuts c, d;

	(void)state;
	ks_latcuts_init(&c);
	ks_latcuts_add(&c, v, sizeof(v) / sizeof(v[0]));
	/* 65536 and 5, 1, 2, 3 are bucket lower bounds (exact below 16). */
	for (uint32_t i = 1; i < c.n; i++)
		assert_true(c.v[i - 1] < c.v[i]);
	assert_int_equal(c.n, 7);
	assert_int_equal(c.over, 0);
	assert_int_equal(c.v[0], 70000);
	ks_latcuts_add(&c, (uint64_t[]){ 70001, 70002 }, 2);
	assert_int_equal(c.n, KS_LATCUT_MAX);
	assert_int_equal(c.over, 1);
	d = c;
	assert_true(ks_latcuts_equal(&c, &d));
	d.v[3]++;
	assert_false(ks_latcuts_equal(&c, &d));
	/* A side beyond the cuts in the bucket keeps the last one in it. */
	assert_int_equal(ks_latcuts_value(&c, ks_ll_index(70000), 9), 70001);
	assert_int_equal(ks_latcuts_value(&c, ks_ll_index(70000), 0),
			 ks_ll_lo(ks_ll_index(70000)));
}

static void test_edges(void **state)
{
	struct ks_pred *p = pred("{\"or\":[{\"gt\":[\"latency\",%llu]},"
				 "{\"eq\":[\"vcpu\",\"%llu\"]}]}", 500ULL, 3ULL);
	uint64_t e[4];

	(void)state;
	assert_int_equal(ks_pred__edges(p, KS_F_LATENCY, e, 4), 1);
	assert_int_equal(e[0], 501);
	assert_int_equal(ks_pred__edges(p, KS_F_VCPU, e, 4), 0);
	assert_int_equal(ks_pred__edges(NULL, KS_F_LATENCY, e, 4), 0);
	ks_pred__free(p);
	p = pred("{\"and\":[{\"le\":[\"latency\",%llu]},"
		 "{\"ne\":[\"latency\",%llu]}]}", 7000ULL, 20ULL);
	assert_int_equal(ks_pred__edges(p, KS_F_LATENCY, e, 4), 3);
	assert_int_equal(e[0], 7001);
	assert_int_equal(e[1], 20);
	assert_int_equal(e[2], 21);
	/* Room for one: the count says how many there were. */
	assert_int_equal(ks_pred__edges(p, KS_F_LATENCY, e, 1), 3);
	ks_pred__free(p);
}

static int teardown(void **state)
{
	(void)state;
	ks_sym_reset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_exact_sides, teardown),
		cmocka_unit_test_teardown(test_set_rules, teardown),
		cmocka_unit_test_teardown(test_edges, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
