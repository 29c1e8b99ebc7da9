/* bpf_samples.c - the vm.thread_samples source: samples.bpf.c live.
 *
 * Opens a 99 Hz cpu-clock perf event on every online CPU with the sampler
 * attached, which counts the samples that land on vCPU threads (see
 * samples.bpf.c for how it knows them and what it reads of the guest).
 * Before load the loader tells the probe the process filter, the row
 * size, whether guest RIPs are wanted (opt-in: one key per RIP, so they
 * are capped per read and the overflow counted), the CPU vendor
 * (/proc/cpuinfo) and whether KVM uses two-dimensional paging
 * (kvm_amd.npt, kvm_intel.ept), since that decides where the guest's cr3
 * lives.  While running it keeps the probe's wall-clock offset current and
 * its vCPU-thread map in step with VM discovery, and each tick drains one
 * map generation into records; samples of the second after the one the
 * read ends (the read comes a few ms late) wait in a hold for the next
 * read (sechold.h), so each is counted in its own second.
 *
 * What the host cannot read (the guest ring on Intel, cr3 with EPT, all of
 * an encrypted guest) is left out of the records and said, with the
 * reason and the counts, in the source's note.
 */
#include "source/source.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "samples.skel.h"
#include "source/bpfgen.h"
#include "source/bpfload.h"
#include "source/bpfrec.h"
#include "source/samplerec.h"
#include "source/sechold.h"
#include "source/vmident.h"
#include "vm/discovery.h"
#include "util/clock.h"

#define SRC "bpf_samples"
#define MAX_CPUS 4096
#define DISC_MAX_AGE_NS 1000000000ULL

struct tid_ent {
	uint32_t tid;
	struct ks_sample_tid v;
};

struct samples_src {
	struct ks_samples *skel;
	struct ks_bpfgen gen;
	struct ks_sechold *hold;	/* the next second's, until it ends */
	struct ks_vmident *vi;
	struct ks_vmdisc *disc;		/* NULL: vCPU threads by name */
	uint64_t disc_gen;
	bool synced;
	struct tid_ent *tids;		/* what smp_tids holds, by tid */
	size_t ntids;
	uint64_t tid_full;		/* threads smp_tids had no room for */
	uint32_t pid;
	uint64_t row_ns;
	bool want_rip;
	enum ks_sample_isa isa;
	enum ks_sample_tdp tdp;
	char why[320];			/* the note's fixed part */
	struct bpf_link **links;
	size_t nlinks;
	uint64_t prev[KS_SMS__COUNT], total[KS_SMS__COUNT];
	bool verbose;
	/* The tick being read, for the drain callback. */
	struct ks_source *s;
	const struct ks_source_sink *sink;
	uint64_t ts;
};

static const enum ks_metric metrics[] = { KS_M_VM_THREAD_SAMPLES };

/* ---- what this host lets the probe read ---------------------------------- */

