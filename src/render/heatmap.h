/* heatmap.h - CA's heatmap image: maps, deduction, colouring, PNG, JSON.
 *
 * A heatmap is drawn from a series of columns (struct ks_hm_input) and a
 * parameter set (struct ks_hmparams), following Joyent CA: one map for the
 * total plus one per selected key; by default (highlight) the selected maps
 * are deducted from the total, which becomes "everything else"; isolate
 * drops the total, exclude draws only the remainder, decompose_all selects
 * every key present.  Maps are normalised jointly (rank or linear) and
 * coloured in HSV, a hue per map, saturation 0.9 x value, brightness 0.95,
 * zero white, maps sharing a cell mixed by their share of it.
 *
 * Keys are the symtab strings of the discrete field; events recorded
 * without a value for it form the key "".
 *
 * Besides the PNG, a heatmap gives the numbers behind it as JSON (counts
 * per map, display column and row, with the pixels each covers), so tests
 * and browsers can check a picture without decoding it.
 */
#ifndef KS_RENDER_HEATMAP_H
#define KS_RENDER_HEATMAP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "render/hmgrid.h"
#include "render/hmparams.h"
#include "util/err.h"

struct ks_heatmap;

/* Renders the image (pixels and PNG).  NULL with errno and err set: the
 * parameters do not fit the data (EINVAL, ERANGE), the data cannot be drawn
 * (ENOTSUP: not numeric), or ENOMEM. */
struct ks_heatmap *ks_heatmap__render(const struct ks_hm_input *in,
				      const struct ks_hmparams *p,
				      struct ks_err *err);
void ks_heatmap__free(struct ks_heatmap *hm);

/* The PNG file, owned by hm. */
const uint8_t *ks_heatmap__png(const struct ks_heatmap *hm, size_t *len);
/* The RGB pixels (rows top-down, 3 bytes a pixel), owned by hm. */
const uint8_t *ks_heatmap__pixels(const struct ks_heatmap *hm,
				  uint32_t *width, uint32_t *height);
/* ymax as drawn (resolved when it was automatic). */
uint64_t ks_heatmap__ymax(const struct ks_heatmap *hm);
/* The geometry drawn: ymin, ymax, rows and display columns. */
const struct ks_hm_geom *ks_heatmap__geom(const struct ks_heatmap *hm);
enum ks_hm_scale ks_heatmap__scale(const struct ks_heatmap *hm);

/* The maps drawn, for legends: map m's key (NULL for "everything else")
 * and hue. */
size_t ks_heatmap__nmaps(const struct ks_heatmap *hm);
const char *ks_heatmap__map(const struct ks_heatmap *hm, size_t m,
			    uint16_t *hue);
/* The colour map m gives a cell at normalised level (0..1]. */
void ks_heatmap__color(const struct ks_heatmap *hm, size_t m, double level,
		       uint8_t rgb[3]);
/* For each levels[i] in (0, 1], the smallest count per sample that a cell
 * needs to be drawn at that level or above (0 when no cell has data), so
 * a legend can say which colour means how many.  0 or -ENOMEM. */
int ks_heatmap__legend(const struct ks_heatmap *hm, const double *levels,
		       double *counts, size_t n);

#define KS_HM_JSON_IMAGE 0x1	/* "image": the PNG in base64, as CA */
#define KS_HM_JSON_GRID 0x2	/* "grid": counts, columns, rows */

/* CA's image response: ymin, ymax, nbuckets, width, height, present,
 * transformations ({}: CA's apply to no kvmscope field), plus
 * start_time, duration, step, coloring, weights, scale and "maps" (key and
 * hue of each map, "everything else" having key null).  The grid holds
 * counts[map][column][row], row 0 lowest; a column may hold several samples
 * when there are more samples than pixels, and is coloured by its count per
 * sample.  Reals are raw doubles: dump with JSON_REAL_PRECISION to shorten
 * them.  NULL on ENOMEM. */
json_t *ks_heatmap__to_json(const struct ks_heatmap *hm, unsigned flags);

/* CA's default hues: 21 for "everything else", then +91 mod 360 for each
 * key; isolate drops the first.  Fills hues[0..nmaps-1]. */
void ks_hm_default_hues(uint16_t *hues, size_t nkeys, bool isolate);

#endif /* KS_RENDER_HEATMAP_H */
