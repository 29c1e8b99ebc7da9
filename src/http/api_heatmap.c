/* api_heatmap.c - CA's heatmap resources: image, details, average,
 * percentile, and the grid of counts behind an image (an extension).
 *
 * Every resource reads the same way: the instrumentation must have a
 * numeric decomposition (404 otherwise, as in CA); the time parameters give
 * the interval, one column per granularity step; the heatmap parameters
 * (src/render/hmparams.h) the geometry and what to draw.  The columns are
 * the dataset's values per step, and the render module turns them into the
 * answer.  With ndatapoints the answer is an array of consecutive
 * intervals, like raw values; the columns of one request are bounded by
 * KS_MAX_DATAPOINTS so that one request cannot pin the agent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dataset.h"
#include "engine/instn.h"
#include "engine/query.h"
#include "http/handlers.h"
#include "render/heatmap.h"
#include "render/hmparams.h"
#include "render/hmstats.h"

#define HM_PARAMS \
	KS_API_TIME_PARAMS, "width", "height", "ymin", "ymax", "nbuckets", \
	"selected", "isolate", "exclude", "decompose_all", "hues", \
	"coloring", "weights", "scale", "x", "y", "percentile"

enum hm_kind { HM_IMAGE, HM_GRID, HM_DETAILS, HM_AVERAGE, HM_PERCENTILE };

/* CA's default durations: a minute of picture, one second of statistic. */
static uint32_t default_duration(enum hm_kind k)
{
	return k == HM_AVERAGE || k == HM_PERCENTILE ? 1 : 60;
}

/* The columns of one interval, filled from the dataset. */
struct columns {
	struct ks_value *v;
	const struct ks_value **p;
	size_t n;
};

static void columns_fini(struct columns *c)
{
	for (size_t i = 0; c->v && i < c->n; i++)
		ks_value_fini(&c->v[i]);
	free(c->v);
	free(c->p);
	memset(c, 0, sizeof(*c));
}

