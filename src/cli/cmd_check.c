/* cmd_check.c - `kvmscope check`: the agent validates itself on this host.
 *
 * Three questions an operator asks before trusting an agent on a host:
 * what does this host offer (kernel, VMX or SVM, KVM's parameters,
 * tracepoints, BTF, so which metrics and fields are available and why
 * not), do kvmscope's counts equal KVM's own (a window of S seconds
 * counted by the real sources, held against KVM's debugfs statistics per
 * VM, edges explained: source/agree.h), and what do its programs cost
 * here (the kernel's BPF run-time statistics for every program it
 * loaded, and what the sources could not count).
 *
 * The answer is built once as a JSON document; --json prints it, the text
 * printer walks it.  Exit status: 0 when every compared statistic agrees,
 * 1 when one differs, 2 for bad usage, 3 when nothing could be compared
 * (no KVM usable here, no root or BPF, no KVM debugfs, or no VM ran in
 * the window); the report says which.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/statlib.h"
#include "engine/catalog.h"
#include "engine/symtab.h"
#include "source/agree.h"
#include "source/bpfcost.h"
#include "source/source.h"
#include "util/clock.h"
#include "vm/kvmcounters.h"
#include "vm/kvmhost.h"

#define PROG "kvmscope check"
#define EXIT_DIFFER 1
#define EXIT_USAGE 2
#define EXIT_CANNOT 3

struct check_opts {
	unsigned duration;	/* seconds in the window */
	unsigned edge_ms;	/* debugfs read this far each side of an edge */
	bool json;
	bool verbose;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvmscope check [-d SECONDS] [-e MS] [-j] [-v]\n\n"
"Validates kvmscope on this host (root):\n"
"  host       kernel, VMX or SVM, KVM's module parameters, tracepoints and\n"
"             BTF; each metric and field available or not, and why\n"
"  agreement  counts VM exits, HLT exits, port I/O and MMIO exits to the\n"
"             VMM and injected interrupts with kvmscope's own probes for\n"
"             SECONDS, per VM (and exits per vCPU), and compares them with\n"
"             KVM's own statistics (debugfs) over the same window\n"
"  cost       each of its BPF programs' runs and run time here (the\n"
"             kernel's BPF statistics), and events the sources lost\n\n"
"  -d, --duration S   the window, 1-3600 seconds (default 5)\n"
"  -e, --edge-ms MS   read KVM's statistics MS before and after each edge\n"
"                     of the window, 1-500 (default 100)\n"
"  -j, --json         one JSON object\n"
"  -v, --verbose      the BPF loader's messages\n"
"  -h, --help         this text\n\n"
"Exit status: 0 every compared statistic agrees, 1 one differs, 2 bad\n"
"usage, 3 nothing could be compared (no KVM here, no root or BPF, no KVM\n"
"debugfs, or no VM ran in the window).\n");
}

/* -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct check_opts *o)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "edge-ms", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	*o = (struct check_opts){ .duration = 5, .edge_ms = 100 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:e:jvh", longopts, NULL)) != -1)
		switch (c) {
		case 'd':
			if (ks_cli_parse_uint(PROG, optarg, "--duration", 3600,
					      &v))
				return EXIT_USAGE;
			o->duration = (unsigned)v;
			break;
		case 'e':
			if (ks_cli_parse_uint(PROG, optarg, "--edge-ms", 500, &v))
				return EXIT_USAGE;
			o->edge_ms = (unsigned)v;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

/* ---- the host ---- */

