/* query.c - time parameters and value points, with CA's rules and bounds.
 *
 * The rules are those of CA's caAggrInterval and normalizeInterval: any
 * two of start_time, duration and end_time fix the interval, with none the
 * answer is the latest complete interval (now - duration - granularity);
 * then the start is rounded down to the granularity and the duration,
 * independently, up to it, so that with ndatapoints the points are
 * consecutive intervals of exactly the duration asked for.  Every
 * inconsistent combination is refused with a message naming the parameter
 * to change, never silently reinterpreted.
 */
#include "engine/query.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsnum.h"

int ks_param_int(const json_t *params, const char *name, int64_t min,
		 int64_t max, int64_t *out, struct ks_err *err)
{
	const json_t *j = params ? json_object_get(params, name) : NULL;
	int64_t v;

	if (!j || json_is_null(j))
		return 1;
	/* CA's parseInt: "10.5" is 10, "60s" is 60; only no digits fails. */
	if (!ks_js_int(j, &v)) {
		if (json_is_string(j))
			return ks_err_set(err, EINVAL, name,
					  "value \"%.40s\" for param \"%s\" "
					  "not valid: not a number",
					  json_string_value(j), name);
		return ks_err_set(err, EINVAL, name, "param \"%s\" is not "
				  "a number", name);
	}
	if (v < min || v > max)
		return ks_err_set(err, ERANGE, name,
				  "must be between %" PRId64 " and %" PRId64
				  ", not %" PRId64, min, max, v);
	*out = v;
	return 0;
}

static int64_t round_down(int64_t t, int64_t g)
{
	return t - (((t % g) + g) % g);
}

static int64_t round_up(int64_t t, int64_t g)
{
	return round_down(t + g - 1, g);
}

/* The duration from start_time and end_time, both given. */
static int span(int64_t s, int64_t e, int64_t *d, struct ks_err *err)
{
	if (e <= s)
		return ks_err_set(err, EINVAL, "end_time",
				  "must be later than start_time (%" PRId64 ")",
				  s);
	if (e - s > KS_DURATION_MAX)
		return ks_err_set(err, ERANGE, "end_time",
				  "must be at most %d seconds after start_time",
				  KS_DURATION_MAX);
	*d = e - s;
	return 0;
}

/* Fills start and duration from whichever two of the three were given. */
static int resolve(struct ks_query *q, int have_s, int have_d, int have_e,
		   int64_t now_s, uint32_t g, uint32_t defdur,
		   struct ks_err *err)
{
	int64_t s = q->req_start, d = q->req_duration, e = q->req_end;
	int rc;

	if (have_s && have_d && have_e && s + d != e)
		return ks_err_set(err, EINVAL, "end_time",
				  "start_time + duration must equal end_time");
	if (have_s && have_e && !have_d && (rc = span(s, e, &d, err)))
		return rc;
	if (!have_d && !(have_s && have_e))
		d = defdur;
	if (have_e && !have_s && d > e)
		return ks_err_set(err, EINVAL, "duration",
				  "cannot exceed end_time (%" PRId64 ")", e);
	if (!have_s)
		s = have_e ? e - d : now_s - d - (int64_t)g;
	/* CA echoes the interval as resolved, before rounding. */
	q->req_start = s;
	q->req_duration = d;
	q->req_end = s + d;
	q->start = round_down(s, g);
	q->duration = (uint32_t)round_up(d, g);
	return 0;
}

int ks_query_parse(const json_t *params, uint32_t granularity, int64_t now_s,
		   uint32_t default_duration, struct ks_query *q,
		   struct ks_err *err)
{
	int64_t v, tmo = KS_TIMEOUT_MAX_MS, ndp = 1;
	int hs, hd, he, hn, ht;
	struct ks_query r = { .req_start = -1, .req_duration = -1,
			      .req_end = -1 };

