/* bench_probe_cost.c - what the exits probe costs per VM exit, on this host.
 *
 * KVM events need a running guest, so the exits probe's per-exit work -
 * exit_begin() at kvm_exit and exit_end() at kvm_entry, the very inline
 * code of src/bpf/exitpath.bpf.h, on the probe's own maps - is driven from
 * syscall tracepoints instead: the exits object's ks_bench_exit program
 * runs exit_begin() at getppid()'s entry and ks_bench_entry runs
 * exit_end() at its return, for this process only.  The baseline is
 * ks_bench_base on the same tracepoint, which only bumps a per-CPU
 * counter: the least any tracepoint counter (bpftrace's count(), say)
 * can do.
 *
 * Two measures, REPS times each with the three configurations alternating:
 *   - the kernel's BPF statistics (bpf_enable_stats, what
 *     kernel.bpf_stats_enabled turns on): run_time_ns / run_cnt of each
 *     program, the probe's being the sum of its two programs per event;
 *   - the wall clock: ns per getppid() with nothing, the baseline or the
 *     probe attached; the difference is what a traced event costs the
 *     traced thread, tracepoint dispatch included.
 * Medians are printed as `key value` lines, and the probe's counts are
 * checked: every getppid() must be counted once, with a latency, under the
 * key the programs write.  Needs root; prints why and exits 0 where it
 * cannot run (make bench goes on).
 *
 * `bench_probe_cost --kvm PID` is the real path, for the lab (the
 * probe-cost scenario, bench/bench_lab_probe_cost.sh): it attaches a bare
 * per-CPU counter to each KVM tracepoint the agent runs on per exit
 * (kvm_exit, kvm_entry, kvm_userspace_exit, kvm_pio), turns the BPF
 * statistics on, and at SIGINT prints the run counts and ns per run of
 * those counters and of every program process PID (a running kvmscope)
 * holds, over the same window, with each program's ratio to the counter
 * on its hook and the agent's total per exit.  With "@PIDFILE" for PID
 * the counters attach first (they run before the agent's programs on
 * each event, not after): the window opens at SIGUSR1, when PIDFILE
 * names the agent.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bpf/exits.h"
#include "exits.skel.h"
#include "source/bpfcost.h"
#include "source/bpfgen.h"

/* getppid() per measurement; BENCH_PROBE_CALLS sets fewer (an emulated
 * CPU in the lab runs a hundredth of them in the same time). */
static long calls = 500000;
#define REPS 7
#define TP "/sys/kernel/tracing/events/syscalls/sys_enter_getppid"

enum cfg { CFG_NONE, CFG_BASE, CFG_BASE2, CFG_PROBE, CFG_COUNT, CFG_CLOCK,
	   CFG__COUNT };
static const char *const cfg_name[CFG__COUNT] = { "none", "baseline",
						   "baseline2", "probe",
						   "count", "clock" };

/* The bench programs, in this order. */
enum { P_EXIT, P_ENTRY, P_BASE, P_BASE_RET, P_COUNT, P_CLOCK, NPROG };

struct bench {
	struct ks_exits *skel;
	struct bpf_link *link[NPROG];
	double wall[CFG__COUNT][REPS];	/* ns per call */
	double bpf[CFG__COUNT][REPS];	/* BPF ns per event */
	double half[2][REPS];		/* probe: exit, entry program */
	uint64_t counted, with_lat, calls_probe, calls_base, calls_count;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static int skip(const char *why)
{
	printf("bench_probe_cost: skipped: %s\n", why);
	return 0;
}

static void run_calls(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

/* run_cnt and run_time_ns of a program. */
static void prog_stats(const struct bpf_program *p, uint64_t *cnt,
		       uint64_t *ns)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	*cnt = *ns = 0;
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return;
	*cnt = info.run_cnt;
	*ns = info.run_time_ns;
}

static struct bpf_program *prog_of(struct bench *b, int i)
{
	struct bpf_program *p[NPROG] = { b->skel->progs.ks_bench_exit,
					 b->skel->progs.ks_bench_entry,
					 b->skel->progs.ks_bench_base,
					 b->skel->progs.ks_bench_base_ret,
					 b->skel->progs.ks_bench_count,
					 b->skel->progs.ks_bench_clock };

	return p[i];
}

static int attach(struct bench *b, int i)
{
	b->link[i] = bpf_program__attach(prog_of(b, i));
	return b->link[i] ? 0 : -errno;
}

static void detach_all(struct bench *b)
{
	for (int i = 0; i < NPROG; i++) {
		bpf_link__destroy(b->link[i]);
		b->link[i] = NULL;
	}
}

/* Only the bench programs load; the probe's own stay off its hooks. */
static int load(struct bench *b)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	struct bpf_program *p;
	int e;

