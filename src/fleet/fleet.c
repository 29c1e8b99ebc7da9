/* fleet.c - instrumentations answered from Prometheus (see fleet.h).
 *
 * A plan turns an instrumentation into one PromQL expression and the list
 * of labels it groups by; a cursor per instrumentation remembers the first
 * window not yet fed.  A poll walks the engine's instrumentations under
 * the lock (copying what it needs), queries without the lock, and feeds
 * under the lock again to the instrumentation it queried for, if it is
 * still the same one (owner, id and creation time).
 */
#include "fleet/fleet.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/catalog.h"
#include "engine/predicate.h"
#include "engine/record.h"
#include "engine/symtab.h"
#include "expo/prom.h"
#include "fleet/carry.h"
#include "fleet/promql.h"

#define QUERY_MAX 1024
#define POINTS_MAX 10000	/* windows per query_range (Prometheus: 11000) */
#define GROUP_MAX 12		/* labels a plan groups by, le included */
/* A series unseen this long is forgotten by the carry: its agent has most
 * likely restarted, and its counters start again from 0. */
#define KS_FLEET_CARRY_AGE 3600

struct plan {
	const struct ks_prom_family *fam;
	bool hist;
	int nlabels;
	enum ks_field labels[GROUP_MAX];
	char query[QUERY_MAX];
};

struct cursor {
	char owner[KS_INSTN_OWNER_MAX + 1];
	char id[16];
	int64_t crtime_ms;
	int64_t next;		/* start of the first window not fed, s */
	bool used;		/* seen by the current poll */
	struct ks_carry *carry;	/* each series' last value (carry.h) */
};

struct ks_fleet {
	struct ks_promql *pq;
	unsigned scrape_s, lag_s;
	char *agents;
	struct cursor *cur;
	size_t ncur, capcur;
	char *tenant_label;	/* NULL: operators only */
	char error[512];	/* the last poll's error, "" if none */
	int down;		/* -errno: the last poll did not reach it */
	char down_msg[512];	/* and why */
	json_t *hosts;		/* the last host census */
	int64_t hosts_at;
	size_t carried;		/* series whose last value is carried */
	uint64_t carry_dropped;	/* series past KS_CARRY_MAX, not carried */
	uint64_t gone_dropped;	/* of those, by instrumentations gone */
};

struct ks_fleet *ks_fleet__new(const struct ks_fleet_conf *c,
			       struct ks_err *err)
{
	struct ks_fleet *f = calloc(1, sizeof(*f));

	if (f && !(f->pq = ks_promql__new(c->prometheus, c->timeout_ms,
					   err))) {
		ks_fleet__free(f);
		return NULL;
	}
	if (!f || (c->agents && !(f->agents = strdup(c->agents))) ||
	    (c->tenant_label &&
	     !(f->tenant_label = strdup(c->tenant_label))) ||
	    !(f->hosts = json_array())) {
		ks_fleet__free(f);
		ks_err_set(err, ENOMEM, "", "out of memory");
		return NULL;
	}
	f->scrape_s = c->scrape_s ? c->scrape_s : 1;
	f->lag_s = c->lag_s ? c->lag_s : 2 * f->scrape_s + 1;
	return f;
}

void ks_fleet__free(struct ks_fleet *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ncur; i++)
		ks_carry__free(f->cur[i].carry);
	ks_promql__free(f->pq);
	json_decref(f->hosts);
	free(f->agents);
	free(f->tenant_label);
	free(f->cur);
	free(f);
}

/* ---- plans ----------------------------------------------------------- */

/* The metric's counter family (numeric < 0), or its histogram of the
 * numeric field. */
static const struct ks_prom_family *family_of(enum ks_metric m, int numeric)
{
	const struct ks_prom_family *t;
	size_t n = ks_prom__families(&t);

	for (size_t i = 0; i < n; i++)
		if (t[i].metric == m &&
		    (numeric < 0 ? t[i].series && !t[i].gauge :
		     t[i].hist == numeric && t[i].hist_name))
			return &t[i];
	return NULL;
}

static bool fam_has(const struct ks_prom_family *fam, enum ks_field f)
{
	for (int i = 0; i < fam->nlabels; i++)
		if (fam->labels[i] == f)
			return true;
	return false;
}

static void add_label(struct plan *p, enum ks_field f)
{
	for (int i = 0; i < p->nlabels; i++)
		if (p->labels[i] == f)
			return;
	if (p->nlabels < GROUP_MAX)
		p->labels[p->nlabels++] = f;
}

