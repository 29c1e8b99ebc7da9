/* test_bytes.c - the word-at-a-time helpers of util/bytes.h.
 *
 * Each helper is checked against a plain byte loop: compares for every
 * length to 24 with a difference at every position, and the SWAR number
 * readers for every byte value (0 to 255) at every position of a word of
 * digits, so a carry or a range test off by one shows as a mismatch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/bytes.h"

static void test_bytes_eq(void **state)
{
	char a[32], b[32];

	(void)state;
	for (size_t n = 0; n <= 24; n++) {
		memset(a, 'x', sizeof(a));
		memset(b, 'x', sizeof(b));
		assert_true(ks_bytes_eq(a, b, n));
		for (size_t i = 0; i < n; i++) {
			b[i] = 'y';
			assert_false(ks_bytes_eq(a, b, n));
			b[i] = 'x';
		}
		/* Bytes past n are not compared. */
		b[n] = 'z';
		assert_true(ks_bytes_eq(a, b, n));
	}
}

static int ref_ndigits(const char *s, int base)
{
	int n = 0;

	while (n < 8) {
		unsigned char c = (unsigned char)s[n];
		int ok = c >= '0' && c <= '9';

		if (base == 16)
			ok = ok || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		if (!ok)
			break;
		n++;
	}
	return n;
}

static uint64_t ref_value(const char *s, int n, int base)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

		v = v * (uint64_t)base + (uint64_t)d;
	}
	return v;
}

/* Every byte value at every position of a word of digits. */
static void check_words(int base)
{
	static const char dec_digits[] = "9876543210";
	static const char hex_digits[] = "fEdCbA9810";
	const char *digits = base == 10 ? dec_digits : hex_digits;

	for (int pos = 0; pos < 8; pos++)
		for (int c = 0; c < 256; c++) {
			char s[8];
			uint64_t x;
			int n, want;

			for (int i = 0; i < 8; i++)
				s[i] = digits[(i + pos) % 10];
			s[pos] = (char)c;
			if (!KS_WORDS_LE)
				return;
			x = ks_load8(s);
			n = base == 10 ? ks_swar_ndigits(x) : ks_swar_nhex(x);
			want = ref_ndigits(s, base);
			if (n != want)
				fail_msg("base %d byte 0x%02x at %d: %d digits, "
					 "want %d", base, c, pos, n, want);
			for (int k = 1; k <= n; k++) {
				uint64_t v = base == 10 ?
					     ks_swar_digits_value(x, k) :
					     ks_swar_hex_value(x, k);

				assert_int_equal(v, ref_value(s, k, base));
			}
		}
}

static void test_swar_decimal(void **state)
{
	(void)state;
	check_words(10);
	if (KS_WORDS_LE) {
		assert_int_equal(ks_swar_ndigits(ks_load8("12345678")), 8);
		assert_int_equal(ks_swar_digits_value(ks_load8("99999999"), 8),
				 99999999);
		assert_int_equal(ks_swar_digits_value(ks_load8("100.0005"), 3),
				 100);
	}
}

static void test_swar_hex(void **state)
{
	(void)state;
	check_words(16);
	if (KS_WORDS_LE) {
		assert_int_equal(ks_swar_nhex(ks_load8("ffffffff")), 8);
		assert_int_equal(ks_swar_hex_value(ks_load8("ffffffff"), 8),
				 0xffffffffULL);
		assert_int_equal(ks_swar_hex_value(ks_load8("8ba592ea"), 8),
				 0x8ba592eaULL);
		/* 'g', '@', '`', '/' and ':' border the ranges. */
		assert_int_equal(ks_swar_nhex(ks_load8("1fg00000")), 2);
		assert_int_equal(ks_swar_nhex(ks_load8("A@000000")), 1);
		assert_int_equal(ks_swar_nhex(ks_load8("a`000000")), 1);
		assert_int_equal(ks_swar_nhex(ks_load8("/0000000")), 0);
		assert_int_equal(ks_swar_nhex(ks_load8("9:000000")), 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_eq),
		cmocka_unit_test(test_swar_decimal),
		cmocka_unit_test(test_swar_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
