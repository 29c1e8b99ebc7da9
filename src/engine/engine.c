/* engine.c - instrumentations, and records routed into them.
 *
 * Instrumentations are kept in creation order and, for routing, in one list
 * per metric, so a record only visits the instrumentations of its own
 * metric.  For each it checks the fields the instrumentation needs, the
 * predicate (exact field values), and adds the record to the dataset.
 * Every record that is not added somewhere it could have been is counted
 * in the drop statistics by reason: nothing is dropped silently.
 *
 * Ids come from one sequence per owner (namespace), not one for the
 * engine: with a shared counter a tenant that got ids 3 and then 7 would
 * learn that others had made three instrumentations meanwhile.  A
 * sequence only moves forward while the agent runs, so an id is never
 * reused for something else under a client that still holds it.
 */
#include "engine/engine.h"
#include "util/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/symtab.h"

/* Records the feed path works on at once (see feed_chunk). */
#ifndef FEED_CHUNK
#define FEED_CHUNK KS_PRED_BATCH
#endif
_Static_assert(FEED_CHUNK <= KS_PRED_BATCH, "a chunk is one predicate batch");
/* Records ahead of the one looked at whose first lines feed_chunk asks
 * for: far enough that they are in by the time it gets there. */
#ifndef FEED_AHEAD
#define FEED_AHEAD 16
#endif
/* feed_chunk keeps the metrics of a chunk as bits of a uint32_t. */
_Static_assert(KS_M__COUNT <= 32, "metrics fit a 32-bit mask");

/* A namespace's id sequence; kept when its last instrumentation goes. */
struct seq {
	char owner[KS_INSTN_OWNER_MAX + 1];
	uint64_t next;
};

struct ks_engine {
	struct ks_instn **all;	/* creation order */
	size_t n, cap, max;
	struct ks_instn *bymetric[KS_M__COUNT];
	struct seq *seqs;
	size_t nseqs, capseqs;
	uint64_t now_ns;	/* 0 = no clock yet */
	bool follow;
	struct ks_engine_stats stats;
	char host[256];		/* the hostname field's value */
	struct ks_engine_memory mem;
	bool over;		/* mem.used > mem.budget */
};

struct ks_engine *ks_engine__new(void)
{
	struct ks_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->max = KS_INSTN_MAX_DEFAULT;
	if (gethostname(e->host, sizeof(e->host) - 1))
		snprintf(e->host, sizeof(e->host), "localhost");
	e->mem.budget = KS_INSTN_MEMORY_DEFAULT;
	e->mem.keys = KS_INSTN_KEYS_DEFAULT;
	e->mem.raw_values = KS_RAW_VALUES_DEFAULT;
	return e;
}

void ks_engine__set_hostname(struct ks_engine *e, const char *name)
{
	snprintf(e->host, sizeof(e->host), "%s", name);
}

const char *ks_engine__hostname(const struct ks_engine *e)
{
	return e->host;
}

static void instn_free(struct ks_instn *in)
{
	ks_dataset__free(in->ds);
	ks_instn_conf_fini(&in->conf);
	free(in);
}

void ks_engine__free(struct ks_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		instn_free(e->all[i]);
	free(e->all);
	free(e->seqs);
	free(e);
}

void ks_engine__set_max(struct ks_engine *e, size_t max)
{
	e->max = max;
}

void ks_engine__set_memory(struct ks_engine *e, size_t budget, uint32_t keys,
			   size_t raw_values)
{
	e->mem.budget = budget ? budget : KS_INSTN_MEMORY_DEFAULT;
	e->mem.keys = keys ? keys : KS_INSTN_KEYS_DEFAULT;
	e->mem.raw_values = raw_values ? raw_values : KS_RAW_VALUES_DEFAULT;
	e->over = e->mem.used > e->mem.budget;
}

struct ks_engine_memory ks_engine__memory(const struct ks_engine *e)
{
	return e->mem;
}

/* Recounts the bytes of every dataset (the adds in between only grew
 * slots by keys the caps allow). */
static void account(struct ks_engine *e)
{
	size_t used = 0;

	for (size_t i = 0; i < e->n; i++)
		used += ks_dataset__bytes(e->all[i]->ds);
	e->mem.used = used;
	e->over = used > e->mem.budget;
}

static int64_t wall_ms(void)
{
	return ks_clock_wall_ns() / 1000000;
}

