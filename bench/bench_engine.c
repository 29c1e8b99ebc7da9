/* bench_engine.c - aggregation throughput and memory of the engine.
 *
 * Throughput: records per second per core (CPU time of the feeding thread)
 * with a realistic spread, and data that is not cache-hot.  A host of 128
 * VMs x 4 vCPUs exits for 8 reasons (skewed as real exits are), so the
 * records span 4,096 distinct (VM, vCPU, reason) keys, with latencies
 * spread over 1 us .. 1 ms, at 100,000 exits/s for 40 s: 4 M records
 * (216 bytes each, 864 MB) generated once, far larger than any cache, then
 * fed in order, in batches of 256 as the sources feed them, to an engine
 * holding three instrumentations of vm.exits with predicates:
 *   A  by vm (128 keys), where vleavereason != hlt
 *   B  by vleavereason and latency, where latency > 5 us
 *   C  by vcpu and latency, where latency >= 2 us and vm is one of 8 VMs
 * Each pass streams the whole array once into a fresh engine; the best of
 * PASSES passes is reported (the host is shared; the best is the one least
 * disturbed) with the median next to it.  After each pass every key's count
 * of every instrumentation, and the engine's added/filtered statistics, are
 * checked against counts made while generating: a wrong count fails the
 * bench (exit 1).  Target: 30 M records/s per core.
 *
 * Memory: the payload one instrumentation of vleavereason,latency holds
 * for an hour of 1 s data (the agent's measured RSS is bench_agent_memory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/symtab.h"

#define NS KS_NSEC_PER_SEC
#define NVM 128
#define NVCPU 4
#define NREASON 8
#define RATE 100000		/* records per trace second */
#ifndef NREC
#define NREC (40 * RATE)
#endif
#define FEED 256		/* records per ks_engine__feed, as sources do */
#ifndef PASSES
#define PASSES 5
#endif
#define TARGET 30e6
#define NPICK 8			/* VMs instrumentation C keeps */

static const char *const reasons[NREASON] = {
	"io", "npf", "msr", "hlt", "interrupt", "cpuid", "vintr", "write_cr" };
/* Skew of real exits: out of 64, per reason. */
static const int weight[NREASON] = { 20, 14, 10, 8, 6, 3, 2, 1 };

struct expect {
	uint64_t a[NVM], b[NREASON], c[NVCPU];
	uint64_t added, filtered;
};

