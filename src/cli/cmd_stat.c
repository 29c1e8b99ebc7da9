/* cmd_stat.c - `kvmscope stat`: illumos kvmstat(1) for Linux KVM.
 *
 * One line per vCPU of every running VM, with per-second rates of VM exits
 * by kind, injected interrupts and emulated instructions, every interval
 * seconds, count times (forever by default).  The numbers come live from
 * the exits and irqs BPF sources (mmiox from the exits source's userspace
 * exits), aggregated in the kernel, so watching a
 * busy host costs one map read per interval rather than one trace record
 * per exit; the exits source runs count-only (kvm_exit alone, no latency),
 * its cheapest mode.  Each interval covers whole wall-clock seconds: the
 * read is stamped with the end of the last second that ended.
 * --json prints one JSON object per interval (JSON Lines).
 * --counts prints the interval's counts instead of rates (exact totals for
 * tests), --records the sources' records themselves (for debugging the
 * probes, and for lab tests of fields the table does not show).
 * -L times the exits too and adds `perf kvm stat report`'s table: per
 * exit reason, the count, shares of exits and of handling time, and the
 * minimum, mean, 99th percentile and maximum time (source/exitlat.h).
 * --input FILE reports on a recorded trace instead, once, over the whole
 * file.  With nothing to show it says why (no KVM guests here, no such
 * VM) rather than print an empty table.
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

#include "cli/commands.h"
#include "cli/statlib.h"
#include "engine/symtab.h"
#include "kvm/exitreason.h"
#include "replay/input.h"
#include "source/exitlat.h"
#include "source/source.h"
#include "source/vcpustat.h"
#include "util/clock.h"
#include "util/units.h"

#define HEADER_EVERY 20
#define PROG "kvmscope stat"

struct stat_opts {
	unsigned interval;	/* seconds */
	unsigned long count;	/* reports; 0: forever */
	bool json, verbose, counts, records;
	bool wait;		/* -w: run with no guest yet; rows come as VMs start */
	/* Exits hooks: count-only (kvm_exit alone) unless latency is shown
	 * (--records) or asked for; --count-only forces it with --records. */
	bool latency, count_only;
	uint32_t pid;
	const char *name;
	const char *input;	/* --input FILE, or NULL: live */
	/* -x: more exit reasons, normalised (VMX lowercased). */
	char reason[KS_VS_XMAX][KS_EXITREASON_MAXLEN];
	size_t nreasons;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvmscope stat [-j] [-L] [-p PID] [-n NAME] [-x LIST] [-v]\n"