static const char *fname(int f)
{
	return ks_field_info((enum ks_field)f)->name;
}

/* Tenant names are letters, digits and -._ (http/tokens.h): nothing to
 * escape in a PromQL string. */
static int plan_of(const struct ks_instn_conf *c, const char *owner,
		   const char *label, struct plan *p, struct ks_err *err)
{
	const struct ks_metricinfo *mi = ks_metric_info(c->metric);
	uint32_t need = ks_instn_conf_fields(c), pf = ks_pred__fields(c->pred);
	size_t off;

	memset(p, 0, sizeof(*p));
	if (!family_of(c->metric, -1))
		return ks_err_set(err, EINVAL, "stat", "%s.%s is not exported "
				  "to Prometheus as a counter: the fleet "
				  "cannot answer it", mi->module, mi->stat);
	for (int f = 0; f < KS_F__COUNT; f++)
		if ((pf >> f) & 1u && ks_field_numeric((enum ks_field)f))
			return ks_err_set(err, EINVAL, fname(f), "a predicate "
					  "on numeric field %s cannot be "
					  "answered exactly from Prometheus' "
					  "histogram buckets", fname(f));
	p->hist = c->numeric >= 0;
	if (!(p->fam = family_of(c->metric, c->numeric)))
		return ks_err_set(err, EINVAL, fname(c->numeric), "%s is not "
				  "exported as a histogram of %s.%s",
				  fname(c->numeric), mi->module, mi->stat);
	for (int f = 0; f < KS_F__COUNT; f++) {
		if (!((need >> f) & 1u) || f == c->numeric)
			continue;
		if (!fam_has(p->fam, (enum ks_field)f))
			return ks_err_set(err, EINVAL, fname(f), "the fleet "
					  "does not carry field %s of %s.%s%s",
					  fname(f), mi->module, mi->stat,
					  p->hist ? " beside a numeric "
					  "decomposition (not a label of its "
					  "histogram)" : " (not a Prometheus "
					  "label)");
	}
	add_label(p, KS_F_HOSTNAME);
	if (fam_has(p->fam, KS_F_VM))
		add_label(p, KS_F_VM);
	for (int f = 0; f < KS_F__COUNT; f++)
		if ((need >> f) & 1u && f != c->numeric)
			add_label(p, (enum ks_field)f);
	off = (size_t)snprintf(p->query, sizeof(p->query), "sum by (");
	for (int i = 0; i < p->nlabels; i++)
		off += (size_t)snprintf(p->query + off, sizeof(p->query) - off,
					"%s%s", i ? "," : "",
					fname(p->labels[i]));
	off += (size_t)snprintf(p->query + off, sizeof(p->query) - off,
				"%s) (%s%s", p->hist ? ",le" : "",
				p->hist ? p->fam->hist_name : p->fam->series,
				p->hist ? "_bucket" : "");
	if (owner && owner[0])
		off += (size_t)snprintf(p->query + off, sizeof(p->query) - off,
					"{%s=\"%s\"}", label ? label : "",
					owner);
	snprintf(p->query + off, sizeof(p->query) - off, ")");
	return 0;
}

int ks_fleet_query(const struct ks_instn_conf *c, const char *owner,
		   const char *label, char *q, size_t n, struct ks_err *err)
{
	struct plan p;
	int rc;

	if (owner && owner[0] && !label)
		return ks_err_set(err, EACCES, "tenant", "no tenant label");
	if ((rc = plan_of(c, owner, label, &p, err)))
		return rc;
	snprintf(q, n, "%s", p.query);
	return 0;
}

int ks_fleet__check(void *fleet, const char *base, const char *owner,
		    const struct ks_instn_conf *c, struct ks_err *err)
{
	struct ks_fleet *f = fleet;
	bool tenant = owner && owner[0];
	struct plan p;
	int rc;

	if ((tenant && !f->tenant_label) || (!tenant &&
	    strncmp(base, "/ca/customers/", 14) == 0))
		return ks_err_set(err, EACCES, "tenant", "the fleet answers "
				  "operators only: no tenant label is "
				  "configured (kvmscope fleet --tenant-label "
				  "and --tokens), so a tenant (%s) has no fleet "
				  "instrumentations", tenant ? owner :
				  base + 14);
	if (c->granularity < f->scrape_s)
		return ks_err_set(err, EINVAL, "granularity", "granularity %u "
				  "is under the scrape interval (%u s): the "
				  "fleet's finest window is one scrape",
				  c->granularity, f->scrape_s);
	if ((rc = plan_of(c, owner, f->tenant_label, &p, err)))
		return rc;
	/* Say now, not with every value, that Prometheus cannot answer; as
	 * the last poll found it, since this runs under the API's lock. */
	if (f->down)
		return ks_err_set(err, -f->down, "prometheus", "%s",
				  f->down_msg);
	return 0;
}