/* Reads a small text file whole; NULL if it cannot. */
static char *slurp(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	if (!(buf = malloc(max + 1))) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The vendor module KVM runs on (both can be built in: then the CPU's
 * vendor decides); unknown for neither (no KVM, or another flavour). */
static enum ks_sample_isa host_isa(void)
{
	bool amd = !access("/sys/module/kvm_amd/parameters", F_OK);
	bool intel = !access("/sys/module/kvm_intel/parameters", F_OK);
	enum ks_sample_isa isa = KS_SISA_UNKNOWN;
	char *t;

	if (amd != intel)
		return amd ? KS_SISA_SVM : KS_SISA_VMX;
	if (amd && (t = slurp("/proc/cpuinfo", 4096))) {
		isa = ks_samplerec_isa(t);
		free(t);
	}
	return isa;
}

static enum ks_sample_tdp host_tdp(enum ks_sample_isa isa)
{
	enum ks_sample_tdp tdp;
	const char *p = NULL;
	char *t;

	if (isa == KS_SISA_SVM)
		p = "/sys/module/kvm_amd/parameters/npt";
	else if (isa == KS_SISA_VMX)
		p = "/sys/module/kvm_intel/parameters/ept";
	t = p ? slurp(p, 16) : NULL;
	tdp = ks_samplerec_tdp(t);
	free(t);
	return tdp;
}

/* The note's fixed part: which fields this host leaves absent, and why. */
static void explain(struct samples_src *x)
{
	const char *ring = "", *cr3 = "", *rip = "";

	if (access("/dev/kvm", F_OK)) {
		snprintf(x->why, sizeof(x->why), "no /dev/kvm: no KVM guest "
			 "runs here, only QEMU TCG vCPU threads are sampled, "
			 "all in host mode; ");
		return;
	}
	if (x->isa == KS_SISA_SVM && !ks_bpfload_svm_btf()) {
		ring = "guest ring: no kvm_amd BTF (/sys/kernel/btf/kvm_amd), "
		       "guest samples are 'guest'; ";
		if (x->tdp != KS_STDP_OFF)
			cr3 = "cr3: in the VMCB, unreadable without that BTF; ";
	} else if (x->isa == KS_SISA_VMX) {
		ring = "guest ring: in the VMCS (VMREAD only), guest samples "
		       "are 'guest'; ";
		if (x->tdp != KS_STDP_OFF)
			cr3 = "cr3: in the VMCS with EPT, present only when "
			      "KVM had read it at that exit; ";
		if (x->want_rip)
			rip = "RIP: only when KVM had read it (perf reads it "
			      "for the sample on Linux 6.3+); ";
	} else if (x->isa == KS_SISA_UNKNOWN) {
		ring = "guest ring and cr3: KVM runs on neither kvm_amd nor "
		       "kvm_intel here, not read; ";
	}
	if (x->isa == KS_SISA_SVM && x->tdp == KS_STDP_UNKNOWN)
		cr3 = "cr3: kvm_amd.npt unknown, not read; ";
	snprintf(x->why, sizeof(x->why), "%s%s%s%s", ring, cr3, rip,
		 x->want_rip ? "" : "guestrip: off (opt-in); ");
}

/* The note: the fixed part and what this run could not read so far. */
static void update_note(struct ks_source *s, struct samples_src *x)
{
	const uint64_t *t = x->total;

	snprintf(s->note, sizeof(s->note),
		 "%svCPU samples so far: %llu in guest (%llu without ring, "
		 "%llu without cr3, %llu without wanted RIP, %llu RIP over "
		 "the cap of %d keys, %llu encrypted); %llu on other threads; "
		 "%llu vCPU threads not registered (map full)", x->why,
		 (unsigned long long)t[KS_SMS_GUEST],
		 (unsigned long long)t[KS_SMS_NO_RING],
		 (unsigned long long)t[KS_SMS_NO_CR3],
		 (unsigned long long)t[KS_SMS_NO_RIP],
		 (unsigned long long)t[KS_SMS_RIP_CAPPED], KS_SAMPLE_RIP_MAX,
		 (unsigned long long)t[KS_SMS_PROTECTED],
		 (unsigned long long)t[KS_SMS_OTHER],
		 (unsigned long long)x->tid_full);
}

/* ---- vCPU threads from discovery ----------------------------------------- */

static int cmp_tid(const void *a, const void *b)
{
	const struct tid_ent *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static bool has_tid(const struct tid_ent *v, size_t n, uint32_t tid)
{
	struct tid_ent k = { .tid = tid };

	return bsearch(&k, v, n, sizeof(*v), cmp_tid) != NULL;
}

static int push_tid(struct tid_ent **v, size_t *n, size_t *cap,
		    struct tid_ent e)
{
	struct tid_ent *nv;

	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		if (!(nv = realloc(*v, *cap * sizeof(*nv))))
			return -ENOMEM;
		*v = nv;
	}
	(*v)[(*n)++] = e;
	return 0;
}

/* Discovery's vCPU threads, sorted by tid, into *out (the caller's to
 * free, also on failure). */
static int collect_tids(struct samples_src *x, struct tid_ent **out,
			size_t *n)
{
	size_t cap = 0;
	int e;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < ks_vmdisc__count(x->disc); i++) {
		const struct ks_vm *vm = ks_vmdisc__at(x->disc, i);

		if (x->pid && (uint32_t)vm->pid != x->pid)
			continue;
		for (size_t k = 0; k < vm->nvcpus; k++) {
			struct tid_ent t = { (uint32_t)vm->vcpus[k].tid,
					     { (uint32_t)vm->pid,
					       vm->vcpus[k].index } };

			if ((e = push_tid(out, n, &cap, t)))
				return e;
		}
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_tid);
	return 0;
}

