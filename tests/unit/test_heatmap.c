/* test_heatmap.c - heatmap parameters, grid, colours, PNG and statistics.
 *
 * Goldens are derived by hand from CA's definitions (the small scene in
 * tests/golden/heatmap_small.json says how); PNGs are decoded with libpng
 * and checked pixel by pixel.  Properties are checked over seeded random
 * data against independent computations: spreading conserves the counts
 * inside [ymin, ymax), "everything else" is never negative and equals the
 * total minus the selected keys, details' parts sum to its total and match
 * the grid, autoscale is monotonic and within 25%, and every sample is
 * drawn at CA's column whatever the width, sample count and start time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "engine/value.h"
#include "render/base64.h"
#include "render/heatmap.h"
#include "render/hmgrid.h"
#include "render/hmparams.h"
#include "render/hmstats.h"

/* ---- fixtures -------------------------------------------------------- */

struct cols {
	struct ks_value *v;
	const struct ks_value **p;	/* NULL where a column has no data */
	struct ks_hm_input in;
};

static void cols_init(struct cols *c, size_t n, int64_t base, uint32_t step,
		      enum ks_arity arity)
{
	c->v = calloc(n, sizeof(*c->v));
	c->p = calloc(n, sizeof(*c->p));
	assert_non_null(c->v);
	assert_non_null(c->p);
	for (size_t i = 0; i < n; i++)
		ks_value_init(&c->v[i], arity);
	c->in = (struct ks_hm_input){ c->p, n, base, step };
}

static void cols_fini(struct cols *c)
{
	for (size_t i = 0; i < c->in.ncols; i++)
		ks_value_fini(&c->v[i]);
	free(c->v);
	free(c->p);
}

/* count observations of value under key (NULL: no discrete key). */
static void put(struct cols *c, size_t col, const char *key, uint64_t value,
		uint64_t count)
{
	uint32_t id = key ? ks_sym_intern(key) : 0;

	assert_int_equal(ks_value__add(&c->v[col], id, ks_ll_index(value),
				       count), 0);
	c->p[col] = &c->v[col];
}

static void params(struct ks_hmparams *p, const char *json)
{
	json_error_t jerr;
	json_t *o = json_loads(json, 0, &jerr);
	struct ks_err err;
	int rc;

	assert_non_null(o);
	rc = ks_hmparams__parse(p, o, &err);
	if (rc)
		fail_msg("%s: %s: %s", json, err.param, err.msg);
	json_decref(o);
}

static uint64_t rnd_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Decodes a PNG with libpng; the caller frees the RGB pixels. */
static uint8_t *decode(const uint8_t *png, size_t len, uint32_t *w,
		       uint32_t *h)
{
	png_image img;
	uint8_t *buf;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	assert_true(png_image_begin_read_from_memory(&img, png, len));
	/* An RGB file without alpha, as CA's. */
	assert_true(img.format & PNG_FORMAT_FLAG_COLOR);
	assert_false(img.format & PNG_FORMAT_FLAG_ALPHA);
	img.format = PNG_FORMAT_RGB;
	buf = malloc(PNG_IMAGE_SIZE(img));
	assert_non_null(buf);
	assert_true(png_image_finish_read(&img, NULL, buf, 0, NULL));
	*w = img.width;
	*h = img.height;
	return buf;
}

struct picture {
	uint8_t *rgb;
	uint32_t w, h;
};

/* Renders and decodes the PNG; checks it against the raw pixels. */
static struct ks_heatmap *render(const struct cols *c,
				 const struct ks_hmparams *p,
				 struct picture *pic)
{
	struct ks_err err;
	struct ks_heatmap *hm = ks_heatmap__render(&c->in, p, &err);
	const uint8_t *png, *raw;
	uint32_t w, h;
	size_t len;

	if (!hm)
		fail_msg("render: %s: %s", err.param, err.msg);
	png = ks_heatmap__png(hm, &len);
	pic->rgb = decode(png, len, &pic->w, &pic->h);
	raw = ks_heatmap__pixels(hm, &w, &h);
	assert_int_equal(pic->w, w);
	assert_int_equal(pic->h, h);
	assert_memory_equal(pic->rgb, raw, (size_t)w * h * 3);
	return hm;
}

static void pixel_is(const struct picture *pic, uint32_t x, uint32_t y,
		     const int rgb[3])
{
	const uint8_t *px = pic->rgb + ((size_t)y * pic->w + x) * 3;

	if (px[0] != rgb[0] || px[1] != rgb[1] || px[2] != rgb[2])
		fail_msg("pixel (%u,%u) is (%d,%d,%d), expected (%d,%d,%d)", x,
			 y, px[0], px[1], px[2], rgb[0], rgb[1], rgb[2]);
}

/* Mixed cells may round either way at a .5 boundary (levels are single
 * precision): they are checked to within one unit per channel. */
static void pixel_near(const struct picture *pic, uint32_t x, uint32_t y,
		       const int rgb[3])
{
	const uint8_t *px = pic->rgb + ((size_t)y * pic->w + x) * 3;

	for (int k = 0; k < 3; k++)
		if (abs(px[k] - rgb[k]) > 1)
			fail_msg("pixel (%u,%u) is (%d,%d,%d), expected about "
				 "(%d,%d,%d)", x, y, px[0], px[1], px[2],
				 rgb[0], rgb[1], rgb[2]);
}

static const int white[3] = { 255, 255, 255 };

/* Textbook HSV to RGB (chroma form), independent of the renderer's. */
static void hsv(double h, double s, double v, double out[3])
{
	double c = v * s, hp = h / 60, x = c * (1 - fabs(fmod(hp, 2) - 1));
	double m = v - c, r = 0, g = 0, b = 0;

	if (hp < 1) { r = c; g = x; }
	else if (hp < 2) { r = x; g = c; }
	else if (hp < 3) { g = c; b = x; }
	else if (hp < 4) { g = x; b = c; }
	else if (hp < 5) { r = x; b = c; }
	else { r = c; b = x; }
	out[0] = round((r + m) * 255);
	out[1] = round((g + m) * 255);
	out[2] = round((b + m) * 255);
}

/* Expected colour of a cell from (hue, level) pairs, per CA's rules. */
static void expect_mix(const double *hues, const double *lv, size_t n,
		       int out[3])
{
	double t = 0, acc[3] = { 0 }, c[3];

	for (size_t i = 0; i < n; i++)
		t += lv[i];
	for (size_t i = 0; i < n; i++) {
		if (!lv[i])
			continue;
		hsv(hues[i], lv[i] * 0.9, 0.95, c);
		for (int k = 0; k < 3; k++)
			acc[k] += c[k] * (lv[i] / t);	/* CA's ratio */
	}
	for (int k = 0; k < 3; k++)
		out[k] = t ? (int)acc[k] : 255;	/* CA's Buffer truncates */
}

static void expect_one(double hue, double lv, int out[3])
{
	expect_mix(&hue, &lv, 1, out);
}

static json_t *to_json(const struct ks_heatmap *hm)
{
	json_t *o = ks_heatmap__to_json(hm, KS_HM_JSON_GRID);

	assert_non_null(o);
	return o;
}

/* counts[m][d][r] from the JSON grid. */
static double count_at(json_t *o, size_t m, size_t d, size_t r)
{
	json_t *grid = json_object_get(o, "grid");
	json_t *v = json_array_get(json_array_get(json_array_get(
			json_object_get(grid, "counts"), m), d), r);

	assert_non_null(v);
	return json_number_value(v);
}

static int hue_of(json_t *o, size_t m)
{
	return (int)json_integer_value(json_object_get(
		json_array_get(json_object_get(o, "maps"), m), "hue"));
}

/* ---- parameters ------------------------------------------------------ */

static void test_params_defaults(void **state)
{
	struct ks_hmparams p;

	(void)state;
	params(&p, "{}");
	assert_int_equal(p.width, 600);
	assert_int_equal(p.height, 300);
	assert_int_equal(p.nbuckets, 100);
	assert_int_equal(p.ymin, 0);
	assert_true(p.ymax_auto);
	assert_int_equal(p.nselected, 0);
	assert_int_equal(p.mode, KS_HM_HIGHLIGHT);
	assert_int_equal(p.coloring, KS_HM_RANK);
	assert_int_equal(p.weights, KS_HM_COUNT);
	assert_int_equal(p.scale, KS_HM_SCALE_LINEAR);
	assert_null(p.hues);
	assert_false(p.has_x || p.has_y || p.has_percentile);
	ks_hmparams_fini(&p);
}

