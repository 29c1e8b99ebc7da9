/* live.c - live sources: open what can run, read them every tick, report.
 *
 * Each entry is a source of the registry and its state.  Opening happens
 * once at start: a source that cannot run here is not retried, because
 * what stops it (privileges, a kernel without BPF or kvm) does not change
 * while the agent runs, and the reason is kept for the status.  Reads go
 * through a sink that batches records into the feed function, so a source
 * emitting thousands of records per tick costs one lock round per batch,
 * not per record.  Counters the sources keep (events the kernel could not
 * count, entries that made no sense) are copied into a snapshot under the
 * lock after each read: the HTTP thread reads only the snapshot.  A
 * source with modes (bpf_exits: exits timed or only counted) is switched
 * by the agent between ticks, as its instrumentations need.
 */
#include "agent/live.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 1024

enum live_state { ST_OFF, ST_UNAVAILABLE, ST_RUNNING, ST_FAILING };

static const char *const state_name[] = {
	[ST_OFF] = "off",
	[ST_UNAVAILABLE] = "unavailable",
	[ST_RUNNING] = "running",
	[ST_FAILING] = "failing",
};

struct entry {
	const struct ks_source_ops *ops;
	struct ks_source *s;		/* open while running or failing */
	/* The snapshot, under the lock. */
	enum live_state state;
	char why[320];			/* off, unavailable: why; failing: the error */
	struct ks_source_stats st;
	uint64_t read_errors;
	uint64_t last_ts;		/* stamp of the last good read, ns */
	const char *mode;		/* the source's mode, NULL: none */
	char note[1024];		/* what it cannot do here ("": none) */
	int mode_err;			/* last set_mode failure, logged */
};

struct ks_live {
	pthread_mutex_t lock;
	struct entry *e;
	size_t n;
	ks_live_feed_fn feed;
	void *ctx;
	struct ks_record batch[BATCH];
	size_t nbatch;
};

struct ks_live *ks_live__new(const struct ks_source_ops *const *ops, size_t n,
			     ks_live_feed_fn feed, void *ctx)
{
	struct ks_live *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	if (n && !(l->e = calloc(n, sizeof(*l->e)))) {
		free(l);
		return NULL;
	}
	if (pthread_mutex_init(&l->lock, NULL)) {
		free(l->e);
		free(l);
		return NULL;
	}
	l->n = n;
	l->feed = feed;
	l->ctx = ctx;
	for (size_t i = 0; i < n; i++) {
		l->e[i].ops = ops[i];
		l->e[i].state = ST_UNAVAILABLE;
		snprintf(l->e[i].why, sizeof(l->e[i].why), "not opened yet");
	}
	return l;
}

void ks_live__free(struct ks_live *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		ks_source__close(l->e[i].s);
	pthread_mutex_destroy(&l->lock);
	free(l->e);
	free(l);
}

static void set_state(struct ks_live *l, struct entry *e,
		      enum live_state st, const char *why)
{
	pthread_mutex_lock(&l->lock);
	e->state = st;
	snprintf(e->why, sizeof(e->why), "%s", why ? why : "");
	pthread_mutex_unlock(&l->lock);
}

void ks_live__off(struct ks_live *l, size_t i, const char *why)
{
	if (i < l->n && !l->e[i].s)
		set_state(l, &l->e[i], ST_OFF, why);
}

static bool open_one(struct ks_live *l, struct entry *e,
		     const struct ks_source_opts *o)
{
	struct ks_err err;

	ks_err_clear(&err);
	e->s = ks_source__open(e->ops, o, &err);
	if (e->s && ks_source__attach(e->s, &err)) {
		ks_source__close(e->s);
		e->s = NULL;
	}
	if (!e->s) {
		if (!err.msg[0])
			snprintf(err.msg, sizeof(err.msg), "cannot open");
		fprintf(stderr, "kvmscope: source %s unavailable: %s\n",
			e->ops->name, err.msg);
		set_state(l, e, ST_UNAVAILABLE, err.msg);
		return false;
	}
	pthread_mutex_lock(&l->lock);
	e->mode = e->s->mode;
	memcpy(e->note, e->s->note, sizeof(e->note));
	pthread_mutex_unlock(&l->lock);
	set_state(l, e, ST_RUNNING, NULL);
	return true;
}

size_t ks_live__start(struct ks_live *l, const struct ks_source_opts *o)
{
	size_t running = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct entry *e = &l->e[i];

		if (e->state == ST_OFF || e->s)
			continue;
		running += open_one(l, e, o);
	}
	return running;
}

static void flush(struct ks_live *l)
{
	if (l->nbatch && l->feed)
		l->feed(l->ctx, l->batch, l->nbatch);
	l->nbatch = 0;
}