static json_t *host_json(const struct ks_kvmhost *h)
{
	json_t *params = json_object(), *tps = json_object();

	for (size_t i = 0; i < h->nparams; i++)
		json_object_set_new(params, h->param[i].name,
				    *h->param[i].value ?
				    json_string(h->param[i].value) :
				    json_null());
	for (int t = 0; t < KS_TP__COUNT; t++)
		json_object_set_new(tps, ks_kvmhost_tp_name(t),
				    json_boolean(h->tp[t]));
	return json_pack("{s:s, s:s, s:s, s:b, s:s?, s:b, s:b, s:o, s:o, "
			 "s:{s:b, s:b, s:b}}",
			 "kernel", h->kernel, "cpu_vendor", h->cpu_vendor,
			 "virtualization", ks_kvmhost_vendor_name(h->vendor),
			 "kvm_loaded", h->kvm_loaded,
			 "kvm_module", *h->module ? h->module : NULL,
			 "dev_kvm", h->dev_kvm, "kvm_debugfs", h->debugfs_kvm,
			 "parameters", params, "tracepoints", tps,
			 "btf", "vmlinux", h->btf_vmlinux, "kvm", h->btf_kvm,
			 "module", h->btf_module);
}

/* Whether a parameter is set ("Y", "1"). */
static bool param_on(const struct ks_kvmhost *h, const char *name)
{
	for (size_t i = 0; i < h->nparams; i++)
		if (!strcmp(h->param[i].name, name))
			return !strcmp(h->param[i].value, "Y") ||
			       !strcmp(h->param[i].value, "1");
	return false;
}

/* The tracepoint a metric's probe needs, or -1 for none. */
static int metric_tp(enum ks_metric m)
{
	switch (m) {
	case KS_M_VM_EXITS: return KS_TP_EXIT;
	case KS_M_VM_IRQS: return KS_TP_INJ_VIRQ;
	case KS_M_VM_APIC_IRQS: return KS_TP_APIC_ACCEPT_IRQ;
	case KS_M_VM_USERSPACE_EXITS: return KS_TP_USERSPACE_EXIT;
	case KS_M_VM_PIO_OPS: return KS_TP_PIO;
	case KS_M_VM_MMIO_OPS: return KS_TP_MMIO;
	default: return -1;
	}
}

/* Why the metric is not (fully) available here, or NULL. */
static const char *metric_why(const struct ks_kvmhost *h, enum ks_metric m,
			      bool *available)
{
	int tp = metric_tp(m);

	*available = true;
	if (tp >= 0 && !h->tp[tp]) {
		*available = false;
		return h->tracefs ? "its kvm tracepoint is missing" :
		       "no tracefs with kvm events (is kvm loaded, tracefs "
		       "mounted?)";
	}
	if (m == KS_M_VM_IRQS && (param_on(h, "enable_apicv") ||
				  param_on(h, "avic")))
		return "APICv/AVIC is on: interrupts it posts reach the guest "
		       "without an injection and are not counted";
	if (m == KS_M_VM_EXITS && !h->tp[KS_TP_ENTRY])
		return "no kvm_entry tracepoint: exits are counted without "
		       "latency";
	if (m == KS_M_VM_THREAD_SAMPLES) {
		if (h->vendor == KS_VENDOR_VMX)
			return "Intel: guestmode is 'guest' (the ring is in the "
			       "VMCS), vmmmuctx and guestrip only where KVM read "
			       "them at that exit";
		if (h->vendor == KS_VENDOR_SVM && !h->btf_module)
			return "no kvm_amd BTF: guestmode, guestrip and vmmmuctx "
			       "cannot be read from the VMCB";
	}
	return NULL;
}

static json_t *metrics_json(const struct ks_kvmhost *h)
{
	json_t *a = json_array();

	for (int m = 0; m < KS_M__COUNT; m++) {
		const struct ks_metricinfo *mi = ks_metric_info(m);
		bool avail;
		const char *why = metric_why(h, m, &avail);
		char name[64];

		snprintf(name, sizeof(name), "%s.%s", mi->module, mi->stat);
		json_array_append_new(a, json_pack("{s:s, s:b, s:s?}", "name",
			name, "available", avail, "why", why));
	}
	return a;
}

/* ---- the window ---- */

