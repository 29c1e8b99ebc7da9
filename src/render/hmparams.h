/* hmparams.h - the parameters of a heatmap request, parsed and checked.
 *
 * CA's heatmap resources (image, details, average, percentile) share one
 * parameter set: geometry (width, height, ymin, ymax, nbuckets), what to
 * draw (selected keys and the isolate/exclude/decompose_all modes), and how
 * (hues, coloring, weights).  Requests arrive as query strings, form bodies
 * or JSON, so every value may be a string ("600", "true", "a,b") or a JSON
 * number, boolean or array; the parser accepts both and checks CA's bounds,
 * naming the offending parameter in a ks_err.  Keys it does not know (the
 * time parameters, for instance) are left for other parsers.
 *
 * Extensions over CA: scale (linear or log rows), and x, y, percentile are
 * parsed here too, so the four resources need only this one parser.
 */
#ifndef KS_RENDER_HMPARAMS_H
#define KS_RENDER_HMPARAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define KS_HM_WIDTH_DEF 600
#define KS_HM_HEIGHT_DEF 300
#define KS_HM_DIM_MIN 10
#define KS_HM_DIM_MAX 1000
#define KS_HM_NBUCKETS_DEF 100
#define KS_HM_NBUCKETS_MAX 100
#define KS_HM_Y_MAX 1000000000000ULL	/* 10^12 ns = 1000 s, as CA */
/* Each selected key costs a map of width x nbuckets cells; bounded so that
 * one request cannot ask for gigabytes (and hues beyond a few dozen are not
 * told apart by anyone anyway). */
#define KS_HM_MAX_SELECTED 64

enum ks_hm_mode {
	KS_HM_HIGHLIGHT,	/* selected keys over "everything else" */
	KS_HM_ISOLATE,		/* only the selected keys */
	KS_HM_EXCLUDE,		/* only "everything else" */
	KS_HM_DECOMPOSE_ALL,	/* highlight every key present */
};

enum ks_hm_coloring { KS_HM_RANK, KS_HM_LINEAR };
enum ks_hm_weights { KS_HM_COUNT, KS_HM_WEIGHT };
enum ks_hm_scale { KS_HM_SCALE_LINEAR, KS_HM_SCALE_LOG };

struct ks_hmparams {
	uint32_t width, height, nbuckets;
	uint64_t ymin, ymax;	/* ymax is 0 when ymax_auto */
	bool ymax_auto;
	char **selected;	/* key strings, in request order */
	size_t nselected;
	enum ks_hm_mode mode;
	uint16_t *hues;		/* NULL: CA's defaults (21, then +91) */
	size_t nhues;
	enum ks_hm_coloring coloring;
	enum ks_hm_weights weights;
	enum ks_hm_scale scale;
	bool has_x, has_y, has_percentile;
	uint32_t x, y;		/* details: pixel, top-left origin */
	double percentile;	/* 0..1 */
};

/* Defaults, as if every parameter were absent. */
void ks_hmparams_init(struct ks_hmparams *p);
void ks_hmparams_fini(struct ks_hmparams *p);

/* Fills p (initialised here) from the JSON object obj.  0, or a negative
 * errno with err naming the parameter: -EINVAL for a bad value, -ERANGE for
 * one out of bounds, -ENOMEM.  On error p holds nothing to free. */
int ks_hmparams__parse(struct ks_hmparams *p, const json_t *obj,
		       struct ks_err *err);

/* Number of hues the request needs for nselected keys: one per key plus
 * one for "everything else" unless isolating. */
size_t ks_hmparams__nhues_needed(const struct ks_hmparams *p,
				 size_t nselected);

const char *ks_hm_coloring_name(enum ks_hm_coloring c);
const char *ks_hm_weights_name(enum ks_hm_weights w);
const char *ks_hm_scale_name(enum ks_hm_scale s);
const char *ks_hm_mode_name(enum ks_hm_mode m);

#endif /* KS_RENDER_HMPARAMS_H */
