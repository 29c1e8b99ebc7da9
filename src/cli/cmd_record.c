/* cmd_record.c - `kvmscope record`: live data from this host, to a file.
 *
 * Opens every registered source that supplies one of the wanted metrics
 * (or the ones named with --sources), reads them all once per wall-clock
 * second, and writes their records to a kvmscope record file, which
 * `kvmscope replay` feeds through the same engine later or elsewhere.  A
 * source that cannot run here (no BPF permission, no KVM tracepoints) is
 * reported and skipped; the recording goes on with the others.  SIGINT or
 * SIGTERM, or the end of --duration, takes a last reading (so the last
 * partial second is kept) and closes the file properly, so an interrupted
 * recording is complete and valid; only a crash leaves a file that replay
 * reports as truncated.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "engine/catalog.h"
#include "replay/recfile.h"
#include "source/source.h"
#include "util/clock.h"

#define PROG "kvmscope record"
#define BATCH 512
#define MAX_SOURCES 32

struct rec_opts {
	const char *out;
	unsigned long duration;	/* seconds; 0: until interrupted */
	bool want[KS_M__COUNT];
	const struct ks_source_ops *only[MAX_SOURCES];
	size_t nonly;
	uint32_t pid;
	bool verbose;
	bool guest_rip;		/* --guest-rip */
};

/* Long options without a short form. */
enum { OPT_GUEST_RIP = 256 };

/* The sink all sources write into. */
struct rec {
	struct ks_recfile_writer *w;
	const bool *want;
	struct ks_record batch[BATCH];
	size_t nbatch;
	uint64_t by_metric[KS_M__COUNT];
	uint64_t total;
	int werr;		/* first write error */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvmscope record -o FILE [-d SECONDS] [-m METRICS] [-s SOURCES]\n"
"                       [-p PID] [--guest-rip] [-v]\n"
"\n"
"Records what this host's VMs do, once a second, to FILE (kvmscope's\n"
"record format); `kvmscope replay FILE --metric M` reads it back.\n"
"Runs until interrupted (SIGINT, SIGTERM) or for SECONDS; either way the\n"
"last partial second is read and the file is closed complete.\n"
"\n"
"  -o, --output FILE     the record file to write (replaced)\n"
"  -d, --duration S      stop after S seconds\n"
"  -m, --metrics LIST    only these metrics, comma-separated (e.g.\n"
"                        vm.exits,nic.vnic_bytes); default: all\n"
"  -s, --sources LIST    only these sources, comma-separated; default:\n"
"                        every source supplying a wanted metric\n"
"  -p, --pid PID         only the VM whose VMM process is PID\n"
"      --guest-rip       the sampler also keys guest instruction pointers\n"
"                        (vm.thread_samples' guestrip field: one key per\n"
"                        address, capped per read; off by default)\n"
"  -v, --verbose         sources' diagnostics on stderr\n"
"  -h, --help            this text\n"
"\n"
"Sources that cannot run here are skipped with a message.  Sources:\n");
	for (size_t i = 0; i < ks_source_count(); i++)
		fprintf(f, "  %-12s %s\n", ks_source_at(i)->name,
			ks_source_at(i)->summary);
}

