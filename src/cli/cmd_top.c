/* cmd_top.c - `kvmscope top`: the host's VMs, busiest first.
 *
 * One line per VM (VMM process), sorted by exit rate, the share of a CPU
 * spent handling its exits, its interrupt rate or its mean disk latency,
 * refreshed every interval: where an operator starts when the host is
 * slow and the question is which VM.  The numbers come from stat's
 * sources (the exits probe timing each exit, the irqs probe) and the
 * disk sources (uprobes on QEMU, else its QMP statistics), each record
 * summed into its VM's row by pid; VMs discovery sees but that did
 * nothing this interval stay, with zeros.  A terminal gets the screen
 * redrawn, as top(1); a pipe, --json or -n gets one report after another.
 * --input FILE reports once on a recorded trace, rates over its span.
 * With no VM on the host, or none that -p/--name asks for, it says so.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/statlib.h"
#include "engine/dist.h"
#include "engine/symtab.h"
#include "replay/input.h"
#include "source/source.h"
#include "util/clock.h"
#include "util/units.h"
#include "vm/discovery.h"
#include "util/dict.h"

#define PROG "kvmscope top"
#define NSRC 4

enum sort_key { BY_EXITS, BY_TIME, BY_IRQS, BY_DISK };
static const char *const sort_names[] = { "exits", "time", "irqs", "disk" };

struct top_opts {
	enum sort_key sort;
	unsigned delay;		/* seconds */
	unsigned long iterations;	/* 0: until interrupted */
	uint32_t pid;
	const char *name;
	const char *input;
	bool json, verbose;
};

/* One VM's interval. */
struct top_row {
	uint32_t pid;
	uint32_t vm_sym;
	uint64_t exits, timed, irqs, dops, dtimed;
	double exit_ns, disk_ns;
	struct ks_dist dlat;
};

struct top {
	const struct top_opts *o;
	struct ks_source *src[NSRC];
	struct ks_vmdisc *disc;
	struct top_row *rows;
	size_t n, cap;
	struct ks_source_sink sink;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvmscope top [-s exits|time|irqs|disk] [-d SECONDS] [-n COUNT]\n"
"                    [-p PID] [--name NAME] [-j] [-v]\n"
"       kvmscope top --input FILE [-s KEY] [-p PID] [--name NAME] [-j]\n"
"\n"
"The VMs of this host, one line each, busiest first by the sort key,\n"
"refreshed every interval (a terminal is redrawn; else one report after\n"
"another).  Needs root (BPF, tracefs).  Without a VM on the host, or\n"
"without the one -p or --name asks for, it says so and exits (0, or 1\n"
"for a VM that is not there).\n"
"\n"
"  -s, --sort KEY        exits  VM exits per second (the default)\n"
"                        time   share of a CPU spent handling its exits\n"
"                        irqs   interrupts injected per second\n"
"                        disk   mean disk operation latency\n"
"  -d, --delay SECONDS   interval (default 1)\n"
"  -n, --iterations N    N reports, then exit (for scripts)\n"
"  -p, --pid PID         only the VM whose VMM (QEMU) process is PID\n"
"      --name NAME       only VMs named NAME\n"
"  -i, --input FILE      report once on a recorded trace (record file or\n"
"                        kvm tracefs text), rates over its span\n"
"  -j, --json            one JSON object per report, one per line\n"
"  -v, --verbose         show the BPF loader's messages\n"
"  -h, --help            this text\n"
"\n"
"The columns:\n"
"  PID       VMM process      VM        VM name\n"
"  EXITS/s   VM exits         EXIT%%     exit handling time, %% of a CPU\n"
"  IRQS/s    interrupts injected (kvm_inj_virq)\n"
"  DISK/s    disk operations  DISKAVG, DISKP99  their latency\n"
"Exit times are the lower bounds of 6.25%%-wide buckets (stat -L's).\n");
}

static int parse_sort(const char *s, enum sort_key *k)
{
	for (size_t i = 0; i < sizeof(sort_names) / sizeof(*sort_names); i++)
		if (!strcmp(s, sort_names[i])) {
			*k = (enum sort_key)i;
			return 0;
		}
	fprintf(stderr, PROG ": --sort '%s': one of exits, time, irqs, disk\n",
		s);
	return -EINVAL;
}