static struct ks_dataset_conf dataset_conf(const struct ks_engine *e,
					   const struct ks_instn_conf *c)
{
	struct ks_dataset_conf dc = {
		.arity = ks_instn_conf_arity(c),
		.discrete = c->discrete,
		.numeric = c->numeric,
		.granularity = c->granularity,
		.nslots = c->retention_time / c->granularity,
		.point = ks_metric_info(c->metric)->point,
		.max_keys = e->mem.keys,
	};

	if (!dc.nslots)
		dc.nslots = 1;
	return dc;
}

/* Refuses a dataset of cost bytes that does not fit the budget. */
static int check_budget(struct ks_engine *e, size_t cost, struct ks_err *err)
{
	if (e->mem.used + cost <= e->mem.budget)
		return 0;
	e->stats.refused++;
	return ks_err_set(err, ENOSPC, "retention-time", "the instrumentation "
			  "would need %zu KiB and only %zu KiB of the %zu MiB "
			  "memory budget of instrumentations are left: use a "
			  "shorter retention-time or a coarser granularity, or "
			  "delete instrumentations", (cost + 1023) / 1024,
			  e->mem.used < e->mem.budget ?
			  (e->mem.budget - e->mem.used) / 1024 : 0,
			  e->mem.budget >> 20);
}

/* owner's sequence, made on first use; NULL if out of memory. */
static struct seq *seq_of(struct ks_engine *e, const char *owner)
{
	struct seq *q;

	for (size_t i = 0; i < e->nseqs; i++)
		if (!strcmp(e->seqs[i].owner, owner))
			return &e->seqs[i];
	if (e->nseqs == e->capseqs) {
		size_t cap = e->capseqs ? e->capseqs * 2 : 8;

		if (!(q = realloc(e->seqs, cap * sizeof(*q))))
			return NULL;
		e->seqs = q;
		e->capseqs = cap;
	}
	q = &e->seqs[e->nseqs++];
	snprintf(q->owner, sizeof(q->owner), "%s", owner);
	q->next = 1;
	return q;
}

/* Room for one more, and owner's sequence. */
static int make_room(struct ks_engine *e, const char *owner, struct seq **q,
		     struct ks_err *err)
{
	if (strlen(owner) > KS_INSTN_OWNER_MAX)
		return ks_err_set(err, EINVAL, "owner", "an owner's name has "
				  "at most %d bytes", KS_INSTN_OWNER_MAX);
	if (e->n >= e->max)
		return ks_err_set(err, ENOSPC, "",
				  "at most %zu instrumentations may exist", e->max);
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct ks_instn **p = realloc(e->all, cap * sizeof(*p));

		if (!p)
			return ks_err_set(err, ENOMEM, "", "out of memory");
		e->all = p;
		e->cap = cap;
	}
	if (!(*q = seq_of(e, owner)))
		return ks_err_set(err, ENOMEM, "", "out of memory");
	return 0;
}

/* Adds an instrumentation to owner's namespace with the given numeric id
 * (0: the namespace's next one). */
static int instn_add(struct ks_engine *e, const char *owner,
		     struct ks_instn_conf *conf, uint64_t id,
		     struct ks_instn **out, struct ks_err *err)
{
	struct ks_instn *in;
	struct seq *q;
	int rc;

	struct ks_dataset_conf dc = dataset_conf(e, conf);

	if ((rc = make_room(e, owner, &q, err)) ||
	    (rc = check_budget(e, ks_dataset__cost(&dc), err)))
		return rc;
	in = calloc(1, sizeof(*in));
	if (!in || !(in->ds = ks_dataset__new(&dc))) {
		free(in);
		return ks_err_set(err, ENOMEM, "", "out of memory");
	}
	e->mem.used += ks_dataset__cost(&dc);
	if (!id)
		id = q->next;
	if (id >= q->next)
		q->next = id + 1;
	snprintf(in->owner, sizeof(in->owner), "%s", owner);
	snprintf(in->id, sizeof(in->id), "%llu", (unsigned long long)id);
	in->conf = *conf;
	memset(conf, 0, sizeof(*conf));
	in->crtime_ms = wall_ms();
	in->atime_s = (int64_t)(e->now_ns / KS_NSEC_PER_SEC);
	in->needs = ks_instn_conf_fields(&in->conf);
	in->next_of_metric = e->bymetric[in->conf.metric];
	e->bymetric[in->conf.metric] = in;
	e->all[e->n++] = in;
	if (out)
		*out = in;
	return 0;
}

int ks_engine__create_in(struct ks_engine *e, const char *owner,
			 struct ks_instn_conf *conf, struct ks_instn **out,
			 struct ks_err *err)
{
	return instn_add(e, owner, conf, 0, out, err);
}

