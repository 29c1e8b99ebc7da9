/* hmparams.c - parsing and checking heatmap parameters.
 *
 * Each value is first reduced to one JSON scalar (a query-string key given
 * once may arrive as a one-element array), then read as a number, boolean,
 * enum or list whether it came typed (JSON) or as text (query string).
 * Checks that involve several parameters (ymin < ymax, one mode at most,
 * enough hues, x inside width) run after every value has been read, so the
 * message names the parameter the user has to change.
 */
#include "render/hmparams.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsnum.h"
#include "engine/symtab.h"

void ks_hmparams_init(struct ks_hmparams *p)
{
	memset(p, 0, sizeof(*p));
	p->width = KS_HM_WIDTH_DEF;
	p->height = KS_HM_HEIGHT_DEF;
	p->nbuckets = KS_HM_NBUCKETS_DEF;
	p->ymax_auto = true;
	p->mode = KS_HM_HIGHLIGHT;
	p->coloring = KS_HM_RANK;
	p->weights = KS_HM_COUNT;
	p->scale = KS_HM_SCALE_LINEAR;
}

void ks_hmparams_fini(struct ks_hmparams *p)
{
	for (size_t i = 0; i < p->nselected; i++)
		free(p->selected[i]);
	free(p->selected);
	free(p->hues);
	ks_hmparams_init(p);
}

/* The value of name as one scalar, or NULL if absent (or null). */
static int scalar(const json_t *obj, const char *name, const json_t **out,
		  struct ks_err *err)
{
	const json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_array(v)) {
		if (json_array_size(v) != 1)
			return ks_err_set(err, EINVAL, name,
					  "must be given once, not as a list");
		v = json_array_get(v, 0);
	}
	if (json_is_array(v) || json_is_object(v))
		return ks_err_set(err, EINVAL, name, "must be a single value");
	*out = v;
	return 0;
}

/* A whole number in [min, max], read with CA's parseInt ("10.5" is 10,
 * engine/jsnum.h); the default stays when absent. */
static int get_uint(const json_t *obj, const char *name, uint64_t min,
		    uint64_t max, uint64_t *out, bool *given,
		    struct ks_err *err)
{
	const json_t *v;
	int64_t i;
	int rc;

	if ((rc = scalar(obj, name, &v, err)) || !v)
		return rc;
	if (!ks_js_int(v, &i))
		return ks_err_set(err, EINVAL, name, "must be a number");
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return ks_err_set(err, ERANGE, name,
				  "must be between %llu and %llu",
				  (unsigned long long)min,
				  (unsigned long long)max);
	*out = (uint64_t)i;
	if (given)
		*given = true;
	return 0;
}

static int get_u32(const json_t *obj, const char *name, uint32_t min,
		   uint32_t max, uint32_t *out, bool *given,
		   struct ks_err *err)
{
	uint64_t x = *out;
	int rc = get_uint(obj, name, min, max, &x, given, err);

	*out = (uint32_t)x;
	return rc;
}

static int get_bool(const json_t *obj, const char *name, bool *out,
		    struct ks_err *err)
{
	const json_t *v;
	int rc;

	if ((rc = scalar(obj, name, &v, err)) || !v)
		return rc;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_string(v) && !strcmp(json_string_value(v), "true")) {
		*out = true;
		return 0;
	}
	if (json_is_string(v) && !strcmp(json_string_value(v), "false")) {
		*out = false;
		return 0;
	}
	return ks_err_set(err, EINVAL, name, "must be true or false");
}

/* One of names[0..n-1]; *out is its index. */
static int get_enum(const json_t *obj, const char *name,
		    const char *const *names, size_t n, int *out,
		    struct ks_err *err)
{
	const json_t *v;
	int rc;

	if ((rc = scalar(obj, name, &v, err)) || !v)
		return rc;
	for (size_t i = 0; json_is_string(v) && i < n; i++) {
		if (!strcmp(json_string_value(v), names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	return ks_err_set(err, EINVAL, name, "must be %s or %s", names[0],
			  names[1]);
}

/* A list as JSON scalars: an array as is, or a comma-separated string
 * split into new strings.  The caller json_decref()s *out. */
static int get_list(const json_t *obj, const char *name, json_t **out,
		    struct ks_err *err)
{
	json_t *v = json_object_get(obj, name), *a;
	const char *s, *comma;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_array(v)) {
		*out = json_incref(v);
		return 0;
	}
	if (!json_is_string(v) && !json_is_integer(v))
		return ks_err_set(err, EINVAL, name,
				  "must be a list or a comma-separated string");
	if (!json_is_string(v) || !*json_string_value(v)) {
		*out = json_is_string(v) ? json_array() : json_pack("[O]", v);
		return *out ? 0 : -ENOMEM;
	}
	if (!(a = json_array()))
		return -ENOMEM;
	for (s = json_string_value(v);; s = comma + 1) {
		comma = strchr(s, ',');
		if (json_array_append_new(a, json_stringn(s, comma ?
					  (size_t)(comma - s) : strlen(s)))) {
			json_decref(a);
			return -ENOMEM;
		}
		if (!comma)
			break;
	}
	*out = a;
	return 0;
}

static bool listed(char **keys, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i], s))
			return true;
	return false;
}

