/* bpf_exits.c - vm.exits and the exits to user space: the exits probe
 * (exits.bpf.c) live.
 *
 * Loads the probe through its skeleton, configures it (process filter,
 * exact latency filter, subsecond rows, which kind of exit hook: raw on
 * AMD, perf elsewhere) before load so the verifier prunes what is off,
 * attaches to kvm:kvm_exit, kvm:kvm_entry,
 * kvm:kvm_emulate_insn, sched:sched_process_exit, kvm:kvm_userspace_exit,
 * kvm:kvm_pio and kvm:kvm_mmio, and each tick drains one generation of
 * each of its three map pairs (exits, userspace exits and port I/O, MMIO)
 * into vm.exits, vm.userspace_exits, vm.pio_ops and vm.mmio_ops records
 * and "emul" counters.  One record per key per tick, valued with its
 * count: the engine gets exact counts and exact bucketed distributions at
 * a cost independent of the event rate.  vCPUs are named by QEMU's index
 * through discovery, from the probe's thread -> vcpu_id state
 * (vmident.h).  The benchmark-only parts of the object are neither loaded
 * nor created.
 *
 * Two modes.  With latency (the default; the agent while an
 * instrumentation decomposes or filters exits by it) kvm_exit and
 * kvm_entry pair each exit in the thread's slot and count it in the
 * slot's per-reason latency histograms (the lat_slots map, mapped here
 * and read with the count planes, xcount.h); what they cannot hold goes
 * to the generation hash, keyed by the exit's wall-second low bits, and
 * records of a second still in progress wait in a sechold until the read
 * that ends it; userspace exits, port I/O and MMIO go the same way.
 * Count-only (exits_count_only, `kvmscope stat`, the agent otherwise)
 * hooks kvm_exit alone and counts into dense per-thread slots read
 * straight from the mapped .bss (xcount.h): 1.1x the cost of a bare
 * per-CPU counter instead of 4.9x (bench/bench_probe_cost.c).  Its second
 * planes flip on a BPF timer at each wall-second boundary, which the
 * loader starts once (ks_plane_start).  Slots of dead threads are zeroed
 * and handed back to the probe once their last second is read.  The mode
 * switches at run time (set_mode, below); every read drains both count
 * paths whatever the mode, so exits counted in either are read.
 */
#include "source/source.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bpf/exits.h"	/* before the skeleton: its .bss has our types */
#include "bpf/uexits.h"
#include "exits.skel.h"
#include "kvm/uexitreason.h"
#include "source/bpfgen.h"
#include "source/bpfload.h"
#include "source/bpfrec.h"
#include "source/sechold.h"
#include "source/vmident.h"
#include "source/xcount.h"
#include "util/clock.h"

/* The probe's own copy of KVM_EXIT_MMIO (BPF includes no user headers). */
_Static_assert(KS_UEXIT_REASON_MMIO == KS_KVM_EXIT_MMIO,
	       "bpf/uexits.h and kvm/uexitreason.h disagree on KVM_EXIT_MMIO");

#define NSEC_PER_SEC 1000000000ULL

struct exits_src {
	struct ks_exits *skel;
	struct ks_bpfgen gen;	/* exits and emulations */
	struct ks_bpfgen ugen;	/* userspace exits and port I/O */
	struct ks_bpfgen mgen;	/* MMIO */
	struct ks_vmident *vi;
	struct ks_vmdisc *disc;
	uint64_t row_ns;
	uint64_t prev[KS_EXS__COUNT];	/* exit_stats at the last read */
	bool lat;			/* lat_mode as last set */
	bool lat_only;			/* count-only impossible (filter,
					 * kvm_exit without vcpu_id) */
	unsigned int entry_grace;	/* reads before kvm_entry detaches */
	int entry_pfd;			/* kvm_entry's perf event, or -1 */
	struct ks_xcount *xc;		/* count-only planes' snapshots */
	struct ks_lat_slot *lslots;	/* the lat_slots map, mapped */
	size_t lslots_len;
	struct ks_sechold *hold;	/* hash records of a later second */
	bool uexit_detail;		/* subsecond rows, port and MMIO */
	bool btf_hooks;			/* kvm_exit, kvm_entry and
					 * kvm_userspace_exit hooked raw */
	struct ks_source_opts opts;	/* as opened: to open again on the
					 * perf hooks if an attach is refused */
	/* Latency cuts: the probe's two sets as last written (cutv the one
	 * in use), and the set asked for, written at the next read. */
	struct ks_latcuts cuts[2], want;
	uint32_t cutv;
	/* The tick being read, for the drain callbacks. */
	struct ks_source *s;
	const struct ks_source_sink *sink;
	uint64_t ts;
};

static const enum ks_metric metrics[] = {
	KS_M_VM_EXITS, KS_M_VM_USERSPACE_EXITS, KS_M_VM_PIO_OPS,
	KS_M_VM_MMIO_OPS,
};

