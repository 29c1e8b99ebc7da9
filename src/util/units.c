/* units.c - scaling a number to the unit that reads best.
 *
 * Each unit is a ladder of steps (1000 for time and counts, 1024 for
 * bytes); a value climbs while it is at least one step, so the number
 * shown is below 1000 (or 1024) unless the ladder ends, and it is printed
 * with about three significant digits, trailing zeros dropped.
 */
#include "util/units.h"

#include <stdio.h>
#include <string.h>

struct ladder {
	double step;
	const char *names[6];	/* NULL-terminated */
};

static const struct ladder ladders[] = {
	[KS_UNIT_NONE] = { 1000, { "", "k", "M", "G", "T", NULL } },
	[KS_UNIT_NS] = { 1000, { "ns", "us", "ms", "s", NULL } },
	[KS_UNIT_MS] = { 1000, { "ms", "s", NULL } },
	[KS_UNIT_BYTES] = { 1024, { "B", "KiB", "MiB", "GiB", "TiB", NULL } },
};

/* x with three significant digits (two decimals at most), no trailing
 * zeros: 12.3, 1.5, 850, 2. */
static void fmt3(char *buf, size_t n, double x)
{
	size_t len;

	snprintf(buf, n, "%.*f", x >= 99.95 ? 0 : x >= 9.995 ? 1 : 2, x);
	if (!strchr(buf, '.'))
		return;
	len = strlen(buf);
	while (buf[len - 1] == '0')
		buf[--len] = '\0';
	if (buf[len - 1] == '.')
		buf[--len] = '\0';
}

char *ks_units_fmt(char *buf, size_t n, double v, enum ks_unit u)
{
	const struct ladder *l = &ladders[u];
	char num[32];
	int k = 0;

	if (!(v > 0)) {
		snprintf(buf, n, "0");
		return buf;
	}
	/* Climb while the value would print as a whole step (999.6 -> 1us). */
	while (l->names[k + 1] && v >= l->step - 0.5)
		v /= l->step, k++;
	fmt3(num, sizeof(num), v);
	snprintf(buf, n, "%s%s", num, l->names[k]);
	return buf;
}