/* ---- options ------------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static int bad_opt(const char *param, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": %s: ", param);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 2;
}

static int parse_metrics(struct rec_opts *o, char *list)
{
	char *save = NULL;

	for (char *t = strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		int m = ks_metric_lookup_full(t);

		if (m < 0)
			return bad_opt("metrics", "'%s' is not a metric "
				       "(kvmscope metrics lists them)", t);
		o->want[m] = true;
	}
	return -1;
}

static int parse_sources(struct rec_opts *o, char *list)
{
	char *save = NULL;

	for (char *t = strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		const struct ks_source_ops *ops = ks_source_find(t);

		if (!ops)
			return bad_opt("sources", "'%s' is not a source "
				       "(kvmscope record --help lists them)", t);
		if (o->nonly == MAX_SOURCES)
			return bad_opt("sources", "more than %d sources", MAX_SOURCES);
		o->only[o->nonly++] = ops;
	}
	return -1;
}

static int parse_ulong(const char *s, const char *param, unsigned long max,
		       unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out == 0 || *out > max) {
		fprintf(stderr, PROG ": %s: '%s' must be a whole number from "
			"1 to %lu\n", param, s, max);
		return 2;
	}
	return -1;
}

static int parse(int argc, char **argv, struct rec_opts *o)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "sources", required_argument, NULL, 's' },
		{ "pid", required_argument, NULL, 'p' },
		{ "guest-rip", no_argument, NULL, OPT_GUEST_RIP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool any = false;
	unsigned long v;
	int c, rc = -1;

	memset(o, 0, sizeof(*o));
	while (rc < 0 && (c = getopt_long(argc, argv, "o:d:m:s:p:vh", lopts,
					  NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'd':
			rc = parse_ulong(optarg, "duration", 10 * 365 * 86400UL,
					 &o->duration);
			break;
		case 'm': rc = parse_metrics(o, optarg); break;
		case 's': rc = parse_sources(o, optarg); break;
		case 'p':
			if ((rc = parse_ulong(optarg, "pid", INT_MAX, &v)) < 0)
				o->pid = (uint32_t)v;
			break;
		case OPT_GUEST_RIP: o->guest_rip = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return bad_opt("arguments", "unexpected '%s'", argv[optind]);
	if (!o->out)
		return bad_opt("output", "FILE is required (-o FILE)");
	for (int m = 0; m < KS_M__COUNT; m++)
		any |= o->want[m];
	if (!any)
		for (int m = 0; m < KS_M__COUNT; m++)
			o->want[m] = true;
	return -1;
}

/* ---- sources --------------------------------------------------------------- */

static bool selected(const struct rec_opts *o, const struct ks_source_ops *ops)
{
	if (o->nonly) {
		for (size_t i = 0; i < o->nonly; i++)
			if (o->only[i] == ops)
				return true;
		return false;
	}
	for (int m = 0; m < KS_M__COUNT; m++)
		if (o->want[m] && ks_source_supplies(ops, m))
			return true;
	return false;
}

static size_t open_sources(const struct rec_opts *o, struct ks_source **src)
{
	struct ks_source_opts so;
	size_t n = 0;

	ks_source_opts_init(&so);
	so.pid = o->pid;
	so.verbose = o->verbose;
	so.guest_rip = o->guest_rip;
	for (size_t i = 0; i < ks_source_count() && n < MAX_SOURCES; i++) {
		const struct ks_source_ops *ops = ks_source_at(i);
		struct ks_source *s;
		struct ks_err err;

		if (!selected(o, ops))
			continue;
		ks_err_clear(&err);
		s = ks_source__open(ops, &so, &err);
		if (s && ks_source__attach(s, &err)) {
			ks_source__close(s);
			s = NULL;
		}
		if (!s) {
			fprintf(stderr, PROG ": skipping source %s: %s\n",
				ops->name, err.msg[0] ? err.msg : "cannot open");
			continue;
		}
		if (o->verbose)
			fprintf(stderr, PROG ": source %s running\n", ops->name);
		src[n++] = s;
	}
	return n;
}

/* ---- the sink ---------------------------------------------------------------- */

static int flush_batch(struct rec *r)
{
	int e;

	if (!r->nbatch || r->werr)
		return r->werr;
	e = ks_recfile_writer__add(r->w, r->batch, r->nbatch);
	r->nbatch = 0;
	if (e)
		r->werr = e;
	return e;
}

static int on_record(void *ctx, const struct ks_record *rec)
{
	struct rec *r = ctx;

	if (rec->metric >= KS_M__COUNT || !r->want[rec->metric])
		return 0;
	if (r->nbatch == BATCH && flush_batch(r))
		return r->werr;
	r->batch[r->nbatch++] = *rec;
	r->by_metric[rec->metric]++;
	r->total++;
	return 0;
}