static int get_selected(const json_t *obj, struct ks_hmparams *p,
			struct ks_err *err)
{
	json_t *l, *e;
	size_t i;
	int rc;

	if ((rc = get_list(obj, "selected", &l, err)) || !l)
		return rc;
	if (json_array_size(l) > KS_HM_MAX_SELECTED) {
		rc = ks_err_set(err, ERANGE, "selected",
				"lists %zu keys; at most %d can be drawn",
				json_array_size(l), KS_HM_MAX_SELECTED);
		goto out;
	}
	p->selected = calloc(json_array_size(l) + 1, sizeof(*p->selected));
	if (!p->selected) {
		rc = -ENOMEM;
		goto out;
	}
	json_array_foreach(l, i, e) {
		const char *s = json_string_value(e);

		/* A NUL inside would name a different, shorter key. */
		if (!s || !*s || strlen(s) > KS_SYM_MAXLEN ||
		    strlen(s) != json_string_length(e)) {
			rc = ks_err_set(err, EINVAL, "selected",
					"element %zu must be a key of 1 to %d "
					"characters", i + 1, KS_SYM_MAXLEN);
			goto out;
		}
		if (listed(p->selected, p->nselected, s)) {
			rc = ks_err_set(err, EINVAL, "selected",
					"lists \"%s\" twice", s);
			goto out;
		}
		if (!(p->selected[p->nselected] = strdup(s))) {
			rc = -ENOMEM;
			goto out;
		}
		p->nselected++;
	}
out:
	json_decref(l);
	return rc;
}

/* One hue, 0..359, from a list element, read with CA's parseInt. */
static int hue(const json_t *e, size_t i, uint16_t *out, struct ks_err *err)
{
	int64_t d;

	if ((json_is_string(e) || json_is_number(e)) && ks_js_int(e, &d) &&
	    d >= 0 && d < 360) {
		*out = (uint16_t)d;
		return 0;
	}
	return ks_err_set(err, ERANGE, "hues",
			  "element %zu must be a whole number of degrees, "
			  "0 to 359", i + 1);
}

static int get_hues(const json_t *obj, struct ks_hmparams *p,
		    struct ks_err *err)
{
	json_t *l, *e;
	size_t i;
	int rc;

	if ((rc = get_list(obj, "hues", &l, err)) || !l)
		return rc;
	if (!json_array_size(l) ||
	    json_array_size(l) > KS_HM_MAX_SELECTED + 1) {
		rc = ks_err_set(err, ERANGE, "hues",
				"must list 1 to %d hues", KS_HM_MAX_SELECTED + 1);
		goto out;
	}
	if (!(p->hues = calloc(json_array_size(l), sizeof(*p->hues)))) {
		rc = -ENOMEM;
		goto out;
	}
	json_array_foreach(l, i, e) {
		if ((rc = hue(e, i, &p->hues[i], err)))
			goto out;
		p->nhues++;
	}
out:
	json_decref(l);
	return rc;
}

static int get_mode(const json_t *obj, struct ks_hmparams *p,
		    struct ks_err *err)
{
	static const char *const names[] = { "isolate", "exclude",
					     "decompose_all" };
	static const enum ks_hm_mode modes[] = { KS_HM_ISOLATE, KS_HM_EXCLUDE,
						 KS_HM_DECOMPOSE_ALL };
	const char *first = NULL;
	bool on;
	int rc;

	for (size_t i = 0; i < 3; i++) {
		on = false;
		if ((rc = get_bool(obj, names[i], &on, err)))
			return rc;
		if (!on)
			continue;
		if (first)
			return ks_err_set(err, EINVAL, names[i],
					  "cannot be combined with %s: only "
					  "one of isolate, exclude and "
					  "decompose_all may be true", first);
		first = names[i];
		p->mode = modes[i];
	}
	return 0;
}

static int get_enums(const json_t *obj, struct ks_hmparams *p,
		     struct ks_err *err)
{
	static const char *const coloring[] = { "rank", "linear" };
	static const char *const weights[] = { "count", "weight" };
	static const char *const scale[] = { "linear", "log" };
	int c = p->coloring, w = p->weights, s = p->scale, rc;

	if ((rc = get_enum(obj, "coloring", coloring, 2, &c, err)) ||
	    (rc = get_enum(obj, "weights", weights, 2, &w, err)) ||
	    (rc = get_enum(obj, "scale", scale, 2, &s, err)))
		return rc;
	p->coloring = c;
	p->weights = w;
	p->scale = s;
	return 0;
}

static int get_geometry(const json_t *obj, struct ks_hmparams *p,
			struct ks_err *err)
{
	bool ymax_given = false;
	int rc;