	b->skel = ks_exits__open();
	if (!b->skel)
		return -errno;
	bpf_object__for_each_program(p, b->skel->obj)
		bpf_program__set_autoload(p, false);
	for (int i = 0; i < NPROG; i++)
		bpf_program__set_autoload(prog_of(b, i), true);
	bpf_program__set_autoload(b->skel->progs.ks_plane_start, true);
	b->skel->rodata->bench_tgid = (uint32_t)getpid();
	if ((e = ks_exits__load(b->skel)))
		return e;
	/* Count mode's plane timer, as the probe runs it. */
	e = bpf_prog_test_run_opts(bpf_program__fd(
		b->skel->progs.ks_plane_start), &run);
	return e ? e : run.retval ? -EIO : 0;
}

/* The programs configuration c attaches, and the one that sees each
 * event first (whose run count is the number of events). */
static const int cfg_progs[CFG__COUNT][3] = {
	[CFG_NONE] = { -1 },
	[CFG_BASE] = { P_BASE, -1 },
	[CFG_BASE2] = { P_BASE, P_BASE_RET, -1 },
	[CFG_PROBE] = { P_EXIT, P_ENTRY, -1 },
	[CFG_COUNT] = { P_COUNT, -1 },
	[CFG_CLOCK] = { P_CLOCK, -1 },
};

/* One measurement of configuration c. */
static int measure(struct bench *b, enum cfg c, int rep)
{
	uint64_t cnt0[NPROG], ns0[NPROG], cnt1[NPROG], ns1[NPROG], t0, t1;
	uint64_t ev, ns = 0;
	int e = 0, first = cfg_progs[c][0];

	for (int i = 0; cfg_progs[c][i] >= 0 && !e; i++)
		e = attach(b, cfg_progs[c][i]);
	if (e)
		return e;
	for (int i = 0; i < NPROG; i++)
		prog_stats(prog_of(b, i), &cnt0[i], &ns0[i]);
	t0 = now_ns();
	run_calls(calls);
	t1 = now_ns();
	for (int i = 0; i < NPROG; i++) {
		prog_stats(prog_of(b, i), &cnt1[i], &ns1[i]);
		ns += ns1[i] - ns0[i];
	}
	detach_all(b);
	if (c == CFG_PROBE) {
		b->calls_probe += (uint64_t)calls;
		for (int i = 0; i < 2; i++)
			b->half[i][rep] = cnt1[i] > cnt0[i] ?
				(double)(ns1[i] - ns0[i]) /
				(double)(cnt1[i] - cnt0[i]) : 0;
	} else if (c == CFG_BASE) {
		b->calls_base += (uint64_t)calls;
	} else if (c == CFG_BASE2) {
		b->calls_base += 2 * (uint64_t)calls;
	} else if (c == CFG_COUNT) {
		b->calls_count += (uint64_t)calls;
	} else if (c == CFG_CLOCK) {
		b->calls_base += (uint64_t)calls;
	}
	ev = first >= 0 ? cnt1[first] - cnt0[first] : 0;
	b->wall[c][rep] = (double)(t1 - t0) / (double)calls;
	b->bpf[c][rep] = ev ? (double)ns / (double)ev : 0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int sum_exit(void *ctx, const void *key, uint64_t sum)
{
	struct bench *b = ctx;
	const struct ks_exit_key *k = key;

	b->counted += sum;
	if (k->bucket != KS_BUCKET_NONE)
		b->with_lat += sum;
	if (k->tgid != (uint32_t)getpid() || k->vcpu != 0 ||
	    k->reason != 0x7b || k->isa != 2 || k->kind != KS_EXK_EXIT)
		fprintf(stderr, "bench_probe_cost: unexpected key\n");
	return 0;
}

/* The count-only exits of this thread: its slot's io column, both
 * planes. */
static uint64_t count_mode_total(struct bench *b)
{
	const struct ks_exits__bss *bss = b->skel->bss;
	uint64_t n = 0;

	for (int s = 0; s < KS_XC_SLOTS; s++) {
		if (!bss->slot_info[s].used ||
		    bss->slot_info[s].tid != (uint32_t)gettid())
			continue;
		for (int p = 0; p < 2; p++)
			n += bss->xcounts[p][s][ks_exit_reason_index(2, 0x7b)];
	}
	return n;
}

/* The latency-mode exits of this thread in its latency slot's io row
 * (exits.h, ks_lat_slot), both planes, every bucket: all timed. */
static int lat_mode_total(struct bench *b, uint64_t *n)
{
	const struct ks_exits__bss *bss = b->skel->bss;
	uint32_t io = ks_exit_reason_index(2, 0x7b);
	struct ks_lat_slot *ls;
	int e = 0;

	*n = 0;
	if (!(ls = malloc(sizeof(*ls))))
		return -ENOMEM;
	for (uint32_t s = 0; s < KS_LH_SLOTS && !e; s++) {
		if (!bss->slot_info[s].used ||
		    bss->slot_info[s].tid != (uint32_t)gettid())
			continue;
		if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.lat_slots),
					&s, ls)) {
			e = -errno;
			break;
		}
		for (int r = 0; r < KS_LH_ROWS; r++) {
			if (!ls->row_idx[r])
				continue;
			if (ls->row_idx[r] != io + 1)
				fprintf(stderr, "bench_probe_cost: unexpected "
					"latency row\n");
			for (int p = 0; p < 2; p++)
				for (int k = 0; k < KS_LH_NB; k++)
					*n += ls->h[p][r][k];
		}
	}
	free(ls);
	return e;
}