/* Brings smp_tids in step with discovery when its view changed. */
static int sync_tids(struct samples_src *x)
{
	int fd = bpf_map__fd(x->skel->maps.smp_tids), e;
	struct tid_ent *now;
	size_t n;

	if (!x->disc)
		return 0;
	if ((e = ks_vmdisc__update(x->disc, DISC_MAX_AGE_NS)) < 0)
		return e;
	if (x->synced && ks_vmdisc__generation(x->disc) == x->disc_gen)
		return 0;
	if ((e = collect_tids(x, &now, &n))) {
		free(now);
		return e;
	}
	for (size_t i = 0; i < x->ntids; i++)
		if (!has_tid(now, n, x->tids[i].tid))
			bpf_map_delete_elem(fd, &x->tids[i].tid);
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &now[i].tid, &now[i].v, BPF_ANY))
			x->tid_full++;
	free(x->tids);
	x->tids = now;
	x->ntids = n;
	x->disc_gen = ks_vmdisc__generation(x->disc);
	x->synced = true;
	return 0;
}

/* The vcpu_id the probe learnt thread tid runs, for vmident's mapping of
 * vcpu_ids to QEMU's indexes. */
static int64_t tid_vcpu(void *ctx, uint32_t tid)
{
	struct samples_src *x = ctx;
	struct ks_sample_tid t;

	if (bpf_map_lookup_elem(bpf_map__fd(x->skel->maps.smp_learned), &tid,
				&t))
		return -1;
	return t.vcpu;
}

/* ---- open, attach, close ------------------------------------------------- */

static void samples_close(struct ks_source *s)
{
	struct samples_src *x = s->priv;

	if (!x)
		return;
	if (x->verbose && s->note[0])
		fprintf(stderr, SRC ": %s\n", s->note);
	for (size_t i = 0; i < x->nlinks; i++)
		bpf_link__destroy(x->links[i]);
	free(x->links);
	ks_bpfgen__fini(&x->gen);
	/* Samples whose second never ended while we ran: lost. */
	s->st.drops += ks_sechold__free(x->hold);
	ks_samples__destroy(x->skel);
	ks_vmident__free(x->vi);
	ks_vmdisc__put(x->disc);
	free(x->tids);
	free(x);
	s->priv = NULL;
}

static void configure(struct samples_src *x, const struct ks_source_opts *o)
{
	struct ks_samples__rodata *ro = x->skel->rodata;

	x->pid = o->pid;
	x->want_rip = o->guest_rip;
	x->isa = host_isa();
	x->tdp = host_tdp(x->isa);
	ro->targ_tgid = o->pid;
	ro->row_ns = x->row_ns;
	ro->want_rip = o->guest_rip;
	ro->isa = (uint8_t)x->isa;
	ro->tdp = (uint8_t)x->tdp;
}

static int fail(struct ks_source *s, struct ks_err *err, const char *step,
		int e)
{
	samples_close(s);
	return ks_bpfload_err(err, SRC, step, e);
}

static int samples_open(struct ks_source *s, const struct ks_source_opts *o,
			struct ks_err *err)
{
	uint64_t row_ns = o->subsec_row_ns ? o->subsec_row_ns :
					     KS_SAMPLE_ROW_NS_DEFAULT;
	struct samples_src *x;
	int e;

