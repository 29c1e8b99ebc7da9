/* test_source_xcount.c - the exits probe's count-only planes, read.
 *
 * The dense reason index must place every SVM and VMX reason the probe
 * counts in a distinct cell and give back the raw reason, and send the
 * rest to the hash path.  The reader (xcount.h) must turn the probe's two
 * planes into per-second deltas: only the ended second's plane, deltas
 * across u32 wrap-around, a late read counted as late and nothing lost;
 * a dead thread's slot is final only once the second after its death has
 * been read, and forgetting it zeroes counters and snapshots.  The
 * "probe" here is the test writing the array as the BPF program would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "source/xcount.h"

#define S 1000000000ULL

struct got {
	uint64_t n[KS_XC_SLOTS > 4 ? 4 : KS_XC_SLOTS][KS_XC_NIDX];
	uint64_t calls;
	int fail;
};

static int on_delta(void *ctx, uint32_t slot, uint32_t idx, uint32_t n)
{
	struct got *g = ctx;

	assert_true(slot < 4);
	assert_true(idx < KS_XC_NIDX);
	g->n[slot][idx] += n;
	g->calls++;
	return g->fail;
}

static void test_reason_index(void **state)
{
	uint8_t seen[KS_XC_NIDX] = { 0 };

	(void)state;
	/* SVM: < 0x100 as is, 0x400..0x40f after them, all distinct. */
	for (uint32_t r = 0; r < 0x410; r++) {
		uint32_t i = ks_exit_reason_index(2, r);

		if (r >= 0x100 && r < 0x400) {
			assert_int_equal(i, KS_XC_NIDX);
			continue;
		}
		assert_true(i < KS_XC_IDX_EMUL);
		assert_int_equal(seen[i], 0);
		seen[i] = 1;
		assert_int_equal(ks_exit_index_reason(i), r);
	}
	assert_int_equal(ks_exit_reason_index(2, 0x7b), 0x7b);	/* io */
	assert_int_equal(ks_exit_reason_index(2, 0x400), 0x100);	/* npf */
	assert_int_equal(ks_exit_reason_index(2, 0x410), KS_XC_NIDX);
	assert_int_equal(ks_exit_reason_index(2, 0xffffffffu), KS_XC_NIDX);
	/* VMX (isa 1): basic reasons as they are; SVM's high codes mean
	 * nothing there, and a failed entry (bit 31) goes the hash path. */
	assert_int_equal(ks_exit_reason_index(1, 48), 48);	/* EPT_VIOLATION */
	assert_int_equal(ks_exit_reason_index(1, 0x400), KS_XC_NIDX);
	assert_int_equal(ks_exit_reason_index(1, 0x80000021), KS_XC_NIDX);
	/* VMX: basic reasons direct; a failed entry's high bit, and SVM's
	 * high range, go the hash path. */
	assert_int_equal(ks_exit_reason_index(1, 30), 30);	/* io */
	assert_int_equal(ks_exit_reason_index(1, 0x400), KS_XC_NIDX);
	assert_int_equal(ks_exit_reason_index(1, 0x80000021u), KS_XC_NIDX);
}

static ks_xplanes_t *planes(void)
{
	ks_xplanes_t *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	return p;
}

static void test_read_ended_plane_only(void **state)
{
	struct ks_xcount *x = ks_xcount__new();
	ks_xplanes_t *c = planes();
	struct got g = { 0 };

	(void)state;
	assert_non_null(x);
	/* Second 100 (plane 0): 5 io on slot 1; second 101 (plane 1) has
	 * begun: 3 hlt on slot 1, not to be read yet. */
	(*c)[0][1][0x7b] = 5;
	(*c)[1][1][0x78] = 3;
	assert_int_equal(ks_xcount__read(x, (const volatile ks_xplanes_t *)c,
					 2, 100, on_delta, &g), 0);
	assert_int_equal(g.n[1][0x7b], 5);
	assert_int_equal(g.n[1][0x78], 0);
	assert_int_equal(g.calls, 1);
	/* Second 101 ends with 4 hlt; 102 (plane 0 again) adds 2 io. */
	(*c)[1][1][0x78] = 4;
	(*c)[0][1][0x7b] += 2;
	memset(&g, 0, sizeof(g));
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 2, 101,
			on_delta, &g);
	assert_int_equal(g.n[1][0x78], 4);
	assert_int_equal(g.n[1][0x7b], 0);
	/* Reading 101 again gives nothing: no double counts. */
	memset(&g, 0, sizeof(g));
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 2, 101,
			on_delta, &g);
	assert_int_equal(g.calls, 0);
	memset(&g, 0, sizeof(g));
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 2, 102,
			on_delta, &g);
	assert_int_equal(g.n[1][0x7b], 2);
	assert_int_equal(x->late, 0);
	free(c);
	ks_xcount__free(x);
}

