/* engine.h - the Cloud Analytics engine: instrumentations fed by records.
 *
 * The engine owns the instrumentations (create, get, modify, delete, clone),
 * routes each record to the instrumentations of its metric, applies their
 * predicates and adds the record into their datasets.  It keeps a clock (the
 * wall clock live, the trace clock in replay) to reject data from the future
 * and to reap idle instrumentations.  Every record not counted is counted in
 * the engine's drop statistics, by reason.
 *
 * Each instrumentation lives in a namespace, its owner: "" for the
 * operator's (CA's /ca/instrumentations), a tenant's name for that
 * tenant's (CA's /ca/customers/:custid/instrumentations).  Ids are
 * numbered per namespace, 1, 2, 3..., so the ids a namespace gets depend
 * only on what was done in it; (owner, id) is the key.  The functions
 * without an owner work in the operator's namespace.
 */
#ifndef KS_ENGINE_ENGINE_H
#define KS_ENGINE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/dataset.h"
#include "engine/instn.h"
#include "engine/record.h"
#include "util/err.h"

#define KS_FUTURE_SLACK_S 10
#define KS_INSTN_MAX_DEFAULT 1024
#define KS_INSTN_OWNER_MAX 64	/* bytes of an owner's name */
#define KS_INSTN_ID_MAX 1000000000ULL
#define KS_INSTN_MEMORY_DEFAULT (512ULL << 20)	/* bytes, all datasets */
#define KS_INSTN_KEYS_DEFAULT 2048	/* distinct keys per slot */
#define KS_RAW_VALUES_DEFAULT 100000	/* numbers in a raw value answer */

struct ks_instn {
	char owner[KS_INSTN_OWNER_MAX + 1];	/* "" is the operator's */
	char id[16];			/* within the owner's namespace */
	struct ks_instn_conf conf;
	int64_t crtime_ms;
	int64_t atime_s;	/* last value request, for idle-max */
	uint32_t needs;		/* fields a record must carry */
	struct ks_dataset *ds;
	struct ks_instn *next_of_metric;
	uint64_t nrecords;	/* records added */
};

struct ks_engine_stats {
	uint64_t records;	/* fed */
	uint64_t added;		/* record x instrumentation additions */
	uint64_t filtered;	/* rejected by a predicate */
	uint64_t lacking;	/* lacked a field an instrumentation needs */
	uint64_t future;	/* more than KS_FUTURE_SLACK_S ahead of the clock */
	uint64_t expired;	/* older than the retention */
	uint64_t nomem;
	uint64_t bad_metric;	/* metric id outside the catalogue */
	uint64_t keycap;	/* a new key past the per-slot key cap */
	uint64_t overbudget;	/* a new key while over the memory budget */
	uint64_t refused;	/* creates refused by the memory budget */
};

/* The memory the engine answers for: instrumentations' datasets. */
struct ks_engine_memory {
	size_t used;		/* bytes, as of the last tick or create */
	size_t budget;		/* bytes */
	uint32_t keys;		/* distinct keys per slot of a dataset */
	size_t raw_values;	/* numbers in one raw value answer */
};

struct ks_engine;

struct ks_engine *ks_engine__new(void);
void ks_engine__free(struct ks_engine *e);

/* Creates in owner's namespace under its next id.  Takes ownership of
 * *conf (left zeroed) on success. */
int ks_engine__create_in(struct ks_engine *e, const char *owner,
			 struct ks_instn_conf *conf, struct ks_instn **out,
			 struct ks_err *err);
/* ks_engine__create_in in the operator's namespace. */
int ks_engine__create(struct ks_engine *e, struct ks_instn_conf *conf,
		      struct ks_instn **out, struct ks_err *err);
/* Re-creates a persisted instrumentation under its old owner and id; the
 * namespace's next id is then past it.  -EEXIST if the key is taken. */
int ks_engine__restore(struct ks_engine *e, const char *owner,
		       const char *id, struct ks_instn_conf *conf,
		       int64_t crtime_ms, struct ks_instn **out,
		       struct ks_err *err);
/* The instrumentation id of owner's namespace, or NULL. */
struct ks_instn *ks_engine__find(struct ks_engine *e, const char *owner,
				 const char *id);
/* ks_engine__find in the operator's namespace. */
struct ks_instn *ks_engine__get(struct ks_engine *e, const char *id);
/* Applies a parsed modification (retention, idle-max, persist-data). */
int ks_engine__modify(struct ks_engine *e, struct ks_instn *in,
		      struct ks_instn_conf *conf, struct ks_err *err);
int ks_engine__delete_in(struct ks_engine *e, const char *owner,
			 const char *id);
/* ks_engine__delete_in in the operator's namespace. */
int ks_engine__delete(struct ks_engine *e, const char *id);
/* Iterates instrumentations in creation order. */
struct ks_instn *ks_engine__next(struct ks_engine *e, struct ks_instn *prev);
size_t ks_engine__count(const struct ks_engine *e);
void ks_engine__set_max(struct ks_engine *e, size_t max);
/* The memory budget of all datasets (bytes), the distinct keys a slot
 * of one may hold, and the numbers a raw value answer may hold (see
 * ks_query_value_max); 0 keeps the default.  A create whose empty dataset
 * does not fit what is left is refused (ENOSPC); past the budget, keys
 * new to a slot are refused and counted (overbudget).  Applies to
 * instrumentations created afterwards. */
void ks_engine__set_memory(struct ks_engine *e, size_t budget,
			   uint32_t keys, size_t raw_values);
/* The accounting; used is brought up to date by ks_engine__tick. */
struct ks_engine_memory ks_engine__memory(const struct ks_engine *e);

/* Feeds n records. */
void ks_engine__feed(struct ks_engine *e, const struct ks_record *r, size_t n);
/* Feeds n records to one instrumentation only (a source that answers
 * per instrumentation, the fleet's); no clock check: the caller's records
 * are of windows already past. */
void ks_engine__feed_instn(struct ks_engine *e, struct ks_instn *in,
			   const struct ks_record *r, size_t n);
/* Advances the clock (ns); deletes instrumentations idle past idle-max.
 * Returns the number reaped. */
size_t ks_engine__tick(struct ks_engine *e, uint64_t now_ns);
uint64_t ks_engine__now(const struct ks_engine *e);
/* The value of the hostname field (CA's; default: gethostname()). */
void ks_engine__set_hostname(struct ks_engine *e, const char *name);
const char *ks_engine__hostname(const struct ks_engine *e);
/* Clock follows the records (replay): the newest record time is "now". */
void ks_engine__follow_records(struct ks_engine *e, bool on);
const struct ks_engine_stats *ks_engine__stats(const struct ks_engine *e);

/* CA's instrumentation object; uri_base like "/ca/instrumentations". */
json_t *ks_instn__to_json(const struct ks_instn *in, const char *uri_base);

#endif /* KS_ENGINE_ENGINE_H */
