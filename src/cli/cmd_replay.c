/* cmd_replay.c - `kvmscope replay`: a trace through the engine, offline.
 *
 * The options and the output; the replay itself (reading the trace,
 * translating and feeding records, the trace's span) is
 * src/replay/session.c, and the heatmap figure src/render/annotate.c.
 * The answer is CA's raw value over the trace (or one value per
 * granularity interval with --per-second), as a table with values in
 * human units, or raw (--raw), or CA's JSON.  Everything not counted -
 * malformed lines, events whose fields did not parse, records lacking a
 * field the instrumentation needs - is summarised on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "engine/engine.h"
#include "engine/query.h"
#include "engine/symtab.h"
#include "render/annotate.h"
#include "render/heatmap.h"
#include "replay/session.h"
#include "util/units.h"

#define MAX_DECOMP 4
#define PROG "kvmscope replay"

struct opts {
	const char *file;
	struct ks_replay_conf rc;
	const char *decomp[MAX_DECOMP];
	const char *heatmap;
	const char *ymax, *width, *height;
	bool log;
	bool json;
	bool raw;
	bool per_second;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmscope replay FILE --metric M [--decompose F]... "
		"[--predicate JSON]\n"
		"                       [--granularity N] [--per-second] "
		"[--json | --raw]\n"
		"                       [--write-record OUT] "
		"[--heatmap-png OUT.png [--log]\n"
		"                       [--ymax N] [--width N] [--height N]]"
		"\n\n"
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
		"  -r, --raw             table values as raw integers (ns, bytes)\n"
		"                        rather than in human units (12.3us)\n"
		"  -w, --write-record OUT  also write every record to a record "
		"file\n"
		"                        (--metric may then be left out)\n"
		"  -H, --heatmap-png OUT.png  draw CA's heatmap of the whole trace "
		"with\n"
		"                        axes, a legend and a title (needs a "
		"numeric\n"
		"                        --decompose; one column per interval)\n"
		"      --log             heatmap rows on a log scale\n"
		"      --ymax N          heatmap top, in the field's unit (ns for\n"
		"                        latency); default: CA's autoscale\n"
		"      --width N, --height N  heatmap plot area in pixels, 10 to "
		"1000\n"
		"                        (default 600 x 300); the file adds its "
		"margins\n"
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
	if (o->heatmap && !o->rc.metric) {
		fprintf(stderr, PROG ": --heatmap-png: needs --metric\n");
		return 2;
	}
	if (!o->heatmap && (o->log || o->ymax || o->width || o->height)) {
		fprintf(stderr, PROG ": --%s: only applies to --heatmap-png\n",
			o->log ? "log" : o->ymax ? "ymax" : o->width ? "width" :
			"height");
		return 2;
	}
	if (o->json && o->raw) {
		fprintf(stderr, PROG ": --raw: JSON is always raw; give one "
			"of --json and --raw\n");
		return 2;
	}
	if (!o->rc.metric && !o->rc.write_record) {
		fprintf(stderr, PROG ": --metric: required (or --write-record "
			"to only convert)\n");
		return 2;
	}
	o->rc.decomp = o->decomp;
	o->rc.need_numeric = o->heatmap != NULL;
	return 0;
}

enum { OPT_LOG = 256, OPT_YMAX, OPT_WIDTH, OPT_HEIGHT };

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "metric", required_argument, NULL, 'm' },
		{ "decompose", required_argument, NULL, 'd' },
		{ "predicate", required_argument, NULL, 'p' },
		{ "granularity", required_argument, NULL, 'g' },
		{ "per-second", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "write-record", required_argument, NULL, 'w' },
		{ "heatmap-png", required_argument, NULL, 'H' },
		{ "log", no_argument, NULL, OPT_LOG },
		{ "ymax", required_argument, NULL, OPT_YMAX },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "height", required_argument, NULL, OPT_HEIGHT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:d:p:g:sjrw:H:h", lopts,
				NULL)) != -1) {
		switch (c) {
		case 'm': o->rc.metric = optarg; break;
		case 'p': o->rc.predicate = optarg; break;
		case 'g': o->rc.granularity = optarg; break;
		case 's': o->per_second = true; break;
		case 'j': o->json = true; break;
		case 'r': o->raw = true; break;
		case 'w': o->rc.write_record = optarg; break;
		case 'H': o->heatmap = optarg; break;
		case OPT_LOG: o->log = true; break;
		case OPT_YMAX: o->ymax = optarg; break;
		case OPT_WIDTH: o->width = optarg; break;
		case OPT_HEIGHT: o->height = optarg; break;
		case 'h': usage(stdout); return 1;
		case 'd':
			if (o->rc.ndecomp == MAX_DECOMP) {
				fprintf(stderr, PROG ": --decompose: at most %d "
					"fields\n", MAX_DECOMP);
				return 2;
			}
			o->decomp[o->rc.ndecomp++] = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	return check_args(argc, argv, o);
}

/* ---- the summary on stderr ---- */

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

