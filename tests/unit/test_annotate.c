/* test_annotate.c - the replay figure: our font, axes, legend, and a plot
 * area that is the bare heatmap pixel for pixel; human units.
 *
 * Figures are encoded to PNG and decoded again with libpng, so what is
 * checked is what a viewer shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "engine/value.h"
#include "render/annotate.h"
#include "render/heatmap.h"
#include "util/units.h"

struct scene {
	struct ks_value v[20];
	const struct ks_value *p[20];
	struct ks_hm_input in;
};

/* 20 one-second columns; keys a and b at latencies growing with time. */
static void scene_init(struct scene *s, bool keys)
{
	for (size_t i = 0; i < 20; i++) {
		ks_value_init(&s->v[i], keys ? KS_ARITY_DISCRETE_NUMERIC :
				       KS_ARITY_NUMERIC);
		assert_int_equal(ks_value__add(&s->v[i], keys ?
				 ks_sym_intern("a") : 0,
				 ks_ll_index(1000 * (i + 1)), 1 + i % 4), 0);
		assert_int_equal(ks_value__add(&s->v[i], keys ?
				 ks_sym_intern("b") : 0,
				 ks_ll_index(50000), 2), 0);
		s->p[i] = &s->v[i];
	}
	s->in = (struct ks_hm_input){ s->p, 20, 5000, 1 };
}

static void scene_fini(struct scene *s)
{
	for (size_t i = 0; i < 20; i++)
		ks_value_fini(&s->v[i]);
}

static struct ks_heatmap *render(const struct scene *s, const char *json)
{
	struct ks_hmparams p;
	struct ks_err err;
	json_error_t jerr;
	json_t *o = json_loads(json, 0, &jerr);
	struct ks_heatmap *hm;

	assert_non_null(o);
	assert_int_equal(ks_hmparams__parse(&p, o, &err), 0);
	json_decref(o);
	hm = ks_heatmap__render(&s->in, &p, &err);
	ks_hmparams_fini(&p);
	if (!hm)
		fail_msg("%s", err.msg);
	return hm;
}

static uint8_t *decode(const struct ks_hm_figure *f)
{
	png_image img;
	uint8_t *buf;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	assert_true(png_image_begin_read_from_memory(&img, f->png,
						     f->png_len));
	assert_int_equal(img.width, f->width);
	assert_int_equal(img.height, f->height);
	img.format = PNG_FORMAT_RGB;
	buf = malloc(PNG_IMAGE_SIZE(img));
	assert_non_null(buf);
	assert_true(png_image_finish_read(&img, NULL, buf, 0, NULL));
	assert_memory_equal(buf, f->rgb, (size_t)f->width * f->height * 3);
	return buf;
}

static const uint8_t *at(const uint8_t *rgb, uint32_t w, uint32_t x,
			 uint32_t y)
{
	return rgb + ((size_t)y * w + x) * 3;
}

static bool is(const uint8_t *px, int r, int g, int b)
{
	return px[0] == r && px[1] == g && px[2] == b;
}

/* Black pixels (text) in the rectangle [x0, x1) x [y0, y1). */
static size_t inked(const uint8_t *rgb, uint32_t w, uint32_t x0, uint32_t y0,
		    uint32_t x1, uint32_t y1)
{
	size_t n = 0;

	for (uint32_t y = y0; y < y1; y++)
		for (uint32_t x = x0; x < x1; x++)
			n += is(at(rgb, w, x, y), 0, 0, 0);
	return n;
}

static const struct ks_hm_annot annot = {
	.title = "vm.exits by latency", .subtitle = "a test scene",
	.ylabel = "latency", .yunit = KS_UNIT_NS, .xlabel = "time",
	.tspan = 20,
};

/* The plot area is the bare heatmap; axes, ticks, title, legend are
 * around it. */
static void check_figure(struct ks_heatmap *hm, const struct ks_hm_annot *a)
{
	uint32_t pw, ph, x, y;
	const uint8_t *bare = ks_heatmap__pixels(hm, &pw, &ph);
	struct ks_hm_figure f;
	uint8_t *rgb;

	assert_int_equal(ks_hm_figure__draw(&f, hm, a), 0);
	rgb = decode(&f);
	assert_true(f.plot_x > 20 && f.plot_y > 20);
	assert_true(f.width > f.plot_x + pw + 40);
	assert_true(f.height > f.plot_y + ph + 20);
	for (y = 0; y < ph; y++)
		assert_memory_equal(at(rgb, f.width, f.plot_x, f.plot_y + y),
				    bare + (size_t)y * pw * 3, (size_t)pw * 3);
	for (y = f.plot_y; y < f.plot_y + ph; y++)	/* value axis */
		assert_true(is(at(rgb, f.width, f.plot_x - 1, y), 80, 80, 80));
	for (x = f.plot_x; x < f.plot_x + pw; x++)	/* time axis */
		assert_true(is(at(rgb, f.width, x, f.plot_y + ph), 80, 80, 80));
	/* Tick labels, the title, the legend's words. */
	assert_true(inked(rgb, f.width, 0, f.plot_y - 4, f.plot_x - 5,
			  f.plot_y + ph + 4) > 20);
	assert_true(inked(rgb, f.width, f.plot_x - 10, f.plot_y + ph + 2,
			  f.plot_x + pw + 10, f.plot_y + ph + 16) > 20);
	assert_true(inked(rgb, f.width, 0, 0, f.width, 24) > 50);
	assert_true(inked(rgb, f.width, f.plot_x + pw + 2, f.plot_y,
			  f.width, f.height) > 20);
	free(rgb);
	ks_hm_figure__fini(&f);
}