static int parse(int argc, char **argv, struct top_opts *o)
{
	static const struct option lopts[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'N' },
		{ "input", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->delay = 1;
	while ((c = getopt_long(argc, argv, "s:d:n:p:i:jvh", lopts, NULL)) !=
	       -1) {
		switch (c) {
		case 's':
			if (parse_sort(optarg, &o->sort))
				return 2;
			break;
		case 'd':
			if (ks_cli_parse_uint(PROG, optarg, "--delay", 86400,
					      &v))
				return 2;
			o->delay = (unsigned)v;
			break;
		case 'n':
			if (ks_cli_parse_uint(PROG, optarg, "--iterations",
					      ULONG_MAX / 2, &o->iterations))
				return 2;
			break;
		case 'p':
			if (ks_cli_parse_uint(PROG, optarg, "--pid", INT_MAX,
					      &v))
				return 2;
			o->pid = (uint32_t)v;
			break;
		case 'N': o->name = optarg; break;
		case 'i': o->input = optarg; break;
		case 'j': o->json = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	return -1;
}

/* ---- the rows ----------------------------------------------------------- */

static struct top_row *row_of(struct top *t, uint32_t pid, uint32_t vm_sym)
{
	struct top_row *r;

	for (size_t i = 0; i < t->n; i++)
		if (t->rows[i].pid == pid) {
			if (!t->rows[i].vm_sym)
				t->rows[i].vm_sym = vm_sym;
			return &t->rows[i];
		}
	if (ks_array_room(&t->rows, &t->cap, t->n, sizeof(*r)))
		return NULL;
	r = &t->rows[t->n++];
	memset(r, 0, sizeof(*r));
	ks_dist_init(&r->dlat);
	r->pid = pid;
	r->vm_sym = vm_sym;
	return r;
}

static uint32_t rec_pid(const struct ks_record *r)
{
	return ks_record_has(r, KS_F_PID) ?
	       (uint32_t)strtoul(ks_sym_str((uint32_t)r->f[KS_F_PID]), NULL,
				 10) : 0;
}

static bool wanted(const struct top_opts *o, uint32_t pid, uint32_t vm_sym)
{
	if (o->pid && pid != o->pid)
		return false;
	return !o->name || (vm_sym && !strcmp(ks_sym_str(vm_sym), o->name));
}

static int on_record(void *ctx, const struct ks_record *r)
{
	struct top *t = ctx;
	uint32_t pid = rec_pid(r), vm = ks_record_has(r, KS_F_VM) ?
					(uint32_t)r->f[KS_F_VM] : 0;
	bool lat = ks_record_has(r, KS_F_LATENCY);
	double ns = lat ? (double)r->f[KS_F_LATENCY] * (double)r->value : 0;
	struct top_row *row;

	if (r->metric != KS_M_VM_EXITS && r->metric != KS_M_VM_IRQS &&
	    r->metric != KS_M_VM_PHYSIO_OPS)
		return 0;
	if (!pid || !wanted(t->o, pid, vm))
		return 0;
	if (!(row = row_of(t, pid, vm)))
		return -ENOMEM;
	if (r->metric == KS_M_VM_IRQS) {
		row->irqs += r->value;
	} else if (r->metric == KS_M_VM_EXITS) {
		row->exits += r->value;
		row->timed += lat ? r->value : 0;
		row->exit_ns += ns;
	} else {
		row->dops += r->value;
		if (lat) {
			row->dtimed += r->value;
			row->disk_ns += ns;
			if (ks_dist__add(&row->dlat, r->f[KS_F_LATENCY],
					 r->value))
				return -ENOMEM;
		}
	}
	return 0;
}

/* Adds the VMs discovery sees, so idle ones show too. */
static int add_discovered(struct top *t)
{
	if (!t->disc || ks_vmdisc__update(t->disc, 0) < 0)
		return 0;
	for (size_t i = 0; i < ks_vmdisc__count(t->disc); i++) {
		const struct ks_vm *vm = ks_vmdisc__at(t->disc, i);
		uint32_t sym = ks_sym_intern(vm->name);

		if (wanted(t->o, (uint32_t)vm->pid, sym) &&
		    !row_of(t, (uint32_t)vm->pid, sym))
			return -ENOMEM;
	}
	return 0;
}

static void reset_rows(struct top *t)
{
	for (size_t i = 0; i < t->n; i++)
		ks_dist_fini(&t->rows[i].dlat);
	t->n = 0;
}

static double disk_avg(const struct top_row *r)
{
	return r->dtimed ? r->disk_ns / (double)r->dtimed : 0;
}

static enum sort_key sorting;

static double key_of(const struct top_row *r)
{
	switch (sorting) {
	case BY_TIME: return r->exit_ns;
	case BY_IRQS: return (double)r->irqs;
	case BY_DISK: return disk_avg(r);
	default: return (double)r->exits;
	}
}

static int cmp_row(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;
	double kx = key_of(x), ky = key_of(y);

	if (kx != ky)
		return kx < ky ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* ---- printing ------------------------------------------------------------ */

static double per_s(double n, uint64_t dt)
{
	return dt ? n * 1e9 / (double)dt : 0;
}

static void print_text(struct top *t, uint64_t dt, bool redraw)
{
	char avg[16], p99[16];

	if (redraw)
		printf("\033[H\033[J");
	printf("kvmscope top - %zu VM%s, sorted by %s, ", t->n,
	       t->n == 1 ? "" : "s", sort_names[t->o->sort]);
	if (t->o->input)
		printf("over %.3f s of the trace\n\n", (double)dt / 1e9);
	else
		printf("every %u s\n\n", t->o->delay);
	printf("%8s %-24s %9s %7s %9s %8s %8s %8s\n", "PID", "VM", "EXITS/s",
	       "EXIT%", "IRQS/s", "DISK/s", "DISKAVG", "DISKP99");
	for (size_t i = 0; i < t->n; i++) {
		const struct top_row *r = &t->rows[i];
		const char *vm = r->vm_sym ? ks_sym_str(r->vm_sym) : "-";

		ks_units_fmt(avg, sizeof(avg), disk_avg(r), KS_UNIT_NS);
		ks_units_fmt(p99, sizeof(p99),
			     ks_dist__quantile(&r->dlat, 0.99), KS_UNIT_NS);
		printf("%8u %-24.24s %9.0f %6.1f%% %9.0f %8.0f %8s %8s\n",
		       r->pid, vm, per_s((double)r->exits, dt),
		       per_s(r->exit_ns, dt) / 1e9 * 100,
		       per_s((double)r->irqs, dt), per_s((double)r->dops, dt),
		       r->dtimed ? avg : "-", r->dtimed ? p99 : "-");
	}
	if (!redraw)
		printf("\n");
}

static int print_json(struct top *t, uint64_t dt, uint64_t wall)
{
	json_t *top = json_pack("{s:I, s:f, s:s}", "time",
				(json_int_t)(wall / KS_NSEC_PER_SEC),
				"interval", (double)dt / 1e9, "sort",
				sort_names[t->o->sort]);
	json_t *arr = json_array();
	char *s;

	for (size_t i = 0; arr && i < t->n; i++) {
		const struct top_row *r = &t->rows[i];
		json_t *j = json_pack("{s:I, s:o, s:f, s:f, s:f, s:f}",
			"pid", (json_int_t)r->pid, "vm", r->vm_sym ?
			json_string(ks_sym_str(r->vm_sym)) : json_null(),
			"exits_per_s", per_s((double)r->exits, dt),
			"exit_time_pct", per_s(r->exit_ns, dt) / 1e9 * 100,
			"irqs_per_s", per_s((double)r->irqs, dt),
			"disk_ops_per_s", per_s((double)r->dops, dt));

		if (j && r->dtimed) {
			json_object_set_new(j, "disk_avg_ns",
					    json_real(disk_avg(r)));
			json_object_set_new(j, "disk_p99_ns", json_real(
				ks_dist__quantile(&r->dlat, 0.99)));
		}
		json_array_append_new(arr, j);
	}
	if (!top || !arr) {
		json_decref(top);
		json_decref(arr);
		return -ENOMEM;
	}
	json_object_set_new(top, "vms", arr);
	if (!(s = json_dumps(top, JSON_COMPACT | JSON_REAL_PRECISION(6)))) {
		json_decref(top);
		return -ENOMEM;
	}
	printf("%s\n", s);
	free(s);
	json_decref(top);
	return 0;
}

static void report(struct top *t, uint64_t dt, uint64_t wall, bool redraw)
{
	sorting = t->o->sort;
	if (t->n)
		qsort(t->rows, t->n, sizeof(*t->rows), cmp_row);
	if (t->o->json)
		print_json(t, dt, wall);
	else if (!t->n)
		printf("no %s\n", t->o->pid || t->o->name ? "such VM (it has "
		       "gone?)" : "VMs on this host");
	else
		print_text(t, dt, redraw);
	fflush(stdout);
}

/* ---- live --------------------------------------------------------------- */

static void top_close(struct top *t)
{
	for (int i = 0; i < NSRC; i++)
		ks_source__close(t->src[i]);
	ks_vmdisc__free(t->disc);
	reset_rows(t);
	free(t->rows);
}

/* The exits and irqs probes must run; the disk sources may not (a QEMU
 * without the probed symbols and without QMP): their columns say "-". */
static int top_open(struct top *t)
{
	const struct ks_source_ops *ops[NSRC] = {
		&ks_source_bpf_exits, &ks_source_bpf_irqs,
		&ks_source_disk_uprobe, &ks_source_disk_qmp };
	struct ks_vmdisc_opts dopts;
	struct ks_source_opts so;
	struct ks_err err;

	ks_source_opts_init(&so);
	so.pid = t->o->pid;
	so.verbose = t->o->verbose;
	so.uexits_by_reason_only = true;
	so.uexits_mmio_only = true;	/* top shows none */
	ks_vmdisc_opts_init(&dopts);
	dopts.no_watch = true;
	t->disc = ks_vmdisc__new(&dopts, &err);
	for (int i = 0; i < NSRC; i++) {
		ks_err_clear(&err);
		t->src[i] = ks_source__open(ops[i], &so, &err);
		if (t->src[i] && !ks_source__attach(t->src[i], &err))
			continue;
		ks_source__close(t->src[i]);
		t->src[i] = NULL;
		fprintf(stderr, PROG ": %s: %s%s\n", ops[i]->name, err.msg,
			i < 2 ? "" : " (no disk columns from it)");
		if (i < 2)
			return -EIO;
	}
	return 0;
}

static int live(struct top *t)
{
	uint64_t start = (uint64_t)ks_clock_mono_ns(), last = start;
	const struct top_opts *o = t->o;
	bool redraw = !o->json && !o->iterations && isatty(STDOUT_FILENO);

	for (unsigned long k = 0; !ks_cli_stop && (!o->iterations ||
					    k < o->iterations); k++) {
		uint64_t now, wall;

		ks_cli_wait_until(start + (k + 1) * o->delay * KS_NSEC_PER_SEC);
		if (ks_cli_stop)
			break;
		now = (uint64_t)ks_clock_mono_ns();
		wall = (uint64_t)ks_clock_wall_ns();
		wall -= wall % KS_NSEC_PER_SEC + 1;	/* as stat reads */
		for (int i = 0; i < NSRC; i++)
			if (t->src[i] &&
			    ks_source__read(t->src[i], wall, &t->sink) < 0) {
				fprintf(stderr, PROG ": reading %s failed\n",
					ks_source__name(t->src[i]));
				return 1;
			}
		if (add_discovered(t)) {
			fprintf(stderr, PROG ": out of memory\n");
			return 1;
		}
		report(t, now - last, wall, redraw);
		reset_rows(t);
		last = now;
	}
	return 0;
}

static int from_input(struct top *t)
{
	struct ks_input_stats st;
	struct ks_err err;

	if (ks_input_read(t->o->input, on_record, t, &st, &err)) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 1;
	}
	if (!t->n) {
		printf("no %s in the trace\n", t->o->pid || t->o->name ?
		       "such VM" : "VMs");
		return t->o->pid || t->o->name ? 1 : 0;
	}
	report(t, st.last_ts - st.first_ts, st.last_ts, false);
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o;
	struct top t = { 0 };
	int rc;

	if ((rc = parse(argc, argv, &o)) >= 0)
		return rc;
	t.o = &o;
	t.sink = (struct ks_source_sink){ on_record, NULL, &t };
	if (o.input) {
		rc = from_input(&t);
		top_close(&t);
		return rc;
	}
	switch (ks_cli_guests(PROG, o.pid, o.name, false)) {
	case KS_GUESTS_NONE: return 0;
	case KS_GUESTS_NO_SUCH: return 1;
	default: break;
	}
	ks_cli_catch_stop();
	rc = top_open(&t) ? 1 : live(&t);
	top_close(&t);
	return rc;
}