static void exits_close(struct ks_source *s)
{
	struct exits_src *x = s->priv;

	if (!x)
		return;
	ks_bpfgen__fini(&x->gen);
	ks_bpfgen__fini(&x->ugen);
	ks_bpfgen__fini(&x->mgen);
	if (x->hold)
		s->st.drops += ks_sechold__free(x->hold);
	ks_xcount__free(x->xc);
	if (x->lslots)
		munmap(x->lslots, x->lslots_len);
	ks_exits__destroy(x->skel);
	if (x->entry_pfd >= 0)
		close(x->entry_pfd);
	ks_vmident__free(x->vi);
	ks_vmdisc__put(x->disc);
	free(x);
	s->priv = NULL;
}

/* Adds a sentence to what s says of this host ("; " between two). */
__attribute__((format(printf, 2, 3)))
static void note_add(struct ks_source *s, const char *fmt, ...)
{
	size_t n = strlen(s->note);
	va_list ap;

	if (n && n + 2 < sizeof(s->note)) {
		memcpy(s->note + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(s->note + n, sizeof(s->note) - n, fmt, ap);
	va_end(ap);
}

/* Which kind of hook the exit programs use (exits.bpf.c says why two):
 * raw (BTF-typed) where kvm_amd's types are known, the perf tracepoint
 * elsewhere; KVMSCOPE_EXIT_HOOKS=tp or =btf overrides, to compare them
 * (bench/bench_lab_slowdown.sh) and to load the raw ones where no AMD
 * KVM runs (tests/bpf/t_load.sh). */
static void hooks_pick(struct exits_src *x, bool raw_ok)
{
	const char *env = getenv("KVMSCOPE_EXIT_HOOKS");
	struct ks_exits *k = x->skel;
	bool b;

	if (env && strcmp(env, "tp") && strcmp(env, "btf") && raw_ok)
		fprintf(stderr, "kvmscope: KVMSCOPE_EXIT_HOOKS=%s is neither "
			"tp nor btf: ignored\n", env);
	if (env && !strcmp(env, "tp"))
		x->btf_hooks = false;
	else if (env && !strcmp(env, "btf"))
		x->btf_hooks = raw_ok;
	else
		x->btf_hooks = raw_ok && ks_bpfload_svm_btf();
	b = x->btf_hooks;
	/* The fallback's test (tests/bpf/t_load.sh): a verifier log too
	 * small for ks_exit's verification, so that the kernel refuses the
	 * raw hooks' load (ENOSPC), as a kernel would whose kvm types moved
	 * past our CO-RE reads or whose verifier cannot take them. */
	if (b && getenv("KVMSCOPE_TEST_RAW_REFUSE")) {
		static char tiny[8];

		bpf_program__set_log_buf(k->progs.ks_exit, tiny, sizeof(tiny));
		bpf_program__set_log_level(k->progs.ks_exit, 1);
	}
	bpf_program__set_autoload(k->progs.ks_exit, b);
	bpf_program__set_autoload(k->progs.ks_entry, b);
	bpf_program__set_autoload(k->progs.ks_uexit, b);
	bpf_program__set_autoload(k->progs.ks_exit_tp, !b);
	bpf_program__set_autoload(k->progs.ks_entry_tp, !b);
	bpf_program__set_autoload(k->progs.ks_uexit_tp, !b);
}

static void configure(struct exits_src *x, const struct ks_source_opts *o,
		      bool raw_ok)
{
	struct ks_exits *skel = x->skel;

	skel->rodata->targ_tgid = o->pid;
	skel->rodata->lat_filter = o->lat_filter;
	skel->rodata->lat_lo = o->lat_lo;
	skel->rodata->lat_hi = o->lat_hi;
	skel->rodata->row_ns = x->row_ns;
	skel->rodata->uexit_rows = !o->uexits_by_reason_only &&
				   !o->uexits_mmio_only;
	skel->rodata->uexit_mmio_only = o->uexits_mmio_only;
	x->uexit_detail = !o->uexits_by_reason_only && !o->uexits_mmio_only;
	/* Only bench/bench_probe_cost.c's programs use it. */
	bpf_map__set_autocreate(skel->maps.bench_base, false);
	bpf_program__set_autoload(skel->progs.ks_plane_start, true);
	hooks_pick(x, raw_ok);
	x->lat_only = o->lat_filter;
	x->lat = !o->exits_count_only || x->lat_only;
	skel->bss->lat_mode = x->lat;
}

/* Starts the count planes' second timer; without it (a kernel that
 * refuses BPF timers) the probe reads the clock per event, slower but
 * as exact. */
static void plane_timer_start(struct ks_source *s, struct exits_src *x)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	int fd = bpf_program__fd(x->skel->progs.ks_plane_start);

	if (bpf_prog_test_run_opts(fd, &run) || run.retval)
		note_add(s, "exits: no BPF timer for count planes; per-event "
			 "clock reads instead");
}

/* kvm:kvm_entry's tracepoint id from tracefs, or -1. */
static long entry_tp_id(void)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/events/kvm/kvm_entry/id",
		"/sys/kernel/debug/tracing/events/kvm/kvm_entry/id",
	};
	long id = -1;

	for (size_t i = 0; id < 0 && i < sizeof(paths) / sizeof(paths[0]);
	     i++) {
		FILE *f = fopen(paths[i], "r");

		if (!f)
			continue;
		if (fscanf(f, "%ld", &id) != 1)
			id = -1;
		fclose(f);
	}
	return id;
}

