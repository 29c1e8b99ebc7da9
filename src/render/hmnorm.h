/* hmnorm.h - normalising heatmap cells to 0..1 for colouring.
 *
 * CA normalises every map of a heatmap jointly, so one key's hot cells and
 * another's faint ones are compared on the same scale.  Rank (the default)
 * maps each non-zero cell to the fraction of non-zero cells whose value is
 * at most its own, so the largest is 1 and a single outlier cannot wash the
 * rest out to white; linear divides by the largest cell (at least 1).
 * Zero stays zero: it is drawn white.
 */
#ifndef KS_RENDER_HMNORM_H
#define KS_RENDER_HMNORM_H

#include <stddef.h>

#include "render/hmparams.h"

/* Normalises v[0..n-1] (non-negative) in place.  Single precision is
 * plenty for a colour and halves the memory a large picture sweeps.
 * 0 or -ENOMEM. */
int ks_hm_normalize(float *v, size_t n, enum ks_hm_coloring how);

#endif /* KS_RENDER_HMNORM_H */
