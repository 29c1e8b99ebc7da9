/* clock.c - the clocks in nanoseconds (see clock.h). */
#include "util/clock.h"

int64_t ks_clock_ns(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (int64_t)t.tv_sec * KS_NS_PER_S + t.tv_nsec;
}
