/* clock.h - the clocks in nanoseconds.
 *
 * One place reads the system clocks: the wall clock (CLOCK_REALTIME),
 * which timestamps records and seconds, and the monotonic clock, which
 * times deadlines and intervals and never jumps with the wall's.
 */
#ifndef KS_UTIL_CLOCK_H
#define KS_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

#define KS_NS_PER_S 1000000000LL

/* clk's reading in ns since its epoch. */
int64_t ks_clock_ns(clockid_t clk);

/* CLOCK_REALTIME in ns since 1970. */
static inline int64_t ks_clock_wall_ns(void)
{
	return ks_clock_ns(CLOCK_REALTIME);
}

/* CLOCK_MONOTONIC in ns. */
static inline int64_t ks_clock_mono_ns(void)
{
	return ks_clock_ns(CLOCK_MONOTONIC);
}

#endif /* KS_UTIL_CLOCK_H */