int ks_engine__create(struct ks_engine *e, struct ks_instn_conf *conf,
		      struct ks_instn **out, struct ks_err *err)
{
	return instn_add(e, "", conf, 0, out, err);
}

int ks_engine__restore(struct ks_engine *e, const char *owner,
		       const char *id, struct ks_instn_conf *conf,
		       int64_t crtime_ms, struct ks_instn **out,
		       struct ks_err *err)
{
	char *end;
	unsigned long long n = strtoull(id, &end, 10);
	struct ks_instn *in;
	int rc;

	if (!*id || *end || !n || n > KS_INSTN_ID_MAX || *id == '0')
		return ks_err_set(err, EINVAL, "id", "bad instrumentation id \"%s\"",
				  id);
	if (ks_engine__find(e, owner, id))
		return ks_err_set(err, EEXIST, "id", "instrumentation %s exists",
				  id);
	if ((rc = instn_add(e, owner, conf, n, &in, err)))
		return rc;
	in->crtime_ms = crtime_ms;
	if (out)
		*out = in;
	return 0;
}

struct ks_instn *ks_engine__find(struct ks_engine *e, const char *owner,
				 const char *id)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->all[i]->id, id) &&
		    !strcmp(e->all[i]->owner, owner))
			return e->all[i];
	return NULL;
}

struct ks_instn *ks_engine__get(struct ks_engine *e, const char *id)
{
	return ks_engine__find(e, "", id);
}

int ks_engine__modify(struct ks_engine *e, struct ks_instn *in,
		      struct ks_instn_conf *conf, struct ks_err *err)
{
	uint32_t nslots = conf->retention_time / in->conf.granularity;
	struct ks_dataset_conf now = dataset_conf(e, &in->conf), then = now;
	int rc;

	then.nslots = nslots ? nslots : 1;
	if (then.nslots > now.nslots &&
	    (rc = check_budget(e, ks_dataset__cost(&then) -
				  ks_dataset__cost(&now), err)))
		return rc;
	if ((rc = ks_dataset__resize(in->ds, then.nslots)))
		return ks_err_set(err, rc, "retention-time", "cannot resize: %s",
				  strerror(-rc));
	e->mem.used += ks_dataset__cost(&then);
	e->mem.used -= e->mem.used < ks_dataset__cost(&now) ? e->mem.used :
		       ks_dataset__cost(&now);
	in->conf.retention_time = conf->retention_time;
	in->conf.idle_max = conf->idle_max;
	in->conf.persist_data = conf->persist_data;
	in->conf.enabled = conf->enabled;
	ks_instn_conf_fini(conf);
	return 0;
}

static void unlink_metric(struct ks_engine *e, struct ks_instn *in)
{
	struct ks_instn **pp = &e->bymetric[in->conf.metric];

	while (*pp && *pp != in)
		pp = &(*pp)->next_of_metric;
	if (*pp)
		*pp = in->next_of_metric;
}

/* Removes the i-th instrumentation. */
static void remove_at(struct ks_engine *e, size_t i)
{
	struct ks_instn *in = e->all[i];
	size_t bytes = ks_dataset__bytes(in->ds);

	e->mem.used -= bytes < e->mem.used ? bytes : e->mem.used;
	unlink_metric(e, in);
	memmove(&e->all[i], &e->all[i + 1], (e->n - i - 1) * sizeof(*e->all));
	e->n--;
	instn_free(in);
}

int ks_engine__delete_in(struct ks_engine *e, const char *owner,
			 const char *id)
{
	for (size_t i = 0; i < e->n; i++) {
		struct ks_instn *in = e->all[i];

		if (strcmp(in->id, id) || strcmp(in->owner, owner))
			continue;
		remove_at(e, i);
		return 0;
	}
	return -ENOENT;
}

int ks_engine__delete(struct ks_engine *e, const char *id)
{
	return ks_engine__delete_in(e, "", id);
}

struct ks_instn *ks_engine__next(struct ks_engine *e, struct ks_instn *prev)
{
	size_t i = 0;

	if (prev) {
		while (i < e->n && e->all[i] != prev)
			i++;
		i++;
	}
	return i < e->n ? e->all[i] : NULL;
}

size_t ks_engine__count(const struct ks_engine *e)
{
	return e->n;
}

/* r with the hostname field set, made in tmp the first time an
 * instrumentation needs it (sources do not fill it: it is one value). */
