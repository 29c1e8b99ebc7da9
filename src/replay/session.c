/* session.c - one offline replay: reading, translating, feeding.
 *
 * Records arrive one at a time from either reader; the chosen metric's are
 * batched into the engine, and each one widens the trace's span, which is
 * refused once it holds more data points than the retention keeps (the
 * span is only known at the end, so the retention is CA's largest).
 * Records lacking a field the instrumentation needs are counted per field:
 * the engine drops them, and the user is told why.
 */
#include "replay/session.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/symtab.h"
#include "replay/input.h"

#define BATCH 256

struct ks_replay {
	struct ks_engine *e;
	struct ks_instn *in;	/* NULL when only converting */
	int metric;		/* -1 when only converting */
	struct ks_recfile_writer *w;
	struct ks_record batch[BATCH];
	size_t nbatch;
	uint32_t gran;
	uint32_t needs;
	bool any;
	int64_t first_slot, last_slot;	/* seconds */
	uint64_t span_lo, span_hi;	/* ns: [first_slot, last_slot + gran) */
	struct ks_replay_stats st;
	struct ks_err err;	/* set by the sink, which cannot return it */
};

struct ks_replay *ks_replay__new(void)
{
	struct ks_replay *rp = calloc(1, sizeof(*rp));

	if (!rp)
		return NULL;
	if (!(rp->e = ks_engine__new())) {
		free(rp);
		return NULL;
	}
	rp->metric = -1;
	rp->gran = 1;
	ks_engine__follow_records(rp->e, true);
	/* Offline, the file bounds what is kept (and one value may hold
	 * every RIP of it): no caps on symbols or keys per slot. */
	ks_sym_set_limits(SIZE_MAX, SIZE_MAX);
	ks_engine__set_memory(rp->e, SIZE_MAX, UINT32_MAX, 0);
	return rp;
}

void ks_replay__free(struct ks_replay *rp)
{
	struct ks_err err;

	if (!rp)
		return;
	if (rp->w)
		ks_recfile_writer__close(rp->w, &err);
	ks_engine__free(rp->e);
	free(rp);
}

/* Appends the comma-separated field names of s to the array d, empty
 * ones too: the parameter parser names them as the error they are. */
static int add_fields(json_t *d, const char *s)
{
	for (;;) {
		size_t n = strcspn(s, ",");

		if (json_array_append_new(d, json_stringn(s, n)))
			return -ENOMEM;
		if (!s[n])
			return 0;
		s += n + 1;
	}
}

/* The instrumentation's parameters as the HTTP API would pass them. */
static json_t *build_params(const struct ks_replay_conf *c, int metric)
{
	const struct ks_metricinfo *mi = ks_metric_info(metric);
	json_t *p = json_object(), *d = json_array();

	if (!p || !d)
		goto fail;
	for (size_t i = 0; i < c->ndecomp; i++)
		if (add_fields(d, c->decomp[i]))
			goto fail;
	json_object_set_new(p, "module", json_string(mi->module));
	json_object_set_new(p, "stat", json_string(mi->stat));
	json_object_set_new(p, "decomposition", d);
	d = NULL;
	if (c->predicate)
		json_object_set_new(p, "predicate", json_string(c->predicate));
	if (c->granularity)
		json_object_set_new(p, "granularity",
				    json_string(c->granularity));
	/* Replay never reaps: the trace clock may run past idle-max. */
	json_object_set_new(p, "idle-max", json_integer(0));
	return p;
fail:
	json_decref(p);
	json_decref(d);
	return NULL;
}

/* Names the option behind a parameter error ("decomposition" is
 * --decompose) and drops the parameter name the message may repeat. */
static int conf_error(struct ks_err *err)
{
	struct ks_err e = *err;
	const char *opt = !strcmp(e.param, "decomposition") ? "decompose" :
			  e.param[0] ? e.param : "metric";
	const char *msg = e.msg;
	size_t n = strlen(e.param);

	if (n && !strncmp(msg, e.param, n) && !strncmp(msg + n, ": ", 2))
		msg += n + 2;
	return ks_err_set(err, EINVAL, opt, "%s", msg);
}