"                     [interval [count]]\n"
"       kvmscope stat --input FILE [-j] [-L] [-p PID] [-n NAME] [-x LIST]\n"
"\n"
"Shows statistics of the running KVM virtual machines, one line per\n"
"virtual CPU, every interval seconds (default 1), count times (default:\n"
"until interrupted; then a last report of the whole seconds since the\n"
"one before).  All statistics are per-second rates over the interval,\n"
"rounded to the nearest integer.  Needs root (BPF).  Without\n"
"KVM guests on the host, or without the VM -p or -n asks for, it says so\n"
"and exits (0, or 1 for a VM that is not there).\n"
"\n"
"  -j, --json       one JSON object per interval, one per line\n"
"  -p, --pid PID    only the VM whose VMM (QEMU) process is PID\n"
"  -n, --name NAME  only VMs named NAME\n"
"  -c, --counts     counts over each interval instead of per-second rates\n"
"  -r, --records    print the sources' records, one JSON object a line,\n"
"                   instead of the table, and a {\"tick\": ns} line after\n"
"                   each interval (for debugging the probes); exits are\n"
"                   timed then (latency field), as with --latency\n"
"  -L, --latency    time each exit too (kvm_entry hooked: costs more),\n"
"                   and add a table of exits by reason, as `perf kvm stat\n"
"                   report` has it: count, share of exits (%%), share of\n"
"                   handling time (%%), min, avg, p99 and max time; live\n"
"                   times are the lower bounds of 6.25%%-wide buckets\n"
"  -i, --input FILE report once on a recorded trace instead of the host:\n"
"                   a kvmscope record file or kvm tracefs text (\"-\":\n"
"                   standard input), counts over the whole file\n"
"  -C, --count-only count exits with kvm_exit alone, even with --records\n"
"  -x, --exits LIST more columns: exits by these reasons, as the kernel\n"
"                   names them (msr,cpuid,npf; VMX: msr_read,cpuid,...),\n"
"                   up to 8; -x list prints every reason name\n"
"  -w, --wait       run even when no KVM guest runs yet: rows appear as\n"
"                   VMs start (else stat says so and exits)\n"
"  -v, --verbose    show the BPF loader's messages\n"
"  -h, --help       this text\n"
"\n"
"The columns, as illumos kvmstat(1) has them:\n"
"  pid    VMM process running the virtual CPU\n"
"  vcpu   virtual CPU: QEMU's vCPU index, from the VMM's thread names\n"
"         (CPU n/KVM) or KVM's debugfs; where neither says, KVM's vcpu_id\n"
"         (the APIC id, equal to the index unless the CPU topology leaves\n"
"         holes); '-' if not yet known\n"
"  exits  VM exits\n"
"  haltx  exits for HLT (hlt)\n"
"  irqx   exits for an external interrupt (external_interrupt, interrupt)\n"
"  irqwx  exits for an open interrupt window (interrupt_window, vintr)\n"
"  iox    exits for port I/O (io_instruction, io)\n"
"  mmiox  exits to the VMM for memory-mapped I/O: exactly the returns\n"
"         of KVM_RUN with KVM_EXIT_MMIO (kvm_userspace_exit), as KVM's\n"
"         mmio_exits statistic counts them; MMIO that KVM emulates itself\n"
"         (local APIC, IOAPIC) and faults that only map guest memory are\n"
"         not MMIO exits\n"
"  irqs   interrupts injected into the virtual CPU (kvm_inj_virq; misses\n"
"         APICv/AVIC posted delivery)\n"
"  emul   instructions emulated in the kernel (kvm_emulate_insn)\n"
"  eptv   nested page table violations (ept_violation, npf)\n"
"  vm     VM name (the VMM process name for now)\n");
}

/* Whether name is an exit reason of either table. */
static bool known_reason(const char *name)
{
	return ks_exitreason_code(KS_ISA_SVM, name) >= 0 ||
	       ks_exitreason_code(KS_ISA_VMX, name) >= 0;
}

/* -x list: every reason name of both tables, as -x takes them. */
static void list_reasons(void)
{
	static const struct { enum ks_isa isa; const char *what; } t[] = {
		{ KS_ISA_SVM, "AMD SVM" }, { KS_ISA_VMX, "Intel VMX" } };
	char buf[KS_EXITREASON_MAXLEN];
	const char *name;
	uint32_t code;

	for (size_t k = 0; k < 2; k++) {
		printf("%s exit reasons:\n", t[k].what);
		for (size_t i = 0; !ks_exitreason_entry(t[k].isa, i, &code,
							&name); i++) {
			ks_exitreason_normalize(name, strlen(name), buf,
						sizeof(buf));
			printf("  %-24s 0x%x\n", buf, code);
		}
	}
}