static int columns_fill(struct columns *c, const struct ks_instn *in,
			int64_t start, uint32_t duration)
{
	uint32_t g = in->conf.granularity;

	c->n = duration / g;
	c->v = calloc(c->n, sizeof(*c->v));
	c->p = calloc(c->n, sizeof(*c->p));
	if (!c->v || !c->p) {
		c->n = 0;
		columns_fini(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (ks_dataset__value(in->ds, start + (int64_t)(i * g), g,
				      &c->v[i])) {
			c->n = i;
			columns_fini(c);
			return -ENOMEM;
		}
		c->p[i] = &c->v[i];
	}
	return 0;
}

/* The answer for one interval of one kind; NULL with errno and err set. */
static json_t *render_one(enum hm_kind k, const struct ks_hm_input *hin,
			  const struct ks_hmparams *hp, struct ks_err *err)
{
	struct ks_heatmap *hm;
	json_t *o;

	switch (k) {
	case HM_DETAILS:
		return ks_heatmap_details(hin, hp, err);
	case HM_AVERAGE:
		return ks_heatmap_average(hin, hp, err);
	case HM_PERCENTILE:
		return ks_heatmap_percentile(hin, hp, err);
	case HM_IMAGE:
	case HM_GRID:
	default:
		break;
	}
	if (!(hm = ks_heatmap__render(hin, hp, err)))
		return NULL;
	o = ks_heatmap__to_json(hm, k == HM_IMAGE ? KS_HM_JSON_IMAGE
						  : KS_HM_JSON_GRID);
	ks_heatmap__free(hm);
	if (!o) {
		errno = ENOMEM;
		ks_err_set(err, ENOMEM, "", "out of memory");
	}
	return o;
}

/* One point: the render module's answer plus CA's time members. */
static json_t *point(enum hm_kind k, const struct ks_instn *in,
		     const struct ks_query *q, uint32_t i,
		     const struct ks_hmparams *hp, struct ks_err *err)
{
	int64_t start = q->start + (int64_t)i * q->duration;
	struct ks_hm_input hin;
	struct columns c;
	json_t *o, *hdr;

	if (columns_fill(&c, in, start, q->duration)) {
		errno = ENOMEM;
		ks_err_set(err, ENOMEM, "", "out of memory");
		return NULL;
	}
	hin = (struct ks_hm_input){ .cols = c.p, .ncols = c.n, .base = start,
				    .step = in->conf.granularity };
	errno = 0;
	o = render_one(k, &hin, hp, err);
	columns_fini(&c);
	if (!o)
		return NULL;
	hdr = ks_query_point(in, q, i);
	if (!hdr) {
		json_decref(o);
		errno = ENOMEM;
		ks_err_set(err, ENOMEM, "", "out of memory");
		return NULL;
	}
	json_object_del(hdr, "value");
	json_object_update_missing(o, hdr);
	json_decref(hdr);
	return o;
}

static void render_error(struct ks_http_resp *resp, int e,
			 const struct ks_err *err)
{
	if (e == ENOMEM || !e)
		ks_http_resp__error(resp, 500, "InternalError", "",
				    "out of memory");
	else if (e == ENOTSUP)
		ks_http_resp__error(resp, 404, "ResourceNotFound", "id", "%s",
				    err->msg);
	else
		ks_api_param_error(resp, -e, err);
}

/* Every point of the request; an object, or an array for ndatapoints. */
static json_t *points(enum hm_kind k, const struct ks_instn *in,
		      const struct ks_query *q, const struct ks_hmparams *hp,
		      int *e, struct ks_err *err)
{
	json_t *arr = q->multi ? json_array() : NULL;

	if (!q->multi) {
		json_t *o = point(k, in, q, 0, hp, err);

		*e = o ? 0 : errno;
		return o;
	}
	for (uint32_t i = 0; arr && i < q->ndatapoints; i++) {
		json_t *o = point(k, in, q, i, hp, err);

		if (!o || json_array_append_new(arr, o)) {
			*e = o ? ENOMEM : errno;
			json_decref(arr);
			return NULL;
		}
	}
	*e = arr ? 0 : ENOMEM;
	return arr;
}

/* The checks every heatmap resource makes before it computes anything.
 * Returns the instrumentation, or NULL after answering an error. */
static struct ks_instn *hm_begin(struct ks_api *a, const struct ks_http_req *req,
				 const struct ks_route_match *m,
				 struct ks_http_resp *resp)
{
	struct ks_instn *in = ks_api_instn(a, m, resp);

	if (!in)
		return NULL;
	if (!ks_arity_numeric(ks_instn_conf_arity(&in->conf))) {
		ks_http_resp__error(resp, 404, "ResourceNotFound", "id",
				    "instrumentation %s has no numeric "
				    "decomposition, so no heatmap", in->id);
		return NULL;
	}
	(void)req;
	return in;
}

static void serve(enum hm_kind k, struct ks_api *a,
		  const struct ks_http_req *req, const struct ks_route_match *m,
		  struct ks_http_resp *resp)
{
	static const char *const names[] = { HM_PARAMS };
	struct ks_instn *in = hm_begin(a, req, m, resp);
	int64_t now = ks_api_now(a);
	struct ks_hmparams hp;
	struct ks_query q;
	struct ks_err err;
	json_t *o;
	int rc, e;

	if (!in || ks_api_check_params(req->params, names,
				       sizeof(names) / sizeof(names[0]), resp) ||
	    ks_api_check_xforms(req->params, resp))
		return;
	rc = ks_query_parse(req->params, in->conf.granularity, now,
			    default_duration(k), &q, &err);
	if (rc) {
		ks_api_param_error(resp, rc, &err);
		return;
	}
	if ((uint64_t)q.ndatapoints * (q.duration / in->conf.granularity) >
	    KS_MAX_DATAPOINTS) {
		ks_http_resp__error(resp, 400, "InvalidArgument", "ndatapoints",
				    "ndatapoints x duration / granularity must "
				    "be at most %d columns", KS_MAX_DATAPOINTS);
		return;
	}
	if ((rc = ks_hmparams__parse(&hp, req->params, &err))) {
		ks_api_param_error(resp, rc, &err);
		return;
	}
	o = points(k, in, &q, &hp, &e, &err);
	ks_hmparams_fini(&hp);
	if (!o) {
		render_error(resp, e, &err);
		return;
	}
	in->atime_s = now;
	ks_http_resp__json(resp, 200, o);
}

void ks_api_hm_list(void *ctx, const struct ks_http_req *req,
		    const struct ks_route_match *m, struct ks_http_resp *resp)
{
	static const char *const kinds[] = { "image", "details", "average",
					     "percentile", "grid" };
	struct ks_instn *in = hm_begin(ctx, req, m, resp);
	char uri[sizeof(m->base) + 64], buf[sizeof(uri) + 64];
	json_t *arr;

	if (!in)
		return;
	ks_api_instn_uri(m, in, uri, sizeof(uri));
	arr = json_array();
	for (size_t i = 0; arr && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(buf, sizeof(buf), "%s/value/heatmap/%s", uri, kinds[i]);
		if (json_array_append_new(arr, json_pack("{s:s,s:s}", "name",
							 kinds[i], "uri",
							 buf))) {
			json_decref(arr);
			arr = NULL;
		}
	}
	ks_http_resp__json(resp, 200, arr);
}

void ks_api_hm_image(void *ctx, const struct ks_http_req *req,
		     const struct ks_route_match *m, struct ks_http_resp *resp)
{
	serve(HM_IMAGE, ctx, req, m, resp);
}

void ks_api_hm_grid(void *ctx, const struct ks_http_req *req,
		    const struct ks_route_match *m, struct ks_http_resp *resp)
{
	serve(HM_GRID, ctx, req, m, resp);
}

void ks_api_hm_details(void *ctx, const struct ks_http_req *req,
		       const struct ks_route_match *m,
		       struct ks_http_resp *resp)
{
	serve(HM_DETAILS, ctx, req, m, resp);
}

void ks_api_hm_average(void *ctx, const struct ks_http_req *req,
		       const struct ks_route_match *m,
		       struct ks_http_resp *resp)
{
	serve(HM_AVERAGE, ctx, req, m, resp);
}

void ks_api_hm_percentile(void *ctx, const struct ks_http_req *req,
			  const struct ks_route_match *m,
			  struct ks_http_resp *resp)
{
	serve(HM_PERCENTILE, ctx, req, m, resp);
}
