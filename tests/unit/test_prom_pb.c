/* test_prom_pb.c - the protobuf encoder, byte for byte against encodings
 * worked out by hand from the wire-format rules; the schema-0 bucket
 * mapping, checked value by value around every power of two; Prometheus
 * messages; and Accept negotiation.  Both formats written by one writer:
 * test_emit.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/symtab.h"
#include "expo/prom.h"
#include "expo/prom_pb.h"
#include "expo/protobuf.h"

/* Checks that b holds exactly the n bytes of want, then empties it. */
static void expect(struct ks_pb *b, const uint8_t *want, size_t n)
{
	assert_int_equal(b->err, 0);
	assert_int_equal(b->len, n);
	if (n)
		assert_memory_equal(b->buf, want, n);
	ks_pb_fini(b);
}
#define EXPECT(b, ...) do { \
		static const uint8_t w_[] = { __VA_ARGS__ }; \
		expect(b, w_, sizeof(w_)); \
	} while (0)

static void test_varint_zigzag(void **state)
{
	struct ks_pb b = KS_PB_INIT;

	(void)state;
	ks_pb__varint(&b, 0);
	EXPECT(&b, 0x00);
	ks_pb__varint(&b, 127);
	EXPECT(&b, 0x7f);
	ks_pb__varint(&b, 128);
	EXPECT(&b, 0x80, 0x01);
	ks_pb__varint(&b, 300);		/* 0b10_0101100 */
	EXPECT(&b, 0xac, 0x02);
	ks_pb__varint(&b, UINT64_MAX);	/* 9 x 7 bits, then 1 bit */
	EXPECT(&b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	assert_int_equal(ks_pb_varint_len(UINT64_MAX), 10);
	assert_int_equal(ks_pb_varint_len(16383), 2);
	assert_int_equal(ks_pb_varint_len(16384), 3);
	assert_int_equal(ks_pb_zigzag(0), 0);
	assert_int_equal(ks_pb_zigzag(-1), 1);
	assert_int_equal(ks_pb_zigzag(1), 2);
	assert_int_equal(ks_pb_zigzag(-2), 3);
	assert_true(ks_pb_zigzag(INT64_MAX) == UINT64_MAX - 1);
	assert_true(ks_pb_zigzag(INT64_MIN) == UINT64_MAX);
}

static void test_fields(void **state)
{
	struct ks_pb b = KS_PB_INIT;
	size_t m;

	(void)state;
	ks_pb__uint(&b, 1, 150);	/* tag 1<<3|0, then 150 */
	EXPECT(&b, 0x08, 0x96, 0x01);
	ks_pb__sint(&b, 1, -2);
	EXPECT(&b, 0x08, 0x03);
	ks_pb__string(&b, 2, "testing");	/* tag 2<<3|2, length 7 */
	EXPECT(&b, 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g');
	ks_pb__double(&b, 1, 1.0);	/* 0x3ff0000000000000, LSB first */
	EXPECT(&b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f);
	ks_pb__double(&b, 16, -2.5);	/* tag 16<<3|1 = 129: two bytes */
	EXPECT(&b, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0x04, 0xc0);
	m = ks_pb__open(&b, 3);		/* message {1: 150} as field 3 */
	ks_pb__uint(&b, 1, 150);
	ks_pb__close(&b, m);
	EXPECT(&b, 0x1a, 0x03, 0x08, 0x96, 0x01);
	m = ks_pb__open(&b, 0);		/* delimited: no tag */
	ks_pb__uint(&b, 1, 150);
	ks_pb__close(&b, m);
	EXPECT(&b, 0x03, 0x08, 0x96, 0x01);
	m = ks_pb__open(&b, 4);		/* empty message */
	ks_pb__close(&b, m);
	EXPECT(&b, 0x22, 0x00);
}

/* A body of 200 bytes needs a two-byte length: the body must be moved. */
static void test_long_nested(void **state)
{
	struct ks_pb b = KS_PB_INIT;
	uint8_t s[198];
	size_t m, n;
	uint8_t *p;

	(void)state;
	for (size_t i = 0; i < sizeof(s); i++)
		s[i] = (uint8_t)i;
	ks_pb__uint(&b, 1, 1);
	m = ks_pb__open(&b, 2);
	ks_pb__bytes(&b, 1, s, 196);	/* 0x0a 0xc4 0x01 + 196 = 199 */
	ks_pb__uint(&b, 3, 0);		/* + 2 = 201 */
	ks_pb__close(&b, m);
	assert_int_equal(b.len, 2 + 1 + 2 + 201);
	p = ks_pb__take(&b, &n);
	assert_non_null(p);
	assert_int_equal(n, 206);
	assert_int_equal(p[2], 0x12);
	assert_int_equal(p[3], 0xc9);	/* 201 = 0b1_1001001 */
	assert_int_equal(p[4], 0x01);
	assert_int_equal(p[5], 0x0a);
	assert_memory_equal(p + 8, s, 196);
	assert_int_equal(p[204], 0x18);
	assert_int_equal(p[205], 0x00);
	free(p);
	assert_null(b.buf);
	p = ks_pb__take(&b, &n);	/* nothing written: empty, not NULL */
	assert_non_null(p);
	assert_int_equal(n, 0);
	free(p);
}

static struct ks_dist dist_of(const uint64_t *v, const uint64_t *c, size_t n)
{
	struct ks_dist d = KS_DIST_INIT;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(ks_dist__add(&d, v[i], c[i]), 0);
	return d;
}

/* Native bucket i must be (2^(i-1), 2^i] widened to [2^(i-1), 2^i): a value
 * at exactly 2^i goes one bucket up. */
static int native_index_of(uint64_t v)
{
	uint64_t counts[KS_PROM_NATIVE0_N];
	struct ks_dist d = dist_of(&v, &(uint64_t){ 1 }, 1);
	int found = -1;

	ks_prom_native0(&d, counts);
	for (int i = 0; i < KS_PROM_NATIVE0_N; i++) {
		if (!counts[i])
			continue;
		assert_int_equal(counts[i], 1);
		assert_int_equal(found, -1);
		found = i;
	}
	ks_dist_fini(&d);
	return found;
}

static void test_native_mapping(void **state)
{
	(void)state;
	assert_int_equal(native_index_of(0), 0);	/* zero bucket */
	assert_int_equal(native_index_of(1), 1);	/* 1 = 2^0: up */
	assert_int_equal(native_index_of(2), 2);
	assert_int_equal(native_index_of(3), 2);
	assert_int_equal(native_index_of(4), 3);
	assert_int_equal(native_index_of(UINT64_MAX), 64);
	for (int k = 1; k < 64; k++) {
		uint64_t p = 1ULL << k;

		/* Just below 2^k: in (2^(k-1), 2^k], as Prometheus says. */
		assert_int_equal(native_index_of(p - 1), k);
		/* Exactly 2^k: one bucket up, in (2^k, 2^(k+1)]. */
		assert_int_equal(native_index_of(p), k + 1);
		assert_int_equal(native_index_of(p + 1), k + 1);
		assert_int_equal(native_index_of(p + p / 2), k + 1);
		assert_int_equal(native_index_of(p + p - 1), k + 1);
	}
}

/* Every log-linear bucket's count lands whole in one native bucket, and
 * the total is kept. */
static void test_native_sums(void **state)
{
	struct ks_dist d = KS_DIST_INIT;
	uint64_t counts[KS_PROM_NATIVE0_N], total = 0, want[KS_PROM_NATIVE0_N];
	uint64_t v = 1;

	(void)state;
	memset(want, 0, sizeof(want));
	for (int i = 0; i < 5000; i++) {
		v = v * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t x = v >> (v & 63), c = (v >> 8) % 7 + 1;

		assert_int_equal(ks_dist__add(&d, x, c), 0);
		want[x ? 64 - __builtin_clzll(x) : 0] += c;
		total += c;
	}
	ks_prom_native0(&d, counts);
	assert_memory_equal(counts, want, sizeof(want));
	for (int i = 0; i < KS_PROM_NATIVE0_N; i++)
		total -= counts[i];
	assert_int_equal(total, 0);
	ks_dist_fini(&d);
}

static void test_histogram_message(void **state)
{
	static const uint64_t v[] = { 0, 1, 3, 8 }, c[] = { 1, 2, 1, 3 };
	struct ks_dist d = dist_of(v, c, 4);
	struct ks_prom_hist h = { &d, 7, 29.0, 1.0, NULL, 0, true };
	static const uint64_t edge4[] = { 4 };
	struct ks_pb b = KS_PB_INIT;

	(void)state;
	/* Native buckets: 1 -> [1] x2, 3 -> [2] x1, 8 -> [4] x3; spans
	 * {1, 2} and {gap 1, 1}; deltas 2, -1, +2. */
	ks_prom_pb__histogram(&b, NULL, 0, &h);
	EXPECT(&b, 0x22, 0x2b,			/* Metric, field 4 */
	       0x3a, 0x29,			/* histogram, field 7 */
	       0x08, 0x07,			/* sample_count 7 */
	       0x11, 0, 0, 0, 0, 0, 0, 0x3d, 0x40,	/* sample_sum 29 */
	       0x28, 0x00,			/* schema 0 */
	       0x31, 0, 0, 0, 0, 0, 0, 0xf0, 0x37,	/* 2^-128 */
	       0x38, 0x01,			/* zero_count 1 */
	       0x62, 0x04, 0x08, 0x02, 0x10, 0x02,	/* span 1, 2 */
	       0x62, 0x04, 0x08, 0x02, 0x10, 0x01,	/* span +1, 1 */
	       0x6a, 0x03, 0x04, 0x01, 0x04);	/* deltas 2 -1 2 */
	/* Classic only (scale != 1 never gets native buckets): le 2^2-1. */
	h.native = true;
	h.scale = 0.5;
	h.sum = 14.5;
	h.edges = edge4;
	h.nedges = 1;
	ks_prom_pb__histogram(&b, NULL, 0, &h);
	EXPECT(&b, 0x22, 0x1a, 0x3a, 0x18,
	       0x08, 0x07,
	       0x11, 0, 0, 0, 0, 0, 0, 0x2d, 0x40,	/* 14.5 */
	       0x1a, 0x0b, 0x08, 0x04,		/* 4 values <= 3 */
	       0x11, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f);	/* le 1.5 */
	ks_dist_fini(&d);
}

static void test_family_message(void **state)
{
	struct ks_prom_label l = { "vm", "a" };
	struct ks_pb b = KS_PB_INIT;
	size_t m;

	(void)state;
	m = ks_prom_pb__family(&b, "x_total", "", KS_PROM_COUNTER);
	ks_prom_pb__value(&b, KS_PROM_COUNTER, &l, 1, 1.0);
	ks_pb__close(&b, m);
	EXPECT(&b, 0x23,			/* 9 + 2 + 2 + 2 + 20 */
	       0x0a, 0x07, 'x', '_', 't', 'o', 't', 'a', 'l',
	       0x12, 0x00, 0x18, 0x00,
	       0x22, 0x14,			/* label 9, counter 11 */
	       0x0a, 0x07, 0x0a, 0x02, 'v', 'm', 0x12, 0x01, 'a',
	       0x1a, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f);
	m = ks_prom_pb__family(&b, "g", "h", KS_PROM_GAUGE);
	ks_prom_pb__value(&b, KS_PROM_GAUGE, NULL, 0, 0.0);
	ks_pb__close(&b, m);
	EXPECT(&b, 0x15, 0x0a, 0x01, 'g', 0x12, 0x01, 'h', 0x18, 0x01,
	       0x22, 0x0b, 0x12, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0, 0);
}

static void test_accept(void **state)
{
	(void)state;
	/* What Prometheus sends with --enable-feature=native-histograms. */
	assert_true(ks_prom_pb_wanted(
		"application/vnd.google.protobuf;"
		"proto=io.prometheus.client.MetricFamily;encoding=delimited;"
		"q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"));
	assert_true(ks_prom_pb_wanted(
		"application/vnd.google.protobuf; "
		"proto=\"io.prometheus.client.MetricFamily\"; "
		"encoding=delimited"));
	/* And without it: OpenMetrics first, which we do not serve. */
	assert_false(ks_prom_pb_wanted(
		"application/openmetrics-text;version=1.0.0,"
		"application/openmetrics-text;version=0.0.1;q=0.75,"
		"text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
	assert_false(ks_prom_pb_wanted(NULL));
	assert_false(ks_prom_pb_wanted(""));
	assert_false(ks_prom_pb_wanted("*/*"));
	assert_false(ks_prom_pb_wanted(",,;;=,garbage;q=x"));
	/* Text preferred, or tied: text. */
	assert_false(ks_prom_pb_wanted(
		"application/vnd.google.protobuf;proto=io.prometheus.client."
		"MetricFamily;encoding=delimited;q=0.5,text/plain"));
	assert_false(ks_prom_pb_wanted(
		"application/vnd.google.protobuf;proto=io.prometheus.client."
		"MetricFamily;encoding=delimited,*/*"));
	/* Refused, or not the framing we write. */
	assert_false(ks_prom_pb_wanted(
		"application/vnd.google.protobuf;proto=io.prometheus.client."
		"MetricFamily;encoding=delimited;q=0"));
	assert_false(ks_prom_pb_wanted(
		"application/vnd.google.protobuf;proto=io.prometheus.client."
		"MetricFamily;encoding=text"));
	assert_false(ks_prom_pb_wanted(
		"application/vnd.google.protobuf;proto=other.Message;"
		"encoding=delimited"));
	assert_false(ks_prom_pb_wanted("application/vnd.google.protobuf"));
	/* A bad q is ignored, not taken as 1. */
	assert_false(ks_prom_pb_wanted(
		"application/vnd.google.protobuf;proto=io.prometheus.client."
		"MetricFamily;encoding=delimited;q=2"));
}

/* Walks one message's fields; false if any is malformed.  Collects the
 * strings of field `want` into names (each NUL-terminated, appended). */
static bool walk(const uint8_t *p, size_t n, uint32_t want, char *names,
		 size_t cap)
{
	size_t i = 0;

	while (i < n) {
		uint64_t key = 0, len = 0;
		int sh = 0;

		do {
			if (i >= n || sh > 63)
				return false;
			key |= (uint64_t)(p[i] & 0x7f) << sh;
			sh += 7;
		} while (p[i++] & 0x80);
		switch (key & 7) {
		case 0:
			while (i < n && (p[i] & 0x80))
				i++;
			if (i++ >= n)
				return false;
			break;
		case 1:
			if ((i += 8) > n)
				return false;
			break;
		case 2:
			for (sh = 0;; sh += 7) {
				if (i >= n || sh > 63)
					return false;
				len |= (uint64_t)(p[i] & 0x7f) << sh;
				if (!(p[i++] & 0x80))
					break;
			}
			if (len > n - i)
				return false;
			if (names && key >> 3 == want) {
				size_t l = strlen(names);

				assert_true(l + len + 2 < cap);
				memcpy(names + l, p + i, len);
				strcpy(names + l + len, " ");
			}
			i += len;
			break;
		default:
			return false;
		}
	}
	return true;
}

/* The agent's whole exposition: well framed, and with every family. */
static void test_render_pb(void **state)
{
	struct ks_prom *p = ks_prom__new(0);
	struct ks_record r;
	struct ks_pb b = KS_PB_INIT;
	char names[4096] = "";
	size_t i = 0;

	(void)state;
	ks_record_init(&r, KS_M_VM_EXITS, 1, 1);
	ks_record_set(&r, KS_F_VM, ks_sym_intern("web"));
	ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern("io"));
	ks_record_set(&r, KS_F_LATENCY, 1024);
	ks_prom__feed(p, &r, 1);
	assert_int_equal(ks_prom__render_pb(p, NULL, &b), 0);
	while (i < b.len) {
		uint64_t len = 0;
		int sh = 0;

		do {
			len |= (uint64_t)(b.buf[i] & 0x7f) << sh;
			sh += 7;
		} while (b.buf[i++] & 0x80);
		assert_true(len <= b.len - i);
		assert_true(walk(b.buf + i, len, 1, names, sizeof(names)));
		i += len;
	}
	assert_string_equal(names, "kvmscope_build_info "
			    "kvmscope_vm_exits_total "
			    "kvmscope_vm_exits_latency_seconds "
			    "kvmscope_vm_exits_latency_nanoseconds "
			    "kvmscope_prom_series_dropped_total "
			    "kvmscope_prom_series_expired_total "
			    "kvmscope_prom_series ");
	ks_pb_fini(&b);
	ks_prom__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_zigzag),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_long_nested),
		cmocka_unit_test(test_native_mapping),
		cmocka_unit_test(test_native_sums),
		cmocka_unit_test(test_histogram_message),
		cmocka_unit_test(test_family_message),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_render_pb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
