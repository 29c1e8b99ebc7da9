/* carry.h - counter increases per window, carried across range queries.
 *
 * The fleet fetches each instrumentation's windows in successive
 * query_range calls; call k + 1 starts at the step where call k ended.  A
 * series absent at that first step (its agent was not scraped then: a
 * staleness marker, a partition) would lose its baseline, and its next
 * sample would count its whole cumulative value as one window's increase.
 * A carry remembers, per series (its labels as a string), the last value
 * a call saw, so the next call differences against it.  It is bounded
 * (KS_CARRY_MAX series; past it a series is not remembered and counted in
 * dropped) and forgets series not seen for a while (ks_carry__expire):
 * an agent gone that long has most likely restarted, and its counters
 * begin again from 0 anyway.
 */
#ifndef KS_FLEET_CARRY_H
#define KS_FLEET_CARRY_H

#include <stddef.h>
#include <stdint.h>

#define KS_CARRY_MAX 200000

struct ks_carry;

struct ks_carry *ks_carry__new(void);
void ks_carry__free(struct ks_carry *c);

/* The last value remembered for the series key, or NAN. */
double ks_carry__last(const struct ks_carry *c, const char *key);
/* Remembers v as the series' last value, seen at time at (s).  0,
 * -ENOSPC past KS_CARRY_MAX (counted in dropped) or -ENOMEM. */
int ks_carry__set(struct ks_carry *c, const char *key, double v,
		  int64_t at);
/* Forgets the series last seen before time before (s). */
void ks_carry__expire(struct ks_carry *c, int64_t before);
size_t ks_carry__count(const struct ks_carry *c);
uint64_t ks_carry__dropped(const struct ks_carry *c);

/* The increases of a counter in n windows from its values at the n + 1
 * step times at[0..n] (NAN where absent): d[i] is window i's.  last is the
 * value before at[0] (NAN if unknown).  A value below the one before is a
 * reset, counted from 0; a series with no value before counts from 0
 * only after at[0] (at[0] itself is the baseline, or was counted by the
 * call before); a gap leaves the next value to tell.  Returns the last
 * value known at the end (at[n], or the latest before it), NAN if none. */
double ks_carry_increases(const double *at, size_t n, double last,
			  double *d);

#endif /* KS_FLEET_CARRY_H */