/* Parses the parameters, then again with the retention set to the most
 * CA allows at the granularity parsed the first time. */
static int parse_conf(struct ks_replay *rp, const struct ks_replay_conf *c,
		      struct ks_instn_conf *conf, struct ks_err *err)
{
	json_t *params = build_params(c, rp->metric);
	int rc;

	if (!params)
		return ks_err_set(err, ENOMEM, "", "out of memory");
	rc = ks_instn_conf_parse(params, NULL, KS_INSTN_CREATE, conf, err);
	if (!rc) {
		json_object_set_new(params, "retention-time",
				    json_integer((json_int_t)conf->granularity *
						 KS_MAX_DATAPOINTS));
		ks_instn_conf_fini(conf);
		rc = ks_instn_conf_parse(params, NULL, KS_INSTN_CREATE, conf,
					 err);
	}
	json_decref(params);
	return rc;
}

static int create_instn(struct ks_replay *rp, const struct ks_replay_conf *c,
			struct ks_err *err)
{
	struct ks_instn_conf conf;
	int rc;

	rp->metric = ks_metric_lookup_full(c->metric);
	if (rp->metric < 0)
		return ks_err_set(err, EINVAL, "metric", "unknown metric '%s' "
				  "(see kvmscope metrics)", c->metric);
	if ((rc = parse_conf(rp, c, &conf, err)))
		return rc == -ENOMEM ? rc : conf_error(err);
	if ((rc = ks_engine__create(rp->e, &conf, &rp->in, err))) {
		ks_instn_conf_fini(&conf);
		return conf_error(err);
	}
	rp->gran = rp->in->conf.granularity;
	rp->needs = rp->in->needs;
	if (c->need_numeric && rp->in->conf.numeric < 0)
		return ks_err_set(err, EINVAL, "heatmap-png", "needs a numeric "
				  "--decompose (e.g. latency or subsecond)");
	return 0;
}

/* True if both paths name one existing file (the output would truncate
 * the input before it is read). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int ks_replay__setup(struct ks_replay *rp, const struct ks_replay_conf *c,
		     const char *input, struct ks_err *err)
{
	int rc;

	ks_err_clear(err);
	if (c->metric && (rc = create_instn(rp, c, err)))
		return rc;
	if (!c->write_record)
		return 0;
	if (same_file(input, c->write_record))
		return ks_err_set(err, EINVAL, "write-record", "'%s' is the "
				  "input", c->write_record);
	rp->w = ks_recfile_writer__open(c->write_record,
					KS_RECFILE_F_CONVERTED, err);
	if (!rp->w) {
		snprintf(err->param, sizeof(err->param), "write-record");
		return -EIO;
	}
	return 0;
}

static void flush_batch(struct ks_replay *rp)
{
	if (rp->in && rp->nbatch)
		ks_engine__feed(rp->e, rp->batch, rp->nbatch);
	rp->nbatch = 0;
}

/* Widens the trace's slot span to r; fails once the span holds more data
 * points than the retention keeps. */