/* ---- differencing ---------------------------------------------------- */

/* The increase of a series in each of n windows (start + i*g, one step
 * each), from its values at the n + 1 step times, differenced against the
 * value the carry remembers for key from the call before; the carry then
 * holds the last value of this call (carry.h). */
static void increases(const json_t *values, int64_t start, unsigned g,
		      size_t n, double *d, struct ks_carry *carry,
		      const char *key)
{
	double last;
	bool seen = false;
	size_t i, k = 0;
	const json_t *v;
	double *at = calloc(n + 1, sizeof(*at));

	for (i = 0; i < n; i++)
		d[i] = 0;
	if (!at)
		return;
	for (i = 0; i <= n; i++)
		at[i] = NAN;
	json_array_foreach(values, k, v) {
		double t = json_number_value(json_array_get(v, 0));
		const char *s = json_string_value(json_array_get(v, 1));
		int64_t idx = ((int64_t)llround(t) - start) / (int64_t)g;

		if (s && idx >= 0 && (size_t)idx <= n) {
			at[idx] = strtod(s, NULL);
			seen = true;
		}
	}
	last = ks_carry_increases(at, n, ks_carry__last(carry, key), d);
	/* Only a series seen now is remembered as of now, so one gone for
	 * good ages out of the carry. */
	if (seen && !isnan(last))
		ks_carry__set(carry, key, last, start + (int64_t)(n * g));
	free(at);
}

/* ---- feeding --------------------------------------------------------- */

struct batch {
	struct ks_record *r;
	size_t n, cap;
};

static struct ks_record *batch_add(struct batch *b)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct ks_record *nr = realloc(b->r, cap * sizeof(*nr));

		if (!nr)
			return NULL;
		b->r = nr;
		b->cap = cap;
	}
	return &b->r[b->n++];
}

/* A record of the plan's metric with the series' labels set. */
static bool labelled(const struct plan *p, enum ks_metric m,
		     const json_t *labels, struct ks_record *r)
{
	ks_record_init(r, m, 0, 0);
	for (int i = 0; i < p->nlabels; i++) {
		const char *v = json_string_value(
			json_object_get(labels, fname(p->labels[i])));
		uint32_t id;

		if (!v)
			return false;	/* lacks a grouping label */
		if (!(id = ks_sym_get(v)))
			return false;
		ks_record_set(r, p->labels[i], id);
	}
	return true;
}

static void emit(struct batch *b, const struct ks_record *proto,
		 int64_t start, unsigned g, size_t n, const double *d,
		 int numeric, uint64_t at)
{
	for (size_t i = 0; i < n; i++) {
		struct ks_record *r;

		if (d[i] < 0.5 || !(r = batch_add(b)))
			continue;
		*r = *proto;
		r->ts = (uint64_t)(start + (int64_t)(i * g)) * KS_NSEC_PER_SEC;
		r->value = (uint64_t)llround(d[i]);
		if (numeric >= 0)
			ks_record_set(r, (enum ks_field)numeric, at);
	}
}

/* A bucket series, its le, its group key (labels but le) and its own
 * key (all its labels). */
struct bucket {
	json_t *s;
	double le;
	char *key, *skey;
};

static int cmp_bucket(const void *a, const void *b)
{
	const struct bucket *x = a, *y = b;
	int o = strcmp(x->key, y->key);

	return o ? o : x->le < y->le ? -1 : x->le > y->le;
}

/* A series' key: its labels (but le when !with_le). */
static char *series_key(const json_t *labels, bool with_le)
{
	const char *k;
	json_t *v;
	size_t len = 0;
	char *s = NULL;
	FILE *m = open_memstream(&s, &len);

	if (!m)
		return NULL;
	json_object_foreach((json_t *)labels, k, v)
		if (with_le || strcmp(k, "le"))
			fprintf(m, "%s=%s\x1f", k, json_string_value(v));
	fclose(m);
	return s;
}

/* Histogram series to records: bucket i's increase is the difference of
 * the cumulative increases at le[i] and le[i-1]; its records carry the
 * bucket's upper edge in the metric's raw unit (+Inf: one past the last
 * finite edge). */
