/* annotate.c - frames, ticks, legend and text around a bare heatmap.
 *
 * The figure is laid out outside in: the text's sizes give the margins,
 * the bare heatmap is copied unchanged into the middle, and the axes are
 * drawn on the pixel lines just outside it, so the plot area is exactly
 * the image the API serves.  Ticks fall on "nice" values (1, 2 or 5 times
 * a power of ten) or, on log rows, on powers of ten; values are labelled in
 * human units.  The legend of a single map is the colour scale: for a few
 * levels, the count per cell and sample from which a cell is drawn at
 * least that dark (rank colouring makes that a quantile, linear a
 * fraction of the largest).
 */
#include "render/annotate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/png.h"

#define ADV 6		/* glyph advance: 5 columns and a space */
#define GLYPH_H 7
#define LINE 11		/* line height at scale 1 */
#define PAD 8		/* outer margin */
#define TICK 4
#define SWATCH 9
#define LEGEND_MAX 16	/* entries before "+N more" */
#define KEY_CHARS 24	/* longer keys are cut */
#define MAX_TICKS 24

/* The font: 7 rows of 5 columns for each printable ASCII character, bit 4
 * the leftmost column.  Characters left out draw as '?'. */
static const uint8_t font[95][GLYPH_H] = {
	['0' - 32] = { 0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e },
	['1' - 32] = { 0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e },
	['2' - 32] = { 0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f },
	['3' - 32] = { 0x1e, 0x01, 0x01, 0x0e, 0x01, 0x01, 0x1e },
	['4' - 32] = { 0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02 },
	['5' - 32] = { 0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e },
	['6' - 32] = { 0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e },
	['7' - 32] = { 0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08 },
	['8' - 32] = { 0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e },
	['9' - 32] = { 0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c },
	['A' - 32] = { 0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11 },
	['B' - 32] = { 0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e },
	['C' - 32] = { 0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e },
	['D' - 32] = { 0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c },
	['E' - 32] = { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f },
	['F' - 32] = { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10 },
	['G' - 32] = { 0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f },
	['H' - 32] = { 0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11 },
	['I' - 32] = { 0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e },
	['J' - 32] = { 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c },
	['K' - 32] = { 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11 },
	['L' - 32] = { 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f },
	['M' - 32] = { 0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11 },
	['N' - 32] = { 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11 },
	['O' - 32] = { 0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e },
	['P' - 32] = { 0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10 },
	['Q' - 32] = { 0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d },
	['R' - 32] = { 0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11 },
	['S' - 32] = { 0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e },
	['T' - 32] = { 0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 },
	['U' - 32] = { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e },
	['V' - 32] = { 0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04 },
	['W' - 32] = { 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a },
	['X' - 32] = { 0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11 },
	['Y' - 32] = { 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04 },
	['Z' - 32] = { 0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f },
	['a' - 32] = { 0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f },
	['b' - 32] = { 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e },
	['c' - 32] = { 0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e },
	['d' - 32] = { 0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f },
	['e' - 32] = { 0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e },
	['f' - 32] = { 0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08 },
	['g' - 32] = { 0x00, 0x0f, 0x11, 0x11, 0x0f, 0x01, 0x0e },
	['h' - 32] = { 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11 },
	['i' - 32] = { 0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e },
	['j' - 32] = { 0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0c },
	['k' - 32] = { 0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12 },
	['l' - 32] = { 0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e },
	['m' - 32] = { 0x00, 0x00, 0x1a, 0x15, 0x15, 0x11, 0x11 },
	['n' - 32] = { 0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11 },
	['o' - 32] = { 0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e },
	['p' - 32] = { 0x00, 0x00, 0x1e, 0x11, 0x1e, 0x10, 0x10 },
	['q' - 32] = { 0x00, 0x00, 0x0d, 0x13, 0x0f, 0x01, 0x01 },
	['r' - 32] = { 0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10 },
	['s' - 32] = { 0x00, 0x00, 0x0e, 0x10, 0x0e, 0x01, 0x1e },
	['t' - 32] = { 0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06 },
	['u' - 32] = { 0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d },
	['v' - 32] = { 0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04 },
	['w' - 32] = { 0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a },
	['x' - 32] = { 0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11 },
	['y' - 32] = { 0x00, 0x00, 0x11, 0x11, 0x0f, 0x01, 0x0e },
	['z' - 32] = { 0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f },
	['.' - 32] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c },
	[',' - 32] = { 0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08 },
	[':' - 32] = { 0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00 },
	['-' - 32] = { 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00 },
	['+' - 32] = { 0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00 },
	['_' - 32] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f },
	['/' - 32] = { 0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00 },
	['(' - 32] = { 0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02 },
	[')' - 32] = { 0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08 },
	['[' - 32] = { 0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e },
	[']' - 32] = { 0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e },
	['%' - 32] = { 0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03 },
	['=' - 32] = { 0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00 },
	['<' - 32] = { 0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02 },
	['>' - 32] = { 0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08 },
	['*' - 32] = { 0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00 },
	['#' - 32] = { 0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a },
	['\'' - 32] = { 0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00 },
	['"' - 32] = { 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00 },
	['!' - 32] = { 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04 },
	['?' - 32] = { 0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04 },
	['@' - 32] = { 0x0e, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0e },
	['&' - 32] = { 0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d },
	['|' - 32] = { 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 },
	['~' - 32] = { 0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00 },
};

