/* bytes.h - word-at-a-time helpers for the text scanners.
 *
 * Replaying a trace reads millions of short strings (a line's prefix, a
 * comm, an exit reason) and compares them with ones seen before.  A libc
 * call per compare cost more than the compare; these inline versions read
 * 8 bytes at a time with unaligned loads (memcpy, which compilers turn
 * into one load) and never read outside [p, p + n).
 *
 * The SWAR helpers read numbers 8 characters at a time from a word as
 * ks_load8() returns it on a little-endian machine (the first character
 * in the low byte); KS_WORDS_LE says whether that holds, and callers keep
 * a byte loop for the other case and for numbers longer than a word.
 */
#ifndef KS_UTIL_BYTES_H
#define KS_UTIL_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The 8 bytes at p, as the machine loads them. */
static inline uint64_t ks_load8(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Whether the n bytes at a and b are equal.  From 8 bytes on, the last
 * word overlaps the one before it instead of a byte loop. */
static inline bool ks_bytes_eq(const void *a, const void *b, size_t n)
{
	const char *x = a, *y = b;

	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (x[i] != y[i])
				return false;
		return true;
	}
	for (size_t i = 0; i + 8 < n; i += 8)
		if (ks_load8(x + i) != ks_load8(y + i))
			return false;
	return ks_load8(x + n - 8) == ks_load8(y + n - 8);
}

#define KS_WORDS_LE (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define KS_ONES8 0x0101010101010101ULL

/* How many of the characters in x are decimal digits before the first
 * that is not (0 to 8).  A byte is a digit when its high nibble is 3 and
 * adding 6 keeps it so; a carry out of a byte >= 0xfa only reaches bytes
 * after that non-digit. */
static inline int ks_swar_ndigits(uint64_t x)
{
	uint64_t t = ((x & 0xf0f0f0f0f0f0f0f0ULL) |
		      (((x + 6 * KS_ONES8) & 0xf0f0f0f0f0f0f0f0ULL) >> 4)) ^
		     0x3333333333333333ULL;

	return t ? __builtin_ctzll(t) / 8 : 8;
}

/* The value of the first n (1 to 8) decimal digits of x: shifted to the
 * top so the characters after them drop out, then pairs, quads and
 * halves combined. */
static inline uint64_t ks_swar_digits_value(uint64_t x, int n)
{
	x = (x - 0x30 * KS_ONES8) << (8 * (8 - n));
	x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffULL;
	x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffULL;
	return (x * 10000 + (x >> 32)) & 0xffffffffULL;
}

/* Per byte of x, 0x80 where the byte (below 0x80) is >= c. */
static inline uint64_t ks_swar_ge(uint64_t y, unsigned int c)
{
	return (y + (0x80 - c) * KS_ONES8) & 0x80 * KS_ONES8;
}

/* How many of the characters in x are hex digits ([0-9a-fA-F]) before
 * the first that is not (0 to 8).  The range tests work on 7 bits, so a
 * sum never carries into the next byte; bytes >= 0x80 are refused. */
static inline int ks_swar_nhex(uint64_t x)
{
	uint64_t y = x & 0x7f * KS_ONES8, low = y | 0x20 * KS_ONES8;
	uint64_t digit = ks_swar_ge(y, '0') & ~ks_swar_ge(y, '9' + 1);
	uint64_t letter = ks_swar_ge(low, 'a') & ~ks_swar_ge(low, 'f' + 1);
	uint64_t bad = ~((digit | letter) & ~x) & 0x80 * KS_ONES8;

	return bad ? __builtin_ctzll(bad) / 8 : 8;
}

/* The value of the first n (1 to 8) hex digits of x: a digit's nibble is
 * its low 4 bits, plus 9 for a letter (bit 6 set). */
static inline uint64_t ks_swar_hex_value(uint64_t x, int n)
{
	x = (x & 0x0f * KS_ONES8) + ((x >> 6) & KS_ONES8) * 9;
	x <<= 8 * (8 - n);
	x = (x * 16 + (x >> 8)) & 0x00ff00ff00ff00ffULL;
	x = (x * 256 + (x >> 16)) & 0x0000ffff0000ffffULL;
	return (x * 65536 + (x >> 32)) & 0xffffffffULL;
}

#endif /* KS_UTIL_BYTES_H */
