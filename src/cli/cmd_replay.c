/* cmd_replay.c - `kvmscope replay`: a trace through the engine, offline.
 *
 * Reads a kvm trace (tracefs text from `cat trace`, trace_pipe or
 * `trace-cmd report`, or kvmscope's own record file, told apart by its
 * magic), turns its events into records, and feeds them to one
 * instrumentation built from the same parameters the HTTP API takes.  The
 * engine's clock follows the trace, and the retention covers the whole
 * trace, so the answer is CA's raw value over the trace (or one value per
 * granularity interval with --per-second).  Everything not counted -
 * malformed lines, events whose fields did not parse, records lacking a
 * field the instrumentation needs - is summarised on stderr.
 *
 * With --write-record FILE every record of every metric is also written to
 * a record file, so a text trace can be converted once and replayed fast.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "engine/engine.h"
#include "engine/query.h"
#include "engine/symtab.h"
#include "replay/kvmtrace.h"
#include "replay/perfdata.h"
#include "replay/recfile.h"
#include "replay/tracefs.h"
#include "render/heatmap.h"

#define MAX_DECOMP 4
#define BATCH 256
#define PROG "kvmscope replay"

struct opts {
	const char *file;
	const char *metric;
	const char *predicate;
	const char *write_record;
	const char *decomp[MAX_DECOMP];
	size_t ndecomp;
	const char *granularity;
	const char *heatmap;
	bool json;
	bool per_second;
};

/* Everything one replay run holds. */
struct replay {
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
	uint64_t fed;
	uint64_t lacking[KS_F__COUNT];
	int error;
	char errmsg[256];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmscope replay FILE --metric M [--decompose F]... "
		"[--predicate JSON]\n"
		"                       [--granularity N] [--per-second] "
		"[--json]\n"
		"                       [--write-record OUT] "
		"[--heatmap-png OUT.png]\n\n"
		"Feeds a kvm trace through the engine and prints the value of one\n"
		"instrumentation over the whole trace.  FILE is tracefs text (`cat\n"
		"trace`, trace_pipe, `trace-cmd report`; '-' reads stdin), `perf\n"
		"script` text, a perf.data file (from `perf record -e 'kvm:*'` or\n"
		"`perf kvm stat record`; read through `perf script`, so perf must be\n"
		"installed) or a kvmscope record file; the format is recognised by\n"
		"its content.\n\n"
		"  -m, --metric M        metric to count, e.g. vm.exits "
		"(kvmscope metrics)\n"
		"  -d, --decompose F     decompose by field F (at most one discrete\n"
		"                        and one numeric field); repeatable, or "
		"F1,F2\n"
		"  -p, --predicate JSON  CA predicate, e.g. "
		"'{\"eq\":[\"vcpu\",\"0\"]}'\n"
		"  -g, --granularity N   seconds per data point: 1 or a multiple "
		"of 5\n"
		"  -s, --per-second      one value per granularity interval\n"
		"  -j, --json            CA's value object(s) instead of a table\n"
		"  -w, --write-record OUT  also write every record to a record "
		"file\n"
		"                        (--metric may then be left out)\n"
		"  -H, --heatmap-png OUT.png  draw CA's heatmap of the whole trace "
		"(needs\n"
		"                        a numeric --decompose; one column per "
		"interval)\n"
		"  -h, --help            this text\n\n"
		"The trace clock is the engine's clock: time values are trace "
		"seconds.\n"
		"A summary of what was read, and of anything not counted, goes to "
		"stderr.\n");
}