/* Every getppid() under the probe counted once, with its latency, and
 * every hook of the baselines bumped their counter. */
static int check_counts(struct bench *b)
{
	uint64_t bumped = 0, dense = 0;
	struct ks_bpfgen g;
	int e;

	e = ks_bpfgen__init(&g, bpf_map__fd(b->skel->maps.exit_cur),
			    bpf_map__fd(b->skel->maps.exit_gen0),
			    bpf_map__fd(b->skel->maps.exit_gen1),
			    sizeof(struct ks_exit_key));
	if (!e)
		e = ks_bpfgen__drain(&g, sum_exit, b);
	if (!e)
		e = ks_bpfgen_percpu_array_sum(
			bpf_map__fd(b->skel->maps.bench_base), 0, g.ncpu,
			&bumped);
	ks_bpfgen__fini(&g);
	if (!e)
		e = lat_mode_total(b, &dense);
	if (e)
		return e;
	b->counted += dense;
	b->with_lat += dense;
	printf("probe_events_counted %llu of %llu calls, %llu with latency "
	       "(%llu in the latency slot's histogram, the rest in the hash); "
	       "count mode %llu of %llu; baseline bumps %llu of %llu\n",
	       (unsigned long long)b->counted,
	       (unsigned long long)b->calls_probe,
	       (unsigned long long)b->with_lat, (unsigned long long)dense,
	       (unsigned long long)count_mode_total(b),
	       (unsigned long long)b->calls_count, (unsigned long long)bumped,
	       (unsigned long long)b->calls_base);
	return b->counted == b->calls_probe && b->with_lat == b->counted &&
	       count_mode_total(b) == b->calls_count &&
	       bumped == b->calls_base ? 0 : -EPROTO;
}