	if ((hs = ks_param_int(params, "start_time", 0, INT32_MAX * 4LL,
			       &r.req_start, err)) < 0 ||
	    (hd = ks_param_int(params, "duration", 1, KS_DURATION_MAX,
			       &r.req_duration, err)) < 0 ||
	    (he = ks_param_int(params, "end_time", 0, INT32_MAX * 4LL,
			       &r.req_end, err)) < 0 ||
	    (hn = ks_param_int(params, "ndatapoints", 1, KS_NDATAPOINTS_MAX,
			       &ndp, err)) < 0 ||
	    (ht = ks_param_int(params, "timeout", 0, KS_TIMEOUT_MAX_MS, &tmo,
			       err)) < 0)
		return -EINVAL;
	(void)ht;
	if ((v = resolve(&r, !hs, !hd, !he, now_s, granularity,
			 default_duration, err)))
		return (int)v;
	/* CA's rule: the last point must end within timeout of now (it
	 * would wait that long for its data); later is refused. */
	if ((r.start + (int64_t)ndp * r.duration) * 1000 > now_s * 1000 + tmo)
		return ks_err_set(err, EINVAL, "start_time",
				  "requested data point is too far in the "
				  "future");
	r.ndatapoints = (uint32_t)ndp;
	r.multi = !hn;
	r.timeout_ms = (uint32_t)tmo;
	*q = r;
	return 0;
}

/* Adds CA's time members of point i to o; false on ENOMEM. */
static bool add_times(json_t *o, const struct ks_query *q, uint32_t i)
{
	int64_t start = q->start + (int64_t)i * q->duration;

	return !json_object_set_new(o, "start_time", json_integer(start)) &&
	       !json_object_set_new(o, "duration",
				    json_integer(q->duration)) &&
	       !json_object_set_new(o, "end_time",
				    json_integer(start + q->duration)) &&
	       !json_object_set_new(o, "nsources", json_integer(1)) &&
	       !json_object_set_new(o, "minreporting", json_integer(1)) &&
	       !json_object_set_new(o, "transformations", json_object()) &&
	       /* Each point echoes its share of the interval as asked
		* (CA). */
	       !json_object_set_new(o, "requested_start_time",
				    json_integer(q->req_start +
						 (int64_t)i * q->req_duration)) &&
	       !json_object_set_new(o, "requested_duration",
				    json_integer(q->req_duration)) &&
	       !json_object_set_new(o, "requested_end_time",
				    json_integer(q->req_start +
						 ((int64_t)i + 1) *
							 q->req_duration));
}

/* Point i; *cells (if given) gets the numbers its value holds. */
static json_t *point(const struct ks_instn *in, const struct ks_query *q,
		     uint32_t i, size_t *cells)
{
	int64_t start = q->start + (int64_t)i * q->duration;
	struct ks_value v;
	json_t *o, *val;

	if (ks_dataset__value(in->ds, start, q->duration, &v))
		return NULL;
	if (cells)
		*cells = ks_value__cells(&v);
	val = ks_value__to_json(&v);
	ks_value_fini(&v);
	o = json_pack("{s:o?}", "value", val);
	if (o && !add_times(o, q, i)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ks_query_times(const struct ks_query *q, uint32_t i)
{
	json_t *o = json_object();

	if (o && !add_times(o, q, i)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ks_query_point(const struct ks_instn *in, const struct ks_query *q,
		       uint32_t i)
{
	return point(in, q, i, NULL);
}

static int too_big(size_t max, struct ks_err *err)
{
	return ks_err_set(err, EINVAL, "ndatapoints", "the answer would hold "
			  "more than %zu values (the raw-values limit of the "
			  "configuration): ask for fewer ndatapoints or a "
			  "shorter duration", max);
}

int ks_query_value_max(const struct ks_instn *in, const struct ks_query *q,
		       size_t max, json_t **out, struct ks_err *err)
{
	size_t total = 0, cells;
	json_t *a, *p;

	*out = NULL;
	if (max && q->ndatapoints > max)
		return too_big(max, err);
	if (!(a = q->multi ? json_array() : NULL) && q->multi)
		return ks_err_set(err, ENOMEM, "", "out of memory");
	for (uint32_t i = 0; i < (q->multi ? q->ndatapoints : 1); i++) {
		if (!(p = point(in, q, i, &cells)) ||
		    (a && json_array_append_new(a, p))) {
			json_decref(a);
			return ks_err_set(err, ENOMEM, "", "out of memory");
		}
		/* Each point is built and counted before the next, so a
		 * refused answer costs one point's memory more. */
		total += cells;
		if (max && total > max) {
			json_decref(a ? a : p);
			return too_big(max, err);
		}
		if (!a)
			a = p;
	}
	*out = a;
	return 0;
}

json_t *ks_query_value(const struct ks_instn *in, const struct ks_query *q)
{
	json_t *v;

	return ks_query_value_max(in, q, 0, &v, NULL) ? NULL : v;
}
