/* heatmap.c - building, colouring and encoding a heatmap image.
 *
 * The steps follow CA's caAggrValueHeatmapImage: pick the maps (remainder
 * and/or selected keys) and their hues, bucketize, normalise jointly,
 * colour, encode.  Counts stay as bucketized (they are what the JSON grid
 * reports); colouring works on a copy divided by the samples each display
 * column holds, so a pixel column holding two seconds is not drawn darker
 * than one holding one.
 */
#include "render/heatmap.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "render/base64.h"
#include "render/hmnorm.h"
#include "render/png.h"

#define KS_HM_SATURATION 0.9	/* saturation of a cell normalised to 1 */
#define KS_HM_VALUE 0.95	/* HSV value (brightness) of every cell */

struct hm_map {
	char *name;		/* NULL: "everything else" or nothing */
	uint16_t hue;
	double k[3];		/* hue_coeffs() of hue */
};

struct ks_heatmap {
	struct ks_hm_geom g;
	enum ks_hm_coloring coloring;
	enum ks_hm_weights weights;
	enum ks_hm_scale scale;
	int64_t base;
	uint32_t step;
	size_t nsamples;
	uint32_t *present;
	size_t npresent;
	struct hm_map *maps;
	size_t nmaps;
	double *counts;		/* [map][column][row] */
	uint8_t *rgb;
	uint8_t *png;
	size_t png_len;
};

void ks_hm_default_hues(uint16_t *hues, size_t nkeys, bool isolate)
{
	uint16_t h = 21;

	for (size_t i = 0; i <= nkeys; i++) {
		if (i || !isolate)
			*hues++ = h;
		h = (h + 91) % 360;
	}
}

void ks_heatmap__free(struct ks_heatmap *hm)
{
	if (!hm)
		return;
	ks_hm_geom_fini(&hm->g);
	for (size_t m = 0; m < hm->nmaps; m++)
		free(hm->maps[m].name);
	free(hm->maps);
	free(hm->present);
	free(hm->counts);
	free(hm->rgb);
	free(hm->png);
	free(hm);
}

/* The keys to draw: every key present, or the selected ones. */
static int pick_keys(const struct ks_heatmap *hm, const struct ks_hmparams *p,
		     uint32_t **keys, size_t *n, struct ks_err *err)
{
	*n = p->mode == KS_HM_DECOMPOSE_ALL ? hm->npresent : p->nselected;
	if (*n > KS_HM_MAX_SELECTED)
		return ks_err_set(err, ERANGE, "decompose_all",
				  "%zu keys are present; at most %d can be "
				  "drawn, select some instead", *n,
				  KS_HM_MAX_SELECTED);
	if (!(*keys = calloc(*n + 1, sizeof(**keys))))
		return ks_err_set(err, ENOMEM, "", "out of memory");
	for (size_t i = 0; i < *n; i++) {
		uint32_t id;

		if (p->mode == KS_HM_DECOMPOSE_ALL) {
			(*keys)[i] = hm->present[i];
			continue;
		}
		id = ks_sym_find(p->selected[i]);
		(*keys)[i] = id ? id : KS_HM_NOKEY;
	}
	return 0;
}

static void hue_coeffs(double h, double k[3]);

static int add_map(struct ks_heatmap *hm, const char *name, uint16_t hue)
{
	struct hm_map *m = &hm->maps[hm->nmaps];

	m->hue = hue;
	hue_coeffs(hue, m->k);
	m->name = NULL;
	if (name && !(m->name = strdup(name)))
		return -ENOMEM;
	hm->nmaps++;
	return 0;
}

