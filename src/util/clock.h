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

/* REALTIME - MONOTONIC in ns: what the probes add to bpf_ktime_get_ns()
 * (and the disk source to its trace's monotonic stamps) to place events in
 * the wall-clock second.  prev is the offset in use (0 at first): it is
 * kept while this host's clocks still agree with it. */
uint64_t ks_clock_wall_offset(uint64_t prev);

/* The time on clk ns from now, as the timed waits (pthread_cond_timedwait,
 * sem_timedwait) take their deadline; ns >= 0. */
struct timespec ks_clock_deadline(clockid_t clk, int64_t ns);

#endif /* KS_UTIL_CLOCK_H */
