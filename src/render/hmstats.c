/* hmstats.c - details, average and percentile over re-bucketed columns.
 *
 * All three reuse ks_hm_bucketize() with a narrower geometry: details
 * bucketizes the samples of one display column into the one row under the
 * pointer, average and percentile bucketize one sample at a time into the
 * request's rows, so memory stays bounded whatever the number of columns.
 */
#include "render/hmstats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"

/* Bucketizes samples [s0, s1) into one column over rows, per the plan. */
static int one_column(const struct ks_hm_input *in, uint32_t s0, uint32_t s1,
		      const struct ks_hm_rows *rows,
		      const struct ks_hm_plan *plan, double *cells)
{
	uint32_t first[2] = { s0, s1 }, x[2] = { 0, 1 };
	struct ks_hm_cols cols = { 1, first, x };

	memset(cells, 0, ks_hm_plan__nmaps(plan) * rows->n * sizeof(*cells));
	return ks_hm_bucketize(in, &cols, rows, plan, cells);
}

/* CA's rounding for details: non-zero counts show as at least 1. */
static json_int_t shown(double v)
{
	if (!(v > 0))
		return 0;
	return v < 1.5 ? 1 : (json_int_t)llround(v);
}

/* Fills present {key: count} and returns the total, or -1 on ENOMEM. */
static json_int_t details_counts(const struct ks_hm_input *in, uint32_t s0,
				 uint32_t s1, const struct ks_hm_rows *row,
				 bool weight, json_t *present)
{
	struct ks_hm_plan plan = { .weight = weight };
	json_int_t total = 0;
	uint32_t *keys;
	size_t n;
	double *v;

	if (ks_hm_present(in, s0, s1, &keys, &n))
		return -1;
	plan.keys = keys;
	plan.nkeys = n;
	plan.remainder = !n;	/* no keys: the total, on its own */
	plan.keymaps = n > 0;
	if (!(v = calloc(n + 1, sizeof(*v))) ||
	    one_column(in, s0, s1, row, &plan, v)) {
		total = -1;
		goto out;
	}
	if (!n)
		total = shown(v[0]);
	for (size_t i = 0; i < n; i++) {
		json_int_t c = shown(v[i]);

		if (!c)
			continue;
		total += c;
		if (json_object_set_new(present, ks_sym_str(keys[i]),
					json_integer(c))) {
			total = -1;
			goto out;
		}
	}
out:
	free(v);
	free(keys);
	return total;
}

static json_t *details(const struct ks_hm_input *in,
		       const struct ks_hmparams *p, const struct ks_hm_geom *g)
{
	size_t d = ks_hm_cols__at(&g->cols, p->x);
	uint32_t b = ks_hm_row_at(p->y, g->rows.n, g->height);
	uint32_t s0 = g->cols.first[d], s1 = g->cols.first[d + 1];
	struct ks_hm_rows row = { 1, { g->rows.e[b], g->rows.e[b + 1] } };
	json_t *present = json_object();
	json_int_t total;

	if (!present)
		return NULL;
	total = details_counts(in, s0, s1, &row, p->weights == KS_HM_WEIGHT,
			       present);
	if (total < 0)
		return json_decref(present), NULL;
	return json_pack("{s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:i,s:i,s:i}",
			 "bucket_time", (json_int_t)(in->base +
						     (int64_t)s0 * in->step),
			 "bucket_duration", (json_int_t)(s1 - s0) * in->step,
			 "bucket_ymin", (json_int_t)llround(row.e[0]),
			 "bucket_ymax", (json_int_t)llround(row.e[1]),
			 "present", present, "total", total,
			 "ymin", (json_int_t)g->ymin,
			 "ymax", (json_int_t)g->ymax,
			 "nbuckets", (int)g->rows.n, "width", (int)g->width,
			 "height", (int)g->height);
}

/* Sets errno from rc and returns NULL, for the JSON entry points. */
static json_t *fail(int rc)
{
	errno = rc < 0 ? -rc : rc;
	return NULL;
}

json_t *ks_heatmap_details(const struct ks_hm_input *in,
			   const struct ks_hmparams *p, struct ks_err *err)
{
	struct ks_hm_geom g;
	json_t *o;
	int rc;

	ks_err_clear(err);
	if (!p->has_x || !p->has_y)
		return fail(ks_err_set(err, EINVAL, p->has_x ? "y" : "x",
				       "is required for heatmap details"));
	if ((rc = ks_hm_geom_init(&g, in, p, true, err)))
		return fail(rc);
	if (!(o = details(in, p, &g)))
		ks_err_set(err, ENOMEM, "", "out of memory"), errno = ENOMEM;
	ks_hm_geom_fini(&g);
	return o;
}

static double row_mean(const struct ks_hm_rows *r, const double *v)
{
	double sum = 0, n = 0;

	for (uint32_t i = 0; i < r->n; i++) {
		sum += v[i] * (r->e[i] + r->e[i + 1]) / 2;
		n += v[i];
	}
	return n > 0 ? sum / n : NAN;
}

static double row_quantile(const struct ks_hm_rows *r, const double *v,
			   double q)
{
	double total = 0, want, seen = 0;

	for (uint32_t i = 0; i < r->n; i++)
		total += v[i];
	if (!(total > 0))
		return NAN;
	want = q * total;
	for (uint32_t i = 0; i < r->n; i++) {
		if (v[i] > 0 && seen + v[i] >= want)
			return r->e[i] + (r->e[i + 1] - r->e[i]) *
					 ((want - seen) / v[i]);
		seen += v[i];
	}
	/* Rounding left want a hair above the sum: the top of the data. */
	for (uint32_t i = r->n; i-- > 0;)
		if (v[i] > 0)
			return r->e[i + 1];
	return NAN;
}