	if ((e = ks_bpfrec_row_ns_check(row_ns, err)))
		return e;
	ks_bpfload_set_verbose(o->verbose);
	if (!(x = calloc(1, sizeof(*x))))
		return ks_err_set(err, ENOMEM, SRC, "out of memory");
	s->priv = x;
	x->row_ns = row_ns;
	x->verbose = o->verbose;
	x->hold = ks_sechold__new();
	if (!(x->vi = ks_vmident__new(NULL)) || !x->hold) {
		samples_close(s);
		return ks_err_set(err, ENOMEM, SRC, "out of memory");
	}
	if (!(x->skel = ks_samples__open()))
		return fail(s, err, "open", -errno);
	configure(x, o);
	if ((e = ks_samples__load(x->skel)))
		return fail(s, err, "load", e);
	x->skel->bss->realtime_off_ns =
		ks_clock_wall_offset(x->skel->bss->realtime_off_ns);
	e = ks_bpfgen__init(&x->gen, bpf_map__fd(x->skel->maps.smp_cur),
			    bpf_map__fd(x->skel->maps.smp_gen0),
			    bpf_map__fd(x->skel->maps.smp_gen1),
			    sizeof(struct ks_sample_key));
	if (e) {
		samples_close(s);
		return ks_err_set(err, e, SRC, "%s", strerror(-e));
	}
	/* Without discovery, vCPU threads are known by name or by their
	 * loaded vCPU, and vCPUs keep KVM's vcpu_id. */
	if ((x->disc = ks_vmdisc__shared(NULL)))
		ks_vmident__set_discovery(x->vi, x->disc, tid_vcpu, x);
	if ((e = sync_tids(x))) {
		samples_close(s);
		return ks_err_set(err, e, SRC, "%s", strerror(-e));
	}
	explain(x);
	update_note(s, x);
	if (x->verbose)
		fprintf(stderr, SRC ": %s\n", x->why);
	return 0;
}

static int online_cpus(bool *on, size_t n)
{
	char *t = slurp("/sys/devices/system/cpu/online", 4096);
	int e = t ? ks_samplerec_cpus(t, on, n) : -errno;

	free(t);
	return e;
}

/* One 99 Hz cpu-clock event on cpu with the sampler attached. */
static int attach_cpu(struct samples_src *x, int cpu)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.freq = 1,
		.sample_freq = KS_SAMPLE_HZ,
		/* Where the kernel prepares the sample before the program
		 * (6.3+), asking for the IP makes KVM cache the guest RIP,
		 * which the probe then reads (VMX keeps it in the VMCS). */
		.sample_type = x->want_rip ? PERF_SAMPLE_IP : 0,
	};
	struct bpf_link *l;
	int fd, e;

	fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1,
			  PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return errno == ENODEV ? 0 : -errno;	/* went offline */
	l = bpf_program__attach_perf_event(x->skel->progs.ks_sample, fd);
	if (!l) {
		e = -errno;
		close(fd);
		return e;
	}
	x->links[x->nlinks++] = l;	/* owns fd */
	return 0;
}

static int samples_attach(struct ks_source *s, struct ks_err *err)
{
	struct samples_src *x = s->priv;
	bool *on = calloc(MAX_CPUS, sizeof(*on));
	size_t n = 0;
	int e;

	if (!on)
		return ks_err_set(err, ENOMEM, SRC, "out of memory");
	if ((e = online_cpus(on, MAX_CPUS))) {
		free(on);
		return ks_err_set(err, e, SRC, "cannot read the online CPUs "
				  "(/sys/devices/system/cpu/online): %s",
				  strerror(-e));
	}
	for (size_t c = 0; c < MAX_CPUS; c++)
		n += on[c];
	if (!(x->links = calloc(n, sizeof(*x->links)))) {
		free(on);
		return ks_err_set(err, ENOMEM, SRC, "out of memory");
	}
	for (int c = 0; c < MAX_CPUS && !e; c++)
		if (on[c])
			e = attach_cpu(x, c);
	free(on);
	if (!e && !x->nlinks)
		e = -ENODEV;
	return e ? ks_bpfload_err(err, SRC, "attach", e) : 0;
}