/* kvm_entry's perf event, opened disabled while the loader still has its
 * privileges: the agent narrows its capabilities after start, and some
 * kernels (Debian's perf_event_paranoid 3) then refuse perf_event_open,
 * while attaching a program to an event already open needs only CAP_BPF.
 * -1 if it cannot be opened (latency mode then opens its own). */
static int entry_event_open(void)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_TRACEPOINT, .size = sizeof(a),
		.disabled = 1,
	};
	long id = entry_tp_id();

	if (id < 0)
		return -1;
	a.config = (uint64_t)id;
	return (int)syscall(SYS_perf_event_open, &a, -1, 0, -1,
			    PERF_FLAG_FD_CLOEXEC);
}

/* Count-only mode names the vCPU from kvm_exit's vcpu_id: without it
 * (old kernels; ks_plane_start found out) exits are always paired. */
static void lat_only_check(struct ks_source *s, struct exits_src *x)
{
	if (x->btf_hooks || x->skel->bss->exit_vcpu_known)
		return;
	x->lat_only = true;
	x->lat = true;
	x->skel->bss->lat_mode = 1;
	note_add(s, "exits: kvm_exit has no vcpu_id here; exits are always "
		 "timed (no count-only mode)");
}

static int gen_init(struct ks_bpfgen *g, const struct bpf_map *outer,
		    const struct bpf_map *g0, const struct bpf_map *g1,
		    size_t key_size)
{
	return ks_bpfgen__init(g, bpf_map__fd(outer), bpf_map__fd(g0),
			       bpf_map__fd(g1), key_size);
}

static int gens_init(struct exits_src *x)
{
	struct ks_exits *k = x->skel;
	int e;

	if ((e = gen_init(&x->gen, k->maps.exit_cur, k->maps.exit_gen0,
			  k->maps.exit_gen1, sizeof(struct ks_exit_key))))
		return e;
	if ((e = gen_init(&x->ugen, k->maps.uexit_cur, k->maps.uexit_gen0,
			  k->maps.uexit_gen1, sizeof(struct ks_uexit_key))))
		return e;
	return gen_init(&x->mgen, k->maps.mmio_cur, k->maps.mmio_gen0,
			k->maps.mmio_gen1, sizeof(struct ks_uexit_key));
}

static int on_lat(void *ctx, uint32_t slot, uint32_t idx, uint32_t bucket,
		  uint32_t n);

/* Maps latency mode's histograms (exits.h, ks_lat_slot) into x->lslots
 * and has the planes' reader read them too, from the first time latency
 * mode is on (at open or set_mode): the probe writes them only then, and
 * the kernel backs a BPF array's whole mapping at mmap (2 MB resident in
 * an agent that never times an exit otherwise).  Mapped, they stay so:
 * count-only reads after a latency period still drain them. */
static int lat_map(struct exits_src *x)
{
	const struct bpf_map *m = x->skel->maps.lat_slots;
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = (size_t)bpf_map__max_entries(m) *
		     ((bpf_map__value_size(m) + 7) & ~7u);
	void *p;

	if (x->lslots)
		return 0;
	if (pg <= 0 || bpf_map__value_size(m) != sizeof(struct ks_lat_slot) ||
	    bpf_map__max_entries(m) != KS_LH_SLOTS)
		return -EINVAL;
	len = (len + (size_t)pg - 1) & ~((size_t)pg - 1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(m), 0);
	if (p == MAP_FAILED)
		return -errno;
	x->lslots = p;
	x->lslots_len = len;
	ks_xcount__set_lat(x->xc, x->lslots, on_lat);
	return 0;
}

/* Slots the probe has handed out so far. */
static uint32_t nslots(struct exits_src *x)
{
	uint64_t n = __atomic_load_n(&x->skel->bss->slot_next,
				     __ATOMIC_RELAXED);

	return n < KS_XC_SLOTS ? (uint32_t)n : KS_XC_SLOTS;
}

/* The vcpu_id of thread tid, from the slot the probe gave it (a thread
 * takes one at its first exit in count mode, first entry otherwise). */
