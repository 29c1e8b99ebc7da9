/* test_dataset.c - symtab, values and the slot ring.
 *
 * Interval metrics sum into granularity-aligned slots; point metrics keep
 * the first tick per source; data older than the retention is refused;
 * the ring wraps and resizes without losing the newest data; values over
 * an interval equal the brute-force sum of what was added.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/dataset.h"
#include "engine/symtab.h"

#define NS KS_NSEC_PER_SEC

static void test_symtab(void **state)
{
	uint32_t a, b;

	(void)state;
	a = ks_sym_intern("io");
	b = ks_sym_intern("hlt");
	assert_true(a && b && a != b);
	assert_int_equal(ks_sym_intern("io"), a);
	assert_int_equal(ks_sym_find("hlt"), b);
	assert_int_equal(ks_sym_find("nope"), 0);
	assert_string_equal(ks_sym_str(a), "io");
	assert_string_equal(ks_sym_str(0), "");
	assert_string_equal(ks_sym_str(999999), "");
	for (int i = 0; i < 5000; i++) {
		char s[16];

		snprintf(s, sizeof(s), "k%d", i);
		assert_true(ks_sym_intern(s) != 0);
	}
	assert_int_equal(ks_sym_intern("io"), a);
	assert_string_equal(ks_sym_str(ks_sym_find("k4999")), "k4999");
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ks_sym_intern(big), 0);
}

static struct ks_record rec(uint64_t ts, uint32_t key, uint64_t lat)
{
	struct ks_record r;

	ks_record_init(&r, KS_M_VM_EXITS, ts, 1);
	ks_record_set(&r, KS_F_VLEAVEREASON, key);
	ks_record_set(&r, KS_F_LATENCY, lat);
	return r;
}

static struct ks_dataset *mk(enum ks_arity a, uint32_t g, uint32_t n,
			     bool point)
{
	struct ks_dataset_conf c = {
		.arity = a, .discrete = ks_arity_discrete(a) ? KS_F_VLEAVEREASON : -1,
		.numeric = ks_arity_numeric(a) ? KS_F_LATENCY : -1,
		.granularity = g, .nslots = n, .point = point,
	};
	return ks_dataset__new(&c);
}

static void test_interval_sum(void **state)
{
	struct ks_dataset *ds = mk(KS_ARITY_DISCRETE_NUMERIC, 1, 60, false);
	uint32_t io = ks_sym_intern("io"), hlt = ks_sym_intern("hlt");
	struct ks_value v;
	const struct ks_value_entry *e;
	struct ks_record r;

	(void)state;
	for (int s = 100; s < 110; s++)
		for (int k = 0; k < s - 99; k++) {
			r = rec((uint64_t)s * NS + (uint64_t)k * 1000, k % 2 ? hlt : io,
				1000 + (uint64_t)k);
			assert_int_equal(ks_dataset__add(ds, &r), 0);
		}
	/* Seconds 100..104 held 1+2+3+4+5 records. */
	assert_int_equal(ks_dataset__value(ds, 100, 5, &v), 0);
	assert_int_equal(v.total, 15);
	e = ks_value__find(&v, io);
	assert_non_null(e);
	assert_int_equal(e->count, 1 + 1 + 2 + 2 + 3);
	assert_int_equal(ks_dist__total(&e->dist), e->count);
	assert_int_equal(ks_dist__total(&v.dist), 15);
	/* Sorted by key string: hlt before io. */
	assert_int_equal(v.e[0].key, hlt);
	ks_value_fini(&v);
	assert_int_equal(ks_dataset__newest(ds), 109);
	assert_int_equal(ks_dataset__oldest(ds), 100);
	/* An empty interval is a zero value, not an error. */
	assert_int_equal(ks_dataset__value(ds, 50, 10, &v), 0);
	assert_int_equal(v.total, 0);
	ks_value_fini(&v);
	ks_dataset__free(ds);
}

static void test_granularity_alignment(void **state)
{
	struct ks_dataset *ds = mk(KS_ARITY_SCALAR, 5, 10, false);
	struct ks_value v;

	(void)state;
	for (int s = 100; s < 120; s++) {
		struct ks_record r = rec((uint64_t)s * NS, 0, 0);

		assert_int_equal(ks_dataset__add(ds, &r), 0);
	}
	/* [103, 106) rounds out to the slots starting 100 and 105. */
	assert_int_equal(ks_dataset__value(ds, 103, 3, &v), 0);
	assert_int_equal(v.total, 10);
	ks_value_fini(&v);
	assert_int_equal(ks_dataset__newest(ds), 115);
	ks_dataset__free(ds);
}