	if ((rc = get_u32(obj, "width", KS_HM_DIM_MIN, KS_HM_DIM_MAX,
			  &p->width, NULL, err)) ||
	    (rc = get_u32(obj, "height", KS_HM_DIM_MIN, KS_HM_DIM_MAX,
			  &p->height, NULL, err)) ||
	    (rc = get_u32(obj, "nbuckets", 1, KS_HM_NBUCKETS_MAX,
			  &p->nbuckets, NULL, err)) ||
	    (rc = get_uint(obj, "ymin", 0, KS_HM_Y_MAX, &p->ymin, NULL, err)) ||
	    (rc = get_uint(obj, "ymax", 0, KS_HM_Y_MAX, &p->ymax, &ymax_given,
			   err)))
		return rc;
	p->ymax_auto = !ymax_given;
	return 0;
}

static int get_probe(const json_t *obj, struct ks_hmparams *p,
		     struct ks_err *err)
{
	const json_t *v;
	int rc;

	if ((rc = get_u32(obj, "x", 0, KS_HM_DIM_MAX - 1, &p->x, &p->has_x,
			  err)) ||
	    (rc = get_u32(obj, "y", 0, KS_HM_DIM_MAX - 1, &p->y, &p->has_y,
			  err)) ||
	    (rc = scalar(obj, "percentile", &v, err)))
		return rc;
	if (!v)
		return 0;
	/* CA's parseFloat: "0.5x" is 0.5. */
	if (!ks_js_float(v, &p->percentile))
		return ks_err_set(err, EINVAL, "percentile",
				  "must be a number");
	if (!(p->percentile >= 0 && p->percentile <= 1))
		return ks_err_set(err, ERANGE, "percentile",
				  "must be between 0 and 1");
	p->has_percentile = true;
	return 0;
}

/* Rules between parameters, checked once all are read. */
static int cross_check(const struct ks_hmparams *p, struct ks_err *err)
{
	uint64_t floor_y = p->scale == KS_HM_SCALE_LOG && p->ymin < 1 ? 1
								       : p->ymin;
	size_t need = ks_hmparams__nhues_needed(p, p->nselected);

	if (!p->ymax_auto && p->ymax <= floor_y)
		return ks_err_set(err, EINVAL, "ymax",
				  "must be greater than %s (%llu)",
				  p->ymin >= 1 ? "ymin" : "1 with scale=log",
				  (unsigned long long)floor_y);
	if (p->ymax_auto && p->ymin >= KS_HM_Y_MAX)
		return ks_err_set(err, ERANGE, "ymin",
				  "must be below %llu when ymax is automatic",
				  KS_HM_Y_MAX);
	if (p->hues && p->mode != KS_HM_DECOMPOSE_ALL && p->nhues < need)
		return ks_err_set(err, EINVAL, "hues",
				  "needs %zu hues (one per selected key%s), "
				  "got %zu", need, p->mode == KS_HM_ISOLATE ?
				  "" : " plus one for everything else",
				  p->nhues);
	if (p->has_x && p->x >= p->width)
		return ks_err_set(err, ERANGE, "x",
				  "must be less than width (%u)", p->width);
	if (p->has_y && p->y >= p->height)
		return ks_err_set(err, ERANGE, "y",
				  "must be less than height (%u)", p->height);
	return 0;
}

int ks_hmparams__parse(struct ks_hmparams *p, const json_t *obj,
		       struct ks_err *err)
{
	int rc;

	ks_hmparams_init(p);
	ks_err_clear(err);
	if (!json_is_object(obj))
		return ks_err_set(err, EINVAL, "",
				  "heatmap parameters must be an object");
	if ((rc = get_geometry(obj, p, err)) || (rc = get_mode(obj, p, err)) ||
	    (rc = get_enums(obj, p, err)) ||
	    (rc = get_selected(obj, p, err)) || (rc = get_hues(obj, p, err)) ||
	    (rc = get_probe(obj, p, err)) || (rc = cross_check(p, err))) {
		if (rc == -ENOMEM && err && !err->msg[0])
			ks_err_set(err, ENOMEM, "", "out of memory");
		ks_hmparams_fini(p);
		return rc;
	}
	return 0;
}

size_t ks_hmparams__nhues_needed(const struct ks_hmparams *p,
				 size_t nselected)
{
	return nselected + (p->mode == KS_HM_ISOLATE ? 0 : 1);
}

const char *ks_hm_coloring_name(enum ks_hm_coloring c)
{
	return c == KS_HM_LINEAR ? "linear" : "rank";
}

const char *ks_hm_weights_name(enum ks_hm_weights w)
{
	return w == KS_HM_WEIGHT ? "weight" : "count";
}

const char *ks_hm_scale_name(enum ks_hm_scale s)
{
	return s == KS_HM_SCALE_LOG ? "log" : "linear";
}

const char *ks_hm_mode_name(enum ks_hm_mode m)
{
	switch (m) {
	case KS_HM_ISOLATE:
		return "isolate";
	case KS_HM_EXCLUDE:
		return "exclude";
	case KS_HM_DECOMPOSE_ALL:
		return "decompose_all";
	default:
		return "highlight";
	}
}