static int64_t tid_vcpu(void *ctx, uint32_t tid)
{
	struct exits_src *x = ctx;
	const volatile struct ks_exit_slot *si = x->skel->bss->slot_info;

	for (uint32_t i = 0, n = nslots(x); i < n; i++)
		if (si[i].used && !si[i].dead_ns && si[i].tid == tid)
			return si[i].vcpu == KS_VCPU_UNKNOWN ?
				       -1 : (int64_t)si[i].vcpu;
	return -1;
}

/* Says that the kernel refused the raw exit hooks at step (load,
 * attach) with e, and that the perf hooks run instead. */
static void raw_refused(struct ks_source *s, const char *step, int e)
{
	char why[160];

	snprintf(why, sizeof(why), "exits: the raw exit hooks were refused "
		 "(%s: %s); perf tracepoint hooks instead", step, strerror(-e));
	note_add(s, "%s", why);
	fprintf(stderr, "kvmscope: %s\n", why);
}

/* Opens, configures and loads the probe into x->skel, raw exit hooks
 * allowed or not; 0 or a negative errno (x->skel NULL if open failed). */
static int skel_load_one(struct exits_src *x, const struct ks_source_opts *o,
			 bool raw_ok)
{
	if (!(x->skel = ks_exits__open()))
		return errno ? -errno : -ENOENT;
	configure(x, o, raw_ok);
	return ks_exits__load(x->skel);
}

/* Loads the probe on raw exit hooks where they were picked and the
 * kernel takes them, else on the perf ones: a kernel whose kvm types
 * moved past what the raw hooks read, or whose verifier refuses them,
 * still gets exits counted, and the note says why
 * (KVMSCOPE_EXIT_HOOKS=btf falls back so too).  Only a load that the
 * perf hooks then pass is told as a refusal of the raw ones: where both
 * fail (no privileges, no memory) the perf attempt's error is returned,
 * without that claim. */
static int skel_load(struct ks_source *s, struct exits_src *x,
		     const struct ks_source_opts *o, bool raw_ok)
{
	int e = skel_load_one(x, o, raw_ok), e2;

	if (!e || !x->skel || !x->btf_hooks)
		return e;
	ks_exits__destroy(x->skel);
	if ((e2 = skel_load_one(x, o, false)))
		return e2;
	raw_refused(s, "load", e);
	return 0;
}

static int exits_open_hooks(struct ks_source *s,
			    const struct ks_source_opts *o, bool raw_ok,
			    struct ks_err *err)
{
	struct exits_src *x;
	int e;

	ks_bpfload_set_verbose(o->verbose);
	if (!(x = calloc(1, sizeof(*x))))
		return ks_err_set(err, ENOMEM, "bpf_exits", "out of memory");
	s->priv = x;
	x->entry_pfd = -1;
	x->row_ns = o->subsec_row_ns ? o->subsec_row_ns :
				       KS_IRQ_ROW_NS_DEFAULT;
	if ((e = ks_bpfrec_row_ns_check(x->row_ns, err))) {
		exits_close(s);
		return e;
	}
	if (!(x->vi = ks_vmident__new(NULL))) {
		exits_close(s);
		return ks_err_set(err, ENOMEM, "bpf_exits", "out of memory");
	}
	x->opts = *o;
	if ((e = skel_load(s, x, o, raw_ok))) {
		const char *step = x->skel ? "load" : "open";

		exits_close(s);
		return ks_bpfload_err(err, "bpf_exits", step, e);
	}
	x->skel->bss->realtime_off_ns =
		ks_clock_wall_offset(x->skel->bss->realtime_off_ns);
	if ((e = gens_init(x))) {
		exits_close(s);
		return ks_err_set(err, e, "bpf_exits", "%s", strerror(-e));
	}
	if (!(x->hold = ks_sechold__new()) || !(x->xc = ks_xcount__new())) {
		exits_close(s);
		return ks_err_set(err, ENOMEM, "bpf_exits", "out of memory");
	}
	plane_timer_start(s, x);
	lat_only_check(s, x);
	if (x->lat && (e = lat_map(x))) {
		exits_close(s);
		return ks_err_set(err, e, "bpf_exits", "%s", strerror(-e));
	}
	/* Raw hooks need no perf event. */
	if (!x->btf_hooks)
		x->entry_pfd = entry_event_open();
	/* Without discovery, vCPUs keep KVM's vcpu_id. */
	if ((x->disc = ks_vmdisc__shared(NULL)))
		ks_vmident__set_discovery(x->vi, x->disc, tid_vcpu, x);
	return 0;
}

static int exits_open(struct ks_source *s, const struct ks_source_opts *o,
		      struct ks_err *err)
{
	return exits_open_hooks(s, o, true, err);
}

/* Attaches prog into *link; 0 or a negative errno. */
static int attach_one(struct bpf_program *prog, struct bpf_link **link)
{
	*link = bpf_program__attach(prog);
	return *link ? 0 : -errno;
}