static void test_retention_and_wrap(void **state)
{
	struct ks_dataset *ds = mk(KS_ARITY_SCALAR, 1, 10, false);
	struct ks_record r;
	struct ks_value v;

	(void)state;
	for (int s = 0; s < 25; s++) {
		r = rec((uint64_t)s * NS, 0, 0);
		assert_int_equal(ks_dataset__add(ds, &r), 0);
	}
	/* Only the last 10 seconds remain; older adds are refused. */
	assert_int_equal(ks_dataset__value(ds, 0, 25, &v), 0);
	assert_int_equal(v.total, 10);
	ks_value_fini(&v);
	r = rec(14 * NS, 0, 0);
	assert_int_equal(ks_dataset__add(ds, &r), -ERANGE);
	r = rec(15 * NS, 0, 0);
	assert_int_equal(ks_dataset__add(ds, &r), 0);
	/* Shrinking keeps the newest slots. */
	assert_int_equal(ks_dataset__resize(ds, 3), 0);
	assert_int_equal(ks_dataset__value(ds, 0, 25, &v), 0);
	assert_int_equal(v.total, 3);
	ks_value_fini(&v);
	assert_int_equal(ks_dataset__resize(ds, 20), 0);
	for (int s = 25; s < 40; s++) {
		r = rec((uint64_t)s * NS, 0, 0);
		assert_int_equal(ks_dataset__add(ds, &r), 0);
	}
	assert_int_equal(ks_dataset__value(ds, 0, 100, &v), 0);
	assert_int_equal(v.total, 3 + 15);
	ks_value_fini(&v);
	ks_dataset__free(ds);
}

static void test_point_first_wins(void **state)
{
	struct ks_dataset *ds = mk(KS_ARITY_SCALAR, 5, 10, true);
	struct ks_record r;
	struct ks_value v;

	(void)state;
	/* Source 0 reports 3 then 4 (two records per tick) in one 5 s slot;
	 * source 1 reports 7 once.  The slot keeps 3 + 7. */
	for (int tick = 0; tick < 2; tick++) {
		for (int k = 0; k < 2; k++) {
			r = rec((100 + (uint64_t)tick) * NS, 0, 0);
			r.value = tick ? 2 : 1 + (uint64_t)k;
			assert_int_equal(ks_dataset__add(ds, &r), 0);
		}
	}
	r = rec(101 * NS, 0, 0);
	r.source = 1;
	r.value = 7;
	assert_int_equal(ks_dataset__add(ds, &r), 0);
	assert_int_equal(ks_dataset__value(ds, 100, 5, &v), 0);
	assert_int_equal(v.total, 3 + 7);
	ks_value_fini(&v);
	/* Over several slots a level is not summed: 9 in the next slot
	 * leaves the value from 100 at the first slot's 10, and an interval
	 * starting before any data takes the first slot holding some. */
	r = rec(105 * NS, 0, 0);
	r.value = 9;
	assert_int_equal(ks_dataset__add(ds, &r), 0);
	assert_int_equal(ks_dataset__value(ds, 100, 10, &v), 0);
	assert_int_equal(v.total, 10);
	ks_value_fini(&v);
	assert_int_equal(ks_dataset__value(ds, 90, 20, &v), 0);
	assert_int_equal(v.total, 10);
	ks_value_fini(&v);
	assert_int_equal(ks_dataset__value(ds, 105, 10, &v), 0);
	assert_int_equal(v.total, 9);
	ks_value_fini(&v);
	ks_dataset__free(ds);
}

static void test_slots_iterate_and_compact(void **state)
{
	struct ks_dataset *ds = mk(KS_ARITY_NUMERIC, 1, 3600, false);
	size_t it = 0, n = 0, before;
	const struct ks_value *v;
	int64_t t, last = -1;

	(void)state;
	for (int s = 0; s < 100; s++)
		for (int k = 0; k < 50; k++) {
			struct ks_record r = rec((uint64_t)s * NS, 0,
						 (uint64_t)k * 997 + 10);

			assert_int_equal(ks_dataset__add(ds, &r), 0);
		}
	while (ks_dataset__next_slot(ds, &it, &t, &v)) {
		assert_true(t > last);
		last = t;
		assert_int_equal(v->total, 50);
		/* All but the two newest slots are compacted. */
		assert_true(v->dist.sparse == (t < 98));
		n++;
	}
	assert_int_equal(n, 100);
	before = ks_dataset__bytes(ds);
	assert_true(before > 0);
	ks_dataset__free(ds);
}