static uint32_t sym_vm[NVM], sym_vcpu[NVCPU], sym_reason[NREASON];

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct ks_instn *mkinstn(struct ks_engine *e, const char *decomp,
				json_t *pred, int retention)
{
	json_t *p = json_pack("{s:s,s:s,s:s,s:i}", "module", "vm", "stat",
			      "exits", "decomposition", decomp,
			      "retention-time", retention);
	struct ks_instn_conf c;
	struct ks_instn *in = NULL;
	struct ks_err err;

	if (pred)
		json_object_set_new(p, "predicate", pred);
	if (ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c, &err) ||
	    ks_engine__create(e, &c, &in, &err)) {
		fprintf(stderr, "bench_engine: %s: %s\n", err.param, err.msg);
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

static int pick_reason(uint64_t x)
{
	int w = (int)(x % 64), k = 0;

	while (w >= weight[k])
		w -= weight[k++];
	return k;
}

/* VMs 0, 16, 32, ... are the ones instrumentation C keeps. */
static int picked(int vm)
{
	return vm % (NVM / NPICK) == 0;
}

static void make_syms(void)
{
	char b[32];

	for (int i = 0; i < NVM; i++) {
		snprintf(b, sizeof(b), "vm-%03d", i);
		sym_vm[i] = ks_sym_intern(b);
	}
	for (int i = 0; i < NVCPU; i++) {
		snprintf(b, sizeof(b), "%d", i);
		sym_vcpu[i] = ks_sym_intern(b);
	}
	for (int i = 0; i < NREASON; i++)
		sym_reason[i] = ks_sym_intern(reasons[i]);
}

/* n records from t0 at RATE per second; counts what each instrumentation
 * must end up with. */
static void make_records(struct ks_record *r, size_t n, uint64_t t0,
			 struct expect *x)
{
	uint64_t seed = 42;

	memset(x, 0, sizeof(*x));
	for (size_t i = 0; i < n; i++) {
		uint64_t h = xs(&seed), h2 = xs(&seed);
		int vm = (int)(h % NVM), vcpu = (int)((h >> 8) % NVCPU);
		int why = pick_reason(h >> 16);
		uint64_t lat = 1000 + ((h2 >> 8) %
				       (1000000 >> ((h2 >> 4) & 7)));
		bool a = why != 3, b = lat > 5000,
		     c = lat >= 2000 && picked(vm);

		memset(&r[i], 0, sizeof(r[i]));
		ks_record_init(&r[i], KS_M_VM_EXITS,
			       t0 + i * (NS / RATE), 1);
		ks_record_set(&r[i], KS_F_VM, sym_vm[vm]);
		ks_record_set(&r[i], KS_F_PID, sym_vm[vm]);
		ks_record_set(&r[i], KS_F_VCPU, sym_vcpu[vcpu]);
		ks_record_set(&r[i], KS_F_VLEAVEREASON, sym_reason[why]);
		ks_record_set(&r[i], KS_F_LATENCY, lat);
		ks_record_set_subsecond(&r[i]);
		x->a[vm] += a;
		x->b[why] += b;
		x->c[vcpu] += c;
		x->added += a + b + c;
		x->filtered += !a + !b + !c;
	}
}

/* Every key of the instrumentation over the whole trace, against want. */
static int check(struct ks_instn *in, const char *name, const uint32_t *sym,
		 const uint64_t *want, int nkeys)
{
	struct ks_value v;
	int bad = 0;

	if (ks_dataset__value(in->ds, 0, 1000000, &v)) {
		fprintf(stderr, "bench_engine: %s: no value\n", name);
		return 1;
	}
	for (int k = 0; k < nkeys; k++) {
		const struct ks_value_entry *e = ks_value__find(&v, sym[k]);
		uint64_t got = e ? e->count : 0;

		if (got != want[k]) {
			fprintf(stderr, "bench_engine: %s: key %s: %llu, want %llu\n",
				name, ks_sym_str(sym[k]),
				(unsigned long long)got,
				(unsigned long long)want[k]);
			bad = 1;
		}
	}
	ks_value_fini(&v);
	return bad;
}

static json_t *pred_c(void)
{
	json_t *or = json_array();
	char b[32];

	for (int i = 0; i < NVM; i++) {
		if (!picked(i))
			continue;
		snprintf(b, sizeof(b), "vm-%03d", i);
		json_array_append_new(or, json_pack("{s:[s,s]}", "eq", "vm", b));
	}
	return json_pack("{s:[{s:[s,i]},{s:o}]}", "and", "ge", "latency", 2000,
			 "or", or);
}

/* One pass: a fresh engine, the whole array fed once; CPU seconds, or a
 * negative number if a count is wrong. */
static double pass(const struct ks_record *r, const struct expect *x)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *a, *b, *c;
	const struct ks_engine_stats *st;
	double t0, dt;
	int bad = 0;

	ks_engine__follow_records(e, true);
	a = mkinstn(e, "vm", json_pack("{s:[s,s]}", "ne", "vleavereason",
				       "hlt"), 600);
	b = mkinstn(e, "vleavereason,latency",
		    json_pack("{s:[s,i]}", "gt", "latency", 5000), 600);
	c = mkinstn(e, "vcpu,latency", pred_c(), 600);
	t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	for (size_t i = 0; i < NREC; i += FEED)
		ks_engine__feed(e, r + i, NREC - i < FEED ? NREC - i : FEED);
	dt = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
	st = ks_engine__stats(e);
	bad |= check(a, "A (vm)", sym_vm, x->a, NVM);
	bad |= check(b, "B (vleavereason)", sym_reason, x->b, NREASON);
	bad |= check(c, "C (vcpu)", sym_vcpu, x->c, NVCPU);
	if (st->added != x->added || st->filtered != x->filtered ||
	    st->records != NREC) {
		fprintf(stderr, "bench_engine: stats: %llu records, %llu added, "
			"%llu filtered; want %d, %llu, %llu\n",
			(unsigned long long)st->records,
			(unsigned long long)st->added,
			(unsigned long long)st->filtered, NREC,
			(unsigned long long)x->added,
			(unsigned long long)x->filtered);
		bad = 1;
	}
	ks_engine__free(e);
	return bad ? -1 : dt;
}