/* The maps drawn, in the plan's order, with their hues. */
static int pick_maps(struct ks_heatmap *hm, const struct ks_hmparams *p,
		     const uint32_t *keys, size_t nkeys, struct ks_err *err)
{
	bool isolate = p->mode == KS_HM_ISOLATE;
	size_t need = ks_hmparams__nhues_needed(p, nkeys), h = 0;
	uint16_t hues[KS_HM_MAX_SELECTED + 1];
	int rc = 0;

	if (p->hues && p->nhues < need)
		return ks_err_set(err, EINVAL, "hues",
				  "needs %zu hues for the %zu keys present, "
				  "got %zu", need, nkeys, p->nhues);
	if (p->hues)
		memcpy(hues, p->hues, need * sizeof(*hues));
	else
		ks_hm_default_hues(hues, nkeys, isolate);
	if (!(hm->maps = calloc(nkeys + 1, sizeof(*hm->maps))))
		return ks_err_set(err, ENOMEM, "", "out of memory");
	if (!isolate)
		rc = add_map(hm, NULL, hues[h++]);
	for (size_t i = 0; !rc && p->mode != KS_HM_EXCLUDE && i < nkeys; i++)
		rc = add_map(hm, keys[i] == KS_HM_NOKEY ? p->selected[i] :
				 ks_sym_str(keys[i]), hues[h++]);
	/* Isolating nothing draws one empty map (CA: hue 0). */
	if (!rc && !hm->nmaps)
		rc = add_map(hm, NULL, 0);
	return rc ? ks_err_set(err, ENOMEM, "", "out of memory") : 0;
}

static int bucketize(struct ks_heatmap *hm, const struct ks_hm_input *in,
		     const struct ks_hmparams *p, const uint32_t *keys,
		     size_t nkeys)
{
	struct ks_hm_plan plan = {
		.keys = keys,
		.nkeys = nkeys,
		.remainder = p->mode != KS_HM_ISOLATE,
		.keymaps = p->mode != KS_HM_EXCLUDE,
		.weight = p->weights == KS_HM_WEIGHT,
	};
	size_t cells = hm->nmaps * hm->g.cols.n * hm->g.rows.n;

	if (!(hm->counts = calloc(cells, sizeof(*hm->counts))))
		return -ENOMEM;
	if (!ks_hm_plan__nmaps(&plan))
		return 0;
	return ks_hm_bucketize(in, &hm->g.cols, &hm->g.rows, &plan,
			       hm->counts);
}

