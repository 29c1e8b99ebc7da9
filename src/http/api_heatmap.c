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
 *
 * Drawing (bucketing, colouring, PNG, base64) costs milliseconds, so it is
 * done without the engine lock: under the lock the request copies the
 * columns and CA's time members of every point into memory it owns, then
 * lets the lock go while it renders, and takes it back only to mark the
 * instrumentation as read, looked up again by id, since it may have been
 * deleted meanwhile.  Nothing of the engine is touched while unlocked but
 * the symtab, which guards itself.
 *
 * Finished answers are kept in a small cache (http/imgcache.h), because
 * the common client is a page redrawing the same view every second, often
 * in several tabs or for several viewers, and most of an image's cost is
 * drawing it.  The key holds everything the bytes depend on: the kind of
 * resource, the request's scope (tenant), the instrumentation (namespace,
 * id, creation time, dataset, the configuration a modify can change) and
 * its data generation (the oldest slot, the changes to slots before the
 * newest, and, only if the interval takes in the newest slot, the records
 * added so far), the engine second, the resolved interval and
 * every parameter as sent.  So a cached answer is served only where
 * drawing again would give the same bytes; the second advancing empties
 * the cache.  A live view (CA's default interval ends a second before
 * now) is so drawn once a second, however fast records arrive: keyed on
 * every record added, as it was, it was drawn again for nearly every
 * request while a source fed.
 *
 * Single flight (imgcache.h): the first miss of a key claims it and
 * draws; the requests for it meanwhile wait for its bytes, with the engine
 * lock let go (the drawer needs it to store them), or, for a live view,
 * get the same view's answer of the second before at once: every live
 * view expires when the second advances, and each viewer's next request
 * drew it again, all at the same time.  The claimer of a live view's new
 * second does not draw it either: a drawing thread does (see "drawing off
 * the request path" below).  Answers say where they came from
 * in an X-Kvmscope-Cache header: hit (this second's, drawn by another
 * request or waited for), stale (the previous second's answer of the live
 * view, while this second's is drawn) or miss (drawn for this request).
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dataset.h"
#include "engine/instn.h"
#include "engine/query.h"
#include "http/handlers.h"
#include "http/imgcache.h"
#include "http/tenancy.h"
#include "http/tokens.h"
#include "render/heatmap.h"
#include "render/hmparams.h"
#include "render/hmstats.h"
#include "util/workq.h"

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

/* Copying columns out of the engine lets its lock go every GATHER_CHUNK
 * columns: an hour's copy takes milliseconds, and held whole it held up
 * every other request and the sources' feed (the HTTP bench's p99).
 * Between chunks the instrumentation is looked up again, as it may have
 * gone; a change to the data the cache key names (or to the
 * instrumentation) meanwhile makes the picture one not to keep: its key
 * names the data as it was before. */
#define GATHER_CHUNK 256

struct reader {
	struct ks_api *a;
	const struct ks_route_match *m;
	const struct ks_query *q;
	const struct ks_instn *in;	/* valid while the lock is held */
	const struct ks_dataset *ds;	/* what identifies in, with crtime */
	int64_t crtime_ms;
	uint64_t gen[5];
	unsigned int since;		/* columns since the lock was taken */
	bool changed;
};

/* What a picture's cache key says of in's data and configuration: the
 * data drawn, for an interval that ends before the newest slot, changes
 * only with the past changes (and the oldest slot, recycled); one that
 * takes in the newest slot, with every record added.  The newest slot's
 * second is not in it: its moving past the interval's end changes nothing
 * drawn, and its moving inside it adds a record. */
static void data_gen(const struct ks_instn *in, const struct ks_query *q,
		     uint64_t gen[5])
{
	int64_t end = q->start + (int64_t)q->duration * q->ndatapoints;

	gen[0] = end > ks_dataset__newest(in->ds) ? in->nrecords : 0;
	gen[1] = ks_dataset__past_changes(in->ds);
	gen[2] = (uint64_t)ks_dataset__oldest(in->ds);
	gen[3] = in->conf.granularity;
	gen[4] = in->conf.retention_time;
}

static void reader_init(struct reader *r, struct ks_api *a,
			const struct ks_route_match *m,
			const struct ks_instn *in, const struct ks_query *q)
{
	*r = (struct reader){ .a = a, .m = m, .q = q, .in = in, .ds = in->ds,
			      .crtime_ms = in->crtime_ms };
	data_gen(in, q, r->gen);
}

/* Lets the lock go and takes it back (the request's scope put back):
 * 0, or -ENOENT if the instrumentation went away meanwhile. */
static int reader_yield(struct reader *r)
{
	const struct ks_scope *scope = r->a->scope;
	const struct ks_instn *in;
	uint64_t gen[5];

	ks_api__unlock(r->a);
	/* the mutex is not fair: without a yield this thread took it back
	 * before a waiter woken by the unlock could */
	sched_yield();
	ks_api__lock(r->a);
	r->a->scope = scope;
	r->since = 0;
	in = ks_api_find(r->a, r->m);
	if (!in || in->ds != r->ds || in->crtime_ms != r->crtime_ms)
		return -ENOENT;
	r->in = in;
	data_gen(in, r->q, gen);
	r->changed |= memcmp(gen, r->gen, sizeof(gen)) != 0;
	return 0;
}

static int columns_fill(struct columns *c, struct reader *r, int64_t start,
			uint32_t duration)
{
	uint32_t g = r->in->conf.granularity;
	int rc;

	c->n = duration / g;
	c->v = calloc(c->n, sizeof(*c->v));
	c->p = calloc(c->n, sizeof(*c->p));
	if (!c->v || !c->p) {
		c->n = 0;
		columns_fini(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n; i++) {
		rc = ++r->since >= GATHER_CHUNK ? reader_yield(r) : 0;
		if (!rc && ks_dataset__value(r->in->ds,
					     start + (int64_t)(i * g), g,
					     &c->v[i]))
			rc = -ENOMEM;
		if (rc) {
			c->n = i;
			columns_fini(c);
			return rc;
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

/* What one request copied out of the engine, one entry per point: the
 * columns, and CA's time members (a JSON object without "value"). */
struct gathered {
	struct columns *cols;
	json_t **hdr;
	int64_t *start;
	uint32_t n;
	uint32_t step;
};

static void gathered_fini(struct gathered *g)
{
	for (uint32_t i = 0; g->cols && i < g->n; i++) {
		columns_fini(&g->cols[i]);
		json_decref(g->hdr[i]);
	}
	free(g->cols);
	free(g->hdr);
	free(g->start);
	memset(g, 0, sizeof(*g));
}

/* Copies point i (called locked; see struct reader).  0, -ENOMEM or
 * -ENOENT. */
static int gather_one(struct gathered *g, struct reader *r, uint32_t i)
{
	const struct ks_query *q = r->q;
	int rc;

	g->start[i] = q->start + (int64_t)i * q->duration;
	if ((rc = columns_fill(&g->cols[i], r, g->start[i], q->duration)))
		return rc;
	/* The time members only: the whole interval's value, merged from
	 * every slot and then dropped, was a third of a drawing's cost. */
	if (!(g->hdr[i] = ks_query_times(q, i)))
		return -ENOMEM;
	return 0;
}

/* Copies every point of the request (called locked; the lock is let go
 * between chunks: struct reader).  0, -ENOMEM or -ENOENT (gone). */
static int gather(struct gathered *g, struct reader *r)
{
	uint32_t n = r->q->multi ? r->q->ndatapoints : 1;
	int rc;

	memset(g, 0, sizeof(*g));
	g->step = r->in->conf.granularity;
	g->cols = calloc(n, sizeof(*g->cols));
	g->hdr = calloc(n, sizeof(*g->hdr));
	g->start = calloc(n, sizeof(*g->start));
	if (!g->cols || !g->hdr || !g->start) {
		gathered_fini(g);
		return -ENOMEM;
	}
	g->n = n;
	for (uint32_t i = 0; i < n; i++)
		if ((rc = gather_one(g, r, i))) {
			gathered_fini(g);
			return rc;
		}
	return 0;
}

/* One point: the render module's answer plus CA's time members. */
static json_t *point(enum hm_kind k, const struct gathered *g, uint32_t i,
		     const struct ks_hmparams *hp, struct ks_err *err)
{
	const struct columns *c = &g->cols[i];
	struct ks_hm_input hin = { .cols = c->p, .ncols = c->n,
				   .base = g->start[i], .step = g->step };
	json_t *o;

	errno = 0;
	if (!(o = render_one(k, &hin, hp, err)))
		return NULL;
	if (json_object_update_missing(o, g->hdr[i])) {
		json_decref(o);
		errno = ENOMEM;
		ks_err_set(err, ENOMEM, "", "out of memory");
		return NULL;
	}
	return o;
}

static void render_error(struct ks_http_resp *resp, int e,
			 const struct ks_err *err)
{
	if (e == ENOMEM || !e)
		ks_http_resp__error(resp, 500, NULL, "",
				    "out of memory");
	else if (e == ENOTSUP)
		ks_http_resp__error(resp, 404, NULL, "id", "%s",
				    err->msg);
	else
		ks_api_param_error(resp, -e, err);
}

/* Every point of the request; an object, or an array for ndatapoints. */
static json_t *points(enum hm_kind k, const struct gathered *g, bool multi,
		      const struct ks_hmparams *hp, int *e, struct ks_err *err)
{
	json_t *arr = multi ? json_array() : NULL;

	if (!multi) {
		json_t *o = point(k, g, 0, hp, err);

		*e = o ? 0 : errno;
		return o;
	}
	for (uint32_t i = 0; arr && i < g->n; i++) {
		json_t *o = point(k, g, i, hp, err);

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
		ks_http_resp__error(resp, 404, NULL, "id",
				    "instrumentation %s has no numeric "
				    "decomposition, so no heatmap", in->id);
		return NULL;
	}
	(void)req;
	return in;
}

/* points() with the engine lock let go: g and hp are the request's own,
 * and g is freed before the lock is taken back (an hour of columns holds
 * tens of thousands of symbol references to drop).  The lock is taken
 * back before returning, as the dispatcher expects, and the request's
 * scope put back (another request set its own meanwhile). */
static json_t *render_unlocked(struct ks_api *a, enum hm_kind k,
			       struct gathered *g, bool multi,
			       const struct ks_hmparams *hp, int *e,
			       struct ks_err *err)
{
	const struct ks_scope *scope = a->scope;
	json_t *o;

	ks_api__unlock(a);
	o = points(k, g, multi, hp, e, err);
	gathered_fini(g);
	ks_api__lock(a);
	a->scope = scope;
	return o;
}

/* Marks the instrumentation read (called locked), if it still exists:
 * it may have been deleted while the picture was drawn.  True if it
 * does. */
static bool mark_read(struct ks_api *a, const struct ks_route_match *m,
		      int64_t now)
{
	struct ks_instn *in = ks_api_find(a, m);

	if (in)
		in->atime_s = now;
	return in != NULL;
}

/* The scope's part of a cache key: answers are never shared between
 * scopes, even where they would be equal. */
static void scope_key(const struct ks_scope *sc, char *buf, size_t len)
{
	if (sc->kind == KS_SCOPE_TENANT && sc->tenant)
		snprintf(buf, len, "t:%p:%s", (const void *)sc->tenant,
			 sc->tenant->name);
	else
		snprintf(buf, len, "%d", (int)sc->kind);
}

/* A request's keys: key, the exact answer; view, what stays the same
 * from one second to the next (all but the clock, the interval and the
 * data generation), set only for a live view, whose interval the clock
 * moves (neither start_time nor end_time given): its previous second's
 * answer may stand in while the new one is drawn (imgcache.h). */
struct keys {
	char *key, *view;
};

static void keys_fini(struct keys *ks)
{
	free(ks->key);
	free(ks->view);
	memset(ks, 0, sizeof(*ks));
}

/* The view part of the keys (called locked), or NULL on ENOMEM. */
static char *view_key(struct ks_api *a, enum hm_kind k,
		      const struct ks_instn *in, const json_t *params)
{
	char *p = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS), *view;
	char scope[KS_TENANT_NAME_MAX + 32];
	int n;

	if (!p)
		return NULL;
	scope_key(a->scope, scope, sizeof(scope));
	n = asprintf(&view, "%d|%s|%s/%s|%lld|%p|%d.%d.%d|%u.%u.%d|%s",
		     (int)k, scope, in->owner, in->id,
		     (long long)in->crtime_ms, (void *)in->ds,
		     (int)in->conf.metric, in->conf.discrete,
		     in->conf.numeric, in->conf.granularity,
		     in->conf.retention_time, (int)in->conf.enabled, p);
	free(p);
	return n < 0 ? NULL : view;
}

/* The keys of one request (called locked, after its parameters were
 * checked); ks->key NULL on ENOMEM: then the request is drawn, not
 * cached. */
static void cache_keys(struct ks_api *a, enum hm_kind k,
		       const struct ks_instn *in, const struct ks_query *q,
		       const json_t *params, int64_t now, struct keys *ks)
{
	char *view = view_key(a, k, in, params);
	uint64_t gen[5];
	int n;

	memset(ks, 0, sizeof(*ks));
	if (!view)
		return;
	/* the data generation (data_gen); the configuration is the view's */
	data_gen(in, q, gen);
	n = asprintf(&ks->key, "%s|%llu.%llu.%lld|%lld|%lld+%u*%u%c|"
		     "%lld.%lld.%lld", view, (unsigned long long)gen[0],
		     (unsigned long long)gen[1], (long long)gen[2],
		     (long long)now,
		     (long long)q->start, q->duration, q->ndatapoints,
		     q->multi ? 'm' : 's', (long long)q->req_start,
		     (long long)q->req_duration, (long long)q->req_end);
	if (n < 0)
		ks->key = NULL;
	/* live: neither end given (q's req_* are the resolved interval) */
	if (ks->key && !json_object_get(params, "start_time") &&
	    !json_object_get(params, "end_time"))
		ks->view = view;
	else
		free(view);
}

/* The cache, made on first use (called locked); NULL if out of memory. */
static struct ks_imgcache *cache(struct ks_api *a)
{
	if (!a->imgcache)
		a->imgcache = ks_imgcache__new(0, 0);
	return a->imgcache;
}

/* ks_imgcache__fetch with the engine lock let go, for a wait: the request
 * that draws the key needs the lock to store it. */
static int fetch_unlocked(struct ks_api *a, struct ks_imgcache *c,
			  const struct ks_imgcache_ask *q, char **body,
			  size_t *len)
{
	const struct ks_scope *scope = a->scope;
	int got;

	ks_api__unlock(a);
	got = ks_imgcache__fetch(c, q, true, body, len);
	ks_api__lock(a);
	a->scope = scope;
	return got;
}

/* ---- drawing off the request path -------------------------------------
 *
 * Every live view expires when the second advances, and the first request
 * of each view's new second claims it.  Drawn by that request, an hour of
 * 600x300 costs it about 12 ms of CPU, and with many views the claims all
 * come at the turn of the second: those requests were the HTTP bench's
 * p99 (hundreds of ms at 500 req/s over 30 views).  So where the view's
 * previous second's answer is at hand, the claim goes to one drawing
 * thread (util/workq.h): a claimer whose draw starts at once waits for
 * it, KS_REDRAW_WAIT_MS at most, unless heatmaps are busy (a lone viewer
 * still gets this second's picture, as before); one queued behind other
 * draws, or whose wait runs out, or under load, answers the previous
 * second's picture ("stale", as its followers already did).  The thread
 * draws with the request's parameters, scope and instrumentation path,
 * looked up again: a job whose key no longer holds (the second moved on,
 * the instrumentation changed or went) gives its claim up undrawn. */

/* What a heatmap request is, for the drawing thread too. */
struct hm_call {
	enum hm_kind k;
	const struct ks_http_req *req;
	const struct ks_route_match *m;
	int64_t delay;
	bool busy;	/* many heatmap requests lately: a claimer won't wait */
};

/* Counts a heatmap request (called locked): true when this second and
 * the one before have had more than KS_REDRAW_BUSY. */
static bool count_busy(struct ks_api *a, int64_t now)
{
	if (now != a->hm_sec) {
		a->hm_prev = now == a->hm_sec + 1 ? a->hm_count : 0;
		a->hm_sec = now;
		a->hm_count = 0;
	}
	a->hm_count++;
	return a->hm_prev + a->hm_count > KS_REDRAW_BUSY;
}

/* A handed-off draw: copies of all it needs, and the key it claimed. */
struct redraw_job {
	enum hm_kind k;
	json_t *params;
	struct ks_route_match m;
	struct ks_scope scope;
	int64_t delay;
	char *key;
};

static void job_free(struct redraw_job *j)
{
	if (!j)
		return;
	json_decref(j->params);
	free(j->key);
	free(j);
}

static struct redraw_job *job_new(struct ks_api *a, const struct hm_call *c,
				  const char *key)
{
	struct redraw_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	*j = (struct redraw_job){ .k = c->k, .m = *c->m, .scope = *a->scope,
				  .delay = c->delay, .key = strdup(key),
				  .params = json_deep_copy(c->req->params) };
	if (!j->key || !j->params) {
		job_free(j);
		return NULL;
	}
	return j;
}

static json_t *draw(struct ks_api *a, enum hm_kind k,
		    const struct ks_http_req *req,
		    const struct ks_route_match *m, const struct ks_instn *in,
		    const struct ks_query *q, bool *changed,
		    struct ks_http_resp *resp);
static void cache_keep(struct ks_api *a, const struct keys *ks, int64_t now,
		       int got, bool keep, struct ks_http_resp *resp);

/* Draws j (called locked, in j's scope) if its key still holds: false if
 * it did not, and the claim is still to be given up. */
static bool redraw_one(struct ks_api *a, const struct redraw_job *j,
		       struct ks_http_resp *resp)
{
	struct ks_http_req req = { .method = "GET", .params = j->params };
	struct ks_instn *in = ks_api_find(a, &j->m);
	int64_t now = ks_api_now(a);
	struct ks_query q;
	struct ks_err err;
	struct keys ks;
	bool changed;
	json_t *o;

	if (!in || !ks_arity_numeric(ks_instn_conf_arity(&in->conf)) ||
	    ks_query_parse(j->params, in->conf.granularity, now,
			   default_duration(j->k), &q, &err))
		return false;
	cache_keys(a, j->k, in, &q, j->params, now, &ks);
	if (!ks.key || strcmp(ks.key, j->key)) {
		keys_fini(&ks);
		return false;
	}
	if ((o = draw(a, j->k, &req, &j->m, in, &q, &changed, resp))) {
		ks_api_add_delay(o, j->delay);
		ks_http_resp__json(resp, 200, o);
	}
	cache_keep(a, &ks, now, KS_IMGCACHE_DRAW,
		   o && !changed && ks_api_find(a, &j->m), resp);
	keys_fini(&ks);
	return true;
}

/* The drawing thread's job. */
static void redraw_run(void *ctx, void *job)
{
	struct ks_api *a = ctx;
	struct redraw_job *j = job;
	struct ks_http_resp resp;

	ks_http_resp_init(&resp);
	ks_api__lock(a);
	a->scope = &j->scope;
	if (!redraw_one(a, j, &resp))
		ks_imgcache__abandon(a->imgcache, j->key);
	a->scope = &ks_api_scope_none;
	ks_api__unlock(a);
	ks_http_resp_fini(&resp);
	job_free(j);
}

/* A job never run (the API is going away). */
static void redraw_drop(void *ctx, void *job)
{
	struct ks_api *a = ctx;
	struct redraw_job *j = job;

	ks_imgcache__abandon(a->imgcache, j->key);
	job_free(j);
}

/* The drawing thread, started on first use (called locked); NULL if it
 * cannot be. */
static struct ks_workq *redrawer(struct ks_api *a)
{
	if (!a->redraw)
		a->redraw = ks_workq__new(KS_REDRAW_JOBS, redraw_run,
					  redraw_drop, a);
	return a->redraw;
}

/* ks_imgcache__await with the engine lock let go: the drawing thread
 * needs it. */
static int await_unlocked(struct ks_api *a, const char *key, int64_t now,
			  char **body, size_t *len)
{
	const struct ks_scope *scope = a->scope;
	int rc;

	ks_api__unlock(a);
	rc = ks_imgcache__await(a->imgcache, key, now, a->redraw_wait_ms,
				body, len);
	ks_api__lock(a);
	a->scope = scope;
	return rc;
}

/* The claimer of a live view with its previous answer in stale (called
 * locked): hands the draw off and answers, HIT (this second's, waited
 * for) or STALE; DRAW when it cannot hand off (the caller draws). */
static int handoff(struct ks_api *a, const struct hm_call *call,
		   const struct keys *ks, int64_t now, char *stale,
		   size_t slen, struct ks_http_resp *resp)
{
	struct redraw_job *j = job_new(a, call, ks->key);
	struct ks_workq *w = j ? redrawer(a) : NULL;
	int ahead = w ? ks_workq__push(w, j) : -ENOMEM;
	bool fresh = false;
	char *body;
	size_t len;

	if (ahead < 0) {
		job_free(j);
		free(stale);
		return KS_IMGCACHE_DRAW;
	}
	if (ahead == 0 && a->redraw_wait_ms && !call->busy &&
	    !await_unlocked(a, ks->key, now, &body, &len)) {
		free(stale);
		stale = body;
		slen = len;
		fresh = true;
	}
	ks_http_resp__data(resp, 200, KS_HTTP_JSON, stale, slen);
	free(stale);
	/* this second's answer, drawn for this request: a miss, as when the
	 * request draws it itself */
	ks_http_resp__header(resp, "X-Kvmscope-Cache", fresh ? "miss" : "stale");
	return fresh ? KS_IMGCACHE_HIT : KS_IMGCACHE_STALE;
}

/* Asks the cache for ks (called locked; with wait, the lock may be let
 * go to wait for another's draw).  HIT or STALE: answered (with call, a
 * claim of a live view may be handed to the drawing thread: handoff).
 * DRAW: the caller draws and must cache_keep.  DRAW_ALONE: the caller
 * draws.  BUSY: another draws it (without wait), or it waited and the
 * other's answer was not kept: the caller asks again, with keys made
 * anew. */
static int cache_answer(struct ks_api *a, const struct hm_call *call,
			const struct keys *ks, int64_t now, bool wait,
			struct ks_http_resp *resp)
{
	struct ks_imgcache *c = cache(a);
	struct ks_imgcache_ask q = { .key = ks->key, .view = ks->view,
				     .epoch = now, .handoff = call != NULL };
	char *body;
	size_t len;
	int got;

	if (!ks->key || !c)
		return KS_IMGCACHE_DRAW_ALONE;
	got = ks_imgcache__fetch(c, &q, false, &body, &len);
	if (got == KS_IMGCACHE_STALE_DRAW)
		return handoff(a, call, ks, now, body, len, resp);
	if (got == KS_IMGCACHE_BUSY && wait) {
		got = fetch_unlocked(a, c, &q, &body, &len);
		if (got == KS_IMGCACHE_DRAW_ALONE)
			return KS_IMGCACHE_BUSY;
	}
	if (got != KS_IMGCACHE_HIT && got != KS_IMGCACHE_STALE)
		return got < 0 ? KS_IMGCACHE_DRAW_ALONE : got;
	ks_http_resp__data(resp, 200, KS_HTTP_JSON, body, len);
	free(body);
	ks_http_resp__header(resp, "X-Kvmscope-Cache",
			     got == KS_IMGCACHE_HIT ? "hit" : "stale");
	return got;
}

/* Keeps a finished 200 answer under ks, or gives up the claim (got DRAW)
 * for any other; a failure to keep only costs a redraw. */
static void cache_keep(struct ks_api *a, const struct keys *ks, int64_t now,
		       int got, bool keep, struct ks_http_resp *resp)
{
	struct ks_imgcache_ask q = { .key = ks->key, .view = ks->view,
				     .epoch = now };

	keep = keep && ks->key && a->imgcache && resp->status == 200 &&
	       resp->body;
	if (keep)
		ks_imgcache__put_view(a->imgcache, &q, resp->body, resp->len);
	else if (got == KS_IMGCACHE_DRAW)
		ks_imgcache__abandon(a->imgcache, ks->key);
	if (resp->status == 200)
		ks_http_resp__header(resp, "X-Kvmscope-Cache", "miss");
}

/* Draws the answer (called locked; the lock is let go while drawing).
 * Answers an error and returns NULL if it cannot. */
static json_t *draw(struct ks_api *a, enum hm_kind k,
		    const struct ks_http_req *req,
		    const struct ks_route_match *m, const struct ks_instn *in,
		    const struct ks_query *q, bool *changed,
		    struct ks_http_resp *resp)
{
	struct ks_hmparams hp;
	struct gathered g;
	struct reader r;
	struct ks_err err;
	json_t *o;
	int rc, e;

	if ((rc = ks_hmparams__parse(&hp, req->params, &err))) {
		ks_api_param_error(resp, rc, &err);
		return NULL;
	}
	reader_init(&r, a, m, in, q);
	rc = gather(&g, &r);
	*changed = r.changed;
	if (rc) {
		ks_hmparams_fini(&hp);
		if (rc == -ENOENT)
			ks_http_resp__error(resp, 404, NULL, "id",
					    "the instrumentation went away "
					    "while its heatmap was drawn");
		else
			render_error(resp, ENOMEM, &err);
		return NULL;
	}
	o = render_unlocked(a, k, &g, q->multi, &hp, &e, &err);	/* frees g */
	ks_hmparams_fini(&hp);
	if (!o)
		render_error(resp, e, &err);
	return o;
}

/* The instrumentation and its interval, checked, waited for (timeout);
 * NULL after answering an error. */
static struct ks_instn *begin(struct ks_api *a, enum hm_kind k,
			      const struct ks_http_req *req,
			      const struct ks_route_match *m,
			      struct ks_query *q, int64_t *delay,
			      struct ks_http_resp *resp)
{
	struct ks_instn *in = hm_begin(a, req, m, resp);
	struct ks_err err;
	int rc;

	if (!in || ks_api_check_xforms(req->params, resp))
		return NULL;
	rc = ks_query_parse(req->params, in->conf.granularity, ks_api_now(a),
			    default_duration(k), q, &err);
	if (rc) {
		ks_api_param_error(resp, rc, &err);
		return NULL;
	}
	if ((uint64_t)q->ndatapoints * (q->duration / in->conf.granularity) >
	    KS_MAX_DATAPOINTS) {
		ks_http_resp__error(resp, 409, NULL, "ndatapoints",
				    "ndatapoints x duration / granularity must "
				    "be at most %d columns", KS_MAX_DATAPOINTS);
		return NULL;
	}
	return ks_api_wait(a, m, in, ks_api_query_end(q), q->timeout_ms,
			   delay, resp);
}

/* Waits for others' draws at most this many times; then draws itself. */
#define CACHE_TRIES 3

static void serve(enum hm_kind k, struct ks_api *a,
		  const struct ks_http_req *req, const struct ks_route_match *m,
		  struct ks_http_resp *resp)
{
	struct ks_query q;
	struct ks_instn *in;
	struct hm_call call;
	struct keys ks;
	int64_t now, delay;
	bool changed;
	json_t *o;
	int got;

	if (!(in = begin(a, k, req, m, &q, &delay, resp)))
		return;
	call = (struct hm_call){ .k = k, .req = req, .m = m, .delay = delay,
				 .busy = count_busy(a, ks_api_now(a)) };
	for (int tries = 1;; tries++) {
		now = ks_api_now(a);
		cache_keys(a, k, in, &q, req->params, now, &ks);
		got = cache_answer(a, &call, &ks, now, tries < CACHE_TRIES,
				   resp);
		if (got == KS_IMGCACHE_HIT || got == KS_IMGCACHE_STALE) {
			mark_read(a, m, now);
			keys_fini(&ks);
			return;
		}
		if (got != KS_IMGCACHE_BUSY)
			break;
		/* Unclaimed: drawn, not kept (another keeps its own). */
		keys_fini(&ks);
		if (tries >= CACHE_TRIES)
			break;
		/* The lock was let go: the instrumentation may be gone. */
		if (!(in = ks_api_instn(a, m, resp)))
			return;
	}
	if ((o = draw(a, k, req, m, in, &q, &changed, resp))) {
		ks_api_add_delay(o, delay);
		ks_http_resp__json(resp, 200, o);
	}
	/* Kept only if the instrumentation still exists (one deleted while
	 * drawing must leave nothing behind) and its data did not change
	 * while the lock was let go (the key names the data before). */
	cache_keep(a, &ks, now, got, o && !changed && mark_read(a, m, now),
		   resp);
	keys_fini(&ks);
}

void ks_api_hm_list(void *ctx, const struct ks_http_req *req,
		    const struct ks_route_match *m, struct ks_http_resp *resp)
{
	/* CA's list; the grid (our extension) is not in it, so that the
	 * answer stays CA's. */
	static const char *const kinds[] = { "image", "details", "average",
					     "percentile" };
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
