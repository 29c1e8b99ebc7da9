/* bench_heatmap.c - time to render one heatmap image (target: < 10 ms).
 *
 * The busiest picture a browser asks for: an hour of 1 s slots (3600
 * columns) on CA's default 600x300 image with 100 rows, rank colouring,
 * two of four keys highlighted.  Each slot holds realistic latency
 * distributions, per key a log-normal body of about 2000 events (medians
 * from 2 us to 500 us, around 140 non-empty log-linear buckets each) plus a
 * sparse tail out to milliseconds, compacted as closed dataset slots are.
 * The time covers everything an image request costs after the data is
 * found: autoscale, re-bucketing with deduction, rank normalisation,
 * colouring and PNG encoding.  The median of several runs is printed, in
 * CPU time of the rendering thread (a render is single-threaded, and on a
 * shared 2-core machine wall time mostly measures the other processes),
 * with the wall-clock median on a line of its own.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine/symtab.h"
#include "engine/value.h"
#include "render/heatmap.h"
#include "render/hmstats.h"

#define NSLOTS 3600
#define RUNS 15

static const struct {
	const char *key;
	double median_ns, sigma, events;
} shapes[] = {
	{ "io", 30000, 0.5, 2500 },
	{ "hlt", 500000, 0.8, 800 },
	{ "msr", 2000, 0.3, 3000 },
	{ "ept_violation", 8000, 0.6, 1500 },
};

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static double uniform(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (double)(rnd_state >> 11) / 9007199254740992.0;
}

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct times {
	double cpu, wall;	/* medians, ms */
};

/* One key's distribution for one second: the log-normal density over the
 * buckets within a factor 20 of the median, with +-30% noise and a load
 * that drifts over the hour, plus a few slow outliers. */
static void fill_key(struct ks_value *v, uint32_t key, size_t k, size_t slot)
{
	double m = shapes[k].median_ns, s = shapes[k].sigma;
	double load = 1 + 0.5 * sin(slot / 300.0 + k);
	uint32_t i0 = ks_ll_index((uint64_t)(m / 20));
	uint32_t i1 = ks_ll_index((uint64_t)(m * 20));

	for (uint32_t i = i0; i <= i1; i++) {
		double lo = (double)ks_ll_lo(i), w = ks_ll_hi(i) - lo + 1;
		double x = log((lo + w / 2) / m) / s;
		double c = shapes[k].events * load * exp(-x * x / 2) * w /
			   ((lo + w / 2) * s * 2.5066);

		c *= 0.7 + 0.6 * uniform();
		if (c >= 0.5 && ks_value__add(v, key, i, (uint64_t)(c + 0.5)))
			exit(1);
	}
	for (int t = 0; t < 3; t++) {
		uint64_t slow = (uint64_t)(m * (20 + 500 * uniform()));

		if (uniform() < 0.3 &&
		    ks_value__add(v, key, ks_ll_index(slow), 1))
			exit(1);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *t, size_t n)
{
	qsort(t, n, sizeof(*t), cmp_double);
	return t[n / 2];
}

/* Median ms of RUNS renders with the given parameters. */
static struct times time_render(const struct ks_hm_input *in,
				const char *json)
{
	json_t *o = json_loads(json, 0, NULL);
	struct ks_hmparams p;
	struct ks_err err;
	double t[RUNS], w[RUNS];

	if (!o || ks_hmparams__parse(&p, o, &err)) {
		fprintf(stderr, "bench: bad params %s\n", json);
		exit(1);
	}
	json_decref(o);
	for (int r = 0; r < RUNS; r++) {
		double c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
		double w0 = clock_ms(CLOCK_MONOTONIC);
		struct ks_heatmap *hm = ks_heatmap__render(in, &p, &err);

		t[r] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
		w[r] = clock_ms(CLOCK_MONOTONIC) - w0;
		if (!hm) {
			fprintf(stderr, "bench: %s: %s\n", err.param, err.msg);
			exit(1);
		}
		ks_heatmap__free(hm);
	}
	ks_hmparams_fini(&p);
	return (struct times){ median(t, RUNS), median(w, RUNS) };
}

/* Median ms (CPU) of the percentile of every column. */
static double time_percentile(const struct ks_hm_input *in)
{
	json_t *o = json_pack("{s:f}", "percentile", 0.99);
	struct ks_hmparams p;
	struct ks_err err;
	double t[RUNS];

	if (ks_hmparams__parse(&p, o, &err))
		exit(1);
	json_decref(o);
	for (int r = 0; r < RUNS; r++) {
		double t0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
		json_t *res = ks_heatmap_percentile(in, &p, &err);

		t[r] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - t0;
		if (!res)
			exit(1);
		json_decref(res);
	}
	return median(t, RUNS);
}

int main(void)
{
	static struct ks_value v[NSLOTS];
	static const struct ks_value *cols[NSLOTS];
	struct ks_hm_input in = { cols, NSLOTS, 1700000000, 1 };
	struct times t;

	for (size_t s = 0; s < NSLOTS; s++) {
		ks_value_init(&v[s], KS_ARITY_DISCRETE_NUMERIC);
		for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++)
			fill_key(&v[s], ks_sym_intern(shapes[k].key), k, s);
		if (ks_value__compact(&v[s]))
			return 1;
		cols[s] = &v[s];
	}
	t = time_render(&in, "{\"selected\":\"io,hlt\"}");
	printf("heatmap_image_600x300_3600slots_ms %.2f (target 10, ratio "
	       "%.2f)\n", t.cpu, t.cpu / 10);
	printf("heatmap_image_600x300_3600slots_wall_ms %.2f\n", t.wall);
	t = time_render(&in, "{\"decompose_all\":true,"
			     "\"coloring\":\"linear\",\"scale\":\"log\"}");
	printf("heatmap_image_600x300_3600slots_all_keys_log_ms %.2f\n",
	       t.cpu);
	printf("heatmap_percentile_3600slots_ms %.2f\n", time_percentile(&in));
	for (size_t s = 0; s < NSLOTS; s++)
		ks_value_fini(&v[s]);
	ks_sym_reset();
	return 0;
}
