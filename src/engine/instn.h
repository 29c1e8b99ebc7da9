/* instn.h - instrumentation configuration: CA's parameters, validated.
 *
 * An instrumentation is a metric plus a predicate, at most one discrete and
 * at most one numeric decomposition, a granularity, a retention time, an
 * idle-max and a persist-data flag.  Parameters arrive as a JSON object built
 * from a query string, a form or a JSON body, where values may be strings
 * ("60", "true", "a,b") as CA accepted; ks_instn_conf_parse() applies CA's
 * defaults and bounds and names the first violated one.
 */
#ifndef KS_ENGINE_INSTN_H
#define KS_ENGINE_INSTN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/catalog.h"
#include "engine/predicate.h"
#include "engine/value.h"
#include "util/err.h"

#define KS_GRANULARITY_DEFAULT 1
#define KS_RETENTION_DEFAULT 600
#define KS_RETENTION_MIN 10
#define KS_MAX_DATAPOINTS 3600
#define KS_IDLE_MAX_DEFAULT 3600
#define KS_IDLE_MAX_MAX 604800
#define KS_GRANULARITY_MAX 3600

struct ks_instn_conf {
	enum ks_metric metric;
	struct ks_pred *pred;	/* owned, never NULL after parse */
	int discrete;		/* decomposed discrete field, or -1 */
	int numeric;		/* decomposed numeric field, or -1 */
	uint32_t granularity;	/* seconds: 1 or a multiple of 5 */
	uint32_t retention_time;	/* seconds */
	uint32_t idle_max;	/* seconds, 0 = never expire */
	bool persist_data;
	bool enabled;
};

enum ks_instn_op {
	KS_INSTN_CREATE,	/* base is NULL: CA's defaults apply */
	KS_INSTN_CLONE,		/* base supplies the defaults */
	KS_INSTN_MODIFY,	/* only the mutable parameters may be given */
};

/* Parses params over base (NULL for create) into out.  On error returns a
 * negative errno, fills err, and leaves out untouched. */
int ks_instn_conf_parse(const json_t *params, const struct ks_instn_conf *base,
			enum ks_instn_op op, struct ks_instn_conf *out,
			struct ks_err *err);
/* Deep copy (the predicate is copied).  0 or -ENOMEM. */
int ks_instn_conf_copy(struct ks_instn_conf *dst,
		       const struct ks_instn_conf *src);
void ks_instn_conf_fini(struct ks_instn_conf *c);

enum ks_arity ks_instn_conf_arity(const struct ks_instn_conf *c);
/* CA's "value-arity" string and "value-dimension". */
const char *ks_arity_name(enum ks_arity a);
int ks_instn_conf_dimension(const struct ks_instn_conf *c);
/* Fields the instrumentation needs on a record (predicate + decomposition). */
uint32_t ks_instn_conf_fields(const struct ks_instn_conf *c);
/* Whether field f is among them: decomposed by, or named by the
 * predicate (the agent asks this to know which sources must time). */
bool ks_instn_conf_uses_field(const struct ks_instn_conf *c, enum ks_field f);
/* The configuration members of CA's instrumentation object. */
json_t *ks_instn_conf_to_json(const struct ks_instn_conf *c);

#endif /* KS_ENGINE_INSTN_H */
