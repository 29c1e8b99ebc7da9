/* dataset.h - the per-instrumentation ring of granularity-aligned slots.
 *
 * Each slot holds the value of one granularity interval.  Interval metrics
 * add every record into its slot; point metrics keep, per source, only the
 * first report (tick) for a slot.  Slots older than the retention fall off
 * the ring; slots behind the newest by more than a couple of intervals are
 * compacted, so an hour of 1 s data costs what its non-zero buckets cost.
 */
#ifndef KS_ENGINE_DATASET_H
#define KS_ENGINE_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/record.h"
#include "engine/value.h"

#define KS_MAX_SOURCES 8

struct ks_dataset;

struct ks_dataset_conf {
	enum ks_arity arity;
	int discrete;		/* field id or -1 */
	int numeric;		/* field id or -1 */
	uint32_t granularity;	/* seconds */
	uint32_t nslots;	/* retention / granularity */
	bool point;
	uint32_t max_keys;	/* distinct keys per slot; 0: no cap */
};

struct ks_dataset *ks_dataset__new(const struct ks_dataset_conf *conf);
void ks_dataset__free(struct ks_dataset *ds);

/* Adds r (which passed the predicate and has the needed fields).
 * 0; -ERANGE when r is older than the retention; -E2BIG when r's key is
 * new to its slot and the slot has max_keys already; -ENOMEM. */
int ks_dataset__add(struct ks_dataset *ds, const struct ks_record *r);
/* ks_dataset__add, but with new_keys false a key new to its slot is
 * refused (-E2BIG) whatever the cap: the engine is over its budget. */
int ks_dataset__add_keys(struct ks_dataset *ds, const struct ks_record *r,
			 bool new_keys);
/* What ks_dataset__add_many did with the records, by outcome (counts
 * added to). */
struct ks_dataset_tally {
	uint64_t added;
	uint64_t expired;	/* -ERANGE */
	uint64_t refused;	/* -E2BIG */
	uint64_t nomem;		/* -ENOMEM */
};
/* ks_dataset__add_keys of r[0] .. r[n-1] in order, counted in t. */
void ks_dataset__add_many(struct ks_dataset *ds,
			  const struct ks_record *const *r, size_t n,
			  bool new_keys, struct ks_dataset_tally *t);
/* Bytes a dataset of conf costs before it holds any data. */
size_t ks_dataset__cost(const struct ks_dataset_conf *conf);
/* The value over [start, start + duration) seconds (out is initialised
 * here): the sum of its slots for an interval metric; for a point metric,
 * whose slots hold levels, the first slot with data, as CA answered.  0
 * or -ENOMEM. */
int ks_dataset__value(const struct ks_dataset *ds, int64_t start,
		      uint32_t duration, struct ks_value *out);
/* Changes the number of slots (retention), keeping the newest data. */
int ks_dataset__resize(struct ks_dataset *ds, uint32_t nslots);
/* Start second of the newest slot with data, or -1 if none yet. */
int64_t ks_dataset__newest(const struct ks_dataset *ds);
/* Start second of the oldest slot with data, or -1 if none yet. */
int64_t ks_dataset__oldest(const struct ks_dataset *ds);
uint32_t ks_dataset__granularity(const struct ks_dataset *ds);
/* Bytes held: the closed slots' as kept when they closed (measured again
 * after late records), the open two's measured now. */
size_t ks_dataset__bytes(struct ks_dataset *ds);
/* The same, measuring every slot (tests check __bytes against it). */
size_t ks_dataset__bytes_scan(const struct ks_dataset *ds);

enum ks_arity ks_dataset__arity(const struct ks_dataset *ds);
/* Merges v into the slot starting at second t (t aligned to the
 * granularity), as restored data.  0, -ERANGE (past retention) is ignored
 * by returning 0, or -ENOMEM / -EINVAL (unaligned). */
int ks_dataset__put_slot(struct ks_dataset *ds, int64_t t,
			 const struct ks_value *v);
/* A count that moves whenever the data of a slot other than the newest
 * changes (a record for an older second, a restored slot, a clear): with
 * ks_dataset__newest it tells whether an interval that ends before the
 * newest slot still holds what it held, so a drawing of it can be kept
 * while the newest second fills. */
uint64_t ks_dataset__past_changes(const struct ks_dataset *ds);
/* Drops all data. */
void ks_dataset__clear(struct ks_dataset *ds);

/* Serialises the slots holding data (for persistence) into a malloc'ed
 * buffer.  0 or -ENOMEM. */
int ks_dataset__save(const struct ks_dataset *ds, uint8_t **buf, size_t *len);
/* Restores data saved by ks_dataset__save into an empty dataset of the same
 * granularity and arity; slots beyond its retention are skipped.  A blob
 * that is truncated, foreign or inconsistent gives -EINVAL and leaves ds
 * empty. */
int ks_dataset__load(struct ks_dataset *ds, const uint8_t *buf, size_t len);

/* Iterates slots holding data, oldest first: *t is the slot start. */
bool ks_dataset__next_slot(const struct ks_dataset *ds, size_t *it, int64_t *t,
			   const struct ks_value **v);

#endif /* KS_ENGINE_DATASET_H */