/* Counted from second 200 on (the probe attached then), first read at
 * the end of 203: plane 0 holds 200 and 202, plane 1 201 and 203.  Both
 * are read now, so nothing before 203 waits in plane 0 to be taken for
 * second 204 at the next read (it was, before ks_xcount__start). */
static void test_first_read_takes_both_planes(void **state)
{
	struct ks_xcount *x = ks_xcount__new();
	ks_xplanes_t *c = planes();
	struct got g = { 0 };

	(void)state;
	assert_non_null(x);
	ks_xcount__start(x, 200);
	(*c)[0][0][0x7b] = 7;	/* seconds 200 and 202 */
	(*c)[1][0][0x7b] = 5;	/* seconds 201 and 203 */
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 1, 203, on_delta,
			&g);
	assert_int_equal(g.n[0][0x7b], 12);
	/* Second 204 adds 2 to plane 0: only those 2 are its. */
	(*c)[0][0][0x7b] += 2;
	memset(&g, 0, sizeof(g));
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 1, 204, on_delta,
			&g);
	assert_int_equal(g.n[0][0x7b], 2);
	/* start after a read changes nothing. */
	ks_xcount__start(x, 300);
	assert_int_equal(x->done_sec, 204);
	free(c);
	ks_xcount__free(x);
}

static void test_wraparound_and_slots_bound(void **state)
{
	struct ks_xcount *x = ks_xcount__new();
	ks_xplanes_t *c = planes();
	struct got g = { 0 };

	(void)state;
	assert_non_null(x);
	(*c)[1][0][KS_XC_IDX_EMUL] = 0xfffffff0u;
	(*c)[1][3][7] = 9;	/* slot 3: beyond nslots, not read */
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 3, 11, on_delta,
			&g);
	assert_int_equal(g.n[0][KS_XC_IDX_EMUL], 0xfffffff0u);
	assert_int_equal(g.n[3][7], 0);
	(*c)[1][0][KS_XC_IDX_EMUL] += 0x20;	/* wraps to 0x10 */
	memset(&g, 0, sizeof(g));
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 4, 13, on_delta,
			&g);
	assert_int_equal(g.n[0][KS_XC_IDX_EMUL], 0x20);
	assert_int_equal(g.n[3][7], 9);
	free(c);
	ks_xcount__free(x);
}

static void test_late_read_loses_nothing(void **state)
{
	struct ks_xcount *x = ks_xcount__new();
	ks_xplanes_t *c = planes();
	struct got g = { 0 };

	(void)state;
	assert_non_null(x);
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 1, 20, on_delta,
			&g);
	/* Seconds 21..24 pass unread; then the read that ends 24. */
	(*c)[1][0][1] = 10;	/* 21 and 23 */
	(*c)[0][0][1] = 7;	/* 22 and 24 */
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 1, 24, on_delta,
			&g);
	assert_int_equal(g.n[0][1], 17);
	/* 21, 22 folded into later planes, 23 read with its plane reopened. */
	assert_int_equal(x->late, 3);
	assert_int_equal(x->done_sec, 24);
	free(c);
	ks_xcount__free(x);
}

static void test_callback_error_still_reads_all(void **state)
{
	struct ks_xcount *x = ks_xcount__new();
	ks_xplanes_t *c = planes();
	struct got g = { .fail = -5 };

	(void)state;
	assert_non_null(x);
	(*c)[0][0][1] = 1;
	(*c)[0][1][2] = 2;
	assert_int_equal(ks_xcount__read(x, (const volatile ks_xplanes_t *)c,
					 2, 30, on_delta, &g), -5);
	assert_int_equal(g.calls, 2);
	free(c);
	ks_xcount__free(x);
}

