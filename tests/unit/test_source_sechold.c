/* test_source_sechold.c - events of the second in progress wait a read.
 *
 * Records are passed through a hold the way the BPF sources pass what
 * they drain: ones of the ended second (or earlier) reach the sink at
 * once, ones of the next two seconds wait for the read that ends their
 * second and come out restamped; a sink failure keeps what it refused;
 * what is still held at the end is reported as lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "source/sechold.h"

#define S KS_NSEC_PER_SEC

struct got {
	uint64_t ts[16];
	uint64_t value[16];
	size_t n;
	int fail;
};

static int sink_record(void *ctx, const struct ks_record *r)
{
	struct got *g = ctx;

	if (g->fail)
		return -EIO;
	assert_true(g->n < 16);
	g->ts[g->n] = r->ts;
	g->value[g->n++] = r->value;
	return 0;
}

static void rec(struct ks_record *r, uint64_t ts, uint64_t v)
{
	ks_record_init(r, KS_M_VM_IRQS, ts, v);
}

static void test_later(void **state)
{
	uint64_t ts = 10 * S - 1;	/* ends second 9 */

	(void)state;
	assert_false(ks_sechold_is_later(9 & KS_SEC_MASK, ts));
	assert_true(ks_sechold_is_later(10 & KS_SEC_MASK, ts));
	assert_true(ks_sechold_is_later(11 & KS_SEC_MASK, ts));
	assert_false(ks_sechold_is_later(8 & KS_SEC_MASK, ts));
}

static void test_hold_and_release(void **state)
{
	struct ks_sechold *h = ks_sechold__new();
	struct ks_source s = { 0 };
	struct got g = { 0 };
	struct ks_source_sink sink = { sink_record, NULL, &g };
	struct ks_record r;

	(void)state;
	assert_non_null(h);
	rec(&r, 10 * S - 1, 5);
	assert_int_equal(ks_sechold__emit(h, &s, &sink, &r, 5, 9), 0);
	rec(&r, 10 * S - 1, 7);
	assert_int_equal(ks_sechold__emit(h, &s, &sink, &r, 7, 10), 0);
	rec(&r, 10 * S - 1, 3);
	assert_int_equal(ks_sechold__emit(h, &s, &sink, &r, 3, 8), 0);
	/* Second 9's and the late second 8's went out; 10's waits. */
	assert_int_equal(g.n, 2);
	assert_int_equal(g.value[0], 5);
	assert_int_equal(g.value[1], 3);
	assert_int_equal(ks_sechold__count(h), 1);
	assert_int_equal(ks_sechold__events(h), 7);
	assert_int_equal(s.st.events, 8);

	/* The read ending second 10 lets it out, stamped in second 10. */
	assert_int_equal(ks_sechold__release(h, &s, &sink, 11 * S - 1), 0);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.value[2], 7);
	assert_int_equal(g.ts[2], 11 * S - 1);
	assert_int_equal(ks_sechold__count(h), 0);
	assert_int_equal(ks_sechold__free(h), 0);
}

static void test_sink_failure_keeps(void **state)
{
	struct ks_sechold *h = ks_sechold__new();
	struct ks_source s = { 0 };
	struct got g = { 0 };
	struct ks_source_sink sink = { sink_record, NULL, &g };
	struct ks_record r;

	(void)state;
	rec(&r, 10 * S - 1, 4);
	assert_int_equal(ks_sechold__emit(h, &s, &sink, &r, 4, 11), 0);
	/* Not yet: second 11 has not ended at the read ending 10. */
	assert_int_equal(ks_sechold__release(h, &s, &sink, 11 * S - 1), 0);
	assert_int_equal(g.n, 0);
	g.fail = 1;
	assert_int_equal(ks_sechold__release(h, &s, &sink, 12 * S - 1), -EIO);
	assert_int_equal(ks_sechold__count(h), 1);
	g.fail = 0;
	assert_int_equal(ks_sechold__release(h, &s, &sink, 13 * S - 1), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ts[0], 13 * S - 1);
	/* Held at the end: reported lost. */
	rec(&r, 13 * S - 1, 9);
	assert_int_equal(ks_sechold__emit(h, &s, &sink, &r, 9, 14), 0);
	assert_int_equal(ks_sechold__free(h), 9);
}

/* A converter's -EINVAL is a bad key, counted and skipped; another error
 * stops the read; success goes through the hold. */
static void test_converted(void **state)
{
	struct ks_sechold *h = ks_sechold__new();
	struct ks_source s = { 0 };
	struct got g = { 0 };
	struct ks_source_sink sink = { sink_record, NULL, &g };
	struct ks_record r;

	(void)state;
	rec(&r, 10 * S - 1, 2);
	assert_int_equal(ks_sechold__emit_conv(h, &s, &sink, -EINVAL, &r, 2, 9),
			 0);
	assert_int_equal(s.st.bad, 1);
	assert_int_equal(ks_sechold__emit_conv(h, &s, &sink, -ENOMEM, &r, 2, 9),
			 -ENOMEM);
	assert_int_equal(g.n, 0);
	assert_int_equal(ks_sechold__emit_conv(h, &s, &sink, 0, &r, 2, 9), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(s.st.bad, 1);
	assert_int_equal(ks_sechold__free(h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_later),
		cmocka_unit_test(test_hold_and_release),
		cmocka_unit_test(test_sink_failure_keeps),
		cmocka_unit_test(test_converted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
