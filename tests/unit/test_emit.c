/* test_emit.c - one writer, two formats: the same families written as text,
 * compared line for line with the text format's rules (escapes in help
 * and label values, an empty family's header), and as protobuf, compared
 * byte for byte with the messages prom_pb.c's encoders make. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/dist.h"
#include "expo/emit.h"
#include "expo/prom_pb.h"
#include "expo/protobuf.h"

static const struct ks_prom_label l1[] = { { "s", "x\"y\\z\nw" },
					   { "r", "" } };
static const struct ks_prom_label l2[] = { { "s", "z" } };

/* The families every test writes: a counter with two series and escapes,
 * a gauge without labels, and a family never sampled. */
static void write_families(struct ks_emit *m)
{
	ks_emit__family(m, "a_total", "Help with \\ and \n and \".",
			KS_PROM_COUNTER);
	ks_emit__value(m, l1, 2, 3);
	ks_emit__value(m, l2, 1, 18446744073709551615ULL);
	ks_emit__end(m);
	ks_emit__family(m, "b", "", KS_PROM_GAUGE);
	ks_emit__value(m, NULL, 0, 0);
	ks_emit__end(m);
	ks_emit__family(m, "empty", "Never sampled.", KS_PROM_COUNTER);
	ks_emit__end(m);
}

static void test_text(void **state)
{
	struct ks_emit *m = ks_emit__new(NULL);
	size_t n = 0;
	char *t;

	(void)state;
	assert_non_null(m);
	assert_false(ks_emit__is_pb(m));
	write_families(m);
	assert_int_equal(ks_emit__err(m), 0);
	t = ks_emit__take_text(m, &n);
	assert_non_null(t);
	assert_string_equal(t,
		"# HELP a_total Help with \\\\ and \\n and \".\n"
		"# TYPE a_total counter\n"
		"a_total{s=\"x\\\"y\\\\z\\nw\",r=\"\"} 3\n"
		"a_total{s=\"z\"} 18446744073709551615\n"
		"# HELP b \n# TYPE b gauge\nb 0\n"
		"# HELP empty Never sampled.\n# TYPE empty counter\n");
	assert_int_equal(n, strlen(t));
	free(t);
	/* Taken: the writer starts again, empty but still a string. */
	t = ks_emit__take_text(m, &n);
	assert_non_null(t);
	assert_string_equal(t, "");
	assert_int_equal(n, 0);
	free(t);
	ks_emit__free(m);
}

static void test_pb(void **state)
{
	struct ks_pb want = KS_PB_INIT, b = KS_PB_INIT;
	struct ks_emit *m = ks_emit__new(&b);
	size_t mk;

	(void)state;
	assert_non_null(m);
	assert_true(ks_emit__is_pb(m));
	write_families(m);
	assert_int_equal(ks_emit__err(m), 0);
	assert_null(ks_emit__take_text(m, NULL));
	ks_emit__free(m);
	mk = ks_prom_pb__family(&want, "a_total", "Help with \\ and \n and \".",
				KS_PROM_COUNTER);
	ks_prom_pb__value(&want, KS_PROM_COUNTER, l1, 2, 3);
	ks_prom_pb__value(&want, KS_PROM_COUNTER, l2, 1,
			  (double)18446744073709551615ULL);
	ks_pb__close(&want, mk);
	mk = ks_prom_pb__family(&want, "b", "", KS_PROM_GAUGE);
	ks_prom_pb__value(&want, KS_PROM_GAUGE, NULL, 0, 0);
	ks_pb__close(&want, mk);
	/* No message for the family never sampled: Prometheus skips those. */
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, want.len);
	assert_memory_equal(b.buf, want.buf, want.len);
	ks_pb_fini(&want);
	ks_pb_fini(&b);
}

/* A histogram: cumulative classic buckets, +Inf, sum and count in text;
 * the histogram message in protobuf. */
static void test_hist(void **state)
{
	static const uint64_t edges[] = { 16, 64 };
	struct ks_dist d;
	struct ks_prom_hist h;
	struct ks_pb want = KS_PB_INIT, b = KS_PB_INIT;
	struct ks_emit *m = ks_emit__new(NULL);
	size_t mk;
	char *t;

	(void)state;
	ks_dist_init(&d);
	assert_int_equal(ks_dist__add(&d, 3, 2), 0);
	assert_int_equal(ks_dist__add(&d, 40, 1), 0);
	assert_int_equal(ks_dist__add(&d, 100, 1), 0);
	h = (struct ks_prom_hist){ &d, 4, 146.0, 1.0, edges, 2, false };
	ks_emit__family(m, "h", "H.", KS_PROM_HISTOGRAM);
	ks_emit__hist(m, l2, 1, &h);
	ks_emit__end(m);
	t = ks_emit__take_text(m, NULL);
	assert_non_null(t);
	assert_string_equal(t, "# HELP h H.\n# TYPE h histogram\n"
			    "h_bucket{s=\"z\",le=\"15\"} 2\n"
			    "h_bucket{s=\"z\",le=\"63\"} 3\n"
			    "h_bucket{s=\"z\",le=\"+Inf\"} 4\n"
			    "h_sum{s=\"z\"} 146\nh_count{s=\"z\"} 4\n");
	free(t);
	ks_emit__free(m);
	m = ks_emit__new(&b);
	ks_emit__family(m, "h", "H.", KS_PROM_HISTOGRAM);
	ks_emit__hist(m, l2, 1, &h);
	ks_emit__end(m);
	ks_emit__free(m);
	mk = ks_prom_pb__family(&want, "h", "H.", KS_PROM_HISTOGRAM);
	ks_prom_pb__histogram(&want, l2, 1, &h);
	ks_pb__close(&want, mk);
	assert_int_equal(b.len, want.len);
	assert_memory_equal(b.buf, want.buf, want.len);
	ks_pb_fini(&want);
	ks_pb_fini(&b);
	ks_dist_fini(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_pb),
		cmocka_unit_test(test_hist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
