/* record.h - the unit of data flowing from sources into the engine.
 *
 * A record is one event, or a count of identical events, of one metric:
 * a timestamp, a value (1 per event, or the number of events or bytes it
 * stands for), and the values of the fields the source knows.  Discrete
 * field values are symtab ids; numeric ones are exact numbers, so
 * predicates compare exact values, never bucket edges.  A field the source
 * could not determine is absent from `present`.
 */
#ifndef KS_ENGINE_RECORD_H
#define KS_ENGINE_RECORD_H

#include <stdint.h>

#include "engine/catalog.h"

struct ks_record {
	uint64_t ts;		/* ns; wall clock live, trace clock in replay */
	uint64_t value;		/* events (or bytes) this record stands for */
	uint32_t present;	/* bit (1u << KS_F_x) set when f[x] is valid */
	uint16_t metric;	/* enum ks_metric */
	uint8_t source;		/* reporting source, for point metrics */
	uint8_t pad_;
	uint64_t f[KS_F__COUNT];
};

#define KS_NSEC_PER_SEC 1000000000ULL

static inline void ks_record_init(struct ks_record *r, enum ks_metric m,
				  uint64_t ts, uint64_t value)
{
	r->ts = ts;
	r->value = value;
	r->present = 0;
	r->metric = (uint16_t)m;
	r->source = 0;
	r->pad_ = 0;
}

static inline void ks_record_set(struct ks_record *r, enum ks_field f,
				 uint64_t v)
{
	r->f[f] = v;
	r->present |= 1u << f;
}

static inline int ks_record_has(const struct ks_record *r, enum ks_field f)
{
	return (r->present >> f) & 1u;
}

/* Sets the subsecond field (ms into the second) from the timestamp. */
static inline void ks_record_set_subsecond(struct ks_record *r)
{
	ks_record_set(r, KS_F_SUBSECOND,
		      (r->ts % KS_NSEC_PER_SEC) / 1000000ULL);
}

#endif /* KS_ENGINE_RECORD_H */