static int cmp_d(const void *p, const void *q)
{
	double a = *(const double *)p, b = *(const double *)q;

	return (a > b) - (a < b);
}

static int bench_throughput(void)
{
	struct ks_record *r = malloc(sizeof(*r) * (size_t)NREC);
	struct expect x;
	double t[PASSES], w0, wall;

	if (!r) {
		fprintf(stderr, "bench_engine: no memory for %d records\n", NREC);
		return 1;
	}
	make_syms();
	make_records(r, NREC, 1000 * NS, &x);
	w0 = clock_s(CLOCK_MONOTONIC);
	for (int p = 0; p < PASSES; p++)
		if ((t[p] = pass(r, &x)) < 0)
			return 1;
	wall = clock_s(CLOCK_MONOTONIC) - w0;
	free(r);
	qsort(t, PASSES, sizeof(t[0]), cmp_d);
	printf("engine: %d records (%zu MB, streamed once per pass), %d VMs x "
	       "%d vCPUs x %d reasons = %d keys, 3 instrumentations with "
	       "predicates, batches of %d; counts checked: all right\n",
	       NREC, sizeof(*r) * (size_t)NREC >> 20, NVM, NVCPU, NREASON,
	       NVM * NVCPU * NREASON, FEED);
	printf("engine_records_per_s %.0f (CPU time, best of %d passes; "
	       "median %.0f; wall %.0f)\n", NREC / t[0], PASSES,
	       NREC / t[PASSES / 2], NREC * (double)PASSES / wall);
	printf("engine: target 30000000 records/s per core: %s (ratio %.2f)\n",
	       NREC / t[0] >= TARGET ? "met" : "NOT met",
	       NREC / t[0] / TARGET);
	return 0;
}

static void bench_memory(void)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *in = mkinstn(e, "vleavereason,latency", NULL, 3600);
	static struct ks_record r[4096];
	uint64_t seed = 7;

	/* An hour of 1 s data at 4096 exits/s over 8 reasons. */
	for (int s = 0; s < 3600; s++) {
		for (size_t i = 0; i < 4096; i++) {
			uint64_t h = xs(&seed);

			ks_record_init(&r[i], KS_M_VM_EXITS,
				       (uint64_t)(10000 + s) * NS + i * (NS / 4096), 1);
			ks_record_set(&r[i], KS_F_VLEAVEREASON, sym_reason[h & 7]);
			ks_record_set(&r[i], KS_F_LATENCY, 1000 + ((h >> 8) %
				      (1000000 >> ((h >> 4) & 7))));
		}
		ks_engine__feed(e, r, 4096);
	}
	printf("instn_bytes_per_hour_1s %zu (payload, not RSS: vm.exits by "
	       "vleavereason,latency; 8 keys, 4096 records/s)\n",
	       ks_dataset__bytes(in->ds));
	ks_engine__free(e);
}

int main(void)
{
	int rc = bench_throughput();

	if (!rc)
		bench_memory();
	ks_sym_reset();
	return rc;
}