/* A closed slot is sorted once and copied as it is; the answer is the
 * one the merge gives (the newest slots, and a closed slot a late record
 * gave a new key, still go through the merge): keys in order either way. */
static void test_single_slot_copy(void **state)
{
	struct ks_dataset *ds = mk(KS_ARITY_DISCRETE_NUMERIC, 1, 60, false);
	static const char *const names[] = { "npf", "io", "hlt", "cpuid" };
	struct ks_value v, w;
	struct ks_record r;

	(void)state;
	for (int s = 100; s < 104; s++)
		for (int k = 0; k < 4; k++) {
			r = rec((uint64_t)s * NS, ks_sym_intern(names[k]),
				1000 * (uint64_t)(k + s));
			assert_int_equal(ks_dataset__add(ds, &r), 0);
		}
	/* 100 and 101 are closed (two behind the newest), 103 is not. */
	for (int s = 100; s < 104; s++) {
		assert_int_equal(ks_dataset__value(ds, s, 1, &v), 0);
		assert_int_equal(v.total, 4);
		assert_int_equal(v.nsorted, v.n);
		for (size_t k = 1; k < v.n; k++)
			assert_true(strcmp(ks_sym_str(v.e[k - 1].key),
					   ks_sym_str(v.e[k].key)) < 0);
		/* what the merge makes of it */
		ks_value_init(&w, v.arity);
		assert_int_equal(ks_value__merge(&w, &v), 0);
		ks_value__sort(&w);
		assert_int_equal(w.n, v.n);
		assert_int_equal(w.total, v.total);
		assert_int_equal(ks_dist__total(&w.dist),
				 ks_dist__total(&v.dist));
		for (size_t k = 0; k < v.n; k++) {
			assert_int_equal(w.e[k].key, v.e[k].key);
			assert_int_equal(w.e[k].count, v.e[k].count);
			assert_int_equal(ks_dist__total(&w.e[k].dist),
					 ks_dist__total(&v.e[k].dist));
		}
		ks_value_fini(&w);
		ks_value_fini(&v);
	}
	/* A late record with a new key into closed 100: merged and sorted. */
	r = rec(100 * NS + 5, ks_sym_intern("aaa"), 10);
	assert_int_equal(ks_dataset__add(ds, &r), 0);
	assert_int_equal(ks_dataset__value(ds, 100, 1, &v), 0);
	assert_int_equal(v.total, 5);
	assert_int_equal(v.n, 5);
	assert_string_equal(ks_sym_str(v.e[0].key), "aaa");
	assert_int_equal(v.nsorted, v.n);
	ks_value_fini(&v);
	ks_dataset__free(ds);
}

/* The bytes kept as slots close and recycle are what measuring every
 * slot gives, through seconds in order, late records (new keys into
 * closed slots), jumps, a restore, a resize and a clear. */
static void test_bytes_kept(void **state)
{
	struct ks_dataset *ds = mk(KS_ARITY_DISCRETE_NUMERIC, 1, 30, false);
	struct ks_value v;
	struct ks_record r;
	uint64_t x = 12345;
	char key[16];
	int64_t sec = 1000;

	(void)state;
	for (int step = 0; step < 3000; step++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		switch ((x >> 33) % 16) {
		case 0:	/* a late record, maybe a new key */
			snprintf(key, sizeof(key), "k%u", (unsigned)(x >> 40) % 40);
			r = rec((uint64_t)(sec - (int64_t)((x >> 20) % 40)) * NS,
				ks_sym_intern(key), (x >> 8) % 100000);
			break;
		case 1:	/* a jump */
			sec += (int64_t)((x >> 24) % 50);
			/* fall through */
		default:
			sec += (x >> 45) % 2;
			snprintf(key, sizeof(key), "k%u", (unsigned)(x >> 40) % 8);
			r = rec((uint64_t)sec * NS, ks_sym_intern(key),
				(x >> 8) % 100000);
		}
		(void)ks_dataset__add(ds, &r);
		if (step == 1500) {
			ks_value_init(&v, KS_ARITY_DISCRETE_NUMERIC);
			assert_int_equal(ks_value__add(&v, ks_sym_intern("restored"),
						       3, 7), 0);
			assert_int_equal(ks_dataset__put_slot(ds, sec - 10, &v), 0);
			ks_value_fini(&v);
		}
		if (step == 2000)
			assert_int_equal(ks_dataset__resize(ds, 12), 0);
		if (step == 2500)
			ks_dataset__clear(ds);
		assert_int_equal(ks_dataset__bytes(ds), ks_dataset__bytes_scan(ds));
	}
	ks_dataset__free(ds);
}

