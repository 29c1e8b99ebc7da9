/* bench_engine.c - aggregation throughput and memory of the engine.
 *
 * Measures records per second per core fed into one instrumentation of
 * vm.exits decomposed by vleavereason (discrete) and latency (numeric), the
 * shape of the busiest live instrumentation (target: 20 million/s), and the
 * memory one such instrumentation holds for an hour of 1 s data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/symtab.h"

#define NS KS_NSEC_PER_SEC
#define BATCH 4096

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct ks_instn *mkinstn(struct ks_engine *e, const char *decomp,
				int retention)
{
	json_t *p = json_pack("{s:s,s:s,s:s,s:i}", "module", "vm", "stat",
			      "exits", "decomposition", decomp,
			      "retention-time", retention);
	struct ks_instn_conf c;
	struct ks_instn *in = NULL;
	struct ks_err err;

	if (ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c, &err) ||
	    ks_engine__create(e, &c, &in, &err)) {
		fprintf(stderr, "bench: %s: %s\n", err.param, err.msg);
		exit(1);
	}
	json_decref(p);
	return in;
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Realistic exits: a few reasons, latencies spread over 1 us .. 1 ms. */
static void make_batch(struct ks_record *r, size_t n, uint64_t t0,
		       uint64_t span_ns, uint64_t *seed)
{
	static const char *reasons[] = { "io", "npf", "msr", "hlt", "interrupt",
					 "cpuid", "vintr", "write_cr" };
	uint32_t sym[8];

	for (int k = 0; k < 8; k++)
		sym[k] = ks_sym_intern(reasons[k]);
	for (size_t i = 0; i < n; i++) {
		uint64_t x = xs(seed);

		ks_record_init(&r[i], KS_M_VM_EXITS, t0 + i * span_ns / n, 1);
		ks_record_set(&r[i], KS_F_VLEAVEREASON, sym[x & 7]);
		ks_record_set(&r[i], KS_F_LATENCY, 1000 + ((x >> 8) % (1000000 >> ((x >> 4) & 7))));
		ks_record_set(&r[i], KS_F_VCPU, sym[0]);
	}
}

static void bench_throughput(void)
{
	struct ks_engine *e = ks_engine__new();
	static struct ks_record r[BATCH];
	uint64_t seed = 42, nrec = 0;
	double t0, dt;

	mkinstn(e, "vleavereason,latency", 600);
	make_batch(r, BATCH, 1000 * NS, NS / 1000, &seed);
	t0 = now_s();
	do {
		/* A second's worth of batches, then move on a second so
		 * slots advance as they do live. */
		for (int rep = 0; rep < 256; rep++) {
			ks_engine__feed(e, r, BATCH);
			nrec += BATCH;
		}
		for (size_t i = 0; i < BATCH; i++)
			r[i].ts += NS;
		dt = now_s() - t0;
	} while (dt < 2.0);
	printf("engine_records_per_s %.0f (target 20000000, ratio %.2f)\n",
	       nrec / dt, nrec / dt / 20e6);
	ks_engine__free(e);
}

static void bench_memory(void)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *in = mkinstn(e, "vleavereason,latency", 3600);
	static struct ks_record r[BATCH];
	uint64_t seed = 7;

	/* An hour of 1 s data at 4096 exits/s over 8 reasons. */
	for (int s = 0; s < 3600; s++) {
		make_batch(r, BATCH, (uint64_t)(10000 + s) * NS, NS, &seed);
		ks_engine__feed(e, r, BATCH);
	}
	printf("instn_bytes_per_hour_1s %zu (vm.exits by vleavereason,latency;"
	       " 8 keys, 4096 records/s)\n", ks_dataset__bytes(in->ds));
	ks_engine__free(e);
}

int main(void)
{
	bench_throughput();
	bench_memory();
	ks_sym_reset();
	return 0;
}
