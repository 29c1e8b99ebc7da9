/* query.h - CA's time parameters, and value points for an instrumentation.
 *
 * Every value resource (raw, heatmap image, details, average, percentile)
 * takes start_time, duration, end_time, ndatapoints and timeout with CA's
 * rules: any two of start, duration and end define the interval; with none,
 * the latest complete interval; start is rounded down to the granularity
 * and duration up.  ks_query_parse() applies them; ks_query_point() builds
 * one value point in CA's shape with start_time, duration, end_time,
 * nsources, minreporting and the requested_* echoes.
 */
#ifndef KS_ENGINE_QUERY_H
#define KS_ENGINE_QUERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "util/err.h"

#define KS_DURATION_MAX 3600
#define KS_TIMEOUT_MAX_MS 5000
#define KS_NDATAPOINTS_MAX 3600

struct ks_query {
	int64_t start;		/* rounded down to the granularity */
	uint32_t duration;	/* rounded up to the granularity */
	uint32_t ndatapoints;	/* 1 unless given */
	bool multi;		/* ndatapoints given: answer is an array */
	uint32_t timeout_ms;
	/* As requested, for the requested_* members; -1 when absent. */
	int64_t req_start, req_duration, req_end;
};

/* Reads an integer parameter that may be a JSON integer or a string of
 * digits.  0 and *out set; 1 if absent; negative errno (err filled) if bad. */
int ks_param_int(const json_t *params, const char *name, int64_t min,
		 int64_t max, int64_t *out, struct ks_err *err);

/* Parses the time parameters; default_duration is 1 for raw values and 60
 * for heatmaps, as in CA.  now_s is the engine clock in seconds. */
int ks_query_parse(const json_t *params, uint32_t granularity, int64_t now_s,
		   uint32_t default_duration, struct ks_query *q,
		   struct ks_err *err);

/* The value point i (0-based, of q->ndatapoints) of instrumentation in, in
 * CA's shape, with "value" from the dataset.  NULL on ENOMEM. */
json_t *ks_query_point(const struct ks_instn *in, const struct ks_query *q,
		       uint32_t i);
/* Point i's time members alone (no "value"): what a heatmap answer adds
 * to its picture, without the cost of the interval's value.  NULL on
 * ENOMEM. */
json_t *ks_query_times(const struct ks_query *q, uint32_t i);
/* All points: an object, or an array when q->multi.  NULL on ENOMEM. */
json_t *ks_query_value(const struct ks_instn *in, const struct ks_query *q);
/* ks_query_value into *out, refused with -EINVAL (err names ndatapoints)
 * when the points would hold more than max numbers in all
 * (ks_value__cells; 0: no limit): a raw answer's size is budgeted as
 * heatmaps' are.  0, -EINVAL or -ENOMEM. */
int ks_query_value_max(const struct ks_instn *in, const struct ks_query *q,
		       size_t max, json_t **out, struct ks_err *err);

#endif /* KS_ENGINE_QUERY_H */
