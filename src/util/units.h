/* units.h - numbers in human units for people: 12.3us, 1.5ms, 4KiB.
 *
 * Tables and axis labels meant to be read show latencies and sizes scaled
 * to a unit that keeps about three significant digits; machine output
 * (JSON, --raw) keeps the raw integers.  The unit of a value is the
 * caller's to say (it knows the field's type).
 */
#ifndef KS_UTIL_UNITS_H
#define KS_UTIL_UNITS_H

#include <stddef.h>

enum ks_unit {
	KS_UNIT_NONE,	/* a plain count: 950, 12.3k, 4.5M */
	KS_UNIT_NS,	/* nanoseconds: 850ns, 12.3us, 1.5ms, 2s */
	KS_UNIT_MS,	/* milliseconds: 250ms, 1.25s */
	KS_UNIT_BYTES,	/* bytes, powers of 1024: 512B, 4KiB, 1.5MiB */
};

/* Formats v (>= 0) into buf (n bytes, 16 are always enough) and returns
 * buf.  Zero is "0" in every unit. */
char *ks_units_fmt(char *buf, size_t n, double v, enum ks_unit u);

#endif /* KS_UTIL_UNITS_H */