static const struct ks_record *with_host(const struct ks_engine *e,
					 const struct ks_record *r,
					 struct ks_record *tmp, bool *made)
{
	if (!*made) {
		*tmp = *r;
		ks_record_set(tmp, KS_F_HOSTNAME, ks_sym_intern(e->host));
		*made = true;
	}
	return tmp;
}

/* Adds rec to in if it carries what in needs and passes its predicate;
 * counts the outcome. */
static void add_one(struct ks_engine *e, struct ks_instn *in,
		    const struct ks_record *rec, struct ks_record *tmp,
		    bool *made)
{
	const struct ks_record *r = rec;
	int rc;

	if ((in->needs >> KS_F_HOSTNAME) & 1u &&
	    !ks_record_has(rec, KS_F_HOSTNAME))
		r = with_host(e, rec, tmp, made);
	if ((r->present & in->needs) != in->needs) {
		e->stats.lacking++;
		return;
	}
	if (!ks_pred__trivial(in->conf.pred) &&
	    !ks_pred__eval(in->conf.pred, r)) {
		e->stats.filtered++;
		return;
	}
	rc = ks_dataset__add_keys(in->ds, r, !e->over);
	if (rc == -ERANGE)
		e->stats.expired++;
	else if (rc == -E2BIG && e->over)
		e->stats.overbudget++;
	else if (rc == -E2BIG)
		e->stats.keycap++;
	else if (rc)
		e->stats.nomem++;
	else {
		e->stats.added++;
		in->nrecords++;
	}
}

/* Counts what ks_dataset__add_many did for in. */
static void tally(struct ks_engine *e, struct ks_instn *in,
		  const struct ks_dataset_tally *t)
{
	e->stats.added += t->added;
	in->nrecords += t->added;
	e->stats.expired += t->expired;
	if (e->over)
		e->stats.overbudget += t->refused;
	else
		e->stats.keycap += t->refused;
	e->stats.nomem += t->nomem;
}

/* The records of in's metric (n <= FEED_CHUNK) into in, a step at a time
 * over the whole batch: those with the fields in needs, those its
 * predicate passes, then the adds.  Each step is a tight loop the branch
 * predictor learns, where going record by record through the three
 * instrumentations of a metric mixed their outcomes.  Lists are narrowed
 * without branches: every record is written, the count moves on a pass. */
static void feed_batch(struct ks_engine *e, struct ks_instn *in,
		       const struct ks_record *const *r, size_t n)
{
	const struct ks_record *keep[FEED_CHUNK];
	uint8_t pass[FEED_CHUNK];
	struct ks_dataset_tally t = { 0 };
	size_t m = 0, j = 0;

	if ((in->needs >> KS_F_HOSTNAME) & 1u) {
		/* Rare: the hostname is filled in a copy, record by record. */
		for (size_t k = 0; k < n; k++) {
			struct ks_record tmp;
			bool made = false;

			add_one(e, in, r[k], &tmp, &made);
		}
		return;
	}
	for (size_t k = 0; k < n; k++) {
		keep[m] = r[k];
		m += (r[k]->present & in->needs) == in->needs;
	}
	e->stats.lacking += n - m;
	if (!ks_pred__trivial(in->conf.pred)) {
		ks_pred__eval_batch(in->conf.pred, keep, m, pass);
		for (size_t k = 0; k < m; k++) {
			keep[j] = keep[k];
			j += pass[k];
		}
		e->stats.filtered += m - j;
		m = j;
	}
	ks_dataset__add_many(in->ds, keep, m, !e->over, &t);
	tally(e, in, &t);
}

/* Records of one metric to each of its instrumentations. */
static void feed_metric(struct ks_engine *e, unsigned metric,
			const struct ks_record *const *r, size_t n)
{
	for (struct ks_instn *in = e->bymetric[metric]; in;
	     in = in->next_of_metric)
		feed_batch(e, in, r, n);
}

/* Whether r is taken (counted in the statistics if not). */
static bool take(struct ks_engine *e, const struct ks_record *r,
		 uint64_t limit)
{
	e->stats.records++;
	if (r->metric >= KS_M__COUNT) {
		e->stats.bad_metric++;
		return false;
	}
	if (e->follow) {
		if (r->ts > e->now_ns)
			e->now_ns = r->ts;
	} else if (e->now_ns && r->ts > limit) {
		e->stats.future++;
		return false;
	}
	return true;
}

/* Up to FEED_CHUNK records: those taken are listed, then handed on a
 * metric at a time (sources feed one metric per batch, mostly). */