struct window {
	struct ks_source *src[2];
	struct ks_agree *agree;
	struct ks_kvmcounters kc[4];	/* A before, A after, B before, after */
	int stats_fd;
	char why[256];		/* why nothing could be compared */
};

/* Sleeps until the wall clock reads wall_ns (or a signal stops us). */
static void sleep_until_wall(uint64_t wall_ns)
{
	uint64_t now = (uint64_t)ks_clock_wall_ns();
	struct timespec t;

	if (ks_cli_stop || now >= wall_ns)
		return;
	t.tv_sec = (time_t)((wall_ns - now) / KS_NSEC_PER_SEC);
	t.tv_nsec = (long)((wall_ns - now) % KS_NSEC_PER_SEC);
	while (!ks_cli_stop && nanosleep(&t, &t) && errno == EINTR)
		;
}

static int window_open(struct window *w, const struct check_opts *o)
{
	const struct ks_source_ops *ops[2] = { &ks_source_bpf_exits,
					       &ks_source_bpf_irqs };
	struct ks_source_opts so;
	struct ks_err err;

	ks_source_opts_init(&so);
	so.exits_count_only = true;	/* the agent's cheapest mode */
	so.uexits_by_reason_only = true;
	so.verbose = o->verbose;
	if (!(w->agree = ks_agree__new()))
		return -ENOMEM;
	w->stats_fd = ks_bpfcost_enable();
	for (int i = 0; i < 2; i++) {
		ks_err_clear(&err);
		w->src[i] = ks_source__open(ops[i], &so, &err);
		if (!w->src[i] || ks_source__attach(w->src[i], &err)) {
			snprintf(w->why, sizeof(w->why), "%.60s: %.190s", err.param,
				 err.msg);
			return -EIO;
		}
	}
	return 0;
}

static void window_close(struct window *w)
{
	for (int i = 0; i < 2; i++)
		ks_source__close(w->src[i]);
	ks_agree__free(w->agree);
	if (w->stats_fd >= 0)
		close(w->stats_fd);
}

/* Reads both sources up to the end of the second before edge_ns. */
static int window_read(struct window *w, uint64_t edge_ns,
		       const struct ks_source_sink *sink)
{
	for (int i = 0; i < 2; i++) {
		int e = ks_source__read(w->src[i], edge_ns - 1, sink);

		if (e)
			return e;
	}
	return 0;
}

static int discard(void *ctx, const struct ks_record *r)
{
	(void)ctx;
	(void)r;
	return 0;
}

/* Where an edge's debugfs reads fell: ms before and after the edge. */
struct edge_times {
	uint64_t edge;		/* wall ns */
	double before_ms, after_ms;
	unsigned tries;		/* edges tried until one was bracketed */
};

/* One edge at wall time edge: KVM's statistics read before it, then
 * after it, and the sources read up to it (into sink).  Returns 1 when
 * the read "before" the edge ended after it (the host kept us from
 * running in time): that edge brackets nothing, and the caller moves on
 * to the next second. */
static int window_edge(struct window *w, uint64_t edge, uint64_t margin,
		       struct ks_kvmcounters *before,
		       struct ks_kvmcounters *after,
		       const struct ks_source_sink *sink,
		       struct edge_times *et)
{
	const char *dir = ks_kvmhost_debugfs();
	uint64_t t_before, t_after;
	int e;

	sleep_until_wall(edge - margin);
	if (before)
		ks_kvmcounters__read(before, dir);
	t_before = (uint64_t)ks_clock_wall_ns();
	sleep_until_wall(edge + margin);
	t_after = (uint64_t)ks_clock_wall_ns();
	if (after)
		ks_kvmcounters__read(after, dir);
	if ((e = window_read(w, edge, sink)))
		return e;
	if (et) {
		et->edge = edge;
		et->before_ms = ((double)t_before - (double)edge) / 1e6;
		et->after_ms = ((double)t_after - (double)edge) / 1e6;
		et->tries++;
	}
	return before && t_before >= edge ? 1 : 0;
}

