/* clock.c - the clocks in nanoseconds (see clock.h). */
#include "util/clock.h"

int64_t ks_clock_ns(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (int64_t)t.tv_sec * KS_NS_PER_S + t.tv_nsec;
}

struct timespec ks_clock_deadline(clockid_t clk, int64_t ns)
{
	struct timespec t;

	clock_gettime(clk, &t);
	t.tv_sec += (time_t)(ns / KS_NS_PER_S);
	t.tv_nsec += (long)(ns % KS_NS_PER_S);
	if (t.tv_nsec >= KS_NS_PER_S) {
		t.tv_sec++;
		t.tv_nsec -= KS_NS_PER_S;
	}
	return t;
}

/* The wall clock read between two monotonic reads brackets the offset:
 * it lies in [r - m1, r - m0].  One bracket is as wide as the time we
 * were kept off the CPU between the reads (tens of ms on a busy host, or
 * under nested TCG), so the narrowest of a few is taken; and an offset
 * still inside it is kept, so a tick's estimate moves events between
 * subsecond rows only when the clock was really stepped or slewed. */
uint64_t ks_clock_wall_offset(uint64_t prev)
{
	uint64_t lo = 0, hi = UINT64_MAX;

	for (int i = 0; i < 4; i++) {
		uint64_t m0 = (uint64_t)ks_clock_mono_ns();
		uint64_t r = (uint64_t)ks_clock_wall_ns();
		uint64_t m1 = (uint64_t)ks_clock_mono_ns();

		if (m1 - m0 < hi - lo) {
			lo = r - m1;
			hi = r - m0;
		}
		if (hi - lo < 20000)	/* 20 us: as good as it gets */
			break;
	}
	if (prev >= lo && prev <= hi)
		return prev;
	return lo + (hi - lo) / 2;
}