static void report_recfile(const struct ks_recfile_stats *st,
			   const struct ks_recfile_header *h)
{
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

static void report_input(const struct ks_replay_stats *st, const char *path)
{
	if (st->perfdata)
		fprintf(stderr, PROG ": '%s' is a perf.data file: reading it "
			"through perf script\n", path);
	if (st->tracefs) {
		report_reader(&st->tfs);
		report_translator(&st->kt);
	}
	if (st->recfile)
		report_recfile(&st->rf, &st->rfh);
}

static void report_engine(const struct ks_replay *rp, const struct opts *o)
{
	const struct ks_engine_stats *st = ks_replay__engine_stats(rp);
	const struct ks_replay_stats *rs = ks_replay__stats(rp);

	fprintf(stderr, PROG ": %s: %llu records, %llu counted",
		o->rc.metric, (unsigned long long)rs->fed,
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
		if (rs->lacking[f])
			fprintf(stderr, PROG ": %llu records lack field %s and are "
				"not counted\n", (unsigned long long)rs->lacking[f],
				ks_field_info(f)->name);
	if (!rs->fed)
		fprintf(stderr, PROG ": no %s records in the trace\n",
			o->rc.metric);
}

/* ---- the table ---- */

/* How people read a numeric field's values. */
static enum ks_unit field_unit(int field)
{
	switch (ks_field_info(field)->type) {
	case KS_TYPE_TIME: return KS_UNIT_NS;
	case KS_TYPE_SUBSECOND: return KS_UNIT_MS;
	case KS_TYPE_SIZE: return KS_UNIT_BYTES;
	default: return KS_UNIT_NONE;
	}
}

struct printer {
	const struct opts *o;
	const struct ks_instn *in;
	uint32_t gran;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct ks_value_entry *x = *(const struct ks_value_entry *const *)a;
	const struct ks_value_entry *y = *(const struct ks_value_entry *const *)b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(ks_sym_str(x->key), ks_sym_str(y->key));
}

/* A bucket bound: raw, or in the field's human unit. */
static const char *bound(const struct printer *pr, uint64_t v, char *buf,
			 size_t n)
{
	if (pr->o->raw)
		snprintf(buf, n, "%llu", (unsigned long long)v);
	else
		ks_units_fmt(buf, n, (double)v, field_unit(pr->in->conf.numeric));
	return buf;
}

static void print_dist(const struct printer *pr, const char *pre,
		       const char *key, const struct ks_dist *d)
{
	char lo[32], hi[32];
	size_t it = 0;
	uint32_t i;
	uint64_t c;

	while (ks_dist__next(d, &it, &i, &c))
		printf("%s%-20s\t%14s\t%14s\t%12llu\n", pre, key,
		       bound(pr, ks_ll_lo(i), lo, sizeof(lo)),
		       bound(pr, ks_ll_hi(i), hi, sizeof(hi)),
		       (unsigned long long)c);
}

/* Rows of one value, largest first; pre is "" or the slot's start time.
 * Columns are tab-separated: keys (VM names, "PF excp") may hold spaces. */
static int print_rows(const struct printer *pr, const char *pre,
		      const struct ks_value *v)
{
	const struct ks_value_entry **e;

	if (v->arity == KS_ARITY_SCALAR) {
		printf("%s%-20s\t%12llu\n", pre, "total",
		       (unsigned long long)v->total);
		return 0;
	}
	if (v->arity == KS_ARITY_NUMERIC) {
		print_dist(pr, pre, "all", &v->dist);
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
			print_dist(pr, pre, ks_sym_str(e[k]->key),
				   &e[k]->dist);
	}
	free(e);
	return 0;
}

/* "vm.exits by vleavereason and latency" */
static void describe(const struct printer *pr, char *buf, size_t n)
{
	const struct ks_instn_conf *c = &pr->in->conf;

	snprintf(buf, n, "%s%s%s%s%s", pr->o->rc.metric,
		 c->discrete >= 0 || c->numeric >= 0 ? " by " : "",
		 c->discrete >= 0 ? ks_field_info(c->discrete)->name : "",
		 c->discrete >= 0 && c->numeric >= 0 ? " and " : "",
		 c->numeric >= 0 ? ks_field_info(c->numeric)->name : "");
}

static void print_header(const struct printer *pr, int64_t start,
			 uint32_t dur, uint64_t total)
{
	char what[160];

	describe(pr, what, sizeof(what));
	printf("# %s%s: %llu over trace seconds [%lld, %lld), granularity "
	       "%u s\n", what, pr->in->conf.numeric >= 0 ? " (lo hi count)" :
	       "", (unsigned long long)total, (long long)start,
	       (long long)(start + dur), pr->gran);
}

static int print_text(const struct printer *pr, int64_t start, uint32_t dur)
{
	struct ks_value v;
	char pre[32] = "";
	int rc;

	if ((rc = ks_dataset__value(pr->in->ds, start, dur, &v)))
		return rc;
	print_header(pr, start, dur, v.total);
	if (!pr->o->per_second) {
		rc = print_rows(pr, "", &v);
		ks_value_fini(&v);
		return rc;
	}
	ks_value_fini(&v);
	for (int64_t t = start; !rc && t < start + dur; t += pr->gran) {
		if ((rc = ks_dataset__value(pr->in->ds, t, pr->gran, &v)))
			return rc;
		snprintf(pre, sizeof(pre), "%-8lld\t", (long long)t);
		if (v.total || v.arity == KS_ARITY_SCALAR)
			rc = print_rows(pr, pre, &v);
		ks_value_fini(&v);
	}
	return rc;
}

static int print_json(const struct printer *pr, int64_t start, uint32_t dur)
{
	struct ks_query q = {
		.start = start,
		.duration = pr->o->per_second ? pr->gran : dur,
		.ndatapoints = pr->o->per_second ? dur / pr->gran : 1,
		.multi = pr->o->per_second,
	};
	json_t *j;
	char *s;

	q.req_start = q.start;
	q.req_duration = q.duration;
	q.req_end = q.start + (int64_t)q.duration * q.ndatapoints;
	j = ks_query_value(pr->in, &q);

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

/* ---- the heatmap file ---- */

/* The heatmap's parameters from the options, through the API's parser,
 * so they take CA's values and bounds; errors name the option. */
static int heatmap_params(const struct printer *pr, struct ks_hmparams *hp)
{
	struct ks_err err = { { 0 }, { 0 } };
	json_t *p = json_object();
	int rc;

	if (!p)
		return -ENOMEM;
	if (pr->in->conf.discrete >= 0)
		json_object_set_new(p, "decompose_all", json_true());
	if (pr->o->log)
		json_object_set_new(p, "scale", json_string("log"));
	if (pr->o->ymax)
		json_object_set_new(p, "ymax", json_string(pr->o->ymax));
	if (pr->o->width)
		json_object_set_new(p, "width", json_string(pr->o->width));
	if (pr->o->height)
		json_object_set_new(p, "height", json_string(pr->o->height));
	rc = ks_hmparams__parse(hp, p, &err);
	json_decref(p);
	if (rc)
		fprintf(stderr, PROG ": --%s: %s\n", err.param[0] ? err.param :
			"heatmap-png", err.msg);
	return rc;
}

static int save_png(const uint8_t *png, size_t len, const char *path)
{
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

/* The figure's words: what, over what, in which unit. */
static int draw_figure(const struct printer *pr, const struct ks_heatmap *hm,
		       int64_t start, uint32_t dur, struct ks_hm_figure *fig)
{
	int num = pr->in->conf.numeric;
	char title[160], sub[200], xlabel[96], ylabel[96];
	struct ks_hm_annot a = {
		.title = title, .subtitle = sub, .ylabel = ylabel,
		.yunit = field_unit(num), .xlabel = xlabel, .tspan = dur,
	};
	const char *slash = strrchr(pr->o->file, '/');

	describe(pr, title, sizeof(title));
	snprintf(sub, sizeof(sub), "%s, trace seconds %lld to %lld, %u s a "
		 "column%s", slash ? slash + 1 : pr->o->file, (long long)start,
		 (long long)(start + dur), pr->gran,
		 pr->o->rc.predicate ? ", with a predicate" : "");
	snprintf(ylabel, sizeof(ylabel), "%s%s", ks_field_info(num)->label,
		 ks_heatmap__scale(hm) == KS_HM_SCALE_LOG ? " (log)" : "");
	snprintf(xlabel, sizeof(xlabel), "time from trace second %lld",
		 (long long)start);
	return ks_hm_figure__draw(fig, hm, &a);
}

/* Renders CA's heatmap of the whole trace, one column per interval,
 * every key highlighted when decomposed by one, with axes and a legend. */
static int write_heatmap(const struct printer *pr, const struct ks_replay *rp)
{
	struct ks_err err = { { 0 }, { 0 } };
	const struct ks_value **cols = NULL;
	struct ks_value *v = NULL;
	struct ks_hm_figure fig;
	struct ks_heatmap *hm = NULL;
	struct ks_hmparams hp;
	int64_t start;
	uint32_t dur;
	size_t n;
	int rc;

	if ((rc = heatmap_params(pr, &hp)))
		return rc;
	ks_replay__span(rp, &start, &dur);
	if ((rc = ks_replay__columns(rp, &v, &cols, &n)))
		goto out;
	{
		struct ks_hm_input in = { cols, n, start, pr->gran };

		if (!(hm = ks_heatmap__render(&in, &hp, &err))) {
			fprintf(stderr, PROG ": --%s: %s\n", err.param[0] ?
				err.param : "heatmap-png", err.msg);
			rc = -EINVAL;
			goto out;
		}
	}
	if ((rc = draw_figure(pr, hm, start, dur, &fig)))
		goto out;
	rc = save_png(fig.png, fig.png_len, pr->o->heatmap);
	if (!rc)
		fprintf(stderr, PROG ": wrote %s (%u x %u; heatmap %u x %u at "
			"(%u,%u), ymax %llu)\n", pr->o->heatmap, fig.width,
			fig.height, hp.width, hp.height, fig.plot_x, fig.plot_y,
			(unsigned long long)ks_heatmap__ymax(hm));
	ks_hm_figure__fini(&fig);
out:
	if (rc == -ENOMEM)
		fprintf(stderr, PROG ": --heatmap-png: out of memory\n");
	ks_heatmap__free(hm);
	ks_replay_columns_free(v, cols, n);
	ks_hmparams_fini(&hp);
	return rc;
}

static int output(const struct ks_replay *rp, const struct opts *o)
{
	struct printer pr = { o, ks_replay__instn(rp), 0 };
	int64_t start;
	uint32_t dur;
	int rc;

	pr.gran = pr.in->conf.granularity;
	ks_replay__span(rp, &start, &dur);
	report_engine(rp, o);
	if (o->heatmap && write_heatmap(&pr, rp))
		return 1;
	rc = o->json ? print_json(&pr, start, dur) :
		       print_text(&pr, start, dur);
	if (rc)
		fprintf(stderr, PROG ": %s\n", strerror(-rc));
	return rc ? 1 : 0;
}

/* Replays; the exit status. */
static int replay(struct ks_replay *rp, const struct opts *o)
{
	struct ks_err err = { { 0 }, { 0 } };
	int rc = ks_replay__setup(rp, &o->rc, o->file, &err);

	if (rc) {
		fprintf(stderr, PROG ": --%s: %s\n", err.param, err.msg);
		return !strcmp(err.param, "write-record") && rc != -EINVAL ?
			       1 : 2;
	}
	rc = ks_replay__run(rp, o->file, &err);
	report_input(ks_replay__stats(rp), o->file);
	if (rc && !strcmp(err.param, "write-record")) {
		fprintf(stderr, PROG ": --write-record: %s\n", err.msg);
		return 1;
	}
	if (rc) {
		fprintf(stderr, PROG ": %s: %s\n", o->file, err.msg);
		return 1;
	}
	if (o->rc.write_record)
		fprintf(stderr, PROG ": wrote %s\n", o->rc.write_record);
	return ks_replay__instn(rp) ? output(rp, o) : 0;
}

int cmd_replay(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ks_replay *rp;
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (!(rp = ks_replay__new())) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	rc = replay(rp, &o);
	ks_replay__free(rp);
	ks_sym_reset();
	return rc;
}