/* What getopt cannot check: one FILE, and options that need others. */
static int check_args(int argc, char **argv, struct opts *o)
{
	if (optind != argc - 1) {
		fprintf(stderr, PROG ": %s\n", optind >= argc ?
			"FILE: a trace file is required" :
			"FILE: only one trace file may be given");
		usage(stderr);
		return 2;
	}
	o->file = argv[optind];
	if (o->heatmap && !o->metric) {
		fprintf(stderr, PROG ": --heatmap-png: needs --metric\n");
		return 2;
	}
	if (!o->metric && !o->write_record) {
		fprintf(stderr, PROG ": --metric: required (or --write-record "
			"to only convert)\n");
		return 2;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "metric", required_argument, NULL, 'm' },
		{ "decompose", required_argument, NULL, 'd' },
		{ "predicate", required_argument, NULL, 'p' },
		{ "granularity", required_argument, NULL, 'g' },
		{ "per-second", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "write-record", required_argument, NULL, 'w' },
		{ "heatmap-png", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:d:p:g:sjw:H:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->metric = optarg; break;
		case 'p': o->predicate = optarg; break;
		case 'g': o->granularity = optarg; break;
		case 's': o->per_second = true; break;
		case 'j': o->json = true; break;
		case 'w': o->write_record = optarg; break;
		case 'H': o->heatmap = optarg; break;
		case 'h': usage(stdout); return 1;
		case 'd':
			if (o->ndecomp == MAX_DECOMP) {
				fprintf(stderr, PROG ": --decompose: at most %d "
					"fields\n", MAX_DECOMP);
				return 2;
			}
			o->decomp[o->ndecomp++] = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	return check_args(argc, argv, o);
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
static json_t *build_params(const struct opts *o, int metric)
{
	const struct ks_metricinfo *mi = ks_metric_info(metric);
	json_t *p = json_object(), *d = json_array();

	if (!p || !d)
		goto fail;
	for (size_t i = 0; i < o->ndecomp; i++)
		if (add_fields(d, o->decomp[i]))
			goto fail;
	json_object_set_new(p, "module", json_string(mi->module));
	json_object_set_new(p, "stat", json_string(mi->stat));
	json_object_set_new(p, "decomposition", d);
	d = NULL;
	if (o->predicate)
		json_object_set_new(p, "predicate", json_string(o->predicate));
	if (o->granularity)
		json_object_set_new(p, "granularity",
				    json_string(o->granularity));
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
static void report_conf_error(const struct ks_err *err)
{
	const char *opt = !strcmp(err->param, "decomposition") ? "decompose" :
			  err->param[0] ? err->param : "metric";
	const char *msg = err->msg;
	size_t n = strlen(err->param);

	if (n && !strncmp(msg, err->param, n) && !strncmp(msg + n, ": ", 2))
		msg += n + 2;
	fprintf(stderr, PROG ": --%s: %s\n", opt, msg);
}

/* Creates the instrumentation.  Retention is the most CA allows at the
 * granularity (3600 data points): the trace's span is only known at its
 * end, and records beyond that span are refused as they arrive. */
static int create_instn(struct replay *rp, const struct opts *o)
{
	struct ks_instn_conf conf;
	struct ks_err err = { { 0 }, { 0 } };
	json_t *params;
	uint32_t gran;
	int rc;

	rp->metric = ks_metric_lookup_full(o->metric);
	if (rp->metric < 0) {
		fprintf(stderr, PROG ": --metric: unknown metric '%s' (see "
			"kvmscope metrics)\n", o->metric);
		return 2;
	}
	params = build_params(o, rp->metric);
	if (!params)
		return 1;
	rc = ks_instn_conf_parse(params, NULL, KS_INSTN_CREATE, &conf, &err);
	if (!rc) {
		gran = conf.granularity;
		json_object_set_new(params, "retention-time",
				    json_integer((json_int_t)gran *
						 KS_MAX_DATAPOINTS));
		ks_instn_conf_fini(&conf);
		rc = ks_instn_conf_parse(params, NULL, KS_INSTN_CREATE, &conf,
					 &err);
	}
	json_decref(params);
	if (!rc && (rc = ks_engine__create(rp->e, &conf, &rp->in, &err)))
		ks_instn_conf_fini(&conf);
	if (rc) {
		report_conf_error(&err);
		return 2;
	}
	rp->gran = rp->in->conf.granularity;
	rp->needs = rp->in->needs;
	if (o->heatmap && rp->in->conf.numeric < 0) {
		fprintf(stderr, PROG ": --heatmap-png: needs a numeric "
			"--decompose (e.g. latency or subsecond)\n");
		return 2;
	}
	return 0;
}

static void flush_batch(struct replay *rp)
{
	ks_engine__feed(rp->e, rp->batch, rp->nbatch);
	rp->nbatch = 0;
}

/* Widens the trace's slot span to r; fails once the span holds more data
 * points than the retention keeps. */
static int track_span(struct replay *rp, const struct ks_record *r)
{
	int64_t slot = (int64_t)(r->ts / KS_NSEC_PER_SEC);

	slot -= slot % rp->gran;
	if (!rp->any) {
		rp->first_slot = rp->last_slot = slot;
		rp->any = true;
	}
	if (slot < rp->first_slot)
		rp->first_slot = slot;
	if (slot > rp->last_slot)
		rp->last_slot = slot;
	if ((rp->last_slot - rp->first_slot) / rp->gran >= KS_MAX_DATAPOINTS) {
		/* The smallest granularity (a multiple of 5) that fits what
		 * was seen so far; the rest of the trace may need more. */
		int64_t need = (rp->last_slot - rp->first_slot) /
			       KS_MAX_DATAPOINTS + 1;

		need = (need + 4) / 5 * 5;
		snprintf(rp->errmsg, sizeof(rp->errmsg),
			 "the trace spans more than %d data points at "
			 "granularity %u s (trace seconds %lld to %lld and "
			 "on); use --granularity %lld or more",
			 KS_MAX_DATAPOINTS, rp->gran,
			 (long long)rp->first_slot, (long long)rp->last_slot,
			 (long long)need);
		return -ERANGE;
	}
	return 0;
}

/* Receives every record: to the record file, and the chosen metric's to
 * the engine. */
static int sink(void *ctx, const struct ks_record *r)
{
	struct replay *rp = ctx;
	int rc;

	if (rp->w && (rc = ks_recfile_writer__add(rp->w, r, 1))) {
		snprintf(rp->errmsg, sizeof(rp->errmsg), "--write-record: %s",
			 strerror(-rc));
		return rc;
	}
	if (!rp->in || r->metric != rp->metric)
		return 0;
	if ((rc = track_span(rp, r)))
		return rc;
	if ((r->present & rp->needs) != rp->needs)
		for (int f = 0; f < KS_F__COUNT; f++)
			if ((rp->needs >> f & 1) && !ks_record_has(r, f))
				rp->lacking[f]++;
	rp->fed++;
	rp->batch[rp->nbatch++] = *r;
	if (rp->nbatch == BATCH)
		flush_batch(rp);
	return 0;
}

/* ---- reading ---- */

/* "WHAT, first at line N, N, ..." for the line numbers kept. */
static void report_lines(const char *what, uint64_t n, const uint64_t *lines,
			 size_t nlines)
{
	fprintf(stderr, PROG ": %llu %s, first at line", (unsigned long long)n,
		what);
	for (size_t i = 0; i < nlines; i++)
		fprintf(stderr, "%s %llu", i ? "," : "",
			(unsigned long long)lines[i]);
	fprintf(stderr, "\n");
}

/* What the reader made of the lines: nothing is dropped unreported. */
static void report_reader(const struct ks_tfs_stats *st)
{
	fprintf(stderr, PROG ": %llu lines: %llu events, %llu header lines, "
		"%llu malformed\n", (unsigned long long)st->lines,
		(unsigned long long)st->events, (unsigned long long)st->headers,
		(unsigned long long)st->malformed);
	if (st->malformed)
		report_lines("malformed lines (not events) not counted",
			     st->malformed, st->bad, st->nbad);
	if (st->lost_notices)
		fprintf(stderr, PROG ": the kernel reported %llu events lost "
			"(%llu LOST notices): counts are low\n",
			(unsigned long long)st->lost_events,
			(unsigned long long)st->lost_notices);
}

/* What the translator made of the events. */
static void report_translator(const struct ks_kvmtrace_stats *kst)
{
	uint64_t used = 0;

	if (kst->bad)
		report_lines("kvm events had fields that did not parse and "
			     "were not counted", kst->bad, kst->bad_line,
			     kst->nbad);
	for (int k = 0; k < KS_KT__COUNT; k++)
		used += kst->seen[k];
	fprintf(stderr, PROG ": %llu records from %llu kvm events; %llu "
		"events of other kinds not used\n",
		(unsigned long long)kst->records, (unsigned long long)used,
		(unsigned long long)kst->other);
	if (kst->unpaired)
		fprintf(stderr, PROG ": %llu exits had no following entry on "
			"their thread: counted, without latency\n",
			(unsigned long long)kst->unpaired);
	if (kst->backwards)
		fprintf(stderr, PROG ": %llu entries were timestamped before "
			"their exit: those exits have no latency\n",
			(unsigned long long)kst->backwards);
}

static int read_tracefs(struct replay *rp, int fd)
{
	struct ks_tfs_reader *r = ks_tfs_reader__new_map(fd);
	struct ks_kvmtrace *kt = ks_kvmtrace__new(sink, rp);
	struct ks_err err = { { 0 }, { 0 } };
	struct ks_tfs_event ev;
	int rc = -ENOMEM;

	if (!r || !kt)
		goto out;
	while ((rc = ks_tfs_reader__next(r, &ev, &err)) > 0)
		if ((rc = ks_kvmtrace__event(kt, &ev)))
			break;
	if (rc < 0 && err.msg[0])
		snprintf(rp->errmsg, sizeof(rp->errmsg), "%s", err.msg);
	if (!rc)
		rc = ks_kvmtrace__finish(kt);
	report_reader(ks_tfs_reader__stats(r));
	report_translator(ks_kvmtrace__stats(kt));
	if (!rc && !ks_tfs_reader__stats(r)->events &&
	    ks_tfs_reader__stats(r)->malformed) {
		snprintf(rp->errmsg, sizeof(rp->errmsg), "not a trace: no line "
			 "is an ftrace event, and it is not a kvmscope record "
			 "file");
		rc = -EINVAL;
	}
out:
	ks_kvmtrace__free(kt);
	ks_tfs_reader__free(r);
	return rc;
}

static void report_recfile(const struct ks_recfile_reader *rd)
{
	const struct ks_recfile_stats *st = ks_recfile_reader__stats(rd);
	const struct ks_recfile_header *h = ks_recfile_reader__header(rd);

	fprintf(stderr, PROG ": record file v%u from '%s': %llu blocks, "
		"%llu records\n", h->version, h->hostname,
		(unsigned long long)st->blocks, (unsigned long long)st->records);
	for (size_t i = 0; i < st->nproblems; i++)
		fprintf(stderr, PROG ": %s\n", st->problems[i]);
	if (st->corrupt)
		fprintf(stderr, PROG ": %llu damaged regions (%llu bytes) "
			"skipped\n", (unsigned long long)st->corrupt,
			(unsigned long long)st->corrupt_bytes);
	if (st->unknown_metric || st->unknown_field || st->unresolved_sym ||
	    st->undecodable)
		fprintf(stderr, PROG ": not used: %llu records of unknown "
			"metrics, %llu values of unknown fields, %llu values "
			"whose string was lost, %llu records undecodable\n",
			(unsigned long long)st->unknown_metric,
			(unsigned long long)st->unknown_field,
			(unsigned long long)st->unresolved_sym,
			(unsigned long long)st->undecodable);
}

static int read_recfile(struct replay *rp, const char *path)
{
	struct ks_err err = { { 0 }, { 0 } };
	struct ks_recfile_reader *rd = ks_recfile_reader__open(path, &err);
	struct ks_record r;
	int rc = 0;

	if (!rd) {
		snprintf(rp->errmsg, sizeof(rp->errmsg), "%s", err.msg);
		return -EINVAL;
	}
	while (ks_recfile_reader__next(rd, &r) > 0)
		if ((rc = sink(rp, &r)))
			break;
	report_recfile(rd);
	ks_recfile_reader__free(rd);
	return rc;
}

/* A perf.data file: the text of `perf script` over it, read as a trace. */
static int read_perfdata(struct replay *rp, const char *path)
{
	struct ks_err err = { { 0 }, { 0 } };
	struct ks_perfdata pd;
	int rc, prc;

	rc = ks_perfdata__open(&pd, path, &err);
	if (rc) {
		snprintf(rp->errmsg, sizeof(rp->errmsg), "%s", err.msg);
		return rc;
	}
	fprintf(stderr, PROG ": '%s' is a perf.data file: reading it through "
		"perf script\n", path);
	rc = read_tracefs(rp, pd.fd);
	prc = ks_perfdata__close(&pd, &err);
	if (prc && (!rc || rc == -EINVAL)) {
		/* perf's own reason beats "not a trace" from its empty text. */
		snprintf(rp->errmsg, sizeof(rp->errmsg), "%s", err.msg);
		rc = prc;
	}
	return rc;
}

/* Opens FILE and reads it in whichever format it is. */
static int read_input(struct replay *rp, const char *path)
{
	unsigned char head[KS_RECFILE_MAGIC_LEN];
	ssize_t n;
	int fd, rc;

	if (!strcmp(path, "-"))
		return read_tracefs(rp, STDIN_FILENO);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(rp->errmsg, sizeof(rp->errmsg), "cannot open '%s': %s",
			 path, strerror(errno));
		return -errno;
	}
	n = pread(fd, head, sizeof(head), 0);
	if (n == (ssize_t)sizeof(head) && ks_recfile_sniff(head, sizeof(head))) {
		close(fd);
		return read_recfile(rp, path);
	}
	if (n >= KS_PERFDATA_MAGIC_LEN && ks_perfdata_sniff(head, (size_t)n)) {
		close(fd);
		return read_perfdata(rp, path);
	}
	rc = read_tracefs(rp, fd);
	close(fd);
	return rc;
}

/* ---- output ---- */

static int cmp_entry(const void *a, const void *b)
{
	const struct ks_value_entry *x = *(const struct ks_value_entry *const *)a;
	const struct ks_value_entry *y = *(const struct ks_value_entry *const *)b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(ks_sym_str(x->key), ks_sym_str(y->key));
}

static void print_dist(const char *pre, const char *key,
		       const struct ks_dist *d)
{
	size_t it = 0;
	uint32_t i;
	uint64_t c;

	while (ks_dist__next(d, &it, &i, &c))
		printf("%s%-20s\t%14llu\t%14llu\t%12llu\n", pre, key,
		       (unsigned long long)ks_ll_lo(i),
		       (unsigned long long)ks_ll_hi(i), (unsigned long long)c);
}

/* Rows of one value, largest first; pre is "" or the slot's start time.
 * Columns are tab-separated: keys (VM names, "PF excp") may hold spaces. */
static int print_rows(const char *pre, const struct ks_value *v)
{
	const struct ks_value_entry **e;

	if (v->arity == KS_ARITY_SCALAR) {
		printf("%s%-20s\t%12llu\n", pre, "total",
		       (unsigned long long)v->total);
		return 0;
	}
	if (v->arity == KS_ARITY_NUMERIC) {
		print_dist(pre, "all", &v->dist);
		return 0;
	}
	e = malloc((v->n ? v->n : 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t k = 0; k < v->n; k++)
		e[k] = &v->e[k];
	qsort(e, v->n, sizeof(*e), cmp_entry);
	for (size_t k = 0; k < v->n; k++) {
		if (v->arity == KS_ARITY_DISCRETE)
			printf("%s%-20s\t%12llu\n", pre, ks_sym_str(e[k]->key),
			       (unsigned long long)e[k]->count);
		else
			print_dist(pre, ks_sym_str(e[k]->key), &e[k]->dist);
	}
	free(e);
	return 0;
}

static void print_header(const struct replay *rp, const struct opts *o,
			 int64_t start, uint32_t dur, uint64_t total)
{
	const struct ks_instn_conf *c = &rp->in->conf;

	printf("# %s", o->metric);
	if (c->discrete >= 0)
		printf(" by %s", ks_field_info(c->discrete)->name);
	if (c->numeric >= 0)
		printf("%s %s (lo hi count)", c->discrete >= 0 ? " and" : " by",
		       ks_field_info(c->numeric)->name);
	printf(": %llu over trace seconds [%lld, %lld), granularity %u s\n",
	       (unsigned long long)total, (long long)start,
	       (long long)(start + dur), rp->gran);
}

static int print_text(const struct replay *rp, const struct opts *o,
		      int64_t start, uint32_t dur)
{
	struct ks_value v;
	char pre[32] = "";
	int rc;

	if ((rc = ks_dataset__value(rp->in->ds, start, dur, &v)))
		return rc;
	print_header(rp, o, start, dur, v.total);
	if (!o->per_second) {
		rc = print_rows("", &v);
		ks_value_fini(&v);
		return rc;
	}
	ks_value_fini(&v);
	for (int64_t t = start; !rc && t < start + dur; t += rp->gran) {
		if ((rc = ks_dataset__value(rp->in->ds, t, rp->gran, &v)))
			return rc;
		snprintf(pre, sizeof(pre), "%-8lld\t", (long long)t);
		if (v.total || v.arity == KS_ARITY_SCALAR)
			rc = print_rows(pre, &v);
		ks_value_fini(&v);
	}
	return rc;
}

static int print_json(const struct replay *rp, const struct opts *o,
		      int64_t start, uint32_t dur)
{
	struct ks_query q = {
		.start = start,
		.duration = o->per_second ? rp->gran : dur,
		.ndatapoints = o->per_second ? dur / rp->gran : 1,
		.multi = o->per_second,
		.req_start = -1, .req_duration = -1, .req_end = -1,
	};
	json_t *j = ks_query_value(rp->in, &q);
	char *s;

	if (!j)
		return -ENOMEM;
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(j);
	if (!s)
		return -ENOMEM;
	printf("%s\n", s);
	free(s);
	return 0;
}

static void report_engine(const struct replay *rp, const struct opts *o)
{
	const struct ks_engine_stats *st = ks_engine__stats(rp->e);

	fprintf(stderr, PROG ": %s: %llu records, %llu counted",
		o->metric, (unsigned long long)rp->fed,
		(unsigned long long)st->added);
	if (st->filtered)
		fprintf(stderr, ", %llu filtered out by the predicate",
			(unsigned long long)st->filtered);
	if (st->expired || st->nomem || st->future)
		fprintf(stderr, ", %llu dropped (%llu expired, %llu future, "
			"%llu out of memory)",
			(unsigned long long)(st->expired + st->future + st->nomem),
			(unsigned long long)st->expired,
			(unsigned long long)st->future,
			(unsigned long long)st->nomem);
	fprintf(stderr, "\n");
	for (int f = 0; f < KS_F__COUNT; f++)
		if (rp->lacking[f])
			fprintf(stderr, PROG ": %llu records lack field %s and are "
				"not counted\n", (unsigned long long)rp->lacking[f],
				ks_field_info(f)->name);
	if (!rp->fed)
		fprintf(stderr, PROG ": no %s records in the trace\n", o->metric);
}

/* The value of each interval of [start, start + n * gran): v[i] and
 * cols[i] pointing at it.  0 or -ENOMEM (v[0..n) then hold nothing). */
static int interval_values(const struct replay *rp, int64_t start, size_t n,
			   struct ks_value *v, const struct ks_value **cols)
{
	for (size_t i = 0; i < n; i++) {
		if (ks_dataset__value(rp->in->ds, start + (int64_t)i * rp->gran,
				      rp->gran, &v[i])) {
			while (i-- > 0)
				ks_value_fini(&v[i]);
			return -ENOMEM;
		}
		cols[i] = &v[i];
	}
	return 0;
}

static int save_png(const struct ks_heatmap *hm, const char *path)
{
	size_t len;
	const uint8_t *png = ks_heatmap__png(hm, &len);
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(png, 1, len, f) == len;

	if (f && fclose(f))
		ok = false;
	if (!ok) {
		fprintf(stderr, PROG ": --heatmap-png: cannot write '%s': %s\n",
			path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Draws CA's heatmap of the columns with CA's default geometry, every key
 * highlighted when decomposed by one, and saves it.  Reports its own
 * errors; 0 or a negative errno. */
static int draw_heatmap(const struct replay *rp, const struct opts *o,
			const struct ks_hm_input *in)
{
	struct ks_err err = { { 0 }, { 0 } };
	struct ks_heatmap *hm;
	struct ks_hmparams hp;
	int rc;

	ks_hmparams_init(&hp);
	if (rp->in->conf.discrete >= 0)
		hp.mode = KS_HM_DECOMPOSE_ALL;
	hm = ks_heatmap__render(in, &hp, &err);
	if (!hm) {
		fprintf(stderr, PROG ": --heatmap-png: %s\n", err.msg);
		return -EINVAL;
	}
	rc = save_png(hm, o->heatmap);
	if (!rc)
		fprintf(stderr, PROG ": wrote %s (%u x %u, ymax %llu)\n",
			o->heatmap, hp.width, hp.height,
			(unsigned long long)ks_heatmap__ymax(hm));
	ks_heatmap__free(hm);
	return rc;
}

/* Writes CA's heatmap of [start, start + dur): one column per interval. */
static int write_heatmap(const struct replay *rp, const struct opts *o,
			 int64_t start, uint32_t dur)
{
	size_t n = dur / rp->gran;
	struct ks_value *v = calloc(n, sizeof(*v));
	const struct ks_value **cols = calloc(n, sizeof(*cols));
	int rc = -ENOMEM;

	if (v && cols && !(rc = interval_values(rp, start, n, v, cols))) {
		struct ks_hm_input in = { cols, n, start, rp->gran };

		rc = draw_heatmap(rp, o, &in);
		for (size_t i = 0; i < n; i++)
			ks_value_fini(&v[i]);
	}
	if (rc == -ENOMEM)
		fprintf(stderr, PROG ": --heatmap-png: out of memory\n");
	free(v);
	free(cols);
	return rc;
}

static int output(struct replay *rp, const struct opts *o)
{
	int64_t start = rp->any ? rp->first_slot : 0;
	uint32_t dur = rp->any ? (uint32_t)(rp->last_slot - rp->first_slot) +
					 rp->gran : rp->gran;
	int rc;

	report_engine(rp, o);
	if (o->heatmap && write_heatmap(rp, o, start, dur))
		return 1;
	rc = o->json ? print_json(rp, o, start, dur) :
		       print_text(rp, o, start, dur);
	if (rc)
		fprintf(stderr, PROG ": %s\n", strerror(-rc));
	return rc ? 1 : 0;
}

static int close_writer(struct replay *rp, const struct opts *o)
{
	struct ks_err err = { { 0 }, { 0 } };
	int rc = ks_recfile_writer__close(rp->w, &err);

	rp->w = NULL;
	if (rc) {
		fprintf(stderr, PROG ": --write-record: %s\n", err.msg);
		return 1;
	}
	fprintf(stderr, PROG ": wrote %s\n", o->write_record);
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

static int run(struct replay *rp, const struct opts *o)
{
	struct ks_err err = { { 0 }, { 0 } };
	int rc;

	if (o->metric && (rc = create_instn(rp, o)))
		return rc;
	if (o->write_record && same_file(o->file, o->write_record)) {
		fprintf(stderr, PROG ": --write-record: '%s' is the input\n",
			o->write_record);
		return 2;
	}
	if (o->write_record) {
		rp->w = ks_recfile_writer__open(o->write_record,
						KS_RECFILE_F_CONVERTED, &err);
		if (!rp->w) {
			fprintf(stderr, PROG ": --write-record: %s\n", err.msg);
			return 1;
		}
	}
	rc = read_input(rp, o->file);
	if (rc) {
		fprintf(stderr, PROG ": %s: %s\n", o->file,
			rp->errmsg[0] ? rp->errmsg : strerror(-rc));
		return 1;
	}
	if (rp->in)
		flush_batch(rp);
	if (rp->w && (rc = close_writer(rp, o)))
		return rc;
	return rp->in ? output(rp, o) : 0;
}

int cmd_replay(int argc, char **argv)
{
	struct opts o = { 0 };
	struct replay *rp;
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc == 1 ? 0 : rc;
	rp = calloc(1, sizeof(*rp));
	if (!rp || !(rp->e = ks_engine__new())) {
		fprintf(stderr, PROG ": out of memory\n");
		free(rp);
		return 1;
	}
	rp->metric = -1;
	ks_engine__follow_records(rp->e, true);
	rc = run(rp, &o);
	if (rp->w) {
		struct ks_err err;

		ks_recfile_writer__close(rp->w, &err);
	}
	ks_engine__free(rp->e);
	free(rp);
	ks_sym_reset();
	return rc;
}