static int track_span(struct ks_replay *rp, const struct ks_record *r)
{
	int64_t slot, need;

	/* Most records fall inside the span already: no division then. */
	if (rp->any && r->ts >= rp->span_lo && r->ts < rp->span_hi)
		return 0;
	slot = (int64_t)(r->ts / KS_NSEC_PER_SEC);
	slot -= slot % rp->gran;
	if (!rp->any) {
		rp->first_slot = rp->last_slot = slot;
		rp->any = true;
	}
	if (slot < rp->first_slot)
		rp->first_slot = slot;
	if (slot > rp->last_slot)
		rp->last_slot = slot;
	rp->span_lo = (uint64_t)rp->first_slot * KS_NSEC_PER_SEC;
	rp->span_hi = (uint64_t)(rp->last_slot + rp->gran) * KS_NSEC_PER_SEC;
	if ((rp->last_slot - rp->first_slot) / rp->gran < KS_MAX_DATAPOINTS)
		return 0;
	/* The smallest granularity (a multiple of 5) that fits what was
	 * seen so far; the rest of the trace may need more. */
	need = (rp->last_slot - rp->first_slot) / KS_MAX_DATAPOINTS + 1;
	need = (need + 4) / 5 * 5;
	return ks_err_set(&rp->err, ERANGE, "", "the trace spans more than %d "
			  "data points at granularity %u s (trace seconds "
			  "%lld to %lld and on); use --granularity %lld or "
			  "more", KS_MAX_DATAPOINTS, rp->gran,
			  (long long)rp->first_slot, (long long)rp->last_slot,
			  (long long)need);
}

/* Receives every record: to the record file, and the chosen metric's to
 * the engine. */
static int sink(void *ctx, const struct ks_record *r)
{
	struct ks_replay *rp = ctx;
	int rc;

	if (rp->w && (rc = ks_recfile_writer__add(rp->w, r, 1)))
		return ks_err_set(&rp->err, -rc, "write-record", "%s",
				  strerror(-rc));
	if (!rp->in || r->metric != rp->metric)
		return 0;
	if ((rc = track_span(rp, r)))
		return rc;
	if ((r->present & rp->needs) != rp->needs)
		for (int f = 0; f < KS_F__COUNT; f++)
			if ((rp->needs >> f & 1) && !ks_record_has(r, f))
				rp->st.lacking[f]++;
	rp->st.fed++;
	rp->batch[rp->nbatch++] = *r;
	if (rp->nbatch == BATCH)
		flush_batch(rp);
	return 0;
}

static int read_tracefs(struct ks_replay *rp, int fd)
{
	struct ks_tfs_reader *r = ks_tfs_reader__new_fd(fd);
	struct ks_kvmtrace *kt = ks_kvmtrace__new(sink, rp);
	struct ks_tfs_event ev;
	int rc = -ENOMEM;

	if (!r || !kt) {
		ks_err_set(&rp->err, ENOMEM, "", "out of memory");
		goto out;
	}
	rp->st.tracefs = true;
	/* A record file keeps every field; the instrumentation reads its own. */
	if (rp->in && !rp->w)
		ks_kvmtrace__want(kt, rp->needs);
	while ((rc = ks_tfs_reader__next(r, &ev, &rp->err)) > 0)
		if ((rc = ks_kvmtrace__event(kt, &ev)))
			break;
	if (!rc)
		rc = ks_kvmtrace__finish(kt);
	rp->st.tfs = *ks_tfs_reader__stats(r);
	rp->st.kt = *ks_kvmtrace__stats(kt);
	if (!rc && !rp->st.tfs.events && rp->st.tfs.malformed)
		rc = ks_err_set(&rp->err, EINVAL, "", "not a trace: no line is "
				"an ftrace event, and it is not a kvmscope "
				"record file");
out:
	/* The batch's symbols are the translator's: fed while it holds them. */
	flush_batch(rp);
	ks_kvmtrace__free(kt);
	ks_tfs_reader__free(r);
	return rc;
}

/* True if damage left nothing: no record came out, and the file shows
 * it held some (a damaged region, a cut, undecodable records, or an end
 * block counting records).  An intact empty recording is not an error. */
static bool nothing_usable(const struct ks_recfile_stats *st)
{
	return !st->records && (st->corrupt || st->truncated ||
				st->undecodable || st->end_records);
}