/* Attaches ks_entry, to the event opened at start where there is one (a
 * copy of its fd: the link closes the fd it is given). */
static int entry_attach(struct exits_src *x)
{
	struct ks_exits *k = x->skel;
	int fd, e;

	if (x->btf_hooks)
		return attach_one(k->progs.ks_entry, &k->links.ks_entry);
	if (x->entry_pfd < 0)
		return attach_one(k->progs.ks_entry_tp, &k->links.ks_entry_tp);
	if ((fd = fcntl(x->entry_pfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	k->links.ks_entry_tp =
		bpf_program__attach_perf_event(k->progs.ks_entry_tp, fd);
	if (k->links.ks_entry_tp)
		return 0;
	e = -errno;
	close(fd);
	return e;
}

static bool entry_attached(const struct ks_exits *k)
{
	return k->links.ks_entry || k->links.ks_entry_tp;
}

/* Detaches ks_entry; the event opened at start stays open, disabled, so
 * that the tracepoint does no perf work without a program. */
static void entry_detach(struct exits_src *x)
{
	bpf_link__destroy(x->skel->links.ks_entry);
	x->skel->links.ks_entry = NULL;
	bpf_link__destroy(x->skel->links.ks_entry_tp);
	x->skel->links.ks_entry_tp = NULL;
	if (x->entry_pfd >= 0)
		ioctl(x->entry_pfd, PERF_EVENT_IOC_DISABLE, 0);
}

/* Attaches a raw exit hook.  The attach fallback's test
 * (tests/bpf/t_load.sh, KVMSCOPE_TEST_RAW_ATTACH_REFUSE): ks_exit is
 * attached with no descriptor free (RLIMIT_NOFILE lowered to the lowest
 * free one), so that the kernel refuses its link (EMFILE) after taking
 * its load, as a policy might that lets the probe load but not open a
 * raw tracepoint.  The limit is the whole process's, for that one
 * call: a file another thread opened in that instant would be refused
 * too (a test's hook, never set in service). */
static int raw_attach(struct bpf_program *prog, struct bpf_link **link,
		      bool test_refuse)
{
	struct rlimit was, none;
	int fd, e;

	if (!test_refuse)
		return attach_one(prog, link);
	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	close(fd);
	if (getrlimit(RLIMIT_NOFILE, &was))
		return -errno;
	none = was;
	none.rlim_cur = (rlim_t)fd;
	if (setrlimit(RLIMIT_NOFILE, &none))
		return -errno;
	e = attach_one(prog, link);
	setrlimit(RLIMIT_NOFILE, &was);
	return e;
}

/* kvm_exit, kvm_entry (with latency) and kvm_userspace_exit, on the kind
 * of hook loaded. */
static int attach_exit_hooks(struct exits_src *x)
{
	struct ks_exits *k = x->skel;
	const char *test;
	int e;

	if (!x->btf_hooks) {
		e = attach_one(k->progs.ks_exit_tp, &k->links.ks_exit_tp);
		if (!e && x->lat)
			e = entry_attach(x);
		return e ? e : attach_one(k->progs.ks_uexit_tp,
					  &k->links.ks_uexit_tp);
	}
	test = getenv("KVMSCOPE_TEST_RAW_ATTACH_REFUSE");
	e = raw_attach(k->progs.ks_exit, &k->links.ks_exit,
		       test && !strcmp(test, "1"));
	if (!e && x->lat)
		e = entry_attach(x);
	return e ? e : raw_attach(k->progs.ks_uexit, &k->links.ks_uexit,
				  false);
}

static int exits_attach(struct ks_source *s, struct ks_err *err);

/* The kernel refused a raw exit hook's attach after taking its load:
 * the probe is opened again, on the perf hooks, and attached so. */
static int attach_refused(struct ks_source *s, int why, struct ks_err *err)
{
	struct ks_source_opts o = ((struct exits_src *)s->priv)->opts;
	int e;

	exits_close(s);
	s->note[0] = '\0';
	if ((e = exits_open_hooks(s, &o, false, err)) ||
	    (e = exits_attach(s, err)))
		return e;
	raw_refused(s, "attach", why);
	return 0;
}

/* The mode's exit hooks (kvm_entry only with latency) and the rest. */
static int exits_attach(struct ks_source *s, struct ks_err *err)
{
	struct exits_src *x = s->priv;
	struct ks_exits *k = x->skel;
	int e;

	/* What the planes count from here on is read from this second. */
	ks_xcount__start(x->xc, ks_clock_wall_ns() / KS_NS_PER_S);
	e = attach_exit_hooks(x);
	if (e && x->btf_hooks)
		return attach_refused(s, e, err);
	s->mode = x->lat ? "latency" : "count-only";
	if (!e)
		e = attach_one(k->progs.ks_emul, &k->links.ks_emul);
	if (!e)
		e = attach_one(k->progs.ks_thread_end, &k->links.ks_thread_end);
	if (!e && x->uexit_detail)
		e = attach_one(k->progs.ks_pio, &k->links.ks_pio);
	if (!e && x->uexit_detail)
		e = attach_one(k->progs.ks_mmio, &k->links.ks_mmio);
	return e ? ks_bpfload_err(err, "bpf_exits", "attach", e) : 0;
}

/* The identity of tgid, and *vcpu mapped to QEMU's index. */
static int who(struct exits_src *x, uint32_t tgid, uint32_t *vcpu,
	       uint64_t sum, struct ks_ident *id)
{
	int e = ks_bpfload_ident(x->vi, bpf_map__fd(x->skel->maps.exit_comm),
				 tgid, id);

	if (*vcpu == KS_VCPU_UNKNOWN)
		x->s->st.no_vcpu += sum;
	return e ? e : ks_vmident__vcpu(x->vi, tgid, *vcpu, vcpu, NULL);
}

static int on_exit_entry(void *ctx, const void *key, uint64_t sum)
{
	struct exits_src *x = ctx;
	struct ks_exit_key k = *(const struct ks_exit_key *)key;
	struct ks_source_counter c;
	struct ks_ident id;
	struct ks_record r;
	int e;

	if ((e = who(x, k.tgid, &k.vcpu, sum, &id)))
		return e;
	if (k.kind == KS_EXK_EMUL) {
		x->s->st.events += sum;
		if (!x->sink->counter)
			return 0;
		c = (struct ks_source_counter){ k.tgid, k.vcpu, "emul", sum,
						id.vm_sym };
		return x->sink->counter(x->sink->ctx, &c);
	}
	e = ks_bpfrec_exit(&k, sum, x->ts, &id, &r);
	if (!e && (k.side > KS_LATCUT_MAX || k.cutv > 1))
		e = -EINVAL;
	if (!e && k.side && k.bucket != KS_BUCKET_NONE)
		ks_record_set(&r, KS_F_LATENCY,
			      ks_latcuts_value(&x->cuts[k.cutv], k.bucket,
					       k.side));
	return ks_sechold__emit_conv(x->hold, x->s, x->sink, e, &r, sum,
				     k.sec);
}

static int on_uexit_entry(void *ctx, const void *key, uint64_t sum)
{
	struct exits_src *x = ctx;
	struct ks_uexit_key k = *(const struct ks_uexit_key *)key;
	struct ks_ident id;
	struct ks_record r;
	int e;

	if ((e = who(x, k.tgid, &k.vcpu, sum, &id)))
		return e;
	e = ks_bpfrec_uexit(&k, sum, x->ts, x->row_ns, &id, &r);
	/* Counted without a row: the record must not claim row 0. */
	if (!e && !x->uexit_detail)
		r.present &= ~(1u << KS_F_SUBSECOND);
	return ks_sechold__emit_conv(x->hold, x->s, x->sink, e, &r, sum,
				     k.sec);
}

/* Userspace exits counted by reason alone in a slot (exits.bpf.c):
 * the key the hash would have had, so both paths make the same records. */
static int on_slot_uexit(struct exits_src *x, const struct ks_exit_key *ek,
			 uint32_t idx, uint32_t n)
{
	struct ks_uexit_key k = {
		.tgid = ek->tgid, .vcpu = ek->vcpu, .kind = KS_UXK_UEXIT,
		.sec = ek->sec,
	};

	if (idx == KS_XC_IDX_URESTART)
		k.sub = KS_UXE_RESTART;
	else if (idx == KS_XC_IDX_UERROR)
		k.sub = KS_UXE_ERROR;
	else if (idx < KS_XC_IDX_URESTART)
		k.arg = idx - KS_XC_IDX_UEXIT;
	else {
		x->s->st.bad += n;
		return 0;
	}
	return on_uexit_entry(x, &k, n);
}

/* One count-only delta: n events of a slot's thread at dense index idx. */
static int on_slot(void *ctx, uint32_t slot, uint32_t idx, uint32_t n)
{
	struct exits_src *x = ctx;
	const volatile struct ks_exit_slot *si = &x->skel->bss->slot_info[slot];
	/* Every plane read belongs to a second that has ended: the read's. */
	struct ks_exit_key k = {
		.tgid = si->tgid, .vcpu = si->vcpu, .isa = si->isa,
		.bucket = KS_BUCKET_NONE,
		.sec = (uint8_t)((x->ts / NSEC_PER_SEC) & KS_SEC_MASK),
	};

	if (idx >= KS_XC_IDX_UEXIT && idx < KS_XC_NIDX)
		return on_slot_uexit(x, &k, idx, n);
	if (idx == KS_XC_IDX_EMUL) {
		k.kind = KS_EXK_EMUL;
	} else if (idx < KS_XC_IDX_EMUL) {
		k.kind = KS_EXK_EXIT;
		k.reason = ks_exit_index_reason(idx);
	} else {
		x->s->st.bad += n;
		return 0;
	}
	return on_exit_entry(x, &k, n);
}

/* One delta of a latency histogram: n exits of a slot's thread for dense
 * reason index idx, in bucket, made into the key the hash would have. */
static int on_lat(void *ctx, uint32_t slot, uint32_t idx, uint32_t bucket,
		  uint32_t n)
{
	struct exits_src *x = ctx;
	const volatile struct ks_exit_slot *si = &x->skel->bss->slot_info[slot];
	struct ks_exit_key k = {
		.tgid = si->tgid, .vcpu = si->vcpu, .isa = si->isa,
		.bucket = (uint16_t)bucket, .kind = KS_EXK_EXIT,
		.sec = (uint8_t)((x->ts / NSEC_PER_SEC) & KS_SEC_MASK),
	};

	if (idx >= KS_XC_IDX_EMUL || bucket >= KS_LL_NBUCKETS) {
		x->s->st.bad += n;
		return 0;
	}
	k.reason = ks_exit_index_reason(idx);
	return on_exit_entry(x, &k, n);
}

/* Hands back to the probe the slots of threads whose last second has
 * been read: zeroed first, then marked free, then queued. */
static int slots_free(struct exits_src *x)
{
	volatile struct ks_exit_slot *si = x->skel->bss->slot_info;
	int fd = bpf_map__fd(x->skel->maps.slot_free);

	for (uint32_t i = 0, n = nslots(x); i < n; i++) {
		if (!si[i].used ||
		    !ks_xcount_slot_final(si[i].dead_ns, x->xc->done_sec))
			continue;
		ks_xcount__forget(x->xc, &x->skel->bss->xcounts, i);
		si[i].used = 0;
		si[i].dead_ns = 0;
		if (bpf_map_update_elem(fd, NULL, &i, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* The count-only planes, up to the second that ended at ts. */
static int read_planes(struct exits_src *x)
{
	int64_t ended = (int64_t)(x->ts / NSEC_PER_SEC);
	int e;

	e = ks_xcount__read(x->xc, &x->skel->bss->xcounts, nslots(x), ended,
			    on_slot, x);
	return e ? e : slots_free(x);
}

/* Adds the probe's cumulative counters since the last read to s->st. */
static int read_stats(struct ks_source *s, struct exits_src *x)
{
	int fd = bpf_map__fd(x->skel->maps.exit_stats);
	uint64_t d[KS_EXS__COUNT];
	int e;

	if ((e = ks_bpfgen_stats_delta(fd, KS_EXS__COUNT, x->gen.ncpu, x->prev, d)))
		return e;
	s->st.drops += d[KS_EXS_DROP_FULL] + d[KS_EXS_DROP_NOMAP] +
		       d[KS_EXS_UEXIT_FULL] + d[KS_EXS_MMIO_FULL] +
		       d[KS_EXS_NOREASON];
	s->st.filtered += d[KS_EXS_FILTERED];
	s->st.unpaired += d[KS_EXS_UNPAIRED];
	return 0;
}

/* ---- switching modes ------------------------------------------------------
 *
 * Why no exit is lost or counted twice across a flip.  ks_exit reads
 * lat_mode once per exit and takes one path: exit_count counts the exit
 * at once; exit_begin leaves it pending in the thread's state, to be
 * counted once by whichever comes first of the thread's next kvm_entry
 * (with its latency), its next exit (exit_begin, or exit_count's slow
 * path: without latency) or its end (ks_thread_end).  A thread's events
 * run one at a time, so per thread only the order matters.
 *
 * Into latency: kvm_entry is attached before lat_mode becomes 1.  An exit
 * that read 0 was counted and left nothing pending; one that read 1 comes
 * after the attach, so the entry that follows it runs ks_entry and closes
 * it.  (An exit left pending by an earlier latency period, whose thread
 * has not entered since, is closed the same way, with its true latency.)
 *
 * Out of latency: every CPU's slot hint is voided, then lat_mode becomes
 * 0, and kvm_entry stays attached for one more whole tick.  An exit that
 * read 1 is pending; its entry, if it comes within the tick, closes it.
 * If it comes later (a vCPU halted or held in user space that long), the
 * exit stays pending until the thread's next exit, which reads 0: its
 * slot hint cannot match (voided while no exit_count ran, and only this
 * thread's own slow path can set a hint that matches it again), so it
 * takes exit_count's slow path, which counts the pending exit first.  A
 * thread that never exits again counts it at its end.  Exits that read 0
 * are counted at once and leave nothing for kvm_entry to count.
 */

/* Points every CPU's slot hint nowhere (id 0 names no thread). */
static int hints_void(struct exits_src *x)
{
	int fd = bpf_map__fd(x->skel->maps.slot_last);
	int ncpu = libbpf_num_possible_cpus();
	struct ks_slot_hint *v;
	uint32_t zero = 0;
	int e = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	/* One 8-byte aligned value per possible CPU (24 bytes: no padding). */
	_Static_assert(sizeof(*v) % 8 == 0, "per-CPU hint is 8-byte sized");
	if (!(v = calloc((size_t)ncpu, sizeof(*v))))
		return -ENOMEM;
	for (int i = 0; i < ncpu; i++)
		v[i].slot = KS_XC_SLOTS;	/* id 0: void */
	if (bpf_map_update_elem(fd, &zero, v, BPF_ANY))
		e = -errno;
	free(v);
	return e;
}

static void lat_mode_set(struct ks_source *s, struct exits_src *x, bool on)
{
	__atomic_store_n(&x->skel->bss->lat_mode, on, __ATOMIC_SEQ_CST);
	x->lat = on;
	s->mode = on ? "latency" : "count-only";
}

static int exits_set_mode(struct ks_source *s, bool latency)
{
	struct exits_src *x = s->priv;
	struct ks_exits *k = x->skel;
	int e;

	if (latency == x->lat)
		return 0;
	if (latency) {
		if ((e = lat_map(x)))
			return e;
		/* Still attached within the grace tick of the last leave. */
		if (!entry_attached(k) && (e = entry_attach(x)))
			return e;
		x->entry_grace = 0;
		lat_mode_set(s, x, true);
		return 0;
	}
	if (x->lat_only)
		return -EOPNOTSUPP;
	if ((e = hints_void(x)))
		return e;
	lat_mode_set(s, x, false);
	/* This tick's read and one more whole tick. */
	x->entry_grace = 2;
	return 0;
}

/* After a read: detaches kvm_entry once the grace after leaving latency
 * mode is over; in-flight ks_entry runs finish their counts. */
static void entry_grace_tick(struct exits_src *x)
{
	if (!x->entry_grace || --x->entry_grace)
		return;
	entry_detach(x);
}

static int exits_set_cuts(struct ks_source *s, const struct ks_latcuts *c)
{
	struct exits_src *x = s->priv;

	x->want = *c;
	return 0;
}

/* Writes the cuts asked for into the idle set and flips to it.  Once per
 * read at most, before the drain: every exit still in the maps was
 * counted against one of the two sets the keys can name. */
static void cuts_apply(struct exits_src *x)
{
	struct ks_exits__bss *b = x->skel->bss;
	uint32_t v = x->cutv ^ 1;

	if (ks_latcuts_equal(&x->want, &x->cuts[x->cutv]))
		return;
	x->cuts[v] = x->want;
	memcpy(b->lat_cuts[v], x->want.v, sizeof(b->lat_cuts[v]));
	b->nlat_cuts[v] = x->want.n;
	__atomic_store_n(&b->lat_cutv, v, __ATOMIC_SEQ_CST);
	x->cutv = v;
}

static int exits_read(struct ks_source *s, uint64_t ts,
		      const struct ks_source_sink *sink)
{
	struct exits_src *x = s->priv;
	int e, e2, e3, e4;

	/* NTP may have stepped or slewed the wall clock since the last tick. */
	x->skel->bss->realtime_off_ns =
		ks_clock_wall_offset(x->skel->bss->realtime_off_ns);
	ks_vmident__tick(x->vi);
	x->s = s;
	x->sink = sink;
	x->ts = ts;
	if ((e = ks_sechold__release(x->hold, s, sink, ts)))
		return e;
	cuts_apply(x);
	/* Every pair is drained even when one fails: none keeps a tick. */
	e = ks_bpfgen__drain(&x->gen, on_exit_entry, x);
	e4 = read_planes(x);
	e2 = ks_bpfgen__drain(&x->ugen, on_uexit_entry, x);
	e3 = ks_bpfgen__drain(&x->mgen, on_uexit_entry, x);
	if (!e)
		e = e2 ? e2 : e3 ? e3 : e4;
	if (!e)
		e = read_stats(s, x);
	entry_grace_tick(x);
	return e;
}

const struct ks_source_ops ks_source_bpf_exits = {
	.name = "bpf_exits",
	.summary = "VM exits and exit-handling latency (kvm_exit/kvm_entry), "
		   "exits to user space, port I/O and MMIO "
		   "(kvm_userspace_exit, kvm_pio, kvm_mmio)",
	.metrics = metrics,
	.nmetrics = sizeof(metrics) / sizeof(metrics[0]),
	.open = exits_open,
	.attach = exits_attach,
	.read = exits_read,
	.close = exits_close,
	.set_mode = exits_set_mode,
	.set_cuts = exits_set_cuts,
};