#define EDGE_TRIES 8

static int window_run(struct window *w, const struct check_opts *o,
		      struct edge_times et[2])
{
	const struct ks_source_sink none = { discard, NULL, NULL };
	uint64_t margin = (uint64_t)o->edge_ms * 1000000ULL;
	uint64_t a = (uint64_t)ks_clock_wall_ns(), b;
	int e;

	/* The first edge is a whole second at least a margin away; a busy
	 * host that made us read late gets the next second instead. */
	a = (a + margin) / KS_NSEC_PER_SEC * KS_NSEC_PER_SEC + 2 * KS_NSEC_PER_SEC;
	/* A read a second before: everything counted since the probes
	 * attached is taken then, so the first edge's read holds no second
	 * but the one before it, whichever plane it is in (xcount.h). */
	if ((e = window_edge(w, a - KS_NSEC_PER_SEC, margin, NULL, NULL, &none,
			     NULL)))
		return e;
	do {
		e = window_edge(w, a, margin, &w->kc[0], &w->kc[1], &none,
				&et[0]);
		a += KS_NSEC_PER_SEC;
	} while (e == 1 && et[0].tries < EDGE_TRIES && !ks_cli_stop);
	if (e)
		return e < 0 ? e : -ETIME;
	ks_agree__reset(w->agree);
	b = et[0].edge + (uint64_t)o->duration * KS_NSEC_PER_SEC;
	for (uint64_t t = et[0].edge + KS_NSEC_PER_SEC; t < b && !ks_cli_stop;
	     t += KS_NSEC_PER_SEC)
		if ((e = window_edge(w, t, margin, NULL, NULL,
				     ks_agree__sink(w->agree), NULL)))
			return e;
	/* A last edge read late is counted through, and the next one
	 * tried: the window grows by that second. */
	do {
		if (ks_cli_stop)
			return -EINTR;
		e = window_edge(w, b, margin, &w->kc[2], &w->kc[3],
				ks_agree__sink(w->agree), &et[1]);
		b += KS_NSEC_PER_SEC;
	} while (e == 1 && et[1].tries < EDGE_TRIES);
	return e == 1 ? -ETIME : e;
}

/* ---- the report ---- */

/* KVM's four readings of statistic s for pid; false if a reading lacks
 * the VM or the statistic (it started or stopped in the window). */
static bool kvm_readings(const struct window *w, uint32_t pid, int s,
			 struct ks_agree_kvm *k)
{
	uint64_t v[4];

	for (int i = 0; i < 4; i++) {
		const struct ks_kc_vm *vm = ks_kvmcounters__find(&w->kc[i],
								 (pid_t)pid);

		if (!vm || !vm->have[s])
			return false;
		v[i] = vm->v[s];
	}
	*k = (struct ks_agree_kvm){ v[0], v[1], v[2], v[3] };
	return true;
}

struct tally {
	unsigned compared, differ;
};

static json_t *stat_json(const struct window *w, uint32_t pid, int s,
			 uint64_t ours, struct tally *t)
{
	struct ks_agree_kvm k;
	enum ks_agree_verdict v = KS_AGREE_NONE;
	uint64_t lo = 0, hi = 0;

	if (kvm_readings(w, pid, s, &k))
		v = ks_agree_judge(ours, &k, &lo, &hi);
	if (v != KS_AGREE_NONE)
		t->compared++;
	t->differ += v == KS_AGREE_DIFFER;
	if (v == KS_AGREE_NONE)
		return json_pack("{s:I, s:s}", "kvmscope", (json_int_t)ours,
				 "verdict", ks_agree_verdict_name(v));
	return json_pack("{s:I, s:I, s:I, s:I, s:s}", "kvmscope",
			 (json_int_t)ours, "kvm_min", (json_int_t)lo,
			 "kvm_max", (json_int_t)hi, "in_flight_at_edges",
			 (json_int_t)(hi - lo), "verdict",
			 ks_agree_verdict_name(v));
}