/* A legend swatch of exactly map m's colour at level 1 is right of the
 * plot. */
static bool has_swatch(const uint8_t *rgb, const struct ks_hm_figure *f,
		       uint32_t pw, const uint8_t want[3])
{
	for (uint32_t y = f->plot_y; y < f->height; y++)
		for (uint32_t x = f->plot_x + pw + 2; x + 8 < f->width; x++)
			if (!memcmp(at(rgb, f->width, x, y), want, 3) &&
			    !memcmp(at(rgb, f->width, x + 8, y), want, 3))
				return true;
	return false;
}

static void test_plot_is_bare_heatmap(void **state)
{
	struct scene s;
	struct ks_heatmap *hm;

	(void)state;
	scene_init(&s, false);
	hm = render(&s, "{\"width\":200,\"height\":100}");
	check_figure(hm, &annot);
	ks_heatmap__free(hm);
	hm = render(&s, "{\"width\":37,\"height\":450,\"scale\":\"log\","
		    "\"ymax\":100000}");
	check_figure(hm, &annot);
	ks_heatmap__free(hm);
	scene_fini(&s);
}

static void test_legend_keys(void **state)
{
	struct ks_hm_figure f;
	struct ks_heatmap *hm;
	struct scene s;
	uint8_t *rgb, c[3];
	uint32_t pw, ph;

	(void)state;
	scene_init(&s, true);
	hm = render(&s, "{\"width\":300,\"height\":100,"
		    "\"decompose_all\":true}");
	check_figure(hm, &annot);
	assert_int_equal(ks_heatmap__nmaps(hm), 3);
	ks_heatmap__pixels(hm, &pw, &ph);
	assert_int_equal(ks_hm_figure__draw(&f, hm, &annot), 0);
	rgb = decode(&f);
	for (size_t m = 0; m < 3; m++) {
		ks_heatmap__color(hm, m, 1, c);
		assert_true(has_swatch(rgb, &f, pw, c));
	}
	free(rgb);
	ks_hm_figure__fini(&f);
	ks_heatmap__free(hm);
	scene_fini(&s);
}

static void test_legend_counts(void **state)
{
	static const double lv[] = { 1, 0.5, 1e-9 };
	struct ks_heatmap *hm;
	struct scene s;
	double c[3];

	(void)state;
	/* Cells hold 1..4 (a's) and 2 (b's) a sample, spread over rows
	 * only when a bucket straddles them: the top level is the largest
	 * cell, the lowest the smallest, and rank puts 2 at or above half. */
	scene_init(&s, false);
	hm = render(&s, "{\"width\":20,\"height\":100,\"ymax\":100000,"
		    "\"nbuckets\":100}");
	assert_int_equal(ks_heatmap__legend(hm, lv, c, 3), 0);
	assert_true(c[0] >= c[1] && c[1] >= c[2] && c[2] > 0);
	ks_heatmap__free(hm);
	hm = render(&s, "{\"width\":20,\"height\":100,\"ymax\":100000,"
		    "\"nbuckets\":100,\"coloring\":\"linear\"}");
	assert_int_equal(ks_heatmap__legend(hm, lv, c, 3), 0);
	assert_true(c[1] * 2 == c[0]);
	ks_heatmap__free(hm);
	scene_fini(&s);
}

static void test_font(void **state)
{
	(void)state;
	assert_int_equal(ks_hm_text_width(""), 0);
	assert_int_equal(ks_hm_text_width("a"), 5);
	assert_int_equal(ks_hm_text_width("12.3us"), 35);
}

static void test_units(void **state)
{
	static const struct {
		double v;
		enum ks_unit u;
		const char *want;
	} cases[] = {
		{ 0, KS_UNIT_NS, "0" },
		{ 850, KS_UNIT_NS, "850ns" },
		{ 999.4, KS_UNIT_NS, "999ns" },
		{ 999.6, KS_UNIT_NS, "1us" },
		{ 12345, KS_UNIT_NS, "12.3us" },
		{ 1500000, KS_UNIT_NS, "1.5ms" },
		{ 5119, KS_UNIT_NS, "5.12us" },
		{ 2e9, KS_UNIT_NS, "2s" },
		{ 3.6e12, KS_UNIT_NS, "3600s" },
		{ 250, KS_UNIT_MS, "250ms" },
		{ 1250, KS_UNIT_MS, "1.25s" },
		{ 512, KS_UNIT_BYTES, "512B" },
		{ 4096, KS_UNIT_BYTES, "4KiB" },
		{ 1572864, KS_UNIT_BYTES, "1.5MiB" },
		{ 950, KS_UNIT_NONE, "950" },
		{ 12300, KS_UNIT_NONE, "12.3k" },
		{ 0.83, KS_UNIT_NONE, "0.83" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(ks_units_fmt(buf, sizeof(buf), cases[i].v,
						 cases[i].u), cases[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plot_is_bare_heatmap),
		cmocka_unit_test(test_legend_keys),
		cmocka_unit_test(test_legend_counts),
		cmocka_unit_test(test_font),
		cmocka_unit_test(test_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
