/* hmstats.h - heatmap details, average and percentile.
 *
 * CA's sibling resources of the image.  Details answers "what is under
 * this pixel": the display column's time, the row's value range, and the
 * count per key there, each reported as max(1, round(v)) when non-zero
 * with the total defined as the sum of the parts (so parts and total never
 * contradict each other, INTRO-264).  Average and percentile estimate, from
 * the same re-bucketed rows as the image, the mean and a quantile of every
 * column (CA computed them only for the first; these return one per
 * column, with its time).
 */
#ifndef KS_RENDER_HMSTATS_H
#define KS_RENDER_HMSTATS_H

#include <jansson.h>
#include <math.h>

#include "render/hmgrid.h"
#include "render/hmparams.h"
#include "util/err.h"

/* Details at pixel (p->x, p->y), both required: {bucket_time,
 * bucket_duration, bucket_ymin, bucket_ymax, present: {key: count}, total,
 * ymin, ymax, nbuckets, width, height}.  NULL with errno and err set. */
json_t *ks_heatmap_details(const struct ks_hm_input *in,
			   const struct ks_hmparams *p, struct ks_err *err);

/* Mean of each column from row midpoints: out[0..ncols-1], NAN where a
 * column has nothing inside [ymin, ymax).  *ymax gets the ymax used.  0 or
 * negative errno with err set. */
int ks_hm_averages(const struct ks_hm_input *in, const struct ks_hmparams *p,
		   double *out, uint64_t *ymax, struct ks_err *err);
/* Quantile q of each column, linear inside a row; NAN where empty. */
int ks_hm_percentiles(const struct ks_hm_input *in,
		      const struct ks_hmparams *p, double q, double *out,
		      uint64_t *ymax, struct ks_err *err);

/* {average: [...], times: [...], ymin, ymax, nbuckets, width, height};
 * an empty column's average is null.  NULL with errno and err set. */
json_t *ks_heatmap_average(const struct ks_hm_input *in,
			   const struct ks_hmparams *p, struct ks_err *err);
/* Likewise with "percentile" (p->percentile is required). */
json_t *ks_heatmap_percentile(const struct ks_hm_input *in,
			      const struct ks_hmparams *p, struct ks_err *err);

#endif /* KS_RENDER_HMSTATS_H */