/* Why KVM's readings lack pid, if they do: which reading, and the
 * first failed read of it; NULL when all four have every statistic. */
static const char *kvm_missing(const struct window *w, uint32_t pid,
			       char *buf, size_t size)
{
	static const char *const at[4] = {
		"before the first edge", "after the first edge",
		"before the last edge", "after the last edge" };

	for (int i = 0; i < 4; i++) {
		const struct ks_kc_vm *vm = ks_kvmcounters__find(&w->kc[i],
								 (pid_t)pid);
		bool all = vm != NULL;

		for (int s = 0; vm && s < KS_KC__COUNT; s++)
			all = all && vm->have[s];
		if (all)
			continue;
		snprintf(buf, size, "KVM's reading %s %s%s%s%s", at[i],
			 vm ? "lacks a statistic" : "lacks the VM",
			 w->kc[i].err ? " (" : "", w->kc[i].err_what,
			 w->kc[i].err ? ": " : "");
		if (w->kc[i].err)
			snprintf(buf + strlen(buf), size - strlen(buf), "%s)",
				 strerror(w->kc[i].err));
		return buf;
	}
	return NULL;
}

static json_t *vcpus_json(const struct ks_agree *a, uint32_t pid)
{
	const struct ks_agree_vcpu *vc;
	size_t n = ks_agree__vcpus(a, &vc);
	json_t *o = json_object();
	char key[24];

	for (size_t i = 0; i < n; i++) {
		if (vc[i].pid != pid)
			continue;
		if (vc[i].vcpu < 0)
			snprintf(key, sizeof(key), "unknown");
		else
			snprintf(key, sizeof(key), "%lld",
				 (long long)vc[i].vcpu);
		json_object_set_new(o, key, json_integer((json_int_t)
							 vc[i].exits));
	}
	return o;
}

/* One VM: ours (zeros when we saw nothing of it) against KVM's. */
static json_t *vm_json(const struct window *w, uint32_t pid,
		       const struct ks_agree_vm *ours, struct tally *t)
{
	json_t *stats = json_object();
	char why[256];

	for (int s = 0; s < KS_KC__COUNT; s++)
		json_object_set_new(stats, ks_kc_stat_name(s),
				    stat_json(w, pid, s, ours ? ours->ours[s] :
					      0, t));
	return json_pack("{s:I, s:s?, s:o, s:o, s:s?}", "pid",
			 (json_int_t)pid, "vm", ours && ours->vm_sym ?
			 ks_sym_str(ours->vm_sym) : NULL,
			 "exits_by_vcpu", vcpus_json(w->agree, pid),
			 "statistics", stats, "not_compared_because",
			 kvm_missing(w, pid, why, sizeof(why)));
}

static const struct ks_agree_vm *ours_of(const struct ks_agree_vm *vms,
					 size_t n, uint32_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (vms[i].pid == pid)
			return &vms[i];
	return NULL;
}

/* Every VM in KVM's last reading or in ours. */
static json_t *vms_json(const struct window *w, struct tally *t)
{
	const struct ks_agree_vm *vms;
	size_t n = ks_agree__vms(w->agree, &vms);
	const struct ks_kvmcounters *last = &w->kc[3];
	json_t *a = json_array();

	for (size_t i = 0; i < last->n; i++)
		json_array_append_new(a, vm_json(w, (uint32_t)last->vm[i].pid,
			ours_of(vms, n, (uint32_t)last->vm[i].pid), t));
	for (size_t i = 0; i < n; i++)
		if (!ks_kvmcounters__find(last, (pid_t)vms[i].pid))
			json_array_append_new(a, vm_json(w, vms[i].pid,
							 &vms[i], t));
	return a;
}

