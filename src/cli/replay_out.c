/* replay_out.c - what `kvmscope replay` answers (replay_out.h).
 *
 * The summary on stderr says what the readers made of the input and what
 * the engine counted, so that nothing is dropped unreported: malformed
 * lines, events whose fields did not parse, records lacking a field the
 * instrumentation needs.  The answer itself is CA's raw value over the
 * trace (or one value per granularity interval), as a table in human
 * units or raw integers, or CA's JSON; the heatmap figure is CA's heatmap
 * of the whole trace with axes and a legend (render/annotate.h).  Table
 * columns are tab-separated: keys (VM names, "PF excp") may hold spaces.
 */
#include "cli/replay_out.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/query.h"
#include "engine/symtab.h"
#include "render/annotate.h"
#include "render/heatmap.h"
#include "util/units.h"

#define PROG "kvmscope replay"

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

void ks_replay_report_input(const struct ks_replay_stats *st, const char *path)
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

static void report_engine(const struct ks_replay *rp, const struct ks_replay_out *o)
{
	const struct ks_engine_stats *st = ks_replay__engine_stats(rp);
	const struct ks_replay_stats *rs = ks_replay__stats(rp);

	fprintf(stderr, PROG ": %s: %llu records, %llu counted",
		o->metric, (unsigned long long)rs->fed,
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
			o->metric);
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
	const struct ks_replay_out *o;
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

	snprintf(buf, n, "%s%s%s%s%s", pr->o->metric,
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
		 pr->o->predicate ? ", with a predicate" : "");
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

int ks_replay_output(const struct ks_replay *rp, const struct ks_replay_out *o)
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