/* Columns are bucketized a chunk at a time: bounded memory, and the
 * per-request setup of ks_hm_bucketize() paid once a chunk. */
#define CHUNK 256

static void chunk_stats(const struct ks_hm_rows *rows, const double *cells,
			size_t n, double q, double *out)
{
	for (size_t i = 0; i < n; i++) {
		const double *v = cells + i * rows->n;

		out[i] = q < 0 ? row_mean(rows, v) : row_quantile(rows, v, q);
	}
}

/* Per column: the column's rows, then mean (q < 0) or quantile q. */
static int per_column(const struct ks_hm_input *in,
		      const struct ks_hmparams *p, double q, double *out,
		      uint64_t *ymax, struct ks_err *err)
{
	struct ks_hm_plan plan = { .remainder = true,
				   .weight = p->weights == KS_HM_WEIGHT };
	struct ks_hm_cols cols;
	struct ks_hm_geom g;
	double *cells;
	int rc;

	if ((rc = ks_hm_geom_init(&g, in, p, false, err)))
		return rc;
	cells = malloc(CHUNK * g.rows.n * sizeof(*cells));
	if (!cells || ks_hm_cols_identity(&cols, CHUNK)) {
		free(cells);
		return ks_err_set(err, ENOMEM, "", "out of memory");
	}
	for (size_t s0 = 0; !rc && s0 < in->ncols; s0 += CHUNK) {
		cols.n = in->ncols - s0 < CHUNK ? in->ncols - s0 : CHUNK;
		for (size_t i = 0; i <= cols.n; i++)
			cols.first[i] = (uint32_t)(s0 + i);
		memset(cells, 0, cols.n * g.rows.n * sizeof(*cells));
		if ((rc = ks_hm_bucketize(in, &cols, &g.rows, &plan, cells)))
			rc = ks_err_set(err, rc, "", "out of memory");
		else
			chunk_stats(&g.rows, cells, cols.n, q, out + s0);
	}
	if (ymax)
		*ymax = g.ymax;
	ks_hm_cols_fini(&cols);
	ks_hm_geom_fini(&g);
	free(cells);
	return rc;
}

int ks_hm_averages(const struct ks_hm_input *in, const struct ks_hmparams *p,
		   double *out, uint64_t *ymax, struct ks_err *err)
{
	return per_column(in, p, -1, out, ymax, err);
}

int ks_hm_percentiles(const struct ks_hm_input *in,
		      const struct ks_hmparams *p, double q, double *out,
		      uint64_t *ymax, struct ks_err *err)
{
	if (!(q >= 0 && q <= 1))
		return ks_err_set(err, ERANGE, "percentile",
				  "must be between 0 and 1");
	return per_column(in, p, q, out, ymax, err);
}

/* {name: [values], times: [...], ...} from per-column estimates. */
/* CA's shape: `name` is one number, the first column's (CA answered only
 * the first column, and defaults duration to 1 so that is the interval);
 * kvmscope adds `name`s with every column's value and `times`. */
static json_t *series(const struct ks_hm_input *in,
		      const struct ks_hmparams *p, const char *name,
		      const char *names, const double *v, uint64_t ymax)
{
	json_t *vals = json_array(), *times = json_array(), *first;

	for (size_t s = 0; vals && times && s < in->ncols; s++) {
		if (json_array_append_new(vals, isnan(v[s]) ? json_null()
							   : json_real(v[s])) ||
		    json_array_append_new(times, json_integer(
			    in->base + (json_int_t)s * in->step))) {
			json_decref(vals);
			json_decref(times);
			return NULL;
		}
	}
	first = in->ncols && !isnan(v[0]) ? json_real(v[0]) : json_null();
	return json_pack("{s:o,s:o,s:o,s:I,s:I,s:i,s:i,s:i}", name, first,
			 names, vals, "times", times, "ymin", (json_int_t)p->ymin,
			 "ymax", (json_int_t)ymax, "nbuckets", (int)p->nbuckets,
			 "width", (int)p->width, "height", (int)p->height);
}

static json_t *stat_json(const struct ks_hm_input *in,
			 const struct ks_hmparams *p, const char *name,
			 const char *names, double q, struct ks_err *err)
{
	double *v = malloc((in->ncols ? in->ncols : 1) * sizeof(*v));
	uint64_t ymax = 0;
	json_t *o = NULL;
	int rc;

	ks_err_clear(err);
	if (!v)
		return fail(ks_err_set(err, ENOMEM, "", "out of memory"));
	rc = q < 0 ? ks_hm_averages(in, p, v, &ymax, err)
		   : ks_hm_percentiles(in, p, q, v, &ymax, err);
	if (!rc && !(o = series(in, p, name, names, v, ymax)))
		rc = ks_err_set(err, ENOMEM, "", "out of memory");
	free(v);
	return rc ? fail(rc) : o;
}

json_t *ks_heatmap_average(const struct ks_hm_input *in,
			   const struct ks_hmparams *p, struct ks_err *err)
{
	return stat_json(in, p, "average", "averages", -1, err);
}

json_t *ks_heatmap_percentile(const struct ks_hm_input *in,
			      const struct ks_hmparams *p, struct ks_err *err)
{
	if (!p->has_percentile) {
		ks_err_clear(err);
		return fail(ks_err_set(err, EINVAL, "percentile",
				       "is required (0 to 1)"));
	}
	return stat_json(in, p, "percentile", "percentiles", p->percentile,
			 err);
}