static json_t *edges_json(const struct edge_times et[2])
{
	json_t *a = json_array();

	for (int i = 0; i < 2; i++)
		if (et[i].tries)
			json_array_append_new(a, json_pack(
				"{s:I, s:f, s:f, s:I}", "wall_s",
				(json_int_t)(et[i].edge / KS_NSEC_PER_SEC),
				"before_ms", et[i].before_ms, "after_ms",
				et[i].after_ms, "tries", (json_int_t)et[i].tries));
	return a;
}

static json_t *cost_json(const struct window *w)
{
	struct ks_bpfcost c;
	json_t *a = json_array(), *notes = json_array();
	uint64_t lost = 0;

	if (w->stats_fd >= 0 && !ks_bpfcost__read(&c))
		for (size_t i = 0; i < c.n; i++)
			json_array_append_new(a, json_pack(
				"{s:s, s:I, s:I, s:f}", "program",
				c.prog[i].name, "runs",
				(json_int_t)c.prog[i].run_cnt, "run_time_ns",
				(json_int_t)c.prog[i].run_time_ns,
				"ns_per_run", c.prog[i].run_cnt ?
				(double)c.prog[i].run_time_ns /
				(double)c.prog[i].run_cnt : 0.0));
	for (int i = 0; i < 2; i++)
		if (w->src[i])
			lost += ks_source__stats(w->src[i])->drops;
	for (int i = 0; i < 2; i++)
		if (w->src[i] && w->src[i]->note[0])
			json_array_append_new(notes, json_stringn(
				w->src[i]->note, strnlen(w->src[i]->note,
							 sizeof(w->src[i]->note))));
	return json_pack("{s:b, s:o, s:o, s:I, s:I}", "bpf_stats",
			 w->stats_fd >= 0, "programs", a, "notes", notes,
			 "lost_events",
			 (json_int_t)lost, "kept_back_records",
			 (json_int_t)(w->agree ? ks_agree__dropped(w->agree) :
				      0));
}

/* ---- text ---- */

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static void print_host(json_t *h)
{
	const char *k;
	json_t *v;

	printf("host\n  kernel          %s\n  cpu             %s, "
	       "virtualization: %s\n  kvm             %s%s, /dev/kvm %s, "
	       "debugfs statistics %s\n", str(h, "kernel"),
	       str(h, "cpu_vendor"), str(h, "virtualization"),
	       json_is_true(json_object_get(h, "kvm_loaded")) ? "loaded" :
	       "not loaded", json_is_string(json_object_get(h, "kvm_module")) ?
	       "" : " (no kvm_intel or kvm_amd)",
	       json_is_true(json_object_get(h, "dev_kvm")) ? "present" :
	       "absent", json_is_true(json_object_get(h, "kvm_debugfs")) ?
	       "present" : "absent");
	json_object_foreach(json_object_get(h, "parameters"), k, v)
		printf("  %-15s %s\n", k, json_is_string(v) ?
		       json_string_value(v) : "(not in this kernel)");
	printf("  tracepoints    ");
	json_object_foreach(json_object_get(h, "tracepoints"), k, v)
		printf(" %s%s", k, json_is_true(v) ? "" : "(missing)");
	v = json_object_get(h, "btf");
	printf("\n  btf             vmlinux %s, kvm %s, kvm module %s\n",
	       json_is_true(json_object_get(v, "vmlinux")) ? "yes" : "no",
	       json_is_true(json_object_get(v, "kvm")) ? "yes" : "no",
	       json_is_true(json_object_get(v, "module")) ? "yes" : "no");
}

static void print_metrics(json_t *a)
{
	size_t i;
	json_t *m;

	printf("\nmetrics\n");
	json_array_foreach(a, i, m) {
		json_t *why = json_object_get(m, "why");

		printf("  %-20s %s%s%s\n", str(m, "name"),
		       json_is_true(json_object_get(m, "available")) ?
		       "available" : "NOT AVAILABLE",
		       json_is_string(why) ? ": " : "",
		       json_is_string(why) ? json_string_value(why) : "");
	}
}