static void test_params_query_strings(void **state)
{
	struct ks_hmparams p;

	(void)state;
	params(&p, "{\"width\":\"200\",\"height\":\"100\",\"ymin\":\"10\","
		   "\"ymax\":\"1000000\",\"nbuckets\":\"25\",\"selected\":\"a,b\","
		   "\"hues\":\"1,2,359\",\"coloring\":\"linear\","
		   "\"weights\":\"weight\",\"scale\":\"log\","
		   "\"isolate\":\"false\",\"exclude\":\"true\",\"x\":\"5\","
		   "\"y\":[\"6\"],\"percentile\":\"0.5\",\"start_time\":\"9\"}");
	assert_int_equal(p.width, 200);
	assert_int_equal(p.height, 100);
	assert_int_equal(p.ymin, 10);
	assert_false(p.ymax_auto);
	assert_int_equal(p.ymax, 1000000);
	assert_int_equal(p.nbuckets, 25);
	assert_int_equal(p.nselected, 2);
	assert_string_equal(p.selected[0], "a");
	assert_string_equal(p.selected[1], "b");
	assert_int_equal(p.nhues, 3);
	assert_int_equal(p.hues[2], 359);
	assert_int_equal(p.coloring, KS_HM_LINEAR);
	assert_int_equal(p.weights, KS_HM_WEIGHT);
	assert_int_equal(p.scale, KS_HM_SCALE_LOG);
	assert_int_equal(p.mode, KS_HM_EXCLUDE);
	assert_true(p.has_x && p.has_y && p.has_percentile);
	assert_int_equal(p.x, 5);
	assert_int_equal(p.y, 6);
	assert_true(p.percentile == 0.5);
	ks_hmparams_fini(&p);
}

static void test_params_json_types(void **state)
{
	struct ks_hmparams p;

	(void)state;
	params(&p, "{\"width\":300,\"ymax\":1000000000000,\"nbuckets\":1.0,"
		   "\"selected\":[\"io\",\"hlt\"],\"hues\":[10,\"20\"],"
		   "\"isolate\":true,\"percentile\":1,\"ymin\":null}");
	assert_int_equal(p.width, 300);
	assert_int_equal(p.ymax, 1000000000000ULL);
	assert_int_equal(p.nbuckets, 1);
	assert_int_equal(p.nselected, 2);
	assert_string_equal(p.selected[1], "hlt");
	assert_int_equal(p.hues[1], 20);
	assert_int_equal(p.mode, KS_HM_ISOLATE);
	assert_true(p.percentile == 1);
	ks_hmparams_fini(&p);
	/* An empty list string selects nothing; decompose_all needs no hues
	 * count up front (the keys are known only at render time). */
	params(&p, "{\"selected\":\"\",\"decompose_all\":\"true\","
		   "\"hues\":\"5\"}");
	assert_int_equal(p.nselected, 0);
	assert_int_equal(p.mode, KS_HM_DECOMPOSE_ALL);
	ks_hmparams_fini(&p);
}

/* CA's parseInt and parseFloat: a numeric prefix is the number. */
static void test_params_js_numbers(void **state)
{
	struct ks_hmparams p;

	(void)state;
	ks_hmparams_init(&p);
	params(&p, "{\"width\":\"12.5\",\"height\":\" 20\",\"ymax\":99.9,"
		   "\"nbuckets\":\"7abc\",\"percentile\":\"0.5x\"}");
	assert_int_equal(p.width, 12);
	assert_int_equal(p.height, 20);
	assert_int_equal(p.ymax, 99);
	assert_int_equal(p.nbuckets, 7);
	assert_true(p.percentile == 0.5);
	ks_hmparams_fini(&p);
}