static void hist_records(const struct plan *p, enum ks_metric m, int numeric,
			 json_t *res, int64_t start, unsigned g, size_t n,
			 struct ks_carry *carry, struct batch *b)
{
	size_t ns = json_array_size(res), i, j;
	struct bucket *s = calloc(ns ? ns : 1, sizeof(*s));
	double *cur = calloc(n ? n : 1, sizeof(double));
	double *prev = calloc(n ? n : 1, sizeof(double));
	double *d = calloc(n ? n : 1, sizeof(double));
	double last_edge = 0;

	if (!s || !cur || !prev || !d)
		goto out;
	for (i = 0; i < ns; i++) {
		json_t *lab = json_object_get(json_array_get(res, i), "metric");
		const char *le = json_string_value(json_object_get(lab, "le"));

		s[i].s = json_array_get(res, i);
		s[i].le = le ? strtod(le, NULL) : NAN;
		if (!(s[i].key = series_key(lab, false)) ||
		    !(s[i].skey = series_key(lab, true)))
			goto out;
	}
	/* Each group's buckets adjacent, by le. */
	qsort(s, ns, sizeof(*s), cmp_bucket);
	for (i = 0; i < ns; i++) {
		struct ks_record proto;
		uint64_t at;

		if (i == 0 || strcmp(s[i].key, s[i - 1].key)) {
			memset(prev, 0, n * sizeof(double));
			last_edge = 0;
		}
		if (isnan(s[i].le))
			continue;
		increases(json_object_get(s[i].s, "values"), start, g, n, cur,
			  carry, s[i].skey);
		for (j = 0; j < n; j++)
			d[j] = cur[j] - prev[j];
		memcpy(prev, cur, n * sizeof(double));
		at = isinf(s[i].le) ? (uint64_t)llround(last_edge) + 1 :
			(uint64_t)llround(s[i].le / p->fam->hist_scale);
		if (!isinf(s[i].le))
			last_edge = s[i].le / p->fam->hist_scale;
		if (labelled(p, m, json_object_get(s[i].s, "metric"), &proto))
			emit(b, &proto, start, g, n, d, numeric, at);
	}
out:
	for (i = 0; s && i < ns; i++) {
		free(s[i].key);
		free(s[i].skey);
	}
	free(s);
	free(cur);
	free(prev);
	free(d);
}

static void counter_records(const struct plan *p, enum ks_metric m,
			    json_t *res, int64_t start, unsigned g, size_t n,
			    struct ks_carry *carry, struct batch *b)
{
	double *d = calloc(n ? n : 1, sizeof(double));
	size_t i;
	json_t *e;

	if (!d)
		return;
	json_array_foreach(res, i, e) {
		struct ks_record proto;
		char *key;

		if (!labelled(p, m, json_object_get(e, "metric"), &proto) ||
		    !(key = series_key(json_object_get(e, "metric"), true)))
			continue;
		increases(json_object_get(e, "values"), start, g, n, d, carry,
			  key);
		free(key);
		emit(b, &proto, start, g, n, d, -1, 0);
	}
	free(d);
}

/* ---- polling --------------------------------------------------------- */

static struct cursor *cursor_of(struct ks_fleet *f, const struct ks_instn *in)
{
	struct cursor *c;

	for (size_t i = 0; i < f->ncur; i++) {
		c = &f->cur[i];
		if (!strcmp(c->owner, in->owner) && !strcmp(c->id, in->id) &&
		    c->crtime_ms == in->crtime_ms)
			return c;
	}
	if (f->ncur == f->capcur) {
		size_t cap = f->capcur ? f->capcur * 2 : 16;
		struct cursor *nc = realloc(f->cur, cap * sizeof(*nc));

		if (!nc)
			return NULL;
		f->cur = nc;
		f->capcur = cap;
	}
	c = &f->cur[f->ncur];
	memset(c, 0, sizeof(*c));
	if (!(c->carry = ks_carry__new()))
		return NULL;
	f->ncur++;
	snprintf(c->owner, sizeof(c->owner), "%s", in->owner);
	snprintf(c->id, sizeof(c->id), "%s", in->id);
	c->crtime_ms = in->crtime_ms;
	return c;
}

struct job {
	char owner[KS_INSTN_OWNER_MAX + 1];
	char id[16];
	int64_t crtime_ms;
	enum ks_metric metric;
	int numeric;
	unsigned g;
	int64_t start, end;	/* windows [start, end) */
	struct ks_carry *carry;	/* the cursor's: lives through the poll */
	struct plan plan;
};