/* -x LIST: comma-separated reasons, each known, at most KS_VS_XMAX. */
static int parse_reasons(const char *list, struct stat_opts *o)
{
	const char *p = list;

	for (;;) {
		size_t n = strcspn(p, ",");
		char *r;

		if (o->nreasons == KS_VS_XMAX) {
			fprintf(stderr, "kvmscope stat: -x: at most %d exit "
				"reasons\n", KS_VS_XMAX);
			return -EINVAL;
		}
		r = o->reason[o->nreasons];
		ks_exitreason_normalize(p, n, r, KS_EXITREASON_MAXLEN);
		if (!n || n >= KS_EXITREASON_MAXLEN || !known_reason(r)) {
			fprintf(stderr, "kvmscope stat: -x: '%.*s' is not an exit "
				"reason of the SVM or VMX table (-x list "
				"lists them)\n", (int)(n > 64 ? 64 : n),
				p);
			return -EINVAL;
		}
		for (size_t i = 0; i < o->nreasons; i++)
			if (!strcmp(o->reason[i], r)) {
				fprintf(stderr, "kvmscope stat: -x: '%s' given "
					"twice\n", r);
				return -EINVAL;
			}
		o->nreasons++;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

static int parse(int argc, char **argv, struct stat_opts *o)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "counts", no_argument, NULL, 'c' },
		{ "records", no_argument, NULL, 'r' },
		{ "latency", no_argument, NULL, 'L' },
		{ "count-only", no_argument, NULL, 'C' },
		{ "exits", required_argument, NULL, 'x' },
		{ "input", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->interval = 1;
	while ((c = getopt_long(argc, argv, "jp:n:crLCx:i:vwh", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'w': o->wait = true; break;
		case 'v': o->verbose = true; break;
		case 'c': o->counts = true; break;
		case 'r': o->records = true; break;
		case 'L': o->latency = true; break;
		case 'C': o->count_only = true; break;
		case 'n': o->name = optarg; break;
		case 'i': o->input = optarg; break;
		case 'x':
			if (!strcmp(optarg, "list")) {
				list_reasons();
				return 0;
			}
			if (parse_reasons(optarg, o))
				return 2;
			break;
		case 'p':
			if (ks_cli_parse_uint(PROG, optarg, "pid", INT_MAX, &v))
				return 2;
			o->pid = (uint32_t)v;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o->input && (o->records || optind < argc)) {
		fprintf(stderr, "kvmscope stat: --input reports once on the "
			"whole file: no %s\n", o->records ? "--records" :
			"interval or count");
		return 2;
	}
	if (optind < argc) {
		if (ks_cli_parse_uint(PROG, argv[optind++], "interval", 86400,
				      &v))
			return 2;
		o->interval = (unsigned)v;
	}
	if (optind < argc) {
		if (ks_cli_parse_uint(PROG, argv[optind++], "count",
				      ULONG_MAX / 2, &v))
			return 2;
		o->count = v;
	}
	if (optind < argc) {
		fprintf(stderr, "kvmscope stat: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* What a column shows: the per-second rate, or with --counts the count. */
static uint64_t shown(const struct stat_opts *o, uint64_t n, uint64_t dt)
{
	return o->counts ? n : ks_vcpustat_rate(n, dt);
}

static bool row_wanted(const struct stat_opts *o, const struct ks_vs_row *r)
{
	if (o->pid && r->pid != o->pid)
		return false;
	return !o->name ||
	       (r->vm_sym && !strcmp(ks_sym_str(r->vm_sym), o->name));
}

/* Width of an added reason's column: its name, at least 6. */
static int reason_width(const char *name)
{
	int n = (int)strlen(name);

	return n < 6 ? 6 : n;
}

static void print_header(const struct stat_opts *o)
{
	printf("%6s %4s | %6s : %6s %6s %6s %6s %6s | %6s %6s %6s",
	       "pid", "vcpu", "exits", "haltx", "irqx", "irqwx", "iox", "mmiox",
	       "irqs", "emul", "eptv");
	if (o->nreasons)
		printf(" |");
	for (size_t i = 0; i < o->nreasons; i++)
		printf(" %*s", reason_width(o->reason[i]), o->reason[i]);
	printf(" %s\n", "vm");
}

static void print_row(const struct stat_opts *o, const struct ks_vs_row *r,
		      uint64_t dt)
{
	char vcpu[24];

	snprintf(vcpu, sizeof(vcpu), "%lld", (long long)r->vcpu);
	printf("%6llu %4s |", (unsigned long long)r->pid,
	       r->vcpu < 0 ? "-" : vcpu);
	/* kvmstat's order: exits, the five exit kinds, irqs, emul, eptv. */
	for (int c = 0; c < KS_VS__COUNT; c++) {
		printf(" %6llu", (unsigned long long)shown(o, r->n[c], dt));
		if (c == KS_VS_EXITS)
			printf(" :");
		else if (c == KS_VS_MMIOX)
			printf(" |");
	}
	if (o->nreasons)
		printf(" |");
	for (size_t i = 0; i < o->nreasons; i++)
		printf(" %*llu", reason_width(o->reason[i]),
		       (unsigned long long)shown(o, r->x[i], dt));
	printf(" %s\n", r->vm_sym ? ks_sym_str(r->vm_sym) : "-");
}

/* ---- -L: exits by reason, as perf kvm stat report ---------------------- */

static const char *reason_name(const struct ks_exitlat_row *r)
{
	return r->reason ? ks_sym_str(r->reason) : "(unknown)";
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0;
}

static void print_lat_line(const char *name, const struct ks_exitlat_row *r,
			   const struct ks_exitlat_row *all, bool p99)
{
	char t[4][16];

	ks_units_fmt(t[0], sizeof(t[0]), (double)r->min_ns, KS_UNIT_NS);
	ks_units_fmt(t[1], sizeof(t[1]), ks_exitlat_mean(r), KS_UNIT_NS);
	ks_units_fmt(t[2], sizeof(t[2]), ks_exitlat_quantile(r, 0.99),
		     KS_UNIT_NS);
	ks_units_fmt(t[3], sizeof(t[3]), (double)r->max_ns, KS_UNIT_NS);
	printf("%24s %9llu %7.2f%% %7.2f%%", name,
	       (unsigned long long)r->count,
	       pct((double)r->count, (double)all->count),
	       pct(r->total_ns, all->total_ns));
	if (r->timed)
		printf(" %9s %9s %9s %9s\n", t[0], t[1], p99 ? t[2] : "-",
		       t[3]);
	else
		printf(" %9s %9s %9s %9s\n", "-", "-", "-", "-");
}

static void print_lat_text(struct ks_exitlat *lat)
{
	const struct ks_exitlat_row *rows;
	struct ks_exitlat_row all;
	size_t n = ks_exitlat__rows(lat, &rows, &all);

	printf("\n%24s %9s %8s %8s %9s %9s %9s %9s\n", "VM-EXIT", "count",
	       "count%", "time%", "min", "avg", "p99", "max");
	for (size_t i = 0; i < n; i++)
		print_lat_line(reason_name(&rows[i]), &rows[i], &all, true);
	print_lat_line("total", &all, &all, false);
	printf("\n");
}

/* Times in ns, shares in percent; min/avg/p99/max null without any. */
static json_t *lat_json(struct ks_exitlat *lat)
{
	const struct ks_exitlat_row *rows;
	struct ks_exitlat_row all;
	size_t n = ks_exitlat__rows(lat, &rows, &all);
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		const struct ks_exitlat_row *r = &rows[i];
		json_t *j = json_pack("{s:s, s:I, s:I, s:f, s:f, s:f}",
			"reason", reason_name(r), "count", (json_int_t)r->count,
			"timed", (json_int_t)r->timed,
			"count_pct", pct((double)r->count, (double)all.count),
			"time_pct", pct(r->total_ns, all.total_ns),
			"time_ns", r->total_ns);

		if (j && r->timed) {
			json_object_set_new(j, "min_ns", json_integer(
				(json_int_t)r->min_ns));
			json_object_set_new(j, "avg_ns", json_real(
				ks_exitlat_mean(r)));
			/* Whole ns: JSON Lines print reals with 6 digits,
			 * which could put a p99 above the max it is below. */
			json_object_set_new(j, "p99_ns", json_integer(
				(json_int_t)(ks_exitlat_quantile(r, 0.99) +
					     0.5)));
			json_object_set_new(j, "max_ns", json_integer(
				(json_int_t)r->max_ns));
		}
		json_array_append_new(a, j);
	}
	return a;
}

/* In place of an empty table. */
static void print_nothing(const struct stat_opts *o)
{
	if (o->pid || o->name)
		printf("no such VM: the VM asked for made no exits%s\n",
		       o->input ? " in the trace" : " (it has gone?)");
	else
		printf("no KVM guests %s\n", o->input ? "in the trace" :
		       "on this host");
}

static size_t rows_wanted(const struct stat_opts *o,
			  const struct ks_vs_row *rows, size_t n)
{
	size_t shown = 0;

	for (size_t i = 0; i < n; i++)
		shown += row_wanted(o, &rows[i]);
	return shown;
}

static int print_text(const struct stat_opts *o, const struct ks_vs_row *rows,
		      size_t n, uint64_t dt, unsigned long report,
		      struct ks_exitlat *lat)
{
	size_t shown = rows_wanted(o, rows, n);

	if (!shown && o->wait) {	/* waiting for guests: the bare table */
		if (report % HEADER_EVERY == 0)
			print_header(o);
		return 0;
	}
	if (!shown) {
		print_nothing(o);
		return 0;
	}
	/* As kvmstat: a header every interval, unless there is one line. */
	if (shown != 1 || report % HEADER_EVERY == 0 || lat)
		print_header(o);
	for (size_t i = 0; i < n; i++)
		if (row_wanted(o, &rows[i]))
			print_row(o, &rows[i], dt);
	if (lat)
		print_lat_text(lat);
	return 0;
}

static json_t *row_json(const struct stat_opts *o, const struct ks_vs_row *r,
		       uint64_t dt)
{
	json_t *j = json_object();

	if (!j)
		return NULL;
	json_object_set_new(j, "pid", json_integer((json_int_t)r->pid));
	json_object_set_new(j, "vm", r->vm_sym ?
			    json_string(ks_sym_str(r->vm_sym)) : json_null());
	json_object_set_new(j, "vcpu", r->vcpu < 0 ? json_null() :
					json_integer(r->vcpu));
	for (int c = 0; c < KS_VS__COUNT; c++)
		json_object_set_new(j, ks_vcpustat_col_name(c),
				    json_integer((json_int_t)
						 shown(o, r->n[c], dt)));
	if (o->nreasons) {
		json_t *x = json_object();

		for (size_t i = 0; x && i < o->nreasons; i++)
			json_object_set_new(x, o->reason[i], json_integer(
				(json_int_t)shown(o, r->x[i], dt)));
		json_object_set_new(j, "reasons", x);
	}
	return j;
}

static int print_json(const struct stat_opts *o, const struct ks_vs_row *rows,
		      size_t n, uint64_t dt, uint64_t wall, uint64_t drops,
		      struct ks_exitlat *lat)
{
	json_t *top = json_object(), *arr = json_array();
	char *s;

	if (!top || !arr) {
		json_decref(top);
		json_decref(arr);
		return -ENOMEM;
	}
	json_object_set_new(top, "time",
			    json_integer((json_int_t)(wall / KS_NSEC_PER_SEC)));
	json_object_set_new(top, "interval", json_real((double)dt / 1e9));
	json_object_set_new(top, "drops", json_integer((json_int_t)drops));
	for (size_t i = 0; i < n; i++)
		if (row_wanted(o, &rows[i]))
			json_array_append_new(arr, row_json(o, &rows[i], dt));
	json_object_set_new(top, "rows", arr);
	if (lat)
		json_object_set_new(top, "latency", lat_json(lat));
	s = json_dumps(top, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(top);
	if (!s)
		return -ENOMEM;
	printf("%s\n", s);
	free(s);
	return 0;
}

/* --records: one JSON object per record, fields by catalogue name. */
static int print_record(void *ctx, const struct ks_record *r)
{
	const struct stat_opts *o = ctx;
	const struct ks_metricinfo *mi = ks_metric_info(r->metric);
	json_t *j, *fields;
	char name[64], *s;

	if (o->name && (!ks_record_has(r, KS_F_VM) ||
			strcmp(ks_sym_str((uint32_t)r->f[KS_F_VM]), o->name)))
		return 0;
	if (!(fields = json_object()))
		return -ENOMEM;
	for (int f = 0; f < KS_F__COUNT; f++) {
		if (!ks_record_has(r, f))
			continue;
		json_object_set_new(fields, ks_field_info(f)->name,
				    ks_field_numeric(f) ?
				    json_integer((json_int_t)r->f[f]) :
				    json_string(ks_sym_str((uint32_t)r->f[f])));
	}
	snprintf(name, sizeof(name), "%s.%s", mi->module, mi->stat);
	j = json_pack("{s:s, s:I, s:I, s:o}", "metric", name, "ts",
		      (json_int_t)r->ts, "value", (json_int_t)r->value,
		      "fields", fields);
	if (!j || !(s = json_dumps(j, JSON_COMPACT))) {
		json_decref(j);
		return -ENOMEM;
	}
	printf("%s\n", s);
	free(s);
	json_decref(j);
	return 0;
}

static int print_counter(void *ctx, const struct ks_source_counter *c)
{
	const struct stat_opts *o = ctx;

	if (o->pid && c->pid != o->pid)
		return 0;
	if (c->vcpu == KS_SOURCE_VCPU_UNKNOWN)
		printf("{\"counter\":\"%s\",\"pid\":%u,\"vcpu\":null,"
		       "\"value\":%llu}\n", c->name, c->pid,
		       (unsigned long long)c->count);
	else
		printf("{\"counter\":\"%s\",\"pid\":%u,\"vcpu\":%u,"
		       "\"value\":%llu}\n", c->name, c->pid, c->vcpu,
		       (unsigned long long)c->count);
	return 0;
}

struct run {
	const struct stat_opts *o;
	struct ks_source *src[2];
	struct ks_vcpustat *vs;
	struct ks_exitlat *lat;		/* -L */
	struct ks_source_sink print;	/* --records */
	struct ks_source_sink tee;	/* the table, and -L's */
	const struct ks_source_sink *sink;
	uint64_t drops_seen;
	uint64_t attached;	/* wall ns: the exits probe counts from here */
};

static void run_close(struct run *r)
{
	for (int i = 0; i < 2; i++)
		ks_source__close(r->src[i]);
	ks_vcpustat__free(r->vs);
	ks_exitlat__free(r->lat);
}

/* The per-vCPU table gets every record; -L's table those of the VMs
 * shown (the sources already keep to -p's). */
static int tee_record(void *ctx, const struct ks_record *rec)
{
	struct run *r = ctx;
	const struct ks_source_sink *vs = ks_vcpustat__sink(r->vs);
	const char *name = r->o->name;
	int rc = vs->record(vs->ctx, rec);

	if (rc || !r->lat)
		return rc;
	if (r->o->pid && (!ks_record_has(rec, KS_F_PID) ||
			  strtoul(ks_sym_str((uint32_t)rec->f[KS_F_PID]),
				  NULL, 10) != r->o->pid))
		return 0;
	if (name && (!ks_record_has(rec, KS_F_VM) ||
		     strcmp(ks_sym_str((uint32_t)rec->f[KS_F_VM]), name)))
		return 0;
	return ks_exitlat__add(r->lat, rec);
}

static int tee_counter(void *ctx, const struct ks_source_counter *c)
{
	struct run *r = ctx;
	const struct ks_source_sink *vs = ks_vcpustat__sink(r->vs);

	return vs->counter(vs->ctx, c);
}

/* The tables, without sources (--input). */
static int run_tables(struct run *r, const struct stat_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->o = o;
	if (!(r->vs = ks_vcpustat__new()) ||
	    (o->latency && !(r->lat = ks_exitlat__new()))) {
		fprintf(stderr, "kvmscope stat: out of memory\n");
		return -ENOMEM;
	}
	for (size_t i = 0; i < o->nreasons; i++)
		if (ks_vcpustat__add_reason(r->vs, o->reason[i])) {
			fprintf(stderr, "kvmscope stat: out of memory\n");
			return -ENOMEM;
		}
	r->tee = (struct ks_source_sink){ tee_record, tee_counter, r };
	r->print = (struct ks_source_sink){ print_record, print_counter,
					    (void *)o };
	r->sink = o->records ? &r->print : &r->tee;
	return 0;
}

static int run_open(struct run *r, const struct stat_opts *o)
{
	const struct ks_source_ops *ops[2] = { &ks_source_bpf_exits,
					       &ks_source_bpf_irqs };
	struct ks_source_opts so;
	struct ks_err err;

	if (run_tables(r, o))
		return -ENOMEM;
	ks_source_opts_init(&so);
	/* The table has no latency column: kvm_exit alone, dense counters,
	 * unless exit latency is printed or asked for. */
	so.exits_count_only = o->count_only ||
			      (!o->records && !o->latency);
	/* Of the userspace exits the table shows MMIO (mmiox) alone; records
	 * show everything. */
	so.uexits_by_reason_only = !o->records;
	so.uexits_mmio_only = !o->records;
	so.pid = o->pid;
	so.verbose = o->verbose;
	for (int i = 0; i < 2; i++) {
		ks_err_clear(&err);
		r->src[i] = ks_source__open(ops[i], &so, &err);
		if (!r->src[i] || ks_source__attach(r->src[i], &err)) {
			fprintf(stderr, "kvmscope stat: %s: %s\n", err.param,
				err.msg);
			return -EIO;
		}
		if (!i)
			r->attached = (uint64_t)ks_clock_wall_ns();
	}
	return 0;
}

/* Reads every source into the table; returns the drops since the last
 * read (events the kernel could not count), or a negative errno. */
static int64_t run_read(struct run *r, uint64_t wall)
{
	uint64_t drops = 0, d;
	int e;

	for (int i = 0; i < 2; i++) {
		e = ks_source__read(r->src[i], wall, r->sink);
		if (e) {
			fprintf(stderr, "kvmscope stat: reading %s: %s\n",
				ks_source__name(r->src[i]), strerror(-e));
			return e;
		}
		drops += ks_source__stats(r->src[i])->drops;
	}
	d = drops - r->drops_seen;
	r->drops_seen = drops;
	return (int64_t)d;
}

/* One report: reads every second that has ended since *covered and
 * prints it.  Rates are over the wall seconds the read covered: the
 * sources count each event in its own whole second and a read takes
 * every second that has ended, so an interval is from the end of the
 * last second read before (at first, when the exits probe was attached)
 * to the end of this one, not the time the loop happened to sleep, which
 * a busy host stretches.  0, or 1 on a failed read. */
static int report_once(const struct stat_opts *o, struct run *r,
		       uint64_t *covered, unsigned long report)
{
	const struct ks_vs_row *rows;
	uint64_t wall, dt;
	int64_t drops;
	size_t n;

	wall = (uint64_t)ks_clock_wall_ns();
	/* Stamped with the last ns of the second that ended: the sources
	 * count every event in its own second, and what the second in
	 * progress has seen waits for the next read. */
	wall -= wall % KS_NSEC_PER_SEC + 1;
	dt = wall + 1 > *covered ? wall + 1 - *covered : 1;
	*covered = wall + 1 > *covered ? wall + 1 : *covered;
	if ((drops = run_read(r, wall)) < 0)
		return 1;
	n = ks_vcpustat__rows(r->vs, &rows);
	if (o->records)	/* records were printed while reading */
		printf("{\"tick\":%llu,\"drops\":%lld}\n",
		       (unsigned long long)wall, (long long)drops);
	else if (o->json)
		print_json(o, rows, n, dt, wall, (uint64_t)drops, r->lat);
	else
		print_text(o, rows, n, dt, report, r->lat);
	if (drops && (!o->json || o->records))
		fprintf(stderr, "kvmscope stat: %lld events not counted "
				"(kernel maps full)\n", (long long)drops);
	fflush(stdout);
	ks_vcpustat__reset(r->vs, NULL);
	if (r->lat)
		ks_exitlat__reset(r->lat);
	return 0;
}

/* Whether a whole second has ended since covered. */
static bool second_ended(uint64_t covered)
{
	uint64_t wall = (uint64_t)ks_clock_wall_ns();

	return wall - wall % KS_NSEC_PER_SEC > covered;
}

/* Reports every interval; when interrupted, one last report of the
 * seconds that ended since the last one (a busy host can run a read
 * late: an interrupt right after a short burst found the burst's seconds
 * ended but never read, and they went unreported).  The second in
 * progress is not reported: its counts are partial. */
static int loop(const struct stat_opts *o, struct run *r)
{
	uint64_t start = (uint64_t)ks_clock_mono_ns();
	uint64_t covered = r->attached;
	unsigned long report;

	for (report = 0; !ks_cli_stop && (!o->count || report < o->count);
	     report++) {
		ks_cli_wait_until(start +
			   (report + 1) * o->interval * KS_NSEC_PER_SEC);
		if (ks_cli_stop)
			break;
		if (report_once(o, r, &covered, report))
			return 1;
	}
	if (ks_cli_stop && second_ended(covered))
		return report_once(o, r, &covered, report);
	return 0;
}

static int input_record(void *ctx, const struct ks_record *rec)
{
	struct run *r = ctx;

	return r->sink->record(r->sink->ctx, rec);
}

/* --input: one report over the whole file, in counts (a trace's span is
 * often a fraction of a second: rates would be extrapolations). */
static int from_input(struct stat_opts *o)
{
	const struct ks_vs_row *rows;
	struct ks_input_stats st;
	struct ks_err err;
	struct run r;
	size_t n;
	int rc = 1;

	o->counts = true;
	if (run_tables(&r, o))
		goto out;
	if (ks_input_read(o->input, input_record, &r, &st, &err)) {
		fprintf(stderr, "kvmscope stat: %s\n", err.msg);
		goto out;
	}
	fprintf(stderr, "kvmscope stat: %llu records over %.3f s of %s%s\n",
		(unsigned long long)st.records,
		(double)(st.last_ts - st.first_ts) / 1e9,
		st.recfile ? "recording" : "trace",
		st.unusable ? " (some of it not understood)" : "");
	n = ks_vcpustat__rows(r.vs, &rows);
	if (!rows_wanted(o, rows, n)) {
		print_nothing(o);
		rc = o->pid || o->name ? 1 : 0;
		goto out;
	}
	if (o->json)
		print_json(o, rows, n, st.last_ts - st.first_ts, st.last_ts,
			   0, r.lat);
	else
		print_text(o, rows, n, st.last_ts - st.first_ts, 0, r.lat);
	rc = 0;
out:
	run_close(&r);
	return rc;
}

int cmd_stat(int argc, char **argv)
{
	struct stat_opts o;
	struct run r;
	int rc;

	if ((rc = parse(argc, argv, &o)) >= 0)
		return rc;
	if (o.input)
		return from_input(&o);
	/* Nothing to watch: said before any probe loads (unless -w). */
	switch (ks_cli_guests(PROG, o.pid, o.name, true)) {
	case KS_GUESTS_NONE:
		if (!o.wait)
			return 0;
		break;
	case KS_GUESTS_NO_SUCH: return 1;
	default: break;
	}
	if (run_open(&r, &o)) {
		run_close(&r);
		return 1;
	}
	ks_cli_catch_stop();
	rc = loop(&o, &r);
	run_close(&r);
	return rc;
}