static void test_params_errors(void **state)
{
	static const struct {
		const char *json, *param;
		int rc;
	} cases[] = {
		{ "{\"width\":9}", "width", -ERANGE },
		{ "{\"width\":1001}", "width", -ERANGE },
		{ "{\"width\":\"abc\"}", "width", -EINVAL },
		/* parseInt("0x20") is 0, as in CA. */
		{ "{\"width\":\"0x20\"}", "width", -ERANGE },
		{ "{\"width\":true}", "width", -EINVAL },
		{ "{\"width\":[100,200]}", "width", -EINVAL },
		{ "{\"width\":{}}", "width", -EINVAL },
		{ "{\"height\":-1}", "height", -ERANGE },
		{ "{\"height\":\"nan\"}", "height", -EINVAL },
		{ "{\"nbuckets\":0}", "nbuckets", -ERANGE },
		{ "{\"nbuckets\":101}", "nbuckets", -ERANGE },
		{ "{\"ymin\":-5}", "ymin", -ERANGE },
		{ "{\"ymax\":1000000000001}", "ymax", -ERANGE },
		{ "{\"ymin\":10,\"ymax\":10}", "ymax", -EINVAL },
		{ "{\"ymin\":20,\"ymax\":\"10\"}", "ymax", -EINVAL },
		{ "{\"ymax\":0}", "ymax", -EINVAL },
		{ "{\"scale\":\"log\",\"ymax\":1}", "ymax", -EINVAL },
		{ "{\"ymin\":1000000000000}", "ymin", -ERANGE },
		{ "{\"isolate\":true,\"exclude\":\"true\"}", "exclude",
		  -EINVAL },
		{ "{\"exclude\":true,\"decompose_all\":true}",
		  "decompose_all", -EINVAL },
		{ "{\"isolate\":\"yes\"}", "isolate", -EINVAL },
		{ "{\"isolate\":1}", "isolate", -EINVAL },
		{ "{\"selected\":\"a,a\"}", "selected", -EINVAL },
		{ "{\"selected\":\"a,,b\"}", "selected", -EINVAL },
		{ "{\"selected\":[\"a\",3]}", "selected", -EINVAL },
		{ "{\"selected\":{}}", "selected", -EINVAL },
		{ "{\"selected\":\"a\",\"hues\":\"10\"}", "hues", -EINVAL },
		{ "{\"selected\":\"a,b\",\"isolate\":true,\"hues\":[1]}",
		  "hues", -EINVAL },
		{ "{\"hues\":\"360\"}", "hues", -ERANGE },
		{ "{\"hues\":[-1]}", "hues", -ERANGE },
		{ "{\"hues\":[\"x\"]}", "hues", -ERANGE },
		{ "{\"hues\":[]}", "hues", -ERANGE },
		{ "{\"coloring\":\"log\"}", "coloring", -EINVAL },
		{ "{\"weights\":\"weights\"}", "weights", -EINVAL },
		{ "{\"scale\":\"log2\"}", "scale", -EINVAL },
		{ "{\"x\":600}", "x", -ERANGE },
		{ "{\"width\":50,\"x\":50}", "x", -ERANGE },
		{ "{\"y\":\"300\"}", "y", -ERANGE },
		{ "{\"percentile\":1.5}", "percentile", -ERANGE },
		{ "{\"percentile\":\"-0.1\"}", "percentile", -ERANGE },
		{ "{\"percentile\":\"half\"}", "percentile", -EINVAL },
		{ "[]", "", -EINVAL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		struct ks_hmparams p;
		struct ks_err err;
		int rc;

		assert_non_null(o);
		rc = ks_hmparams__parse(&p, o, &err);
		json_decref(o);
		if (rc != cases[i].rc || strcmp(err.param, cases[i].param))
			fail_msg("%s: got %d %s (%s), expected %d %s",
				 cases[i].json, rc, err.param, err.msg,
				 cases[i].rc, cases[i].param);
		assert_true(strlen(err.msg) > 0);
	}
}

/* A key with a NUL byte inside would be read as a shorter, other key. */
static void test_params_key_with_nul(void **state)
{
	json_t *o = json_pack("{s:[s%]}", "selected", "io\0x", (size_t)4);
	struct ks_hmparams p;
	struct ks_err err;

	(void)state;
	assert_non_null(o);
	assert_int_equal(ks_hmparams__parse(&p, o, &err), -EINVAL);
	assert_string_equal(err.param, "selected");
	json_decref(o);
}

static void test_params_too_many_selected(void **state)
{
	char buf[2048] = "{\"selected\":\"k0";
	json_t *o;
	struct ks_hmparams p;
	struct ks_err err;

	(void)state;
	for (int i = 1; i <= KS_HM_MAX_SELECTED; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ",k%d",
			 i);
	strcat(buf, "\"}");
	o = json_loads(buf, 0, NULL);
	assert_int_equal(ks_hmparams__parse(&p, o, &err), -ERANGE);
	assert_string_equal(err.param, "selected");
	json_decref(o);
}

/* ---- autoscale ------------------------------------------------------- */

static void test_autoscale_examples(void **state)
{
	(void)state;
	/* Worked by hand through CA's steps: 10^k, then /5, /2, ... */
	assert_int_equal(ks_hm_autoscale(16), 18);	/* 100,20,20 fail */
	assert_int_equal(ks_hm_autoscale(17), 20);
	assert_int_equal(ks_hm_autoscale(99), 100);
	assert_int_equal(ks_hm_autoscale(100), 120);
	assert_int_equal(ks_hm_autoscale(850), 1000);
	assert_int_equal(ks_hm_autoscale(512), 600);
	assert_int_equal(ks_hm_autoscale(5), 6);
	assert_int_equal(ks_hm_autoscale(6), 6);	/* none fits */
	assert_int_equal(ks_hm_autoscale(1), 1);
	assert_int_equal(ks_hm_autoscale(123456789), 140000000);
}

/* A "nice" number: m * 10^k with m in {1, 2} times an integer. */
static bool nice(uint64_t v, uint64_t max)
{
	if (v == max)
		return true;	/* the fallback */
	for (uint64_t r = 1; r <= v; r *= 10)
		if ((v % r == 0 && (v / r) * r > max && v - r <= max) ||
		    (v % (2 * r) == 0 && v - 2 * r <= max))
			return true;
	return false;
}

static void test_autoscale_stability(void **state)
{
	uint64_t prev = 0, changes = 0;

	(void)state;
	for (uint64_t m = 1; m <= 300000; m++) {
		uint64_t s = ks_hm_autoscale(m);

		/* Never below the data, at most 25% above it. */
		assert_true(s >= m);
		assert_true(s == m || s * 4 < m * 5);
		assert_true(nice(s, m));
		/* Monotonic: a growing maximum never shrinks the axis. */
		assert_true(s >= prev);
		changes += s != prev;
		prev = s;
	}
	/* Stable: the axis changes rarely as the maximum sweeps through
	 * 300000 values (a handful of steps per decade). */
	assert_true(changes < 300);
	for (int i = 0; i < 100000; i++) {
		uint64_t m = rnd() % 1000000000000ULL + 1, s = ks_hm_autoscale(m);

		assert_true(s >= m && (s == m || s * 4 < m * 5));
		assert_true(ks_hm_autoscale(m + m / 100) >= s);
	}
}

/* ---- golden grids and pixels ----------------------------------------- */

static json_t *load_golden(const char *name)
{
	char path[512];
	const char *top = getenv("TOP");
	json_error_t jerr;
	json_t *g;

	snprintf(path, sizeof(path), "%s%stests/golden/%s", top ? top : "",
		 top ? "/" : "", name);
	g = json_load_file(path, 0, &jerr);
	if (!g)
		fail_msg("%s: %s (run from the repository root)", path,
			 jerr.text);
	return g;
}

static void test_golden_small(void **state)
{
	json_t *golden = load_golden("heatmap_small.json"), *o, *v;
	struct ks_hmparams p;
	struct picture pic;
	struct ks_heatmap *hm;
	struct cols c;
	const char *key;
	size_t i;

	(void)state;
	cols_init(&c, 3, 1000, 1, KS_ARITY_DISCRETE_NUMERIC);
	put(&c, 0, "rd", 14, 2);
	put(&c, 0, "wr", 29, 1);
	put(&c, 1, "rd", 44, 4);
	put(&c, 1, "wr", 44, 2);
	params(&p, "{\"width\":12,\"height\":12,\"nbuckets\":3,\"ymax\":45,"
		   "\"selected\":\"rd\",\"coloring\":\"linear\"}");
	hm = render(&c, &p, &pic);
	o = to_json(hm);
	json_object_foreach(json_object_get(golden, "expect"), key, v) {
		if (!json_equal(json_object_get(o, key), v)) {
			char *got = json_dumps(json_object_get(o, key), 0);

			fail_msg("%s differs from the golden: %s", key, got);
		}
	}
	json_array_foreach(json_object_get(golden, "pixels"), i, v) {
		json_t *rgb = json_object_get(v, "rgb");
		int want[3];

		for (int k = 0; k < 3; k++)
			want[k] = (int)json_integer_value(json_array_get(rgb, k));
		pixel_is(&pic, (uint32_t)json_integer_value(
				       json_object_get(v, "x")),
			 (uint32_t)json_integer_value(json_object_get(v, "y")),
			 want);
	}
	json_decref(o);
	json_decref(golden);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

/* One column on a 10x10 image with one row per unit value: key a at 2
 * (x5), key b at 7 (x1), both at 4 (a x3, b x1). */
static void scene_ab(struct cols *c)
{
	cols_init(c, 1, 0, 1, KS_ARITY_DISCRETE_NUMERIC);
	put(c, 0, "a", 2, 5);
	put(c, 0, "b", 7, 1);
	put(c, 0, "a", 4, 3);
	put(c, 0, "b", 4, 1);
}

/* Renders scene_ab with extra parameters; y of row r is 9 - r. */
static struct ks_heatmap *render_ab(struct cols *c, const char *extra,
				    struct picture *pic, json_t **o)
{
	char buf[256];
	struct ks_hmparams p;
	struct ks_heatmap *hm;

	snprintf(buf, sizeof(buf), "{\"width\":10,\"height\":10,"
		 "\"nbuckets\":10,\"ymax\":10%s}", extra);
	scene_ab(c);
	params(&p, buf);
	hm = render(c, &p, pic);
	*o = to_json(hm);
	ks_hmparams_fini(&p);
	return hm;
}

static void done(struct ks_heatmap *hm, struct cols *c, struct picture *pic,
		 json_t *o)
{
	json_decref(o);
	free(pic->rgb);
	ks_heatmap__free(hm);
	cols_fini(c);
}

static void test_highlight_rank(void **state)
{
	struct picture pic;
	struct cols c;
	json_t *o;
	struct ks_heatmap *hm = render_ab(&c, ",\"selected\":\"a\"", &pic, &o);
	double hues[2] = { 21, 112 }, lv[2];
	int want[3];

	(void)state;
	/* Everything else is b: 1 at row 7 and 1 at row 4. */
	assert_true(count_at(o, 0, 0, 7) == 1);
	assert_true(count_at(o, 0, 0, 4) == 1);
	assert_true(count_at(o, 0, 0, 2) == 0);
	assert_true(count_at(o, 1, 0, 2) == 5);
	assert_true(count_at(o, 1, 0, 4) == 3);
	assert_int_equal(hue_of(o, 0), 21);
	assert_int_equal(hue_of(o, 1), 112);
	/* Non-zero cells {1, 1, 5, 3}: ranks 1 -> 2/4, 3 -> 3/4, 5 -> 1. */
	expect_one(112, 1.0, want);
	pixel_is(&pic, 3, 9 - 2, want);
	expect_one(21, 0.5, want);
	pixel_is(&pic, 0, 9 - 7, want);
	lv[0] = 0.5;
	lv[1] = 0.75;
	expect_mix(hues, lv, 2, want);
	pixel_near(&pic, 9, 9 - 4, want);
	pixel_is(&pic, 5, 9 - 0, white);
	pixel_is(&pic, 5, 0, white);
	/* Hand-worked: hue 112 at s=0.9, v=0.95 is (53,242,24). */
	pixel_is(&pic, 0, 7, (const int[3]){ 53, 242, 24 });
	done(hm, &c, &pic, o);
}

static void test_isolate(void **state)
{
	struct picture pic;
	struct cols c;
	json_t *o;
	struct ks_heatmap *hm = render_ab(&c, ",\"selected\":\"b\","
					  "\"isolate\":true", &pic, &o);
	int want[3];

	(void)state;
	assert_int_equal(json_array_size(json_object_get(o, "maps")), 1);
	assert_int_equal(hue_of(o, 0), 112);	/* 21 dropped with the total */
	assert_true(count_at(o, 0, 0, 7) == 1);
	assert_true(count_at(o, 0, 0, 2) == 0);
	expect_one(112, 1.0, want);		/* two equal cells: rank 1 */
	pixel_is(&pic, 4, 9 - 7, want);
	pixel_is(&pic, 4, 9 - 4, want);
	pixel_is(&pic, 4, 9 - 2, white);	/* a is not drawn */
	done(hm, &c, &pic, o);
}

static void test_isolate_nothing(void **state)
{
	struct picture pic;
	struct cols c;
	json_t *o;
	struct ks_heatmap *hm = render_ab(&c, ",\"isolate\":true", &pic, &o);

	(void)state;
	assert_int_equal(json_array_size(json_object_get(o, "maps")), 1);
	for (uint32_t y = 0; y < 10; y++)
		pixel_is(&pic, 0, y, white);
	done(hm, &c, &pic, o);
}

static void test_exclude_linear(void **state)
{
	struct picture pic;
	struct cols c;
	json_t *o;
	struct ks_heatmap *hm = render_ab(&c, ",\"selected\":\"a\","
					  "\"exclude\":true,"
					  "\"coloring\":\"linear\","
					  "\"hues\":[200,300]", &pic, &o);
	int want[3];

	(void)state;
	assert_int_equal(json_array_size(json_object_get(o, "maps")), 1);
	assert_int_equal(hue_of(o, 0), 200);
	/* Only b is left: 1 and 1; linear max is at least 1, so both 1. */
	expect_one(200, 1.0, want);
	pixel_is(&pic, 0, 9 - 7, want);
	pixel_is(&pic, 0, 9 - 4, want);
	pixel_is(&pic, 0, 9 - 2, white);
	done(hm, &c, &pic, o);
}

static void test_decompose_all_linear(void **state)
{
	struct picture pic;
	struct cols c;
	json_t *o;
	struct ks_heatmap *hm = render_ab(&c, ",\"decompose_all\":true,"
					  "\"coloring\":\"linear\"", &pic, &o);
	double hues[3] = { 21, 112, 203 }, lv[3] = { 0, 3.0 / 5, 1.0 / 5 };
	json_t *maps = json_object_get(o, "maps");
	int want[3];

	(void)state;
	assert_int_equal(json_array_size(maps), 3);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(maps, 1), "key")), "a");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(maps, 2), "key")), "b");
	assert_true(json_is_null(json_object_get(json_array_get(maps, 0),
						 "key")));
	/* The remainder is empty: every event has a key. */
	for (int r = 0; r < 10; r++)
		assert_true(count_at(o, 0, 0, r) == 0);
	/* Row 4 mixes a (3/5) and b (1/5) by their shares. */
	expect_mix(hues, lv, 3, want);
	pixel_near(&pic, 2, 9 - 4, want);
	expect_one(112, 1.0, want);
	pixel_is(&pic, 2, 9 - 2, want);
	expect_one(203, 0.2, want);
	pixel_is(&pic, 2, 9 - 7, want);
	done(hm, &c, &pic, o);
}

