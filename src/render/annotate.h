/* annotate.h - a heatmap for people: axes, tick labels, legend, title.
 *
 * The API's image is CA's bare heatmap, every pixel data; a file written
 * for a person to open (kvmscope replay --heatmap-png) needs to say what
 * it shows.  A figure is the bare heatmap, unchanged, inside a white
 * frame: a title above, the value axis with ticks in human units on the
 * left (linear or log, as the rows are), the time axis below, and a legend
 * on the right (for one map, which colour means how many events per cell
 * per sample; for several, which hue is which key).  Text is drawn with a
 * small 5x7 bitmap font of our own, so no font library is needed.
 */
#ifndef KS_RENDER_ANNOTATE_H
#define KS_RENDER_ANNOTATE_H

#include <stddef.h>
#include <stdint.h>

#include "render/heatmap.h"
#include "util/units.h"

/* What the axes and the title say. */
struct ks_hm_annot {
	const char *title;	/* first line, drawn large */
	const char *subtitle;	/* second line, or NULL */
	const char *ylabel;	/* above the value axis, e.g. "latency" */
	enum ks_unit yunit;	/* of the values (ticks) */
	const char *xlabel;	/* below the time axis */
	uint32_t tspan;		/* seconds the columns cover */
};

struct ks_hm_figure {
	uint8_t *rgb;		/* width x height, rows top-down */
	uint32_t width, height;
	uint32_t plot_x, plot_y;	/* where the bare heatmap's (0,0) is */
	uint8_t *png;
	size_t png_len;
};

/* Draws the figure of hm.  0, or -ENOMEM (f then holds nothing). */
int ks_hm_figure__draw(struct ks_hm_figure *f, const struct ks_heatmap *hm,
		       const struct ks_hm_annot *a);
void ks_hm_figure__fini(struct ks_hm_figure *f);

/* Pixel width of s in the font at scale 1 (6 a character, less the
 * trailing column). */
uint32_t ks_hm_text_width(const char *s);

#endif /* KS_RENDER_ANNOTATE_H */