static int read_recfile(struct ks_replay *rp, struct ks_recfile_reader *rd)
{
	struct ks_record r;
	int rc = 0;

	rp->st.recfile = true;
	while (ks_recfile_reader__next(rd, &r) > 0)
		if ((rc = sink(rp, &r)))
			break;
	rp->st.rf = *ks_recfile_reader__stats(rd);
	rp->st.rfh = *ks_recfile_reader__header(rd);
	/* The reader holds the file's symbols: the batch goes in before it
	 * is closed, or a symbol only the reader held is freed under records
	 * still to feed (a short recording replayed with every key ''). */
	flush_batch(rp);
	if (!rc && nothing_usable(&rp->st.rf))
		rc = ks_err_set(&rp->err, EIO, "", "no usable record: every "
				"record was lost to damage");
	return rc;
}

/* Opens the input (input.h) and reads it in whichever format it is; a
 * perf.data file is the text of `perf script` over it. */
static int read_input(struct ks_replay *rp, const char *path)
{
	struct ks_err err = { { 0 }, { 0 } };
	struct ks_input_file f;
	int rc, crc;

	if ((rc = ks_input_open(&f, path, KS_INPUT_PERF, &rp->err)))
		return rc;
	rp->st.perfdata = f.kind == KS_INPUT_PERFDATA;
	rc = f.kind == KS_INPUT_RECFILE ? read_recfile(rp, f.rd) :
					  read_tracefs(rp, f.fd);
	crc = ks_input_close(&f, &err);
	if (crc && (!rc || rc == -EINVAL)) {
		/* perf's own reason beats "not a trace" from its empty text. */
		rp->err = err;
		rc = crc;
	}
	return rc;
}

int ks_replay__run(struct ks_replay *rp, const char *path,
		   struct ks_err *err)
{
	int rc;

	ks_err_clear(&rp->err);
	rc = read_input(rp, path);
	if (rc) {
		if (!rp->err.msg[0])
			ks_err_set(&rp->err, -rc, "", "%s", strerror(-rc));
		*err = rp->err;
		return rc;
	}
	if (rp->in)
		flush_batch(rp);
	if (rp->w) {
		rc = ks_recfile_writer__close(rp->w, err);
		rp->w = NULL;
		if (rc)
			snprintf(err->param, sizeof(err->param),
				 "write-record");
	}
	return rc;
}

const struct ks_replay_stats *ks_replay__stats(const struct ks_replay *rp)
{
	return &rp->st;
}

const struct ks_engine_stats *ks_replay__engine_stats(
	const struct ks_replay *rp)
{
	return ks_engine__stats(rp->e);
}

const struct ks_instn *ks_replay__instn(const struct ks_replay *rp)
{
	return rp->in;
}

void ks_replay__span(const struct ks_replay *rp, int64_t *start,
		     uint32_t *dur)
{
	*start = rp->any ? rp->first_slot : 0;
	*dur = rp->any ? (uint32_t)(rp->last_slot - rp->first_slot) + rp->gran :
			 rp->gran;
}

void ks_replay_columns_free(struct ks_value *v, const struct ks_value **cols,
			    size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		ks_value_fini(&v[i]);
	free(v);
	free(cols);
}

int ks_replay__columns(const struct ks_replay *rp, struct ks_value **v,
		       const struct ks_value ***cols, size_t *n)
{
	int64_t start;
	uint32_t dur;

	ks_replay__span(rp, &start, &dur);
	*n = dur / rp->gran;
	*v = calloc(*n, sizeof(**v));
	*cols = calloc(*n, sizeof(**cols));
	if (!*v || !*cols)
		goto fail;
	for (size_t i = 0; i < *n; i++) {
		if (ks_dataset__value(rp->in->ds, start + (int64_t)i * rp->gran,
				      rp->gran, &(*v)[i])) {
			ks_replay_columns_free(*v, *cols, i);
			*v = NULL;
			*cols = NULL;
			return -ENOMEM;
		}
		(*cols)[i] = &(*v)[i];
	}
	return 0;
fail:
	free(*v);
	free(*cols);
	*v = NULL;
	*cols = NULL;
	return -ENOMEM;
}