static void test_unknown_selected_key(void **state)
{
	struct picture pic;
	struct cols c;
	json_t *o;
	struct ks_heatmap *hm = render_ab(&c, ",\"selected\":"
					  "\"never-seen-key\"", &pic, &o);

	(void)state;
	/* Its map is drawn empty; everything else is the total. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(o, "maps"), 1), "key")), "never-seen-key");
	assert_true(count_at(o, 0, 0, 2) == 5);
	assert_true(count_at(o, 0, 0, 4) == 4);
	assert_true(count_at(o, 1, 0, 4) == 0);
	done(hm, &c, &pic, o);
}

static void test_spread_and_weights(void **state)
{
	struct ks_hmparams p;
	struct picture pic;
	struct ks_heatmap *hm;
	struct cols c;
	json_t *o;

	(void)state;
	/* Bucket [40,41] straddles rows [40,41) and [41,42): half each. */
	cols_init(&c, 1, 0, 1, KS_ARITY_NUMERIC);
	put(&c, 0, NULL, 40, 4);
	params(&p, "{\"width\":10,\"height\":100,\"ymax\":100}");
	hm = render(&c, &p, &pic);
	o = to_json(hm);
	assert_true(count_at(o, 0, 0, 40) == 2);
	assert_true(count_at(o, 0, 0, 41) == 2);
	assert_true(count_at(o, 0, 0, 39) == 0);
	json_decref(o);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	/* weights=weight: count x midpoint 40.5, split the same way. */
	params(&p, "{\"width\":10,\"height\":100,\"ymax\":100,"
		   "\"weights\":\"weight\"}");
	hm = render(&c, &p, &pic);
	o = to_json(hm);
	assert_true(count_at(o, 0, 0, 40) == 81);
	assert_true(count_at(o, 0, 0, 41) == 81);
	assert_string_equal(json_string_value(json_object_get(o, "weights")),
			    "weight");
	json_decref(o);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

static void test_log_scale(void **state)
{
	struct ks_hmparams p;
	struct picture pic;
	struct ks_heatmap *hm;
	struct cols c;
	json_t *o, *rows;
	int want[3];

	(void)state;
	/* Rows [0,10) [10,100) [100,1000); 500 is in bucket [496,511]. */
	cols_init(&c, 1, 0, 1, KS_ARITY_NUMERIC);
	put(&c, 0, NULL, 5, 1);
	put(&c, 0, NULL, 50, 2);
	put(&c, 0, NULL, 500, 3);
	put(&c, 0, NULL, 5000, 7);	/* above ymax: not drawn */
	params(&p, "{\"width\":10,\"height\":30,\"nbuckets\":3,"
		   "\"ymax\":1000,\"scale\":\"log\"}");
	hm = render(&c, &p, &pic);
	o = to_json(hm);
	rows = json_object_get(json_object_get(o, "grid"), "rows");
	assert_true(json_number_value(json_object_get(json_array_get(rows, 0),
						      "ymax")) == 10);
	assert_true(fabs(json_number_value(json_object_get(
		json_array_get(rows, 1), "ymax")) - 100) < 1e-9);
	assert_true(count_at(o, 0, 0, 0) == 1);
	assert_true(count_at(o, 0, 0, 1) == 2);
	assert_true(count_at(o, 0, 0, 2) == 3);
	assert_string_equal(json_string_value(json_object_get(o, "scale")),
			    "log");
	/* Ranks 1/3, 2/3, 1 from bottom to top; each row is 10 px. */
	expect_one(21, 1.0 / 3, want);
	pixel_is(&pic, 0, 25, want);
	expect_one(21, 2.0 / 3, want);
	pixel_is(&pic, 0, 15, want);
	expect_one(21, 1.0, want);
	pixel_is(&pic, 0, 5, want);
	json_decref(o);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	/* Automatic ymax with log rows from ymin 0. */
	params(&p, "{\"width\":10,\"height\":30,\"scale\":\"log\"}");
	hm = render(&c, &p, &pic);
	/* Largest hi+1 is 5120 (bucket [4864,5119]): autoscale -> 6000. */
	assert_int_equal(ks_heatmap__ymax(hm), 6000);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

static void test_auto_ymax_and_json(void **state)
{
	struct ks_hmparams p;
	struct picture pic;
	struct ks_heatmap *hm;
	struct cols c;
	json_t *o;
	const char *img;
	size_t len;

	(void)state;
	cols_init(&c, 4, 60, 1, KS_ARITY_NUMERIC);
	put(&c, 1, NULL, 16000, 3);	/* bucket [15872,16383] */
	params(&p, "{}");
	hm = render(&c, &p, &pic);
	/* hi+1 = 16384: 100000, 20000 -> 20000 < 20480. */
	assert_int_equal(ks_heatmap__ymax(hm), 20000);
	o = ks_heatmap__to_json(hm, KS_HM_JSON_IMAGE);
	assert_non_null(o);
	assert_null(json_object_get(o, "grid"));
	img = json_string_value(json_object_get(o, "image"));
	assert_non_null(img);
	/* Base64 of a PNG begins with the encoded signature. */
	assert_memory_equal(img, "iVBORw0KGgo", 11);
	ks_heatmap__png(hm, &len);
	assert_int_equal(strlen(img), (len + 2) / 3 * 4);
	assert_int_equal(json_integer_value(json_object_get(o, "ymax")),
			 20000);
	assert_int_equal(json_integer_value(json_object_get(o, "width")), 600);
	assert_int_equal(json_integer_value(json_object_get(o, "height")),
			 300);
	assert_int_equal(json_integer_value(json_object_get(o, "nbuckets")),
			 100);
	assert_int_equal(json_array_size(json_object_get(o, "present")), 0);
	/* CA's image response carries the transformations of the keys. */
	assert_true(json_is_object(json_object_get(o, "transformations")));
	json_decref(o);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

static void test_empty_is_white(void **state)
{
	struct ks_hmparams p;
	struct picture pic;
	struct ks_heatmap *hm;
	struct cols c;

	(void)state;
	cols_init(&c, 5, 0, 1, KS_ARITY_DISCRETE_NUMERIC);
	params(&p, "{\"width\":20,\"height\":10,\"decompose_all\":true}");
	hm = render(&c, &p, &pic);
	for (size_t i = 0; i < (size_t)pic.w * pic.h * 3; i++)
		assert_int_equal(pic.rgb[i], 255);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

static void test_render_errors(void **state)
{
	struct ks_hmparams p;
	struct ks_err err;
	struct cols c;
	char key[16];

	(void)state;
	/* Not numeric. */
	cols_init(&c, 2, 0, 1, KS_ARITY_DISCRETE);
	put(&c, 0, "x", 0, 1);
	params(&p, "{}");
	assert_null(ks_heatmap__render(&c.in, &p, &err));
	assert_int_equal(errno, ENOTSUP);
	assert_true(strlen(err.msg) > 0);
	assert_null(ks_heatmap_details(&c.in, &p, &err));
	ks_hmparams_fini(&p);
	cols_fini(&c);
	/* decompose_all with more keys than can be drawn. */
	cols_init(&c, 1, 0, 1, KS_ARITY_DISCRETE_NUMERIC);
	for (int i = 0; i <= KS_HM_MAX_SELECTED; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		put(&c, 0, key, 100, 1);
	}
	params(&p, "{\"decompose_all\":true}");
	assert_null(ks_heatmap__render(&c.in, &p, &err));
	assert_string_equal(err.param, "decompose_all");
	ks_hmparams_fini(&p);
	cols_fini(&c);
	/* decompose_all with too few hues for the keys present. */
	cols_init(&c, 1, 0, 1, KS_ARITY_DISCRETE_NUMERIC);
	put(&c, 0, "a", 1, 1);
	put(&c, 0, "b", 1, 1);
	params(&p, "{\"decompose_all\":true,\"hues\":\"1,2\"}");
	assert_null(ks_heatmap__render(&c.in, &p, &err));
	assert_string_equal(err.param, "hues");
	assert_int_equal(errno, EINVAL);
	ks_hmparams_fini(&p);
	/* No columns at all. */
	params(&p, "{}");
	c.in.ncols = 0;
	assert_null(ks_heatmap__render(&c.in, &p, &err));
	assert_string_equal(err.param, "duration");
	c.in.ncols = 1;
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

/* ---- geometry ---------------------------------------------------------- */

static void test_more_samples_than_pixels(void **state)
{
	struct ks_hmparams p;
	struct picture pic;
	struct ks_heatmap *hm;
	struct cols c;
	json_t *o, *cols;
	double sum = 0;
	size_t i;
	json_t *col;

	(void)state;
	/* 3600 samples on 600 pixels: 6 a column, every sample drawn. */
	cols_init(&c, 3600, 7200, 1, KS_ARITY_NUMERIC);
	for (size_t s = 0; s < 3600; s++)
		put(&c, s, NULL, 5, 1);
	params(&p, "{\"ymax\":10,\"nbuckets\":10,\"height\":10,"
		   "\"coloring\":\"linear\"}");
	hm = render(&c, &p, &pic);
	o = to_json(hm);
	cols = json_object_get(json_object_get(o, "grid"), "columns");
	assert_int_equal(json_array_size(cols), 600);
	json_array_foreach(cols, i, col) {
		assert_int_equal(json_integer_value(json_object_get(col,
			"nsamples")), 6);
		assert_int_equal(json_integer_value(json_object_get(col,
			"width")), 1);
		sum += count_at(o, 0, i, 5);
	}
	assert_true(sum == 3600);
	/* Coloured by count per sample (1), not per column (6). */
	{
		int want[3];

		expect_one(21, 1.0, want);
		pixel_is(&pic, 599, 9 - 5, want);
	}
	json_decref(o);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

/* CA's edges, printed by node from node-heatmap's own expressions,
 * floor(i * (size / n)) for i = 0..n, to be compared with ours. */
static const struct {
	uint32_t size, n;
	uint32_t edge[24];
} ca_edges[] = {
	/* 30 px, 22 samples: 11 * (30/22) is 14.999..., so CA starts
	 * sample 11 at 14, where exact arithmetic says 15; the far edge
	 * 22 * (30/22) is 29.999..., so CA leaves pixel 29 white. */
	{ 30, 22, { 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16, 17, 19,
		    20, 21, 23, 24, 25, 27, 28, 29 } },
	{ 15, 11, { 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14 } },
};

static void test_columns_ca_placement(void **state)
{
	struct ks_hm_cols c;

	(void)state;
	for (size_t k = 0; k < sizeof(ca_edges) / sizeof(ca_edges[0]); k++) {
		uint32_t w = ca_edges[k].size, n = ca_edges[k].n;

		assert_int_equal(ks_hm_cols_init(&c, n, w), 0);
		assert_int_equal(c.n, n);
		for (uint32_t i = 0; i < n; i++) {
			assert_int_equal(c.first[i], i);
			assert_int_equal(c.x[i], ca_edges[k].edge[i]);
		}
		/* Ours reach the edge (CA's bug of a white last column is
		 * not copied). */
		assert_true(ca_edges[k].edge[n] < w);
		assert_int_equal(c.x[n], w);
		ks_hm_cols_fini(&c);
	}
	/* 154 samples on 10 px: CA's sample 77 starts at 77 * (10/154) =
	 * 4.999..., i.e. pixel 4, so pixel 4 holds samples 62..77 (16)
	 * and pixel 5 holds 78..92 (15). */
	assert_int_equal(ks_hm_cols_init(&c, 154, 10), 0);
	assert_int_equal(c.n, 10);
	assert_int_equal(c.first[4], 62);
	assert_int_equal(c.first[5], 78);
	assert_int_equal(c.first[6], 93);
	ks_hm_cols_fini(&c);
}

/* Renders n samples of one event each at value 5 on width x 10 and
 * returns the JSON grid's columns; the picture is checked to have no
 * white pixel column at row 5 (every sample drawn). */
static json_t *every_column_drawn(size_t n, int64_t base, uint32_t step,
				  uint32_t width)
{
	char buf[160];
	struct ks_hmparams p;
	struct picture pic;
	struct ks_heatmap *hm;
	struct cols c;
	json_t *o, *cols;

	cols_init(&c, n, base, step, KS_ARITY_NUMERIC);
	for (size_t s = 0; s < n; s++)
		put(&c, s, NULL, 5, 1 + s % 3);
	snprintf(buf, sizeof(buf), "{\"ymax\":10,\"nbuckets\":10,"
		 "\"height\":10,\"width\":%u}", width);
	params(&p, buf);
	hm = render(&c, &p, &pic);
	for (uint32_t x = 0; x < width; x++) {
		const uint8_t *px = pic.rgb + ((size_t)(9 - 5) * width + x) * 3;

		if (px[0] == 255 && px[1] == 255 && px[2] == 255)
			fail_msg("%zu samples from %lld on %u px: column %u "
				 "is white", n, (long long)base, width, x);
	}
	o = to_json(hm);
	cols = json_incref(json_object_get(json_object_get(o, "grid"),
					   "columns"));
	json_decref(o);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	cols_fini(&c);
	return cols;
}

static void test_every_sample_drawn(void **state)
{
	(void)state;
	/* Layouts alone, over many (width, nsamples): every sample in one
	 * column, every column at least a pixel, the image covered, and
	 * each column where CA starts its first sample. */
	for (int i = 0; i < 20000; i++) {
		uint32_t w = 10 + (uint32_t)(rnd() % 991);
		size_t n = 1 + rnd() % (i % 2 ? 3600 : 2 * w);
		struct ks_hm_cols c;

		assert_int_equal(ks_hm_cols_init(&c, n, w), 0);
		assert_int_equal(c.first[0], 0);
		assert_int_equal(c.x[0], 0);
		assert_int_equal(c.first[c.n], n);
		assert_int_equal(c.x[c.n], w);
		assert_int_equal(c.n, n < w ? n : c.n);
		for (size_t d = 0; d < c.n; d++) {
			double ca = floor(c.first[d] * ((double)w / n));

			assert_true(c.first[d] < c.first[d + 1]);
			assert_true(c.x[d] < c.x[d + 1]);
			assert_true(c.x[d] == ca || (ca >= w && c.x[d] == w - 1));
		}
		ks_hm_cols_fini(&c);
	}
	/* Whole pictures over (width, nsamples, start): no white column,
	 * and the start time does not move the columns. */
	for (int i = 0; i < 150; i++) {
		uint32_t w = 10 + (uint32_t)(rnd() % 300);
		size_t n = 1 + rnd() % (3 * w);
		uint32_t step = i % 3 ? 1 : 5;
		int64_t base = (int64_t)(rnd() % 2000000000) / step * step;
		json_t *a = every_column_drawn(n, base, step, w);
		json_t *b = every_column_drawn(n, base + 7 * step, step, w);
		size_t d;
		json_t *col;

		assert_int_equal(json_array_size(a), json_array_size(b));
		json_array_foreach(a, d, col) {
			json_t *other = json_array_get(b, d);

			assert_true(json_equal(json_object_get(col, "x"),
					       json_object_get(other, "x")));
			assert_true(json_equal(json_object_get(col, "nsamples"),
					       json_object_get(other,
							       "nsamples")));
		}
		json_decref(a);
		json_decref(b);
	}
}

static void test_row_pixels(void **state)
{
	(void)state;
	for (uint32_t n = 1; n <= 100; n++) {
		for (uint32_t h = 10; h <= 1000; h += n < 20 ? 1 : 37) {
			uint32_t y0, y1, next = 0, seen = 0;

			/* Rows tile the height, top row first, each at CA's
			 * floor(k * (h / n)); with more rows than pixels some
			 * are empty, as in CA. */
			for (uint32_t r = n; r-- > 0;) {
				uint32_t k = n - 1 - r;

				ks_hm_row_pixels(r, n, h, &y0, &y1);
				assert_int_equal(y0, next);
				assert_int_equal(y0, (uint32_t)floor(
					k * ((double)h / n)));
				if (n <= h)
					assert_true(y1 > y0);
				for (uint32_t y = y0; y < y1; y++)
					assert_int_equal(ks_hm_row_at(y, n, h),
							 r);
				seen += y1 > y0;
				next = y1;
			}
			assert_int_equal(next, h);
			assert_true(seen == (n < h ? n : seen));
		}
	}
}

static void test_more_rows_than_pixels(void **state)
{
	struct ks_hmparams p;
	struct picture pic;
	struct ks_heatmap *hm;
	struct cols c;
	json_t *o, *rows, *row;
	size_t i, empty = 0;
	uint32_t y0, y1;
	int want[3];

	(void)state;
	/* CA's behaviour: nbuckets stays as asked, with 100 rows on 20
	 * pixels the rows without pixels are not drawn. */
	cols_init(&c, 10, 100, 1, KS_ARITY_NUMERIC);
	for (size_t s = 0; s < 10; s++)
		put(&c, s, NULL, 5, 1);
	params(&p, "{\"ymax\":100,\"nbuckets\":100,\"height\":20,"
		   "\"width\":10}");
	hm = render(&c, &p, &pic);
	o = to_json(hm);
	assert_int_equal(json_integer_value(json_object_get(o, "nbuckets")),
			 100);
	rows = json_object_get(json_object_get(o, "grid"), "rows");
	assert_int_equal(json_array_size(rows), 100);
	json_array_foreach(rows, i, row)
		empty += json_integer_value(json_object_get(row, "height")) == 0;
	assert_int_equal(empty, 80);
	assert_true(count_at(o, 0, 0, 5) == 1);
	/* Row 5 (k = 94 from the top) spans floor(94 * 0.2) = 18 to
	 * floor(95 * 0.2) = 19: drawn on pixel row 18, and rows 6..9,
	 * which have no pixels, do not overwrite it. */
	ks_hm_row_pixels(5, 100, 20, &y0, &y1);
	assert_int_equal(y0, 18);
	assert_int_equal(y1, 19);
	ks_hm_row_pixels(6, 100, 20, &y0, &y1);
	assert_int_equal(y0, y1);
	expect_one(21, 1.0, want);
	for (uint32_t x = 0; x < 10; x++)
		pixel_is(&pic, x, 18, want);
	for (uint32_t y = 0; y < 20; y++)
		if (y != 18)
			pixel_is(&pic, 0, y, white);
	json_decref(o);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

static void test_mix_truncates(void **state)
{
	struct picture pic;
	struct cols c;
	json_t *o;
	struct ks_heatmap *hm;

	(void)state;
	/* Keys a and b once each in one cell, isolated: both rank 1, hues
	 * 112 (53,242,24) and 203 (24,159,242) at half each.  CA's Buffer
	 * keeps 38.5 -> 38, 200.5 -> 200, 133 (node printed 26 c8 85);
	 * rounding would give 39, 201. */
	cols_init(&c, 1, 0, 1, KS_ARITY_DISCRETE_NUMERIC);
	put(&c, 0, "a", 5, 1);
	put(&c, 0, "b", 5, 1);
	{
		struct ks_hmparams p;

		params(&p, "{\"width\":10,\"height\":10,\"nbuckets\":10,"
			   "\"ymax\":10,\"decompose_all\":true}");
		hm = render(&c, &p, &pic);
		ks_hmparams_fini(&p);
	}
	o = to_json(hm);
	pixel_is(&pic, 0, 9 - 5, (const int[3]){ 38, 200, 133 });
	json_decref(o);
	free(pic.rgb);
	ks_heatmap__free(hm);
	cols_fini(&c);
	/* a once, b twice: levels 1/2 and 1, a at saturation 0.45 is
	 * (148,242,133); the mix is (65.33, 186.67, 205.67) and CA draws
	 * (65,186,205) (node: 41 ba cd). */
	cols_init(&c, 1, 0, 1, KS_ARITY_DISCRETE_NUMERIC);
	put(&c, 0, "a", 5, 1);
	put(&c, 0, "b", 5, 2);
	{
		struct ks_hmparams p;

		params(&p, "{\"width\":10,\"height\":10,\"nbuckets\":10,"
			   "\"ymax\":10,\"decompose_all\":true}");
		hm = render(&c, &p, &pic);
		ks_hmparams_fini(&p);
	}
	pixel_is(&pic, 3, 9 - 5, (const int[3]){ 65, 186, 205 });
	free(pic.rgb);
	ks_heatmap__free(hm);
	cols_fini(&c);
}

/* ---- properties over random data ------------------------------------ */

/* Random realistic columns: keys k0..k3, log-uniform-ish values. */
static void random_cols(struct cols *c, size_t n, uint64_t vmax)
{
	static const char *keys[] = { "k0", "k1", "k2", "k3" };

	cols_init(c, n, 1000, 1, KS_ARITY_DISCRETE_NUMERIC);
	for (size_t s = 0; s < n; s++) {
		int m = (int)(rnd() % 30);

		if (rnd() % 8 == 0)
			continue;	/* some columns without data */
		for (int i = 0; i < m; i++) {
			uint64_t v = rnd() % (1 + (rnd() % vmax));

			put(c, s, keys[rnd() % 4], v, 1 + rnd() % 5);
		}
	}
}

/* Exact count of a column's data inside [lo, hi), spreading uniformly. */
static double inside(const struct ks_value *v, double lo, double hi)
{
	size_t it = 0;
	uint32_t i;
	uint64_t cnt;
	double sum = 0;

	while (v && ks_dist__next(&v->dist, &it, &i, &cnt)) {
		double a = (double)ks_ll_lo(i), b = (double)ks_ll_hi(i) + 1;
		double o = fmin(b, hi) - fmax(a, lo);

		if (o > 0)
			sum += (double)cnt * o / (b - a);
	}
	return sum;
}

static void test_spreading_conserves(void **state)
{
	(void)state;
	for (int round = 0; round < 40; round++) {
		struct ks_hmparams p;
		struct ks_heatmap *hm;
		struct picture pic;
		struct cols c;
		json_t *o, *counts;
		uint64_t ymin = rnd() % 500, ymax = ymin + 1 + rnd() % 5000;
		double want = 0, got = 0;
		char buf[160];
		size_t n = 1 + rnd() % 50;

		random_cols(&c, n, 8000);
		snprintf(buf, sizeof(buf), "{\"width\":%d,\"height\":100,"
			 "\"nbuckets\":%d,\"ymin\":%llu,\"ymax\":%llu,"
			 "\"scale\":\"%s\"}", 10 + (int)(rnd() % 100),
			 1 + (int)(rnd() % 100), (unsigned long long)ymin,
			 (unsigned long long)ymax,
			 round % 2 ? "log" : "linear");
		params(&p, buf);
		hm = render(&c, &p, &pic);
		o = to_json(hm);
		for (size_t s = 0; s < n; s++)
			want += inside(c.p[s], (double)ymin, (double)ymax);
		counts = json_array_get(json_object_get(json_object_get(o,
			"grid"), "counts"), 0);
		for (size_t d = 0; d < json_array_size(counts); d++) {
			json_t *col = json_array_get(counts, d);

			for (size_t r = 0; r < json_array_size(col); r++) {
				double x = json_number_value(
					json_array_get(col, r));

				assert_true(x >= 0);
				got += x;
			}
		}
		if (fabs(got - want) > 1e-9 * (want + 1))
			fail_msg("%s: %.9f inside, grid holds %.9f", buf, want,
				 got);
		json_decref(o);
		free(pic.rgb);
		ks_heatmap__free(hm);
		ks_hmparams_fini(&p);
		cols_fini(&c);
	}
}

/* What the data holds in grid cell (d, r), computed from the source. */
static double inside_cell(const struct cols *c, json_t *o, size_t d, size_t r)
{
	json_t *g = json_object_get(o, "grid");
	json_t *col = json_array_get(json_object_get(g, "columns"), d);
	json_t *row = json_array_get(json_object_get(g, "rows"), r);
	int64_t t = json_integer_value(json_object_get(col, "time"));
	size_t s0 = (size_t)((t - c->in.base) / c->in.step);
	size_t k = (size_t)json_integer_value(json_object_get(col, "nsamples"));
	double lo = json_number_value(json_object_get(row, "ymin"));
	double hi = json_number_value(json_object_get(row, "ymax"));
	double sum = 0;

	for (size_t s = s0; s < s0 + k; s++)
		sum += inside(c->p[s], lo, hi);
	return sum;
}

/* Bends a column's consistency: events in a key's distribution only. */
static void add_to_key(struct cols *c, size_t s, uint64_t value,
		       uint64_t count)
{
	if (!c->v[s].n)
		put(c, s, "k1", 100, 1);
	assert_int_equal(ks_dist__add(&c->v[s].e[0].dist, value, count), 0);
}

/* ... or in the total only (events that no key accounts for). */
static void add_to_total(struct cols *c, size_t s, uint64_t value,
			 uint64_t count)
{
	assert_int_equal(ks_dist__add(&c->v[s].dist, value, count), 0);
	c->v[s].total += count;
	c->p[s] = &c->v[s];
}

static void test_deduction_never_negative(void **state)
{
	(void)state;
	for (int round = 0; round < 30; round++) {
		struct ks_hmparams p;
		struct ks_heatmap *hm;
		struct picture pic;
		struct cols c;
		json_t *o;
		size_t n = 3 + rnd() % 38, nd, nr;

		random_cols(&c, n, 3000);
		/* Column 0: a key holds more than the total in a bucket
		 * (INTRO-89's assertion).  Column 1: the total holds events
		 * no key has, so "everything else" must be deducted.
		 * Column 2: both at once. */
		for (size_t s = 0; s < 3; s++) {
			if (s != 1)
				add_to_key(&c, s, 777, 50);
			if (s != 0)
				add_to_total(&c, s, 1 + rnd() % 3000, 7);
		}
		params(&p, "{\"width\":40,\"height\":50,\"selected\":"
			   "\"k1,k3\"}");
		hm = render(&c, &p, &pic);
		o = to_json(hm);
		nd = json_array_size(json_object_get(json_object_get(o,
			"grid"), "columns"));
		nr = json_array_size(json_object_get(json_object_get(o,
			"grid"), "rows"));
		for (size_t d = 0; d < nd; d++) {
			for (size_t r = 0; r < nr; r++) {
				double rest = count_at(o, 0, d, r);
				double k1 = count_at(o, 1, d, r);
				double k3 = count_at(o, 2, d, r);

				assert_true(rest >= 0 && k1 >= 0 && k3 >= 0);
				/* Deducting never adds (no wrap-around). */
				if (d != 0)
					assert_true(rest <= inside_cell(&c, o, d,
						    r) * (1 + 1e-9) + 1e-9);
				/* Where no key exceeds the total, the parts add
				 * up to it exactly. */
				if (d != 0 && d != 2)
					assert_true(fabs(rest + k1 + k3 -
						    inside_cell(&c, o, d, r)) <
						    1e-9 * (rest + k1 + k3 + 1));
			}
		}
		json_decref(o);
		free(pic.rgb);
		ks_heatmap__free(hm);
		ks_hmparams_fini(&p);
		cols_fini(&c);
	}
}

/* ---- details, average, percentile ------------------------------------ */

static json_t *details_at(const struct cols *c, const char *base, uint32_t x,
			  uint32_t y)
{
	char buf[256];
	struct ks_hmparams p;
	struct ks_err err;
	json_t *d;

	snprintf(buf, sizeof(buf), "{%s,\"x\":%u,\"y\":%u}", base, x, y);
	params(&p, buf);
	d = ks_heatmap_details(&c->in, &p, &err);
	if (!d)
		fail_msg("details %s: %s: %s", buf, err.param, err.msg);
	ks_hmparams_fini(&p);
	return d;
}

static json_int_t shown(double v)
{
	return v <= 0 ? 0 : v < 1 ? 1 : (json_int_t)floor(v + 0.5);
}

static void test_details_golden(void **state)
{
	struct cols c;
	json_t *d, *present;

	(void)state;
	/* The golden scene: pixel (5,1) is column 1001, row [30,45). */
	cols_init(&c, 3, 1000, 1, KS_ARITY_DISCRETE_NUMERIC);
	put(&c, 0, "rd", 14, 2);
	put(&c, 0, "wr", 29, 1);
	put(&c, 1, "rd", 44, 4);
	put(&c, 1, "wr", 44, 2);
	d = details_at(&c, "\"width\":12,\"height\":12,\"nbuckets\":3,"
		       "\"ymax\":45", 5, 1);
	assert_int_equal(json_integer_value(json_object_get(d,
		"bucket_time")), 1001);
	assert_int_equal(json_integer_value(json_object_get(d,
		"bucket_duration")), 1);
	assert_int_equal(json_integer_value(json_object_get(d,
		"bucket_ymin")), 30);
	assert_int_equal(json_integer_value(json_object_get(d,
		"bucket_ymax")), 45);
	present = json_object_get(d, "present");
	assert_int_equal(json_integer_value(json_object_get(present, "rd")),
			 2);
	assert_int_equal(json_integer_value(json_object_get(present, "wr")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(d, "total")), 3);
	json_decref(d);
	/* An empty cell: no keys, total 0. */
	d = details_at(&c, "\"width\":12,\"height\":12,\"nbuckets\":3,"
		       "\"ymax\":45", 9, 11);
	assert_int_equal(json_integer_value(json_object_get(d,
		"bucket_time")), 1002);
	assert_int_equal(json_object_size(json_object_get(d, "present")), 0);
	assert_int_equal(json_integer_value(json_object_get(d, "total")), 0);
	json_decref(d);
	cols_fini(&c);
	/* No decomposition: the total on its own, a fraction shown as 1. */
	cols_init(&c, 1, 0, 1, KS_ARITY_NUMERIC);
	put(&c, 0, NULL, 40, 1);	/* [40,41]: half in [40,41) */
	d = details_at(&c, "\"width\":10,\"height\":100,\"ymax\":100", 0,
		       99 - 40);
	assert_int_equal(json_integer_value(json_object_get(d, "total")), 1);
	assert_int_equal(json_integer_value(json_object_get(d,
		"bucket_ymin")), 40);
	json_decref(d);
	cols_fini(&c);
}

static void test_details_match_grid(void **state)
{
	const char *base = "\"width\":37,\"height\":61,\"nbuckets\":29,"
			   "\"decompose_all\":true";
	struct ks_hmparams p;
	struct ks_heatmap *hm;
	struct picture pic;
	struct cols c;
	json_t *o, *maps;
	char buf[128];

	(void)state;
	random_cols(&c, 90, 5000);
	snprintf(buf, sizeof(buf), "{%s}", base);
	params(&p, buf);
	hm = render(&c, &p, &pic);
	o = to_json(hm);
	maps = json_object_get(o, "maps");
	for (int i = 0; i < 300; i++) {
		uint32_t x = (uint32_t)(rnd() % 37), y = (uint32_t)(rnd() % 61);
		size_t d;
		json_t *det = details_at(&c, base, x, y), *v;
		json_int_t sum = 0;
		const char *key;
		json_t *cols = json_object_get(json_object_get(o, "grid"),
					       "columns");
		uint32_t r = ks_hm_row_at(y, 29, 61);

		/* The display column under x, from the JSON geometry. */
		for (d = 0; d + 1 < json_array_size(cols); d++)
			if (json_integer_value(json_object_get(
				    json_array_get(cols, d + 1), "x")) > x)
				break;
		json_object_foreach(json_object_get(det, "present"), key, v) {
			sum += json_integer_value(v);
			assert_true(json_integer_value(v) >= 1);
		}
		/* Parts and total never contradict each other. */
		assert_int_equal(sum, json_integer_value(json_object_get(det,
			"total")));
		/* Each key's part is its grid cell, rounded as CA did. */
		for (size_t m = 1; m < json_array_size(maps); m++) {
			const char *k = json_string_value(json_object_get(
				json_array_get(maps, m), "key"));
			json_int_t want = shown(count_at(o, m, d, r));

			assert_int_equal(json_integer_value(json_object_get(
				json_object_get(det, "present"), k)), want);
		}
		assert_int_equal(json_integer_value(json_object_get(det,
			"bucket_time")), json_integer_value(json_object_get(
			json_array_get(cols, d), "time")));
		json_decref(det);
	}
	json_decref(o);
	free(pic.rgb);
	ks_heatmap__free(hm);
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

static void test_details_errors(void **state)
{
	struct ks_hmparams p;
	struct ks_err err;
	struct cols c;

	(void)state;
	cols_init(&c, 2, 0, 1, KS_ARITY_NUMERIC);
	params(&p, "{\"x\":3}");
	assert_null(ks_heatmap_details(&c.in, &p, &err));
	assert_string_equal(err.param, "y");
	ks_hmparams_fini(&p);
	params(&p, "{\"percentile\":0.5}");
	assert_null(ks_heatmap_details(&c.in, &p, &err));
	assert_string_equal(err.param, "x");
	ks_hmparams_fini(&p);
	params(&p, "{}");
	assert_null(ks_heatmap_percentile(&c.in, &p, &err));
	assert_string_equal(err.param, "percentile");
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

static void test_average_percentile_every_column(void **state)
{
	struct ks_hmparams p;
	struct ks_err err;
	struct cols c;
	double avg[3], pct[3];
	uint64_t ymax;
	json_t *o, *a;

	(void)state;
	/* Rows of width 1 over [0,100): value v lands in row [v, v+1). */
	cols_init(&c, 3, 500, 10, KS_ARITY_NUMERIC);
	put(&c, 0, NULL, 10, 1);
	put(&c, 0, NULL, 12, 3);
	put(&c, 2, NULL, 7, 2);
	params(&p, "{\"ymax\":100,\"percentile\":0.5}");
	assert_int_equal(ks_hm_averages(&c.in, &p, avg, &ymax, &err), 0);
	assert_int_equal(ymax, 100);
	/* Midpoints 10.5 and 12.5, weights 1 and 3. */
	assert_true(fabs(avg[0] - (10.5 + 3 * 12.5) / 4) < 1e-9);
	assert_true(isnan(avg[1]));
	assert_true(fabs(avg[2] - 7.5) < 1e-9);	/* CA's: only avg[0] */
	assert_int_equal(ks_hm_percentiles(&c.in, &p, 0.5, pct, NULL, &err),
			 0);
	/* Half of 4 = 2: 1 in row 10, then 1 of 3 into row 12. */
	assert_true(fabs(pct[0] - (12 + 1.0 / 3)) < 1e-9);
	assert_true(isnan(pct[1]));
	assert_true(fabs(pct[2] - 7.5) < 1e-9);
	assert_int_equal(ks_hm_percentiles(&c.in, &p, 1, pct, NULL, &err), 0);
	assert_true(fabs(pct[0] - 13) < 1e-9);
	assert_int_equal(ks_hm_percentiles(&c.in, &p, 0, pct, NULL, &err), 0);
	assert_true(fabs(pct[0] - 10) < 1e-9);
	/* JSON: CA's one number (the first column), and one entry per
	 * column with times; null where empty. */
	o = ks_heatmap_percentile(&c.in, &p, &err);
	assert_non_null(o);
	assert_true(fabs(json_number_value(json_object_get(o, "percentile")) -
			 (12 + 1.0 / 3)) < 1e-9);
	a = json_object_get(o, "percentiles");
	assert_int_equal(json_array_size(a), 3);
	assert_true(json_is_null(json_array_get(a, 1)));
	assert_true(fabs(json_number_value(json_array_get(a, 2)) - 7.5) <
		    1e-9);
	assert_int_equal(json_integer_value(json_array_get(
		json_object_get(o, "times"), 2)), 520);
	json_decref(o);
	o = ks_heatmap_average(&c.in, &p, &err);
	assert_non_null(o);
	assert_true(json_is_number(json_object_get(o, "average")));
	assert_int_equal(json_array_size(json_object_get(o, "averages")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "ymax")), 100);
	json_decref(o);
	ks_hmparams_fini(&p);
	cols_fini(&c);
}

static void test_base64(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};

	(void)state;
	/* RFC 4648's test vectors. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = ks_base64_encode(cases[i].in, strlen(cases[i].in));

		assert_non_null(s);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

static int teardown(void **state)
{
	(void)state;
	ks_sym_reset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_defaults),
		cmocka_unit_test(test_params_query_strings),
		cmocka_unit_test(test_params_json_types),
		cmocka_unit_test(test_params_js_numbers),
		cmocka_unit_test(test_params_errors),
		cmocka_unit_test(test_params_key_with_nul),
		cmocka_unit_test(test_params_too_many_selected),
		cmocka_unit_test(test_autoscale_examples),
		cmocka_unit_test(test_autoscale_stability),
		cmocka_unit_test(test_golden_small),
		cmocka_unit_test(test_highlight_rank),
		cmocka_unit_test(test_isolate),
		cmocka_unit_test(test_isolate_nothing),
		cmocka_unit_test(test_exclude_linear),
		cmocka_unit_test(test_decompose_all_linear),
		cmocka_unit_test(test_unknown_selected_key),
		cmocka_unit_test(test_spread_and_weights),
		cmocka_unit_test(test_log_scale),
		cmocka_unit_test(test_auto_ymax_and_json),
		cmocka_unit_test(test_empty_is_white),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_more_samples_than_pixels),
		cmocka_unit_test(test_columns_ca_placement),
		cmocka_unit_test(test_every_sample_drawn),
		cmocka_unit_test(test_row_pixels),
		cmocka_unit_test(test_more_rows_than_pixels),
		cmocka_unit_test(test_mix_truncates),
		cmocka_unit_test(test_spreading_conserves),
		cmocka_unit_test(test_deduction_never_negative),
		cmocka_unit_test(test_details_golden),
		cmocka_unit_test(test_details_match_grid),
		cmocka_unit_test(test_details_errors),
		cmocka_unit_test(test_average_percentile_every_column),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