/* Under the lock: the jobs due, one per instrumentation. */
static size_t plan_jobs(struct ks_fleet *f, struct ks_engine *e, int64_t now,
			struct job **out)
{
	struct ks_instn *in = NULL;
	size_t n = 0, cap = ks_engine__count(e);
	struct job *jobs = calloc(cap ? cap : 1, sizeof(*jobs));

	for (size_t i = 0; i < f->ncur; i++)
		f->cur[i].used = false;
	while (jobs && (in = ks_engine__next(e, in)) && n < cap) {
		struct cursor *c = cursor_of(f, in);
		unsigned g = in->conf.granularity;
		int64_t ready = (now - (int64_t)f->lag_s) / g * g;
		struct job *j = &jobs[n];

		if (!c)
			continue;
		c->used = true;
		if (!c->next)
			c->next = (now - (int64_t)in->conf.retention_time) /
				  g * g + g;
		if (c->next + (int64_t)g > ready || !in->conf.enabled ||
		    plan_of(&in->conf, in->owner, f->tenant_label, &j->plan,
			    NULL))
			continue;
		snprintf(j->owner, sizeof(j->owner), "%s", in->owner);
		snprintf(j->id, sizeof(j->id), "%s", in->id);
		j->crtime_ms = in->crtime_ms;
		j->metric = in->conf.metric;
		j->numeric = in->conf.numeric;
		j->g = g;
		j->start = c->next;
		j->carry = c->carry;
		j->end = ready;
		if ((j->end - j->start) / g > POINTS_MAX)
			j->end = j->start + (int64_t)POINTS_MAX * g;
		n++;
	}
	/* Forget the cursors of instrumentations that are gone. */
	for (size_t i = 0; i < f->ncur;)
		if (!f->cur[i].used) {
			f->gone_dropped += ks_carry__dropped(f->cur[i].carry);
			ks_carry__free(f->cur[i].carry);
			f->cur[i] = f->cur[--f->ncur];
		} else {
			i++;
		}
	*out = jobs;
	return n;
}

/* Queries one job (unlocked); its records in b.  0 or -errno. */
static int run_job(struct ks_fleet *f, const struct job *j, struct batch *b,
		   struct ks_err *err)
{
	size_t n = (size_t)((j->end - j->start) / j->g);
	json_t *res = ks_promql__range(f->pq, j->plan.query, j->start, j->end,
				       j->g, err);

	if (!res)
		return -EIO;
	if (j->plan.hist)
		hist_records(&j->plan, j->metric, j->numeric, res, j->start,
			     j->g, n, j->carry, b);
	else
		counter_records(&j->plan, j->metric, res, j->start, j->g, n,
				j->carry, b);
	ks_carry__expire(j->carry, j->end - KS_FLEET_CARRY_AGE);
	json_decref(res);
	return 0;
}

static void feed_job(struct ks_fleet *f, struct ks_engine *e,
		     const struct job *j, const struct batch *b)
{
	struct ks_instn *in = ks_engine__find(e, j->owner, j->id);
	struct cursor *c;

	if (!in || in->crtime_ms != j->crtime_ms || !(c = cursor_of(f, in)))
		return;
	ks_engine__feed_instn(e, in, b->r, b->n);
	c->next = j->end;
}

static json_t *census(struct ks_fleet *f, int64_t now, struct ks_err *err);

/* rc if it says Prometheus could not be reached (not a query's error,
 * which is that instrumentation's), else 0. */
static int unreachable(int rc)
{
	return rc == -EHOSTUNREACH || rc == -ETIMEDOUT ? rc : 0;
}

void ks_fleet__poll(struct ks_fleet *f, struct ks_api *api,
		    struct ks_engine *e, int64_t now)
{
	struct job *jobs = NULL;
	struct ks_err err;
	size_t n;
	json_t *hosts = NULL;
	bool asked;