static void print_vm(json_t *vm)
{
	const char *k;
	json_t *s;

	printf("  VM pid %lld%s%s\n    exits by vCPU:",
	       (long long)json_integer_value(json_object_get(vm, "pid")),
	       json_is_string(json_object_get(vm, "vm")) ? " " : "",
	       json_is_string(json_object_get(vm, "vm")) ? str(vm, "vm") : "");
	json_object_foreach(json_object_get(vm, "exits_by_vcpu"), k, s)
		printf(" %s=%lld", k, (long long)json_integer_value(s));
	printf("\n");
	json_object_foreach(json_object_get(vm, "statistics"), k, s) {
		json_t *lo = json_object_get(s, "kvm_min");

		printf("    %-15s kvmscope %10lld  ", k, (long long)
		       json_integer_value(json_object_get(s, "kvmscope")));
		if (!lo)
			printf("%-28s  %s\n", "KVM -", str(s, "verdict"));
		else if (json_integer_value(lo) == json_integer_value(
				json_object_get(s, "kvm_max")))
			printf("KVM %10lld %16s  %s\n",
			       (long long)json_integer_value(lo), "",
			       str(s, "verdict"));
		else
			printf("KVM %10lld..%-10lld (%lld at the edges)  %s\n",
			       (long long)json_integer_value(lo), (long long)
			       json_integer_value(json_object_get(s, "kvm_max")),
			       (long long)json_integer_value(json_object_get(
				       s, "in_flight_at_edges")),
			       str(s, "verdict"));
	}
	if (json_is_string(json_object_get(vm, "not_compared_because")))
		printf("    not compared: %s\n", str(vm, "not_compared_because"));
}

static void print_text(json_t *r)
{
	json_t *w = json_object_get(r, "agreement"), *c, *p;
	size_t i;

	print_host(json_object_get(r, "host"));
	print_metrics(json_object_get(r, "metrics"));
	printf("\nagreement with KVM's statistics over %lld s (edges read "
	       "%lld ms each side)\n",
	       (long long)json_integer_value(json_object_get(w, "seconds")),
	       (long long)json_integer_value(json_object_get(w, "edge_ms")));
	json_array_foreach(json_object_get(w, "edges"), i, p) {
		double before = json_real_value(json_object_get(p, "before_ms"));

		printf("  %s edge at %lld: KVM read %.1f ms %s it and %.1f ms "
		       "after it (%lld %s)\n", i ? "last" : "first",
		       (long long)json_integer_value(json_object_get(p, "wall_s")),
		       before < 0 ? -before : before,
		       before < 0 ? "before" : "too late, after",
		       json_real_value(json_object_get(p, "after_ms")),
		       (long long)json_integer_value(json_object_get(p, "tries")),
		       json_integer_value(json_object_get(p, "tries")) == 1 ?
		       "try" : "tries");
	}
	json_array_foreach(json_object_get(w, "vms"), i, p)
		print_vm(p);
	c = json_object_get(r, "cost");
	printf("\ncost (BPF run-time statistics%s)\n",
	       json_is_true(json_object_get(c, "bpf_stats")) ? "" :
	       ": NOT AVAILABLE");
	json_array_foreach(json_object_get(c, "programs"), i, p)
		printf("  %-16s %12lld runs %14lld ns %10.1f ns/run\n",
		       str(p, "program"),
		       (long long)json_integer_value(json_object_get(p, "runs")),
		       (long long)json_integer_value(json_object_get(p,
							"run_time_ns")),
		       json_real_value(json_object_get(p, "ns_per_run")));
	json_array_foreach(json_object_get(c, "notes"), i, p)
		printf("  note: %s\n", json_string_value(p));
	printf("  lost events: %lld\n\nnot validated here:\n",
	       (long long)json_integer_value(json_object_get(c, "lost_events")));
	json_array_foreach(json_object_get(r, "not_validated"), i, p)
		printf("  %s\n", json_string_value(p));
	printf("\nverdict: %s%s%s\n",
	       str(r, "verdict"), json_is_string(json_object_get(r, "why")) ?
	       ": " : "", json_is_string(json_object_get(r, "why")) ?
	       str(r, "why") : "");
}