/* Counts per sample, normalised: what the colours are made of. */
static float *levels(const struct ks_heatmap *hm)
{
	size_t nd = hm->g.cols.n, nr = hm->g.rows.n;
	size_t cells = hm->nmaps * nd * nr;
	float *v = malloc((cells ? cells : 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t m = 0; m < hm->nmaps; m++) {
		for (size_t d = 0; d < nd; d++) {
			double k = hm->g.cols.first[d + 1] - hm->g.cols.first[d];
			const double *c = hm->counts + (m * nd + d) * nr;
			float *o = v + (m * nd + d) * nr;

			for (size_t r = 0; r < nr; r++)
				o[r] = (float)(c[r] / k);
		}
	}
	if (ks_hm_normalize(v, cells, hm->coloring)) {
		free(v);
		return NULL;
	}
	return v;
}

/* CA's HSV to RGB with the hue's sector worked out once per map: each
 * channel is v * (1 - s * k) for k in {0, f, 1 - f, 1}, rounded from
 * 0..255, in the same order of operations as CA's conversion. */
static void hue_coeffs(double h, double k[3])
{
	double f;
	int i;

	h /= 60;
	i = (int)floor(h);
	f = h - i;
	switch (i) {
	case 0: k[0] = 0; k[1] = 1 - f; k[2] = 1; break;
	case 1: k[0] = f; k[1] = 0; k[2] = 1; break;
	case 2: k[0] = 1; k[1] = 0; k[2] = 1 - f; break;
	case 3: k[0] = 1; k[1] = f; k[2] = 0; break;
	case 4: k[0] = 1 - f; k[1] = 1; k[2] = 0; break;
	default: k[0] = 0; k[1] = 1; k[2] = f; break;
	}
}

/* The colour of map m at normalised level x > 0, channels 0..255. */
static void map_rgb(const struct hm_map *m, double x, double rgb[3])
{
	double s = x * KS_HM_SATURATION;

	for (int c = 0; c < 3; c++)
		rgb[c] = (double)(int)(KS_HM_VALUE * (1 - s * m->k[c]) * 255 +
				       0.5);
}

/* The colour of one cell from its normalised levels, one per map: white
 * when all are zero, else each map's colour weighted by its share, the sum
 * truncated as CA's pixel buffer truncates it (a Buffer keeps the integer
 * part of what is stored). */
static void cell_rgb(const struct ks_heatmap *hm, const float *lv,
		     size_t stride, uint8_t out[3])
{
	double t = 0, acc[3] = { 0, 0, 0 }, c[3];
	size_t nz = 0, last = 0;

	for (size_t m = 0; m < hm->nmaps; m++) {
		if (lv[m * stride] > 0) {
			t += lv[m * stride];
			nz++;
			last = m;
		}
	}
	if (nz <= 1) {
		if (nz)
			map_rgb(&hm->maps[last], lv[last * stride], c);
		for (int k = 0; k < 3; k++)
			out[k] = nz ? (uint8_t)c[k] : 255;
		return;
	}
	for (size_t m = 0; m < hm->nmaps; m++) {
		double x = lv[m * stride];

		if (x <= 0)
			continue;
		map_rgb(&hm->maps[m], x, c);
		for (int k = 0; k < 3; k++)
			acc[k] += c[k] * (x / t);
	}
	for (int k = 0; k < 3; k++)
		out[k] = (uint8_t)(acc[k] >= 255 ? 255 : (int)acc[k]);
}

/* Draws each row once into a scanline and copies it down its pixels. */
static void paint(struct ks_heatmap *hm, const float *lv)
{
	const struct ks_hm_cols *cols = &hm->g.cols;
	uint32_t w = hm->g.width, nr = hm->g.rows.n, y0, y1;
	size_t stride = cols->n * nr, pitch = (size_t)w * 3;

	for (uint32_t r = 0; r < nr; r++) {
		uint8_t *line;

		ks_hm_row_pixels(r, nr, hm->g.height, &y0, &y1);
		if (y0 == y1)
			continue;	/* more rows than pixels: as CA, unseen */
		line = hm->rgb + y0 * pitch;

		for (size_t d = 0; d < cols->n; d++) {
			uint8_t px[3];

			cell_rgb(hm, lv + d * nr + r, stride, px);
			for (uint32_t x = cols->x[d]; x < cols->x[d + 1]; x++)
				memcpy(line + x * 3, px, 3);
		}
		for (uint32_t y = y0 + 1; y < y1; y++)
			memcpy(hm->rgb + y * pitch, line, pitch);
	}
}

static int draw(struct ks_heatmap *hm)
{
	float *lv = levels(hm);

	hm->rgb = malloc((size_t)hm->g.width * hm->g.height * 3);
	if (!lv || !hm->rgb) {
		free(lv);
		return -ENOMEM;
	}
	paint(hm, lv);
	free(lv);
	return ks_png_encode_rgb(hm->rgb, hm->g.width, hm->g.height, &hm->png,
				 &hm->png_len);
}

static int build(struct ks_heatmap *hm, const struct ks_hm_input *in,
		 const struct ks_hmparams *p, struct ks_err *err)
{
	uint32_t *keys = NULL;
	size_t nkeys;
	int rc;

	if ((rc = ks_hm_geom_init(&hm->g, in, p, true, err)))
		return rc;
	if (ks_hm_present(in, 0, in->ncols, &hm->present, &hm->npresent))
		return ks_err_set(err, ENOMEM, "", "out of memory");
	if ((rc = pick_keys(hm, p, &keys, &nkeys, err)) ||
	    (rc = pick_maps(hm, p, keys, nkeys, err)))
		goto out;
	if ((rc = bucketize(hm, in, p, keys, nkeys)) || (rc = draw(hm)))
		rc = ks_err_set(err, rc, "", "out of memory");
out:
	free(keys);
	return rc;
}

struct ks_heatmap *ks_heatmap__render(const struct ks_hm_input *in,
				      const struct ks_hmparams *p,
				      struct ks_err *err)
{
	struct ks_heatmap *hm = calloc(1, sizeof(*hm));
	int rc;

	ks_err_clear(err);
	if (!hm) {
		ks_err_set(err, ENOMEM, "", "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	hm->coloring = p->coloring;
	hm->weights = p->weights;
	hm->scale = p->scale;
	hm->base = in->base;
	hm->step = in->step;
	hm->nsamples = in->ncols;
	if ((rc = build(hm, in, p, err))) {
		ks_heatmap__free(hm);
		errno = -rc;
		return NULL;
	}
	return hm;
}

const uint8_t *ks_heatmap__png(const struct ks_heatmap *hm, size_t *len)
{
	*len = hm->png_len;
	return hm->png;
}

const uint8_t *ks_heatmap__pixels(const struct ks_heatmap *hm,
				  uint32_t *width, uint32_t *height)
{
	*width = hm->g.width;
	*height = hm->g.height;
	return hm->rgb;
}

uint64_t ks_heatmap__ymax(const struct ks_heatmap *hm)
{
	return hm->g.ymax;
}

const struct ks_hm_geom *ks_heatmap__geom(const struct ks_heatmap *hm)
{
	return &hm->g;
}

enum ks_hm_scale ks_heatmap__scale(const struct ks_heatmap *hm)
{
	return hm->scale;
}

size_t ks_heatmap__nmaps(const struct ks_heatmap *hm)
{
	return hm->nmaps;
}

const char *ks_heatmap__map(const struct ks_heatmap *hm, size_t m,
			    uint16_t *hue)
{
	*hue = hm->maps[m].hue;
	return hm->maps[m].name;
}

void ks_heatmap__color(const struct ks_heatmap *hm, size_t m, double level,
		       uint8_t rgb[3])
{
	double c[3];

	map_rgb(&hm->maps[m], level, c);
	for (int k = 0; k < 3; k++)
		rgb[k] = (uint8_t)c[k];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int ks_heatmap__legend(const struct ks_heatmap *hm, const double *levels,
		       double *counts, size_t n)
{
	size_t nd = hm->g.cols.n, nr = hm->g.rows.n, nz = 0;
	double *v = malloc((hm->nmaps * nd * nr + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	/* The non-zero counts per sample, as levels() normalises them. */
	for (size_t m = 0; m < hm->nmaps; m++) {
		for (size_t d = 0; d < nd; d++) {
			double k = hm->g.cols.first[d + 1] - hm->g.cols.first[d];
			const double *c = hm->counts + (m * nd + d) * nr;

			for (size_t r = 0; r < nr; r++)
				if (c[r] > 0)
					v[nz++] = c[r] / k;
		}
	}
	qsort(v, nz, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++) {
		double at = ceil(levels[i] * (double)nz);

		if (!nz)
			counts[i] = 0;
		else if (hm->coloring == KS_HM_LINEAR)
			counts[i] = levels[i] * (v[nz - 1] > 1 ? v[nz - 1] : 1);
		else
			counts[i] = v[at < 1 ? 0 : (size_t)at - 1];
	}
	free(v);
	return 0;
}

/* A count or bound: an integer when it is one, else the raw double. */
static json_t *num(double d)
{
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		return json_integer((json_int_t)d);
	return json_real(d);
}

/* Appends v to array a, taking the reference; false on failure. */
static bool push(json_t *a, json_t *v)
{
	return v && !json_array_append_new(a, v);
}

static json_t *grid_columns(const struct ks_heatmap *hm)
{
	const struct ks_hm_cols *c = &hm->g.cols;
	json_t *a = json_array();

	for (size_t d = 0; a && d < c->n; d++) {
		uint32_t k = c->first[d + 1] - c->first[d];

		if (!push(a, json_pack("{sIsIsIsIsI}", "time",
				       (json_int_t)(hm->base +
				       (int64_t)c->first[d] * hm->step),
				       "duration", (json_int_t)k * hm->step,
				       "nsamples", (json_int_t)k,
				       "x", (json_int_t)c->x[d], "width",
				       (json_int_t)(c->x[d + 1] - c->x[d]))))
			return json_decref(a), NULL;
	}
	return a;
}

static json_t *grid_rows(const struct ks_heatmap *hm)
{
	const struct ks_hm_rows *r = &hm->g.rows;
	json_t *a = json_array();
	uint32_t y0, y1;

	for (uint32_t i = 0; a && i < r->n; i++) {
		ks_hm_row_pixels(i, r->n, hm->g.height, &y0, &y1);
		if (!push(a, json_pack("{s:o,s:o,s:i,s:i}", "ymin", num(r->e[i]),
				       "ymax", num(r->e[i + 1]), "y", (int)y0,
				       "height", (int)(y1 - y0))))
			return json_decref(a), NULL;
	}
	return a;
}

static json_t *grid_counts(const struct ks_heatmap *hm, size_t m)
{
	size_t nd = hm->g.cols.n, nr = hm->g.rows.n;
	json_t *a = json_array(), *col;

	for (size_t d = 0; a && d < nd; d++) {
		const double *c = hm->counts + (m * nd + d) * nr;

		if (!push(a, col = json_array()))
			return json_decref(a), NULL;
		for (size_t r = 0; r < nr; r++)
			if (!push(col, num(c[r])))
				return json_decref(a), NULL;
	}
	return a;
}

static json_t *grid(const struct ks_heatmap *hm)
{
	json_t *counts = json_array();

	for (size_t m = 0; counts && m < hm->nmaps; m++)
		if (!push(counts, grid_counts(hm, m)))
			return json_decref(counts), NULL;
	return json_pack("{s:o,s:o,s:o}", "columns", grid_columns(hm),
			 "rows", grid_rows(hm), "counts", counts);
}

static json_t *maps_json(const struct ks_heatmap *hm)
{
	json_t *a = json_array();

	for (size_t m = 0; a && m < hm->nmaps; m++)
		if (!push(a, json_pack("{s:s?,s:i}", "key", hm->maps[m].name,
				       "hue", hm->maps[m].hue)))
			return json_decref(a), NULL;
	return a;
}

static json_t *present_json(const struct ks_heatmap *hm)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < hm->npresent; i++)
		if (!push(a, json_string(ks_sym_str(hm->present[i]))))
			return json_decref(a), NULL;
	return a;
}

static int add_image(json_t *o, const struct ks_heatmap *hm)
{
	char *b64 = ks_base64_encode(hm->png, hm->png_len);
	int rc = b64 ? json_object_set_new(o, "image", json_string(b64)) : -1;

	free(b64);
	return rc;
}

json_t *ks_heatmap__to_json(const struct ks_heatmap *hm, unsigned flags)
{
	json_t *o = json_pack(
		"{s:I,s:I,s:i,s:i,s:i,s:I,s:I,s:I,s:s,s:s,s:s,s:o,s:o,s:{}}",
		"ymin", (json_int_t)hm->g.ymin, "ymax", (json_int_t)hm->g.ymax,
		"nbuckets", (int)hm->g.rows.n, "width", (int)hm->g.width,
		"height", (int)hm->g.height, "start_time", (json_int_t)hm->base,
		"duration", (json_int_t)(hm->nsamples * hm->step),
		"step", (json_int_t)hm->step,
		"coloring", ks_hm_coloring_name(hm->coloring),
		"weights", ks_hm_weights_name(hm->weights),
		"scale", ks_hm_scale_name(hm->scale),
		"present", present_json(hm), "maps", maps_json(hm),
		"transformations");

	if (o && (flags & KS_HM_JSON_IMAGE) && add_image(o, hm))
		return json_decref(o), NULL;
	if (o && (flags & KS_HM_JSON_GRID) &&
	    json_object_set_new(o, "grid", grid(hm)))
		return json_decref(o), NULL;
	return o;
}
