/* bytes.h - word-at-a-time helpers for the text scanners.
 *
 * Replaying a trace reads millions of short strings (a line's prefix, a
 * comm, an exit reason) and compares them with ones seen before.  A libc
 * call per compare cost more than the compare; these inline versions read
 * 8 bytes at a time with unaligned loads (memcpy, which compilers turn
 * into one load) and never read outside [p, p + n).
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

#endif /* KS_UTIL_BYTES_H */