/* What this run did not validate, in words, for the report. */
static json_t *not_validated(const struct ks_kvmhost *h)
{
	json_t *a = json_array();

	json_array_append_new(a, json_string(
		"exit latency, subsecond offsets, samples, disk and NIC: KVM "
		"keeps no statistics to hold them against"));
	if (h->vendor == KS_VENDOR_VMX)
		json_array_append_new(a, json_string(
			"Intel: the samples' guest mode, RIP and cr3 (the "
			"VMCS is not readable from a probe; docs/intel.md)"));
	if (param_on(h, "enable_apicv") || param_on(h, "avic"))
		json_array_append_new(a, json_string(
			"interrupts posted by APICv/AVIC: neither KVM's "
			"irq_injections nor vm.irqs counts them"));
	return a;
}

/* ---- the command ---- */

/* The verdict and the exit status. */
static int judge(json_t *r, const struct ks_kvmhost *h, const struct window *w,
		 int run_rc, const struct tally *t)
{
	const char *why = NULL, *verdict = "agree";
	int rc = 0;

	if (*w->why)
		why = w->why;
	else if (run_rc == -EINTR)
		why = "interrupted before the window ended";
	else if (run_rc == -ETIME)
		why = "this host kept kvmscope from reading KVM's statistics "
		      "before the window's edges, eight times (see edges)";
	else if (run_rc)
		why = "reading the sources failed";
	else if (!h->dev_kvm)
		why = "no /dev/kvm: KVM cannot run guests on this host";
	else if (!h->debugfs_kvm)
		why = "no KVM debugfs to compare with (mount -t debugfs none "
		      "/sys/kernel/debug)";
	else if (!t->compared)
		why = "no VM ran through the whole window";
	if (why) {
		verdict = "not compared";
		rc = EXIT_CANNOT;
	} else if (t->differ) {
		verdict = "DIFFERS";
		rc = EXIT_DIFFER;
	}
	json_object_set_new(r, "verdict", json_string(verdict));
	json_object_set_new(r, "why", why ? json_string(why) : json_null());
	json_object_set_new(r, "compared", json_integer(t->compared));
	json_object_set_new(r, "differ", json_integer(t->differ));
	return rc;
}

int cmd_check(int argc, char **argv)
{
	struct check_opts o;
	struct ks_kvmhost host;
	struct window w = { .stats_fd = -1 };
	struct tally t = { 0, 0 };
	struct edge_times et[2] = { { 0, 0, 0, 0 }, { 0, 0, 0, 0 } };
	json_t *r;
	int rc, run_rc = 0;

	if ((rc = parse(argc, argv, &o)) >= 0)
		return rc;
	ks_cli_catch_stop();
	ks_kvmhost__probe(&host, "");
	if (geteuid() != 0)
		snprintf(w.why, sizeof(w.why), "not root: the probes need "
			 "root (CAP_BPF and CAP_PERFMON)");
	else if (window_open(&w, &o) == 0)
		run_rc = window_run(&w, &o, et);
	r = json_pack("{s:o, s:o, s:{s:I, s:I, s:o, s:o}, s:o}",
		      "host", host_json(&host), "metrics", metrics_json(&host),
		      "agreement", "seconds", (json_int_t)o.duration,
		      "edge_ms", (json_int_t)o.edge_ms, "edges",
		      edges_json(et), "vms",
		      w.agree && !*w.why && !run_rc ? vms_json(&w, &t) :
		      json_array(), "cost", cost_json(&w));
	json_object_set_new(r, "not_validated", not_validated(&host));
	rc = judge(r, &host, &w, run_rc, &t);
	if (o.json) {
		json_dumpf(r, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		print_text(r);
	}
	json_decref(r);
	window_close(&w);
	return rc;
}
