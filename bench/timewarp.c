/* timewarp.c - an LD_PRELOAD shim that runs a process's clocks faster.
 *
 * bench_agent_hour.sh runs a real `kvmscope serve` under it so that an
 * hour of 1-second data (3,600 slots, each a wall-clock second of the
 * agent) gathers in a minute.  clock_gettime (REALTIME and MONOTONIC),
 * time() and gettimeofday() run TIMEWARP_SPEED times faster from the
 * moment the process starts, and sigtimedwait(), the agent's only sleep,
 * waits TIMEWARP_SPEED times less, so that the ticker still ticks once a
 * (warped) second.  With TIMEWARP_FOR=S the warp ends S real seconds
 * after the start: from then on the clocks run at the normal rate (from
 * where the warp left them) and sleeps are whole again, so an agent can
 * fill an hour quickly and then be measured serving in real time.
 * Nothing else changes: the agent reads, feeds, ticks
 * and serves as it does live.  Benchmark code only; never shipped.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int (*real_gettime)(clockid_t, struct timespec *);
static int (*real_sigtimedwait)(const sigset_t *, siginfo_t *,
				const struct timespec *);
static double speed = 1;
static int64_t base_rt, base_mono;
static int64_t warp_for = INT64_MAX;	/* ns of real time the warp lasts */

static int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void ts_of(int64_t ns, struct timespec *t)
{
	t->tv_sec = ns / 1000000000LL;
	t->tv_nsec = ns % 1000000000LL;
}

/* Warped time elapsed after d ns of real time. */
static int64_t warped(int64_t d)
{
	if (d <= warp_for)
		return (int64_t)((double)d * speed);
	return (int64_t)((double)warp_for * speed) + (d - warp_for);
}

static bool warping(void)
{
	struct timespec t;

	real_gettime(CLOCK_MONOTONIC, &t);
	return ns_of(&t) - base_mono < warp_for;
}


__attribute__((constructor)) static void warp_init(void)
{
	const char *s = getenv("TIMEWARP_SPEED");
	struct timespec t;

	if (real_gettime)
		return;
	real_gettime = (int (*)(clockid_t, struct timespec *))
		dlsym(RTLD_NEXT, "clock_gettime");
	real_sigtimedwait = (int (*)(const sigset_t *, siginfo_t *,
				     const struct timespec *))
		dlsym(RTLD_NEXT, "sigtimedwait");
	if (s && atof(s) > 0)
		speed = atof(s);
	if ((s = getenv("TIMEWARP_FOR")) && atof(s) >= 0)
		warp_for = (int64_t)(atof(s) * 1e9);
	real_gettime(CLOCK_REALTIME, &t);
	base_rt = ns_of(&t);
	real_gettime(CLOCK_MONOTONIC, &t);
	base_mono = ns_of(&t);
}

int clock_gettime(clockid_t c, struct timespec *ts)
{
	int64_t base;
	int rc;

	if (!real_gettime)	/* called before the constructor ran */
		warp_init();
	rc = real_gettime(c, ts);

	if (rc || (c != CLOCK_REALTIME && c != CLOCK_MONOTONIC))
		return rc;
	base = c == CLOCK_REALTIME ? base_rt : base_mono;
	ts_of(base + warped(ns_of(ts) - base), ts);
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;
	time_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec;
	if (t)
		*t = now;
	return now;
}

int gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz;
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

int sigtimedwait(const sigset_t *set, siginfo_t *info,
		 const struct timespec *timeout)
{
	struct timespec t;

	if (!real_sigtimedwait)
		warp_init();
	if (!timeout || !warping())
		return real_sigtimedwait(set, info, timeout);
	ts_of((int64_t)((double)ns_of(timeout) / speed), &t);
	return real_sigtimedwait(set, info, &t);
}
