/* bench_guestflood.c - RSS under guests that never repeat a RIP or a cr3.
 *
 * Eight VMs of four vCPUs sample at 99 Hz, as bpf_samples does, but every
 * sample is at a new guest RIP and a new cr3 (a guest forking short-lived
 * processes, or an attacker); records go through the sampler's record
 * builder (source/samplerec.c) into the engine, which keeps two
 * instrumentations decomposed by guestrip and vmmmuctx with a 60 s
 * retention, and the symbol table is swept once a simulated second, as
 * the agent does.  Prints the RSS after the first retention has filled
 * (start) and at the end, their ratio (target: 1.0, flat), what the
 * symbol table and the caps did, and the same flood's symbol count
 * without sweeps (what main did: every key kept).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/symtab.h"
#include "source/samplerec.h"

#define NS KS_NSEC_PER_SEC
#define VMS 8
#define VCPUS 4
#define HZ 99
#define RETENTION 60

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static void mkinstn(struct ks_engine *e, const char *decomp)
{
	json_t *p = json_pack("{s:s,s:s,s:s,s:i,s:i}", "module", "vm", "stat",
			      "thread_samples", "decomposition", decomp,
			      "retention-time", RETENTION, "idle-max", 0);
	struct ks_instn_conf c;
	struct ks_err err;

	if (ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c, &err) ||
	    ks_engine__create(e, &c, NULL, &err)) {
		fprintf(stderr, "bench: %s: %s\n", err.param, err.msg);
		exit(1);
	}
	json_decref(p);
}

/* One simulated second of samples, all at new addresses. */
static void second(struct ks_engine *e, uint64_t sec, uint64_t *n)
{
	static struct ks_record r[VMS * VCPUS * HZ];
	size_t k = 0;

	for (uint32_t vm = 0; vm < VMS; vm++)
		for (uint32_t cpu = 0; cpu < VCPUS; cpu++)
			for (uint32_t i = 0; i < HZ; i++, (*n)++) {
				struct ks_sample_key key = {
					.cr3 = 0x100000000ull + *n * 4096,
					.rip = 0xffffffff81000000ull + *n * 16,
					.tgid = 3000 + vm, .vcpu = cpu,
					.row = (uint16_t)(i * 10 / HZ),
					.mode = KS_SMODE_KERNEL,
					.flags = KS_SMP_CR3 | KS_SMP_RIP,
				};

				if (!ks_samplerec(&key, 1, sec * NS + i * (NS / HZ),
						  100000000, &r[k]))
					k++;
			}
	ks_engine__feed(e, r, k);
}

static void run(uint64_t seconds, bool sweep, long *start, long *end,
		struct ks_sym_stats *st, struct ks_engine_stats *es)
{
	struct ks_engine *e = ks_engine__new();
	uint64_t t0 = 1000000, n = 0;

	mkinstn(e, "guestrip");
	mkinstn(e, "vmmmuctx");
	for (uint64_t s = 0; s < seconds; s++) {
		ks_engine__tick(e, (t0 + s) * NS);
		second(e, t0 + s, &n);
		if (sweep)
			ks_sym_sweep();
		if (s == 2 * RETENTION)
			*start = rss_kb();
	}
	*end = rss_kb();
	ks_sym_stats(st);
	*es = *ks_engine__stats(e);
	ks_engine__free(e);
}

int main(void)
{
	uint64_t seconds = getenv("BENCH_GUESTFLOOD_S") ?
			   strtoull(getenv("BENCH_GUESTFLOOD_S"), NULL, 10) :
			   300;
	struct ks_engine_stats es;
	struct ks_sym_stats st;
	long start = 0, end = 0, s2 = 0, e2 = 0;

	if (seconds < 2 * RETENTION + 10)
		seconds = 2 * RETENTION + 10;
	run(seconds, true, &start, &end, &st, &es);
	printf("guestflood_seconds %llu\n", (unsigned long long)seconds);
	printf("guestflood_new_keys_per_s %d\n", 2 * VMS * VCPUS * HZ);
	printf("guestflood_rss_start_kb %ld\n", start);
	printf("guestflood_rss_end_kb %ld\n", end);
	printf("guestflood_rss_end_over_start %.3f (target 1.0: flat)\n",
	       start > 0 ? (double)end / (double)start : 0.0);
	printf("guestflood_symbols_end %zu\n", st.count);
	printf("guestflood_symbols_freed %llu\n", (unsigned long long)st.freed);
	printf("guestflood_symbols_dropped %llu\n",
	       (unsigned long long)(st.dropped + st.scope_dropped));
	printf("guestflood_records_added %llu\n", (unsigned long long)es.added);
	ks_sym_reset();
	/* The peer: the same flood with nothing ever freed (as before). */
	ks_sym_set_limits(SIZE_MAX, SIZE_MAX);
	run(seconds, false, &s2, &e2, &st, &es);
	printf("guestflood_unswept_symbols_end %zu\n", st.count);
	printf("guestflood_unswept_rss_end_kb %ld\n", e2);
	printf("guestflood_unswept_rss_over_swept %.2f\n",
	       end > 0 ? (double)e2 / (double)end : 0.0);
	ks_sym_reset();
	return 0;
}