static const uint8_t white[3] = { 255, 255, 255 };
static const uint8_t ink[3] = { 0, 0, 0 };
static const uint8_t axis_ink[3] = { 80, 80, 80 };
static const uint8_t frame_ink[3] = { 200, 200, 200 };

struct canvas {
	uint8_t *rgb;
	uint32_t w, h;
};

static void fill(const struct canvas *c, int64_t x, int64_t y, int64_t w,
		 int64_t h, const uint8_t rgb[3])
{
	for (int64_t j = y < 0 ? 0 : y; j < y + h && j < c->h; j++)
		for (int64_t i = x < 0 ? 0 : x; i < x + w && i < c->w; i++)
			memcpy(c->rgb + ((size_t)j * c->w + (size_t)i) * 3, rgb,
			       3);
}

static const uint8_t *glyph(unsigned char ch)
{
	static const uint8_t none[GLYPH_H];
	const uint8_t *g;

	if (ch < 32 || ch > 126)
		return font['?' - 32];
	g = font[ch - 32];
	return ch == ' ' || memcmp(g, none, sizeof(none)) ? g : font['?' - 32];
}

uint32_t ks_hm_text_width(const char *s)
{
	size_t n = strlen(s);

	return n ? (uint32_t)(n * ADV - 1) : 0;
}

static void text(const struct canvas *c, int64_t x, int64_t y, const char *s,
		 int scale, const uint8_t rgb[3])
{
	for (; *s; s++, x += ADV * scale) {
		const uint8_t *g = glyph((unsigned char)*s);

		for (int r = 0; r < GLYPH_H; r++)
			for (int k = 0; k < 5; k++)
				if (g[r] & (0x10 >> k))
					fill(c, x + k * scale, y + r * scale,
					     scale, scale, rgb);
	}
}