	ks_err_clear(&err);
	ks_api__lock(api);
	n = plan_jobs(f, e, now, &jobs);
	ks_api__unlock(api);
	for (size_t i = 0; i < n; i++) {
		struct batch b = { 0 };

		if (run_job(f, &jobs[i], &b, &err)) {
			free(b.r);
			break;
		}
		ks_api__lock(api);
		feed_job(f, e, &jobs[i], &b);
		ks_api__unlock(api);
		free(b.r);
	}
	free(jobs);
	asked = n > 0;
	if (!err.msg[0] && now - f->hosts_at >= (int64_t)f->scrape_s) {
		hosts = census(f, now, &err);
		asked = true;
	}
	ks_sym_sweep();
	ks_api__lock(api);
	snprintf(f->error, sizeof(f->error), "%s", err.msg);
	f->carried = 0;
	f->carry_dropped = f->gone_dropped;
	for (size_t i = 0; i < f->ncur; i++) {
		f->carried += ks_carry__count(f->cur[i].carry);
		f->carry_dropped += ks_carry__dropped(f->cur[i].carry);
	}
	if (asked && (f->down = unreachable(err.msg[0] ?
					    ks_promql__errno(f->pq) : 0)))
		snprintf(f->down_msg, sizeof(f->down_msg), "%s", err.msg);
	if (hosts) {
		json_decref(f->hosts);
		f->hosts = hosts;
		f->hosts_at = now;
	}
	ks_api__unlock(api);
}

/* ---- hosts ----------------------------------------------------------- */

/* The agent URL of a host: the configured map's, else http://INSTANCE. */
static json_t *agent_url(const struct ks_fleet *f, const char *host,
			 const char *instance)
{
	size_t hl = strlen(host);
	const char *p = f->agents;

	while (p && *p) {
		const char *end = strchr(p, ','), *eq = strchr(p, '=');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (eq && eq < p + len && (size_t)(eq - p) == hl &&
		    !strncmp(p, host, hl))
			return json_stringn(eq + 1, len - hl - 1);
		p = end ? end + 1 : NULL;
	}
	if (!instance)
		return json_null();
	return json_sprintf("http://%s", instance);
}

/* Every host seen in the last hour: reporting (up, a sample within two
 * scrape intervals) or stale. */
static json_t *census(struct ks_fleet *f, int64_t now, struct ks_err *err)
{
	json_t *seen = ks_promql__instant(f->pq, "max by (hostname, instance) "
		"(last_over_time(kvmscope_records_total[1h]))", now, err);
	json_t *last = seen ? ks_promql__instant(f->pq, "max by (hostname, "
		"instance) (timestamp(kvmscope_records_total))", now, err) :
		NULL;
	json_t *up = last ? ks_promql__instant(f->pq, "max by (instance) (up)",
					       now, err) : NULL;
	json_t *hosts = json_array(), *e;
	size_t i;

	if (!up)
		goto out;
	json_array_foreach(seen, i, e) {
		json_t *m = json_object_get(e, "metric");
		const char *h = json_string_value(json_object_get(m, "hostname"));
		const char *inst = json_string_value(json_object_get(m,
								"instance"));
		double ts = -1, u = -1;
		size_t k;
		json_t *x;

		if (!h)
			continue;
		json_array_foreach(last, k, x) {
			json_t *xm = json_object_get(x, "metric");

			if (json_equal(xm, m))
				ts = strtod(json_string_value(json_array_get(
					json_object_get(x, "value"), 1)), NULL);
		}
		json_array_foreach(up, k, x)
			if (inst && !strcmp(inst, json_string_value(
				json_object_get(json_object_get(x, "metric"),
						"instance")) ?: ""))
				u = strtod(json_string_value(json_array_get(
					json_object_get(x, "value"), 1)), NULL);
		json_array_append_new(hosts, json_pack("{s:s,s:s?,s:o,s:b,s:o,s:o}",
			"hostname", h, "instance", inst,
			"agent", agent_url(f, h, inst),
			"reporting", u == 1 && ts >= 0 &&
				now - ts <= 2.0 * f->scrape_s + 1,
			"last_sample", ts >= 0 ? json_real(ts) : json_null(),
			"up", u >= 0 ? json_integer((json_int_t)u) : json_null()));
	}
out:
	json_decref(seen);
	json_decref(last);
	json_decref(up);
	if (err->msg[0]) {
		json_decref(hosts);
		return NULL;
	}
	return hosts;
}

void ks_fleet__status(void *fleet, json_t *status)
{
	struct ks_fleet *f = fleet;

	json_object_set_new(status, "fleet", json_pack(
		"{s:s,s:i,s:s?,s:O,s:I,s:I}",
		"prometheus", ks_promql__url(f->pq),
		"scrape_interval", (int)f->scrape_s,
		"error", f->error[0] ? f->error : NULL,
		"hosts", f->hosts,
		"carried_series", (json_int_t)f->carried,
		"carry_dropped", (json_int_t)f->carry_dropped));
}