static void feed_chunk(struct ks_engine *e, const struct ks_record *r,
		       size_t n)
{
	uint64_t limit = e->now_ns + KS_FUTURE_SLACK_S * KS_NSEC_PER_SEC;
	const struct ks_record *ok[FEED_CHUNK], *one[FEED_CHUNK];
	uint32_t metrics = 0;
	size_t m = 0;

	for (size_t i = 0; i < n; i++, r++) {
		/* Records arrive in big batches that are not in cache: ask
		 * for the fields' lines of a record a few ahead now. */
		__builtin_prefetch((const char *)(r + FEED_AHEAD));
		__builtin_prefetch((const char *)(r + FEED_AHEAD) + 64);
		if (!take(e, r, limit))
			continue;
		ok[m++] = r;
		metrics |= 1u << r->metric;
	}
	if (!(metrics & (metrics - 1))) {
		if (m)
			feed_metric(e, (unsigned)__builtin_ctz(metrics), ok, m);
		return;
	}
	for (unsigned mt = 0; mt < KS_M__COUNT; mt++) {
		size_t k = 0;

		if (!((metrics >> mt) & 1u) || !e->bymetric[mt])
			continue;
		for (size_t i = 0; i < m; i++)
			if (ok[i]->metric == mt)
				one[k++] = ok[i];
		feed_metric(e, mt, one, k);
	}
}

void ks_engine__feed_instn(struct ks_engine *e, struct ks_instn *in,
			   const struct ks_record *r, size_t n)
{
	struct ks_record tmp;

	for (size_t i = 0; i < n; i++, r++) {
		bool made = false;

		e->stats.records++;
		if (r->metric != in->conf.metric) {
			e->stats.bad_metric++;
			continue;
		}
		add_one(e, in, r, &tmp, &made);
	}
}

void ks_engine__feed(struct ks_engine *e, const struct ks_record *r, size_t n)
{
	for (size_t i = 0; i < n; i += FEED_CHUNK)
		feed_chunk(e, r + i, n - i < FEED_CHUNK ? n - i : FEED_CHUNK);
}

size_t ks_engine__tick(struct ks_engine *e, uint64_t now_ns)
{
	int64_t now_s = (int64_t)(now_ns / KS_NSEC_PER_SEC);
	size_t reaped = 0;

	if (!e->follow || now_ns > e->now_ns)
		e->now_ns = now_ns;
	account(e);
	if (e->follow)
		return 0;
	for (size_t i = 0; i < e->n;) {
		struct ks_instn *in = e->all[i];

		if (in->conf.idle_max &&
		    now_s - in->atime_s > (int64_t)in->conf.idle_max) {
			remove_at(e, i);
			reaped++;
			continue;
		}
		i++;
	}
	return reaped;
}

uint64_t ks_engine__now(const struct ks_engine *e)
{
	return e->now_ns;
}

void ks_engine__follow_records(struct ks_engine *e, bool on)
{
	e->follow = on;
}

const struct ks_engine_stats *ks_engine__stats(const struct ks_engine *e)
{
	return &e->stats;
}

json_t *ks_instn__to_json(const struct ks_instn *in, const char *uri_base)
{
	json_t *o = ks_instn_conf_to_json(&in->conf);
	json_t *uris;
	char uri[256], vuri[300];

	if (!o)
		return NULL;
	snprintf(uri, sizeof(uri), "%s/%s", uri_base, in->id);
	snprintf(vuri, sizeof(vuri), "%s/value/raw", uri);
	/* CA's order: the heatmap's two, then raw. */
	uris = json_array();
	if (uris && in->conf.numeric >= 0) {
		char h[300], d[320];

		snprintf(h, sizeof(h), "%s/value/heatmap/image", uri);
		snprintf(d, sizeof(d), "%s/value/heatmap/details", uri);
		json_array_append_new(uris, json_pack("{s:s,s:s}", "uri", h,
						      "name", "value_heatmap"));
		json_array_append_new(uris, json_pack("{s:s,s:s}", "uri", d,
						      "name", "details_heatmap"));
	}
	if (uris)
		json_array_append_new(uris, json_pack("{s:s,s:s}", "uri", vuri,
						      "name", "value_raw"));
	json_object_set_new(o, "id", json_string(in->id));
	json_object_set_new(o, "uri", json_string(uri));
	json_object_set_new(o, "uris", uris ? uris : json_array());
	json_object_set_new(o, "crtime", json_integer(in->crtime_ms));
	json_object_set_new(o, "nsources", json_integer(1));
	json_object_set_new(o, "transformations", json_object());
	return o;
}