static int on_record(void *ctx, const struct ks_record *r)
{
	struct ks_live *l = ctx;

	if (l->nbatch == BATCH)
		flush(l);
	l->batch[l->nbatch++] = *r;
	return 0;
}

/* Reads one source; logs a failure when it starts and when it ends. */
static bool read_one(struct ks_live *l, struct entry *e, uint64_t ts)
{
	const struct ks_source_sink sink = { on_record, NULL, l };
	int rc = ks_source__read(e->s, ts, &sink);
	char why[sizeof(e->why)];
	bool was_failing = e->state == ST_FAILING;

	/* What was read before a failure is real: it is fed either way. */
	flush(l);
	if (rc)
		snprintf(why, sizeof(why), "reading failed: %s", strerror(-rc));
	if (rc && !was_failing)
		fprintf(stderr, "kvmscope: source %s: %s (retrying every "
			"second)\n", e->ops->name, why);
	else if (!rc && was_failing)
		fprintf(stderr, "kvmscope: source %s recovered\n",
			e->ops->name);
	pthread_mutex_lock(&l->lock);
	e->st = *ks_source__stats(e->s);
	e->mode = e->s->mode;
	memcpy(e->note, e->s->note, sizeof(e->note));
	if (rc) {
		e->read_errors++;
		e->state = ST_FAILING;
		snprintf(e->why, sizeof(e->why), "%s", why);
	} else {
		e->state = ST_RUNNING;
		e->why[0] = '\0';
		e->last_ts = ts;
	}
	pthread_mutex_unlock(&l->lock);
	return !rc;
}

size_t ks_live__tick(struct ks_live *l, uint64_t ts)
{
	size_t failed = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].s && !read_one(l, &l->e[i], ts))
			failed++;
	return failed;
}

/* Switches one source; a failure is logged when it first happens. */
static bool mode_one(struct ks_live *l, struct entry *e, bool on)
{
	int rc = ks_source__set_latency(e->s, on);

	if (rc == -EOPNOTSUPP && !e->s->ops->set_mode)
		return true;
	if (rc && rc != e->mode_err)
		fprintf(stderr, "kvmscope: source %s: cannot switch to %s "
			"mode: %s\n", e->ops->name,
			on ? "latency" : "count-only", strerror(-rc));
	e->mode_err = rc;
	pthread_mutex_lock(&l->lock);
	e->mode = e->s->mode;
	pthread_mutex_unlock(&l->lock);
	return !rc;
}

size_t ks_live__set_latency(struct ks_live *l, bool on)
{
	size_t failed = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].s && l->e[i].ops->set_mode &&
		    !mode_one(l, &l->e[i], on))
			failed++;
	return failed;
}

void ks_live__set_cuts(struct ks_live *l, const struct ks_latcuts *cuts)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].s && l->e[i].ops->set_cuts)
			ks_source__set_cuts(l->e[i].s, cuts);
}

static json_t *metric_names(const struct ks_source_ops *ops)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < ops->nmetrics; i++) {
		const struct ks_metricinfo *mi = ks_metric_info(ops->metrics[i]);
		char name[96];

		snprintf(name, sizeof(name), "%s.%s", mi->module, mi->stat);
		json_array_append_new(a, json_string(name));
	}
	return a;
}

static json_t *entry_status(const struct entry *e)
{
	const struct ks_source_stats *s = &e->st;
	json_t *o;

	o = json_pack("{s:s,s:s,s:o,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		      "name", e->ops->name, "summary", e->ops->summary,
		      "metrics", metric_names(e->ops),
		      "status", state_name[e->state],
		      "ticks", (json_int_t)s->ticks,
		      "records", (json_int_t)s->records,
		      "events", (json_int_t)s->events,
		      "drops", (json_int_t)s->drops,
		      "filtered", (json_int_t)s->filtered,
		      "unpaired", (json_int_t)s->unpaired,
		      "no_vcpu", (json_int_t)s->no_vcpu,
		      "bad", (json_int_t)s->bad,
		      "read_errors", (json_int_t)e->read_errors);
	if (o && e->why[0])
		json_object_set_new(o, "reason", json_string(e->why));
	if (o && e->mode)
		json_object_set_new(o, "mode", json_string(e->mode));
	if (o && e->note[0])
		json_object_set_new(o, "note", json_stringn(e->note,
				    strnlen(e->note, sizeof(e->note))));
	if (o && e->last_ts)
		json_object_set_new(o, "last_read_ms",
				    json_integer((json_int_t)(e->last_ts /
							       1000000)));
	return o;
}