/* A saved blob loads back only into a dataset of its own shape: entries
 * into a scalar or distributions into a count would be data the value
 * cannot show (and that no save ever wrote). */
static void test_load_checks_arity(void **state)
{
	static const enum ks_arity other[] = { KS_ARITY_SCALAR,
					       KS_ARITY_DISCRETE,
					       KS_ARITY_NUMERIC };
	struct ks_dataset *src = mk(KS_ARITY_DISCRETE_NUMERIC, 1, 60, false);
	struct ks_dataset *dst;
	uint32_t io = ks_sym_intern("io");
	struct ks_record r = rec(100 * NS, io, 5000);
	struct ks_value v;
	uint8_t *blob;
	size_t len;

	(void)state;
	assert_int_equal(ks_dataset__add(src, &r), 0);
	assert_int_equal(ks_dataset__save(src, &blob, &len), 0);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		dst = mk(other[i], 1, 60, false);
		assert_int_equal(ks_dataset__load(dst, blob, len), -EINVAL);
		assert_int_equal(ks_dataset__newest(dst), -1);
		ks_dataset__free(dst);
	}
	dst = mk(KS_ARITY_DISCRETE_NUMERIC, 1, 60, false);
	assert_int_equal(ks_dataset__load(dst, blob, len), 0);
	assert_int_equal(ks_dataset__value(dst, 100, 1, &v), 0);
	assert_int_equal(v.total, 1);
	assert_int_equal(ks_value__find(&v, io)->count, 1);
	ks_value_fini(&v);
	ks_dataset__free(dst);
	free(blob);
	ks_dataset__free(src);
}

/* The same key twice in one slot is a damaged blob, refused whole. */
static void test_load_duplicate_key(void **state)
{
	struct ks_dataset *ds = mk(KS_ARITY_DISCRETE, 1, 60, false);
	/* magic, granularity, 1 slot: t, total, empty dist, 2 entries. */
	uint64_t words[] = { 0x3244534bu, 1, 1, 100, 2, 0, 2 };
	uint8_t blob[sizeof(words) + 2 * (8 + 2 + 8 + 8)], *p = blob;

	(void)state;
	memcpy(p, words, sizeof(words));
	p += sizeof(words);
	for (int i = 0; i < 2; i++) {
		uint64_t klen = 2, count = 1, ndist = 0;

		memcpy(p, &klen, 8);
		memcpy(p + 8, "io", 2);
		memcpy(p + 10, &count, 8);
		memcpy(p + 18, &ndist, 8);
		p += 26;
	}
	assert_int_equal(ks_dataset__load(ds, blob, sizeof(blob)), -EINVAL);
	assert_int_equal(ks_dataset__newest(ds), -1);
	/* With the entry once (total 1) the same bytes load. */
	words[6] = 1;
	words[4] = 1;
	memcpy(blob, words, sizeof(words));
	assert_int_equal(ks_dataset__load(ds, blob, sizeof(blob) - 26), 0);
	assert_int_equal(ks_dataset__newest(ds), 100);
	ks_dataset__free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symtab),
		cmocka_unit_test(test_interval_sum),
		cmocka_unit_test(test_granularity_alignment),
		cmocka_unit_test(test_retention_and_wrap),
		cmocka_unit_test(test_point_first_wins),
		cmocka_unit_test(test_slots_iterate_and_compact),
		cmocka_unit_test(test_single_slot_copy),
		cmocka_unit_test(test_bytes_kept),
		cmocka_unit_test(test_load_checks_arity),
		cmocka_unit_test(test_load_duplicate_key),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	ks_sym_reset();
	return rc;
}
