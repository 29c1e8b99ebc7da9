/* predicate.h - CA predicates, validated against a metric and compiled.
 *
 * The JSON form is CA's: {"eq":[field,value]} and ne on any field,
 * lt le gt ge on numeric fields with a number constant, {"and":[p,...]} and
 * {"or":[p,...]} with at least two children, and {} for "everything".
 * Parsing checks each field exists in the metric, each operator suits the
 * field's type, each constant's type matches, and bounds the depth and size;
 * every failure is a ks_err naming the problem.  The compiled form evaluates
 * a record's exact field values (never bucket edges).
 */
#ifndef KS_ENGINE_PREDICATE_H
#define KS_ENGINE_PREDICATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/catalog.h"
#include "engine/record.h"
#include "util/err.h"

#define KS_PRED_MAXDEPTH 16
#define KS_PRED_MAXNODES 256
#define KS_PRED_BATCH 256	/* records a batch evaluation works on at once */

struct ks_pred;

/* Compiles predicate j for metric m.  NULL with err filled (param
 * "predicate") on bad input.  An empty object {} compiles to "true". */
struct ks_pred *ks_pred__parse(const json_t *j, enum ks_metric m,
			       struct ks_err *err);
/* Same, from JSON text (as query strings and forms carry it). */
struct ks_pred *ks_pred__parse_str(const char *s, enum ks_metric m,
				   struct ks_err *err);
void ks_pred__free(struct ks_pred *p);
/* Deep copy (NULL p gives NULL); NULL on ENOMEM. */
struct ks_pred *ks_pred__dup(const struct ks_pred *p);

bool ks_pred__eval(const struct ks_pred *p, const struct ks_record *r);
/* pass[k] = ks_pred__eval(p, r[k]) for k < n (1 or 0): the same answers,
 * computed a node at a time over the whole batch, without branches on
 * the records' values.  The engine's feed path uses it. */
void ks_pred__eval_batch(const struct ks_pred *p,
			 const struct ks_record *const *r, size_t n,
			 uint8_t *pass);
/* True for the empty predicate. */
bool ks_pred__trivial(const struct ks_pred *p);
/* Bit mask (1u << field) of fields the predicate reads. */
uint32_t ks_pred__fields(const struct ks_pred *p);
/* The edges at which the numeric field f's comparisons change outcome:
 * for each leaf on f, the least value for which it holds (gt c: c + 1,
 * ge c: c) or stops holding (lt c: c, le c: c + 1; eq and ne: c and
 * c + 1).  A source that only knows a value's bucket keeps the exact side
 * of each edge, and the predicate's answer is exact.  Writes up to max
 * (unsorted, maybe repeated); returns how many there are in all. */
size_t ks_pred__edges(const struct ks_pred *p, enum ks_field f,
		      uint64_t *out, size_t max);
/* The predicate in CA's JSON form (new reference). */
json_t *ks_pred__to_json(const struct ks_pred *p);

#endif /* KS_ENGINE_PREDICATE_H */