/* ---- reading ------------------------------------------------------------- */

/* Identity: pid, name and UUID as every BPF source writes them. */
static int set_ident(struct samples_src *x, uint32_t tgid,
		     struct ks_record *r)
{
	struct ks_ident id;
	int e;

	e = ks_bpfload_ident(x->vi, bpf_map__fd(x->skel->maps.smp_comm), tgid,
			     &id);
	if (e)
		return e;
	if (id.pid_sym)
		ks_record_set(r, KS_F_PID, id.pid_sym);
	if (id.vm_sym)
		ks_record_set(r, KS_F_VM, id.vm_sym);
	if (id.uuid_sym)
		ks_record_set(r, KS_F_VMUUID, id.uuid_sym);
	return 0;
}

static int on_entry(void *ctx, const void *key, uint64_t sum)
{
	struct samples_src *x = ctx;
	struct ks_sample_key k = *(const struct ks_sample_key *)key;
	struct ks_record r;
	int e;

	if ((k.flags & KS_SMP_VCPUID) &&
	    (e = ks_vmident__vcpu(x->vi, k.tgid, k.vcpu, &k.vcpu, NULL)))
		return e;
	e = ks_samplerec(&k, sum, x->ts, x->row_ns, &r);
	if (!e && (e = set_ident(x, k.tgid, &r)))
		return e;
	if (!e && k.vcpu == KS_VCPU_UNKNOWN)
		x->s->st.no_vcpu += sum;
	return ks_sechold__emit_conv(x->hold, x->s, x->sink, e, &r, sum, k.sec);
}

/* Adds the probe's cumulative counters since the last read. */
static int read_stats(struct ks_source *s, struct samples_src *x)
{
	int fd = bpf_map__fd(x->skel->maps.smp_stats);
	uint64_t d[KS_SMS__COUNT];
	int e;

	if ((e = ks_bpfgen_stats_delta(fd, KS_SMS__COUNT, x->gen.ncpu, x->prev, d)))
		return e;
	for (uint32_t i = 0; i < KS_SMS__COUNT; i++)
		x->total[i] += d[i];
	s->st.drops += d[KS_SMS_DROP_FULL] + d[KS_SMS_DROP_NOMAP];
	update_note(s, x);
	return 0;
}

static int samples_read(struct ks_source *s, uint64_t ts,
			const struct ks_source_sink *sink)
{
	struct samples_src *x = s->priv;
	int e;

	x->skel->bss->realtime_off_ns =
		ks_clock_wall_offset(x->skel->bss->realtime_off_ns);
	ks_vmident__tick(x->vi);
	if ((e = sync_tids(x)))
		return e;
	x->s = s;
	x->sink = sink;
	x->ts = ts;
	/* The RIP cap counts keys of the generation about to be current;
	 * zeroed before the swap, so the few keys the old one still gets
	 * count against the new one's cap: it is never exceeded. */
	x->skel->bss->rip_keys = 0;
	/* Last read's early arrivals of the second that ends now go first. */
	e = ks_sechold__release(x->hold, s, sink, ts);
	if (!e)
		e = ks_bpfgen__drain(&x->gen, on_entry, x);
	if (!e)
		e = read_stats(s, x);
	return e;
}

const struct ks_source_ops ks_source_bpf_samples = {
	.name = SRC,
	.summary = "vCPU samples at 99 Hz: guest or host, guest ring and "
		   "cr3 (perf cpu-clock + BPF)",
	.metrics = metrics,
	.nmetrics = sizeof(metrics) / sizeof(metrics[0]),
	.open = samples_open,
	.attach = samples_attach,
	.read = samples_read,
	.close = samples_close,
};
