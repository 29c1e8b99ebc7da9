/* fuzz_heatmap_params.c - libFuzzer target for heatmap parameters.
 *
 * Input: JSON text, as the heatmap resources receive their parameters.  A
 * rejected input must say which parameter is wrong and why; an accepted
 * one is rendered (image, JSON with grid and base64 PNG, details, average,
 * percentile) from fixed synthetic columns that cover the awkward cases:
 * empty and missing columns, dense and compacted distributions, a key with
 * no name, values in the top bucket, a total with events no key holds, and
 * more columns than narrow images have pixels.  Besides "no crash, no
 * leak, no UB", it checks what must hold for any accepted request: the
 * image has the requested size, the grid is never negative, and details'
 * parts add up to its total.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "engine/value.h"
#include "render/heatmap.h"
#include "render/hmparams.h"
#include "render/hmstats.h"

#define NCOLS 64
#define MAXDIM 160	/* keeps each run fast; geometry still varies */

static struct ks_value vals[NCOLS];
static const struct ks_value *cols[NCOLS];

static void add(size_t c, const char *key, uint64_t v, uint64_t n)
{
	if (ks_value__add(&vals[c], key ? ks_sym_intern(key) : 0,
			  ks_ll_index(v), n))
		abort();
	cols[c] = &vals[c];
}

static void setup(void)
{
	static const char *const keys[] = { "io", "hlt", "msr", "" };
	uint64_t seed = 12345;

	for (size_t c = 0; c < NCOLS; c++) {
		ks_value_init(&vals[c], KS_ARITY_DISCRETE_NUMERIC);
		if (c % 7 == 3)
			continue;	/* no data */
		for (int i = 0; i < 20; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			add(c, keys[(seed >> 33) % 4], (seed >> 20) % 200000,
			    1 + (seed >> 50) % 9);
		}
		if (c % 11 == 5)
			add(c, "io", UINT64_MAX, 1);
		if (c % 2 && ks_value__compact(&vals[c]))
			abort();
	}
	/* Events that no key accounts for. */
	if (ks_dist__add(&vals[1].dist, 5000, 3))
		abort();
	vals[1].total += 3;
}

static void check_image(const struct ks_hm_input *in,
			const struct ks_hmparams *p)
{
	struct ks_err err;
	struct ks_heatmap *hm = ks_heatmap__render(in, p, &err);
	uint32_t w, h;
	json_t *o, *counts, *m, *c, *x;
	size_t i, j, k;
	size_t len;

	if (!hm) {
		/* Only decompose_all can fail here: more keys than hues. */
		if (p->mode != KS_HM_DECOMPOSE_ALL || strcmp(err.param, "hues"))
			abort();
		return;
	}
	ks_heatmap__pixels(hm, &w, &h);
	if (w != p->width || h != p->height || !ks_heatmap__png(hm, &len) ||
	    !len)
		abort();
	o = ks_heatmap__to_json(hm, KS_HM_JSON_IMAGE | KS_HM_JSON_GRID);
	if (!o)
		abort();
	counts = json_object_get(json_object_get(o, "grid"), "counts");
	json_array_foreach(counts, i, m)
		json_array_foreach(m, j, c)
			json_array_foreach(c, k, x)
				if (json_number_value(x) < 0)
					abort();
	json_decref(o);
	ks_heatmap__free(hm);
}

static void check_stats(const struct ks_hm_input *in,
			const struct ks_hmparams *p)
{
	struct ks_err err;
	json_t *o;

	if (p->has_x && p->has_y) {
		json_int_t sum = 0;
		const char *key;
		json_t *v;

		if (!(o = ks_heatmap_details(in, p, &err)))
			abort();
		json_object_foreach(json_object_get(o, "present"), key, v)
			sum += json_integer_value(v);
		if (json_object_size(json_object_get(o, "present")) &&
		    sum != json_integer_value(json_object_get(o, "total")))
			abort();
		json_decref(o);
	}
	if (!(o = ks_heatmap_average(in, p, &err)))
		abort();
	json_decref(o);
	if (p->has_percentile) {
		if (!(o = ks_heatmap_percentile(in, p, &err)))
			abort();
		json_decref(o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct ks_hm_input in = { cols, NCOLS, 1700000000, 1 };
	struct ks_hmparams p;
	struct ks_err err = { "", "" };
	json_t *o;

	if (!ready) {
		setup();
		ready = 1;
	}
	o = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!o)
		return 0;
	if (ks_hmparams__parse(&p, o, &err)) {
		if (!err.msg[0])
			abort();	/* a rejection always says why */
		json_decref(o);
		return 0;
	}
	json_decref(o);
	if (p.width > MAXDIM)
		p.width = MAXDIM;
	if (p.height > MAXDIM)
		p.height = MAXDIM;
	if (p.x >= p.width)
		p.x = p.width - 1;
	if (p.y >= p.height)
		p.y = p.height - 1;
	check_image(&in, &p);
	check_stats(&in, &p);
	ks_hmparams_fini(&p);
	return 0;
}