json_t *ks_live__status(struct ks_live *l)
{
	json_t *a = json_array();

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; a && i < l->n; i++) {
		if (json_array_append_new(a, entry_status(&l->e[i]))) {
			json_decref(a);
			a = NULL;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return a;
}

/* ---- Prometheus ----------------------------------------------------------
 * Written through the exporter's writer (expo/emit.h), into the same
 * exposition as its families, in text or protobuf alike. */

/* The labels of source e's samples: [hostname,] source[, extra]. */
static size_t labels(struct ks_prom_label *l, const char *host,
		     const struct entry *e, const char *extra,
		     const char *extra_value)
{
	size_t n = 0;

	if (host)
		l[n++] = (struct ks_prom_label){ "hostname", host };
	l[n++] = (struct ks_prom_label){ "source", e->ops->name };
	if (extra)
		l[n++] = (struct ks_prom_label){ extra, extra_value };
	return n;
}

/* One family: a value per source, read by get. */
static void family(struct ks_emit *m, struct ks_live *l, const char *host,
		   const char *name, enum ks_prom_type type, const char *help,
		   uint64_t (*get)(const struct entry *e))
{
	struct ks_prom_label lab[3];

	ks_emit__family(m, name, help, type);
	for (size_t i = 0; i < l->n; i++)
		ks_emit__value(m, lab, labels(lab, host, &l->e[i], NULL, NULL),
			       get(&l->e[i]));
	ks_emit__end(m);
}

static uint64_t get_up(const struct entry *e)
{
	return e->state == ST_RUNNING;
}

static uint64_t get_ticks(const struct entry *e) { return e->st.ticks; }
static uint64_t get_records(const struct entry *e) { return e->st.records; }
static uint64_t get_events(const struct entry *e) { return e->st.events; }
static uint64_t get_drops(const struct entry *e) { return e->st.drops; }
static uint64_t get_bad(const struct entry *e) { return e->st.bad; }
static uint64_t get_errors(const struct entry *e) { return e->read_errors; }
static uint64_t get_unpaired(const struct entry *e) { return e->st.unpaired; }
static uint64_t get_novcpu(const struct entry *e) { return e->st.no_vcpu; }

static void lost_family(struct ks_emit *m, struct ks_live *l, const char *host)
{
	struct ks_prom_label lab[3];

	ks_emit__family(m, "kvmscope_source_lost_total", "Events or entries "
			"the live source lost, by reason: kernel_full (the "
			"probe's maps were full), bad (entries that made no "
			"sense).", KS_PROM_COUNTER);
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->e[i];

		ks_emit__value(m, lab, labels(lab, host, e, "reason",
					      "kernel_full"), get_drops(e));
		ks_emit__value(m, lab, labels(lab, host, e, "reason", "bad"),
			       get_bad(e));
	}
	ks_emit__end(m);
}

/* Only sources that have modes get a sample. */
static void latency_family(struct ks_emit *m, struct ks_live *l,
			   const char *host)
{
	struct ks_prom_label lab[3];

	ks_emit__family(m, "kvmscope_source_latency_mode", "1 if the live "
			"source times its events (an instrumentation uses "
			"latency), 0 if it only counts them.", KS_PROM_GAUGE);
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].mode)
			ks_emit__value(m, lab, labels(lab, host, &l->e[i],
						      NULL, NULL),
				       !strcmp(l->e[i].mode, "latency"));
	ks_emit__end(m);
}

void ks_live__emit(struct ks_live *l, struct ks_emit *m, const char *host)
{
	pthread_mutex_lock(&l->lock);
	family(m, l, host, "kvmscope_source_up", KS_PROM_GAUGE, "1 if the "
	       "live source runs and its last read succeeded, else 0 (off, "
	       "unavailable here, or failing).", get_up);
	family(m, l, host, "kvmscope_source_reads_total", KS_PROM_COUNTER,
	       "Reads of the live source (one per tick).", get_ticks);
	family(m, l, host, "kvmscope_source_records_total", KS_PROM_COUNTER,
	       "Records the live source emitted.", get_records);
	family(m, l, host, "kvmscope_source_events_total", KS_PROM_COUNTER,
	       "Events the live source's records stand for.", get_events);
	lost_family(m, l, host);
	family(m, l, host, "kvmscope_source_read_errors_total",
	       KS_PROM_COUNTER, "Reads of the live source that failed (each "
	       "may lose up to a second of its data).", get_errors);
	family(m, l, host, "kvmscope_source_events_without_latency_total",
	       KS_PROM_COUNTER, "Events counted without their latency (an "
	       "exit whose entry was not seen).", get_unpaired);
	family(m, l, host, "kvmscope_source_events_without_vcpu_total",
	       KS_PROM_COUNTER, "Events counted without their vCPU.",
	       get_novcpu);
	latency_family(m, l, host);
	pthread_mutex_unlock(&l->lock);
}