static void test_slot_finalisation(void **state)
{
	struct ks_xcount *x = ks_xcount__new();
	ks_xplanes_t *c = planes();
	struct got g = { 0 };

	(void)state;
	/* Alive: never final. */
	assert_false(ks_xcount_slot_final(0, 1000));
	/* Died at 50.3 s: not final when 50 has been read, final after 51. */
	assert_false(ks_xcount_slot_final(50 * S + 300000000ULL, 49));
	assert_false(ks_xcount_slot_final(50 * S + 300000000ULL, 50));
	assert_true(ks_xcount_slot_final(50 * S + 300000000ULL, 51));
	assert_true(ks_xcount_slot_final(50 * S, 51));

	assert_non_null(x);
	(*c)[0][2][5] = 4;
	(*c)[1][2][6] = 3;
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 3, 51, on_delta,
			&g);
	ks_xcount__forget(x, (volatile ks_xplanes_t *)c, 2);
	assert_int_equal((*c)[0][2][5], 0);
	assert_int_equal((*c)[1][2][6], 0);
	/* A new owner of the slot starts from zero: its first count is its
	 * own, not a negative delta against the old snapshot. */
	(*c)[0][2][5] = 1;
	memset(&g, 0, sizeof(g));
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 3, 52, on_delta,
			&g);
	assert_int_equal(g.n[2][5], 1);
	assert_int_equal(g.calls, 1);
	ks_xcount__forget(x, (volatile ks_xplanes_t *)c, KS_XC_SLOTS);
	free(c);
	ks_xcount__free(x);
}

struct lgot {
	uint64_t n[KS_LH_NB];	/* slot 1, reason 0x7b, by bucket - B0 */
	uint64_t calls, other;
};

static int on_lat(void *ctx, uint32_t slot, uint32_t idx, uint32_t bucket,
		  uint32_t n)
{
	struct lgot *g = ctx;

	assert_true(bucket >= KS_LH_B0 && bucket < KS_LH_B0 + KS_LH_NB);
	g->calls++;
	if (slot == 1 && idx == 0x7b)
		g->n[bucket - KS_LH_B0] += n;
	else
		g->other += n;
	return 0;
}

/* Latency mode's histograms are read with the count planes: only rows
 * that name a reason, only the ended second's plane, as deltas; a freed
 * slot is zeroed, rows and pending exit included, and its next owner
 * counts from zero. */
static void test_latency_histograms(void **state)
{
	struct ks_xcount *x = ks_xcount__new();
	ks_xplanes_t *c = planes();
	struct ks_lat_slot *ls = calloc(KS_LH_SLOTS, sizeof(*ls));
	struct lgot g = { 0 };

	(void)state;
	assert_non_null(x);
	assert_non_null(ls);
	ks_xcount__set_lat(x, ls, on_lat);
	ls[1].row_idx[2] = 0x7b + 1;
	ls[1].row_of[0x7b] = 3;
	ls[1].h[0][2][10] = 5;		/* second 100 */
	ls[1].h[1][2][11] = 2;		/* second 101, in progress */
	ls[1].h[0][5][1] = 9;		/* a row naming no reason */
	ls[1].pend.pending = 1;
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 2, 100, on_delta,
			&g);
	assert_int_equal(g.n[10], 5);
	assert_int_equal(g.n[11], 0);
	assert_int_equal(g.other, 0);
	ls[1].h[0][2][10] += 1;		/* second 102 */
	memset(&g, 0, sizeof(g));
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 2, 101, on_delta,
			&g);
	assert_int_equal(g.n[11], 2);
	assert_int_equal(g.calls, 1);
	memset(&g, 0, sizeof(g));
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 2, 102, on_delta,
			&g);
	assert_int_equal(g.n[10], 1);
	assert_int_equal(g.calls, 1);
	/* Slots at or past nslots are not read. */
	ls[3].row_idx[0] = 1;
	ls[3].h[1][0][0] = 4;
	memset(&g, 0, sizeof(g));
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 2, 103, on_delta,
			&g);
	assert_int_equal(g.calls, 0);
	ks_xcount__forget(x, (volatile ks_xplanes_t *)c, 1);
	assert_int_equal(ls[1].row_idx[2], 0);
	assert_int_equal(ls[1].row_of[0x7b], 0);
	assert_int_equal(ls[1].h[0][2][10], 0);
	assert_int_equal(ls[1].pend.pending, 0);
	ls[1].row_idx[0] = 0x7b + 1;
	ls[1].h[0][0][10] = 1;
	memset(&g, 0, sizeof(g));
	ks_xcount__read(x, (const volatile ks_xplanes_t *)c, 2, 104, on_delta,
			&g);
	assert_int_equal(g.n[10], 1);
	assert_int_equal(g.calls, 1);
	free(ls);
	free(c);
	ks_xcount__free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_index),
		cmocka_unit_test(test_read_ended_plane_only),
		cmocka_unit_test(test_first_read_takes_both_planes),
		cmocka_unit_test(test_wraparound_and_slots_bound),
		cmocka_unit_test(test_late_read_loses_nothing),
		cmocka_unit_test(test_callback_error_still_reads_all),
		cmocka_unit_test(test_slot_finalisation),
		cmocka_unit_test(test_latency_histograms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