static void print_host(void)
{
	char model[256] = "unknown", line[512];
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(model, sizeof(model), "%s",
				 strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (f)
		fclose(f);
	uname(&u);
	printf("host kernel %s, %ld CPUs, %s\n", u.release,
	       sysconf(_SC_NPROCESSORS_ONLN), model);
}

static void report(struct bench *b)
{
	double w[CFG__COUNT], probe, base, base2, count, clock;

	for (int c = 0; c < CFG__COUNT; c++)
		w[c] = median(b->wall[c], REPS);
	probe = median(b->bpf[CFG_PROBE], REPS);
	base = median(b->bpf[CFG_BASE], REPS);
	base2 = median(b->bpf[CFG_BASE2], REPS);
	print_host();
	printf("calls %ld x %d reps per configuration, medians\n", calls, REPS);
	printf("probe_ns_per_event %.1f\n", probe);
	printf("  of which kvm_exit's program %.1f, kvm_entry's %.1f\n",
	       median(b->half[0], REPS), median(b->half[1], REPS));
	printf("baseline_ns_per_event %.1f\n", base);
	printf("ratio %.2f (against a counter on one hook)\n",
	       base > 0 ? probe / base : 0);
	printf("baseline2_ns_per_event %.1f (a counter on both hooks)\n", base2);
	printf("ratio2 %.2f (target <= 1.5: the latency mode against a "
	       "counter on both hooks)\n", base2 > 0 ? probe / base2 : 0);
	count = median(b->bpf[CFG_COUNT], REPS);
	printf("count_ns_per_event %.1f (count-only mode: kvm_exit alone)\n",
	       count);
	printf("count_ratio %.2f (target <= 1.2)\n",
	       base > 0 ? count / base : 0);
	clock = median(b->bpf[CFG_CLOCK], REPS);
	printf("clock_ns_per_event %.1f (the counter plus one "
	       "bpf_ktime_get_ns: the floor of a timed hook)\n", clock);
	printf("clock_ratio %.2f\n", base > 0 ? clock / base : 0);
	printf("plane_timed %u flips %llu late_max_ns %llu\n",
	       b->skel->bss->plane_timed,
	       (unsigned long long)b->skel->bss->plane_flips,
	       (unsigned long long)b->skel->bss->plane_late_max_ns);
	for (int c = 0; c < CFG__COUNT; c++)
		printf("syscall_ns_%s %.1f\n", cfg_name[c], w[c]);
	for (int c = CFG_BASE; c < CFG__COUNT; c++)
		printf("slowdown_ns_per_syscall_%s %.1f\n", cfg_name[c],
		       w[c] - w[CFG_NONE]);
}

static int pin_cpu(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* ---- --kvm PID: the real tracepoints, in the lab ------------------------ */

/* The bare counters, in the order of enum KS_BASE_* in exits.bpf.c, and
 * the agent's program on the same hook. */
static const struct {
	const char *hook, *prog;
} kvm_hook[] = {
	{ "kvm_exit", "ks_exit" },
	{ "kvm_entry", "ks_entry" },
	{ "kvm_userspace_exit", "ks_uexit" },
	{ "kvm_pio", "ks_pio" },
};
#define NHOOK (sizeof(kvm_hook) / sizeof(kvm_hook[0]))

static struct bpf_program *base_prog(struct ks_exits *skel, size_t i)
{
	struct bpf_program *p[NHOOK] = { skel->progs.ks_base_exit,
					 skel->progs.ks_base_entry,
					 skel->progs.ks_base_uexit,
					 skel->progs.ks_base_pio };

	return p[i];
}

struct kvm_snap {
	uint64_t cnt[NHOOK], ns[NHOOK];	/* the bare counters */
	struct ks_bpfcost agent;	/* every program of the agent */
};

static int kvm_snap(struct ks_exits *skel, int pid, struct kvm_snap *s)
{
	for (size_t i = 0; i < NHOOK; i++)
		prog_stats(base_prog(skel, i), &s->cnt[i], &s->ns[i]);
	return ks_bpfcost__read_pid(&s->agent, pid);
}

static double per_run(uint64_t ns, uint64_t cnt)
{
	return cnt ? (double)ns / (double)cnt : 0;
}

/* What the agent's programs cost between a and b, each against the bare
 * counter on its hook, and all of them per VM exit. */
static void kvm_report(const struct kvm_snap *a, const struct kvm_snap *b)
{
	uint64_t exits = b->cnt[0] - a->cnt[0], all = 0, base_all = 0;

	for (size_t i = 0; i < NHOOK; i++) {
		uint64_t c = b->cnt[i] - a->cnt[i], n = b->ns[i] - a->ns[i];

		printf("counter %s runs %llu ns_per_run %.0f\n",
		       kvm_hook[i].hook, (unsigned long long)c, per_run(n, c));
	}
	for (size_t j = 0; j < b->agent.n; j++) {
		const struct ks_bpfcost_prog *p = &b->agent.prog[j], *q;
		uint64_t c = p->run_cnt, n = p->run_time_ns;
		double base = 0;

		if ((q = ks_bpfcost__find(&a->agent, p->id))) {
			c -= q->run_cnt;
			n -= q->run_time_ns;
		}
		if (!c)
			continue;
		all += n;
		printf("agent %s runs %llu ns_per_run %.0f", p->name,
		       (unsigned long long)c, per_run(n, c));
		for (size_t i = 0; i < NHOOK; i++)
			if (!strcmp(p->name, kvm_hook[i].prog)) {
				base = per_run(b->ns[i] - a->ns[i],
					       b->cnt[i] - a->cnt[i]);
				base_all += b->ns[i] - a->ns[i];
				printf(" on %s ratio %.2f", kvm_hook[i].hook,
				       base > 0 ? per_run(n, c) / base : 0);
			}
		printf("\n");
	}
	printf("per_exit exits %llu agent_ns %.0f counter_ns %.0f ratio %.2f "
	       "(every agent program; counters on the same hooks)\n",
	       (unsigned long long)exits, per_run(all, exits),
	       per_run(base_all, exits),
	       base_all ? (double)all / (double)base_all : 0);
}

/* The agent's pid: agent itself, or with "@FILE" (the counters attach
 * before the agent does) read from FILE at SIGUSR1. */
static int kvm_agent_pid(const char *agent, sigset_t *set)
{
	int pid = 0, sig;
	FILE *f;

	if (agent[0] != '@')
		return atoi(agent);
	do
		sigwait(set, &sig);
	while (sig != SIGUSR1 && sig != SIGINT && sig != SIGTERM);
	if (sig == SIGUSR1 && (f = fopen(agent + 1, "r"))) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

/* Attaches the bare counters to the KVM tracepoints, prints "attached",
 * and on SIGINT or SIGTERM reports the agent's programs against them over
 * that window (from when the agent's pid is known), BPF statistics on
 * throughout. */
static int kvm_mode(const char *agent)
{
	struct bpf_link *link[NHOOK] = { 0 };
	struct kvm_snap *a = calloc(2, sizeof(*a));
	struct ks_exits *skel = NULL;
	struct bpf_program *p;
	int stats_fd, sig, pid, e = 0;
	sigset_t set;

	if (!a)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0) {
		e = -errno;
		goto out;
	}
	if (!(skel = ks_exits__open())) {
		e = -errno;
		goto out;
	}
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, false);
	for (size_t i = 0; i < NHOOK; i++)
		bpf_program__set_autoload(base_prog(skel, i), true);
	if ((e = ks_exits__load(skel)))
		goto out;
	for (size_t i = 0; i < NHOOK && !e; i++)
		if (!(link[i] = bpf_program__attach(base_prog(skel, i))))
			e = -errno;
	if (e)
		goto out;
	printf("probe_cost attached\n");
	fflush(stdout);
	if ((pid = kvm_agent_pid(agent, &set)) <= 0) {
		e = -ESRCH;
		goto out;
	}
	if ((e = kvm_snap(skel, pid, &a[0])))
		goto out;
	printf("probe_cost agent %d\n", pid);
	fflush(stdout);
	do
		sigwait(&set, &sig);
	while (sig == SIGUSR1);
	if (!(e = kvm_snap(skel, pid, &a[1])))
		kvm_report(&a[0], &a[1]);
out:
	if (e)
		fprintf(stderr, "bench_probe_cost --kvm: %s\n", strerror(-e));
	for (size_t i = 0; i < NHOOK; i++)
		bpf_link__destroy(link[i]);
	ks_exits__destroy(skel);
	if (stats_fd >= 0)
		close(stats_fd);
	free(a);
	return e ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct bench b;
	int stats_fd, e = 0;

	if (argc == 3 && !strcmp(argv[1], "--kvm"))
		return kvm_mode(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: bench_probe_cost [--kvm PID|@PIDFILE]\n");
		return 2;
	}

	memset(&b, 0, sizeof(b));
	if (geteuid() != 0)
		return skip("needs root (BPF)");
	if (access(TP, F_OK))
		return skip("no syscall tracepoints (" TP ")");
	if (!getenv("BENCH_VERBOSE")) libbpf_set_print(NULL);
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		return skip("cannot enable BPF run-time statistics");
	if ((e = load(&b))) {
		fprintf(stderr, "bench_probe_cost: loading the exits object: "
				"%s\n", strerror(-e));
		return 1;
	}
	pin_cpu();
	if (getenv("BENCH_PROBE_CALLS"))
		calls = strtol(getenv("BENCH_PROBE_CALLS"), NULL, 10);
	if (calls < 1000 || calls > 100000000) {
		fprintf(stderr, "bench_probe_cost: BENCH_PROBE_CALLS must be "
				"1000..100000000\n");
		return 2;
	}
	run_calls(calls / 10);	/* warm caches and frequency */
	/* Alternate the configurations so drift spreads over all three. */
	for (int r = 0; r < REPS && !e; r++)
		for (int i = 0; i < CFG__COUNT && !e; i++)
			e = measure(&b, (enum cfg)((r + i) % CFG__COUNT), r);
	if (!e)
		e = check_counts(&b);
	if (!e)
		report(&b);
	else
		fprintf(stderr, "bench_probe_cost: %s\n", strerror(-e));
	detach_all(&b);
	ks_exits__destroy(b.skel);
	close(stats_fd);
	return e ? 1 : 0;
}
