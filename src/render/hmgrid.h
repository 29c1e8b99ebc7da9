/* hmgrid.h - heatmap geometry and re-bucketing, shared by all heatmap views.
 *
 * A heatmap is drawn from a series of columns (one ks_value per
 * granularity step) re-binned into rows over [ymin, ymax): linear rows as
 * in CA, or geometric ones (scale=log).  Each source bucket [lo, hi] is
 * taken as the continuous range [lo, hi+1) and spread over the rows it
 * overlaps in proportion to the overlap, so counts inside [ymin, ymax) are
 * conserved and counts outside it are dropped, as CA did.
 *
 * Pixel edges are CA's: sample i of n starts at floor(i * (width / n))
 * and row k from the top at floor(k * (height / nbuckets)), in doubles as
 * node-heatmap computes them, counted from the window's first sample (CA's
 * aggregator draws with base 0), so a picture has CA's columns whatever
 * its start time.  Two deliberate differences, in docs/ca-compat.md: when
 * there are more samples than pixels, samples starting on the same pixel
 * column share it and every sample is drawn (CA drew only the last one,
 * the others having zero width); and the last column and row always end
 * at the image's edge (CA's n * (width / n) can fall short of it by a
 * rounding step and leave a white line).  Rows are never merged: with
 * more buckets than pixel rows, as in CA, some rows have no pixels, and
 * nbuckets is reported as asked.  The image, details, average and
 * percentile views all go through ks_hm_bucketize(), so their numbers
 * agree with each other.
 */
#ifndef KS_RENDER_HMGRID_H
#define KS_RENDER_HMGRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/value.h"
#include "render/hmparams.h"
#include "util/err.h"

/* A selected key that names no interned string: its map stays empty. */
#define KS_HM_NOKEY UINT32_MAX

/* The data: ncols columns, cols[i] covering [base + i*step, +step)
 * seconds; a NULL column has no data. */
struct ks_hm_input {
	const struct ks_value *const *cols;
	size_t ncols;
	int64_t base;		/* seconds */
	uint32_t step;		/* seconds per column (granularity) */
};

/* Rows: row r (0 = lowest values, drawn at the bottom) covers
 * [e[r], e[r+1]). */
struct ks_hm_rows {
	uint32_t n;
	double e[KS_HM_NBUCKETS_MAX + 1];
};

/* Display columns: column d holds samples [first[d], first[d+1]) and is
 * drawn on pixel columns [x[d], x[d+1]). */
struct ks_hm_cols {
	size_t n;
	uint32_t *first;
	uint32_t *x;
};

struct ks_hm_geom {
	uint64_t ymin, ymax;	/* ymax resolved when it was automatic */
	uint32_t width, height;
	struct ks_hm_rows rows;
	struct ks_hm_cols cols;
};

/* What to bucketize: the remainder (total minus the keys, counted in whole
 * source buckets so it is never negative) and/or one map per key.  Maps
 * come out in that order: remainder first, then keys[0..nkeys-1]. */
struct ks_hm_plan {
	const uint32_t *keys;	/* symtab ids, or KS_HM_NOKEY */
	size_t nkeys;
	bool remainder;
	bool keymaps;
	bool weight;		/* weights=weight: count x range midpoint */
};

/* 0, or -EINVAL/-ENOTSUP with err set when the input cannot be drawn (no
 * columns, zero step, or a column without a distribution). */
int ks_hm_input__check(const struct ks_hm_input *in, struct ks_err *err);
/* Largest hi+1 over the non-empty buckets of every column; 0 if none. */
uint64_t ks_hm_input__max(const struct ks_hm_input *in);

/* CA's autoscale: the first multiple of 10^k or 2*10^k (coarsest first)
 * that lies above max and below 1.25*max; max itself if none does. */
uint64_t ks_hm_autoscale(uint64_t max);

/* Rows of the given scale over [ymin, ymax).  Log rows are geometric over
 * [max(ymin,1), ymax), the first row reaching down to ymin. */
void ks_hm_rows_init(struct ks_hm_rows *r, enum ks_hm_scale scale,
		     uint64_t ymin, uint64_t ymax, uint32_t n);

/* Display columns for nsamples samples on width pixels: every sample in
 * exactly one column, every column at least one pixel wide.  0 or
 * -ENOMEM. */
int ks_hm_cols_init(struct ks_hm_cols *c, size_t nsamples, uint32_t width);
/* One display column per sample (average, percentile). */
int ks_hm_cols_identity(struct ks_hm_cols *c, size_t nsamples);
void ks_hm_cols_fini(struct ks_hm_cols *c);
/* The display column under pixel column x (< width). */
size_t ks_hm_cols__at(const struct ks_hm_cols *c, uint32_t x);

/* Pixel rows [*y0, *y1) of row r (0 = bottom) among n rows on height;
 * empty when n > height and the row falls between two pixel rows. */
void ks_hm_row_pixels(uint32_t r, uint32_t n, uint32_t height, uint32_t *y0,
		      uint32_t *y1);
/* The row drawn at pixel row y (top-left origin, y < height). */
uint32_t ks_hm_row_at(uint32_t y, uint32_t n, uint32_t height);

/* Resolves ymin/ymax (autoscaling from the data), the nbuckets rows and,
 * for pixels, the display columns.  0 or negative errno. */
int ks_hm_geom_init(struct ks_hm_geom *g, const struct ks_hm_input *in,
		    const struct ks_hmparams *p, bool pixels,
		    struct ks_err *err);
void ks_hm_geom_fini(struct ks_hm_geom *g);

/* Keys with data in samples [s0, s1), sorted by their string, in a new
 * array (*keys NULL when none).  0 or -ENOMEM. */
int ks_hm_present(const struct ks_hm_input *in, size_t s0, size_t s1,
		  uint32_t **keys, size_t *n);

/* Adds the plan's maps into cells[m][d][r] (m maps, cols->n columns,
 * rows->n rows; the caller zeroes it).  0 or -ENOMEM. */
int ks_hm_bucketize(const struct ks_hm_input *in, const struct ks_hm_cols *cols,
		    const struct ks_hm_rows *rows, const struct ks_hm_plan *plan,
		    double *cells);
static inline size_t ks_hm_plan__nmaps(const struct ks_hm_plan *plan)
{
	return (plan->remainder ? 1 : 0) + (plan->keymaps ? plan->nkeys : 0);
}

#endif /* KS_RENDER_HMGRID_H */