/* 1, 2 or 5 times a power of ten, near range / n. */
static double nice_step(double range, int n)
{
	double raw = range / n, p, m;

	if (!(raw > 0))
		return 1;
	p = pow(10, floor(log10(raw)));
	m = raw / p;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

struct tick {
	double v;
	char label[24];
};

/* Where value v sits between ymin (0) and ymax (1), as the rows do. */
static double yfrac(const struct ks_hm_geom *g, enum ks_hm_scale s, double v)
{
	double lo = (double)g->ymin, hi = (double)g->ymax, base;

	if (s != KS_HM_SCALE_LOG)
		return (v - lo) / (hi - lo);
	base = g->ymin < 1 ? 1 : lo;
	return v <= base ? 0 : log10(v / base) / log10(hi / base);
}

static size_t add_tick(struct tick *t, size_t n, double v, enum ks_unit u)
{
	if (n == MAX_TICKS)
		return n;
	t[n].v = v;
	ks_units_fmt(t[n].label, sizeof(t[n].label), v, u);
	return n + 1;
}

static size_t value_ticks(const struct ks_hm_geom *g, enum ks_hm_scale s,
			  enum ks_unit u, struct tick *t)
{
	double lo = (double)g->ymin, hi = (double)g->ymax, step, v;
	size_t n = 0;
	int every;

	if (s == KS_HM_SCALE_LOG) {
		double base = g->ymin < 1 ? 1 : lo;
		int k0 = (int)ceil(log10(base)), k1 = (int)floor(log10(hi));

		/* From ymin 0 the first row reaches down from 1 to 0: its
		 * bottom is labelled 0 and 1 shares it, so 1 is left out. */
		n = add_tick(t, n, lo, u);
		if (g->ymin < 1)
			k0 = 1;
		every = (k1 - k0) / 8 + 1;
		for (int k = k0; k <= k1; k += every)
			if ((v = pow(10, k)) > lo)
				n = add_tick(t, n, v, u);
		return n;
	}
	step = nice_step(hi - lo, 5);
	for (v = ceil(lo / step) * step; v <= hi * (1 + 1e-12); v += step)
		n = add_tick(t, n, v, u);
	return n;
}

static size_t time_ticks(uint32_t span, struct tick *t)
{
	double step = nice_step(span, 6);
	size_t n = 0;

	if (step < 1)
		step = 1;
	for (double v = 0; v <= span; v += step)
		n = add_tick(t, n, v * 1e9, KS_UNIT_NS);
	return n;
}

/* What the legend lists: a colour and a label each. */
struct entry {
	uint8_t rgb[3];
	char label[KEY_CHARS + 8];
};

struct legend {
	char head[48];
	struct entry e[LEGEND_MAX + 1];
	size_t n;
	uint32_t width;
};

static int scale_legend(struct legend *l, const struct ks_heatmap *hm)
{
	static const double lv[] = { 1, 0.75, 0.5, 0.25, 1e-9 };
	double counts[5];
	char num[24];

	if (ks_heatmap__legend(hm, lv, counts, 5))
		return -ENOMEM;
	snprintf(l->head, sizeof(l->head), "count per cell");
	for (size_t i = 0; i < 5; i++) {
		if (!counts[i] || (l->n && counts[i] >= counts[i - 1]))
			continue;	/* no data, or the same as above */
		ks_heatmap__color(hm, 0, lv[i], l->e[l->n].rgb);
		ks_units_fmt(num, sizeof(num), counts[i], KS_UNIT_NONE);
		snprintf(l->e[l->n++].label, sizeof(l->e[0].label), "%s%s",
			 i ? ">=" : "", num);
	}
	if (!l->n)
		snprintf(l->head, sizeof(l->head), "no data");
	return 0;
}

static void key_legend(struct legend *l, const struct ks_heatmap *hm)
{
	size_t nmaps = ks_heatmap__nmaps(hm);
	uint16_t hue;

	snprintf(l->head, sizeof(l->head), "key");
	for (size_t m = 0; m < nmaps && l->n < LEGEND_MAX; m++) {
		const char *key = ks_heatmap__map(hm, m, &hue);

		ks_heatmap__color(hm, m, 1, l->e[l->n].rgb);
		snprintf(l->e[l->n++].label, sizeof(l->e[0].label), "%.*s%s",
			 KEY_CHARS, key ? key : "everything else",
			 key && strlen(key) > KEY_CHARS ? "~" : "");
	}
	if (nmaps > l->n) {
		memcpy(l->e[l->n].rgb, white, 3);
		snprintf(l->e[l->n++].label, sizeof(l->e[0].label),
			 "+%zu more", nmaps - LEGEND_MAX);
	}
}

static int build_legend(struct legend *l, const struct ks_heatmap *hm)
{
	uint16_t hue;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	if (ks_heatmap__nmaps(hm) == 1 && !ks_heatmap__map(hm, 0, &hue))
		rc = scale_legend(l, hm);
	else
		key_legend(l, hm);
	l->width = ks_hm_text_width(l->head);
	for (size_t i = 0; i < l->n; i++) {
		uint32_t w = SWATCH + 4 + ks_hm_text_width(l->e[i].label);

		if (w > l->width)
			l->width = w;
	}
	return rc;
}

static void draw_legend(const struct canvas *c, const struct legend *l,
			int64_t x, int64_t y)
{
	text(c, x, y, l->head, 1, ink);
	for (size_t i = 0; i < l->n; i++) {
		int64_t yy = y + (int64_t)(i + 1) * LINE + 3;

		fill(c, x - 1, yy - 1, SWATCH + 2, SWATCH + 2, frame_ink);
		fill(c, x, yy, SWATCH, SWATCH, l->e[i].rgb);
		text(c, x + SWATCH + 4, yy + 1, l->e[i].label, 1, ink);
	}
}

/* Sizes and positions, from the text they must hold. */
struct layout {
	struct tick yt[MAX_TICKS], xt[MAX_TICKS];
	size_t nyt, nxt;
	struct legend legend;
	uint32_t title_y, sub_y, ylabel_y, legend_x;
};

static void place(struct ks_hm_figure *f, struct layout *lo,
		  const struct ks_hm_annot *a, uint32_t pw, uint32_t ph)
{
	uint32_t ylw = 0, top = PAD, tw;

	for (size_t i = 0; i < lo->nyt; i++)
		if (ks_hm_text_width(lo->yt[i].label) > ylw)
			ylw = ks_hm_text_width(lo->yt[i].label);
	lo->title_y = top;
	top += 2 * GLYPH_H + 6;
	if (a->subtitle) {
		lo->sub_y = top;
		top += LINE;
	}
	lo->ylabel_y = top + 2;
	top += LINE + 6;
	f->plot_x = PAD + ylw + 3 + TICK + 1;
	if (f->plot_x < PAD + ks_hm_text_width(a->ylabel ? a->ylabel : ""))
		f->plot_x = PAD + 1 + ks_hm_text_width(a->ylabel);
	f->plot_y = top;
	lo->legend_x = f->plot_x + pw + 1 + 12;
	f->width = lo->legend_x + lo->legend.width + PAD;
	tw = 2 * ks_hm_text_width(a->title ? a->title : "") + 2 * PAD;
	if (a->subtitle && ks_hm_text_width(a->subtitle) + 2 * PAD > tw)
		tw = ks_hm_text_width(a->subtitle) + 2 * PAD;
	if (f->width < tw)
		f->width = tw;
	f->height = f->plot_y + ph + 1 + TICK + 3 + GLYPH_H + 8 + GLYPH_H +
		    PAD;
	if (f->height < f->plot_y + (lo->legend.n + 1) * LINE + 4 + PAD)
		f->height = f->plot_y + (uint32_t)(lo->legend.n + 1) * LINE +
			    4 + PAD;
}

static void draw_axes(const struct canvas *c, const struct ks_hm_figure *f,
		      const struct layout *lo, const struct ks_heatmap *hm,
		      const struct ks_hm_annot *a, uint32_t pw, uint32_t ph)
{
	const struct ks_hm_geom *g = ks_heatmap__geom(hm);
	int64_t px = f->plot_x, py = f->plot_y;

	fill(c, px - 1, py - 1, pw + 2, 1, frame_ink);
	fill(c, px + pw, py - 1, 1, ph + 2, frame_ink);
	fill(c, px - 1, py - 1, 1, ph + 2, axis_ink);
	fill(c, px - 1, py + ph, pw + 2, 1, axis_ink);
	for (size_t i = 0; i < lo->nyt; i++) {
		double fr = yfrac(g, ks_heatmap__scale(hm), lo->yt[i].v);
		int64_t y = py + ph - (int64_t)lround(fr * ph);

		if (y > py + ph - 1)
			y = py + ph - 1;
		fill(c, px - 1 - TICK, y, TICK, 1, axis_ink);
		text(c, px - 1 - TICK - 3 -
			     ks_hm_text_width(lo->yt[i].label), y - 3,
		     lo->yt[i].label, 1, ink);
	}
	for (size_t i = 0; i < lo->nxt; i++) {
		double fr = lo->xt[i].v / 1e9 / (a->tspan ? a->tspan : 1);
		int64_t x = px + (int64_t)lround(fr * pw);
		int64_t tx = x - ks_hm_text_width(lo->xt[i].label) / 2;

		if (x > px + pw - 1)
			x = px + pw - 1;
		fill(c, x, py + ph + 1, 1, TICK, axis_ink);
		text(c, tx < 0 ? 0 : tx, py + ph + 1 + TICK + 3,
		     lo->xt[i].label, 1, ink);
	}
	if (a->xlabel)
		text(c, px + (int64_t)pw / 2 -
			     ks_hm_text_width(a->xlabel) / 2,
		     py + ph + 1 + TICK + 3 + GLYPH_H + 8, a->xlabel, 1, ink);
}

int ks_hm_figure__draw(struct ks_hm_figure *f, const struct ks_heatmap *hm,
		       const struct ks_hm_annot *a)
{
	struct layout *lo = calloc(1, sizeof(*lo));
	const struct ks_hm_geom *g = ks_heatmap__geom(hm);
	uint32_t pw, ph;
	const uint8_t *bare = ks_heatmap__pixels(hm, &pw, &ph);
	struct canvas c;
	int rc = -ENOMEM;

	memset(f, 0, sizeof(*f));
	if (!lo || build_legend(&lo->legend, hm))
		goto out;
	lo->nyt = value_ticks(g, ks_heatmap__scale(hm), a->yunit, lo->yt);
	lo->nxt = time_ticks(a->tspan, lo->xt);
	place(f, lo, a, pw, ph);
	if (!(f->rgb = malloc((size_t)f->width * f->height * 3)))
		goto out;
	c = (struct canvas){ f->rgb, f->width, f->height };
	fill(&c, 0, 0, f->width, f->height, white);
	for (uint32_t y = 0; y < ph; y++)
		memcpy(f->rgb + (((size_t)f->plot_y + y) * f->width +
				 f->plot_x) * 3,
		       bare + (size_t)y * pw * 3, (size_t)pw * 3);
	if (a->title)
		text(&c, PAD, lo->title_y, a->title, 2, ink);
	if (a->subtitle)
		text(&c, PAD, lo->sub_y, a->subtitle, 1, ink);
	if (a->ylabel)
		text(&c, PAD, lo->ylabel_y, a->ylabel, 1, ink);
	draw_axes(&c, f, lo, hm, a, pw, ph);
	draw_legend(&c, &lo->legend, lo->legend_x, f->plot_y);
	rc = ks_png_encode_rgb(f->rgb, f->width, f->height, &f->png,
			       &f->png_len);
out:
	free(lo);
	if (rc)
		ks_hm_figure__fini(f);
	return rc;
}

void ks_hm_figure__fini(struct ks_hm_figure *f)
{
	free(f->rgb);
	free(f->png);
	memset(f, 0, sizeof(*f));
}