static uint64_t wall_ns(void)
{
	return (uint64_t)ks_clock_wall_ns();
}

/* Reads every source once; a source that fails is closed and dropped. */
static int tick(struct rec *r, struct ks_source **src, size_t *n)
{
	const struct ks_source_sink sink = { on_record, NULL, r };
	uint64_t ts = wall_ns();

	for (size_t i = 0; i < *n; i++) {
		int e = ks_source__read(src[i], ts, &sink);

		if (r->werr)
			return r->werr;
		if (!e)
			continue;
		fprintf(stderr, PROG ": source %s stopped: %s\n",
			ks_source__name(src[i]), strerror(-e));
		ks_source__close(src[i]);
		memmove(&src[i], &src[i + 1], (*n - i - 1) * sizeof(*src));
		(*n)--;
		i--;
	}
	return flush_batch(r);
}

/* Sleeps until the next whole wall-clock second, or a signal. */
static void wait_next_second(void)
{
	uint64_t now = wall_ns();
	uint64_t next = (now / KS_NSEC_PER_SEC + 1) * KS_NSEC_PER_SEC;
	struct timespec t = { .tv_sec = (time_t)(next / KS_NSEC_PER_SEC),
			      .tv_nsec = 0 };

	if (!stop)
		clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &t, NULL);
}

static int run(const struct rec_opts *o, struct rec *r,
	       struct ks_source **src, size_t *n)
{
	uint64_t end = o->duration ? wall_ns() + o->duration * KS_NSEC_PER_SEC :
				     0;
	int e;

	while (!stop && *n) {
		wait_next_second();
		/* The tick at the end of --duration, or at a signal, is the
		 * last: it reads the final partial second. */
		if (end && wall_ns() + KS_NSEC_PER_SEC / 100 >= end)
			stop = 1;
		if ((e = tick(r, src, n)))
			return e;
	}
	return 0;
}

static void summary(const struct rec_opts *o, const struct rec *r)
{
	const char *sep = ":";

	fprintf(stderr, PROG ": %llu records to %s", (unsigned long long)r->total,
		o->out);
	for (int m = 0; m < KS_M__COUNT; m++) {
		const struct ks_metricinfo *mi = ks_metric_info(m);

		if (!r->by_metric[m])
			continue;
		fprintf(stderr, "%s %s.%s %llu", sep, mi->module, mi->stat,
			(unsigned long long)r->by_metric[m]);
		sep = ",";
	}
	fprintf(stderr, "\n");
}

int cmd_record(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ks_source *src[MAX_SOURCES];
	struct rec_opts o;
	struct ks_err err;
	struct rec *r;
	size_t n;
	int rc, e;

	if ((rc = parse(argc, argv, &o)) >= 0)
		return rc;
	/* No SA_RESTART: the sleep ends at the signal. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!(r = calloc(1, sizeof(*r)))) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	r->want = o.want;
	ks_err_clear(&err);
	if (!(r->w = ks_recfile_writer__open(o.out, 0, &err))) {
		fprintf(stderr, PROG ": %s: %s\n", err.param, err.msg);
		free(r);
		return 1;
	}
	n = open_sources(&o, src);
	if (!n)
		fprintf(stderr, PROG ": no source can run here; nothing "
			"recorded\n");
	e = run(&o, r, src, &n);
	for (size_t i = 0; i < n; i++)
		ks_source__close(src[i]);
	ks_err_clear(&err);
	rc = ks_recfile_writer__close(r->w, &err);
	if (e || rc) {
		fprintf(stderr, PROG ": writing %s: %s\n", o.out,
			rc ? err.msg : strerror(-e));
		free(r);
		return 1;
	}
	summary(&o, r);
	free(r);
	return n || stop ? 0 : 1;
}
