/* bpf_exits.c - vm.exits and the exits to user space: the exits probe
 * (exits.bpf.c) live.
 *
 * Loads the probe through its skeleton, configures it (process filter,
 * exact latency filter, subsecond rows) before load so the verifier prunes
 * what is off, attaches to kvm:kvm_exit, kvm:kvm_entry,
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
 */
#include "source/source.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits.skel.h"
#include "source/bpfgen.h"
#include "source/bpfload.h"
#include "source/bpfrec.h"
#include "source/vmident.h"

struct exits_src {
	struct ks_exits *skel;
	struct ks_bpfgen gen;	/* exits and emulations */
	struct ks_bpfgen ugen;	/* userspace exits and port I/O */
	struct ks_bpfgen mgen;	/* MMIO */
	struct ks_vmident *vi;
	struct ks_vmdisc *disc;
	uint64_t row_ns;
	uint64_t prev[KS_EXS__COUNT];	/* exit_stats at the last read */
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
	ks_exits__destroy(x->skel);
	ks_vmident__free(x->vi);
	ks_vmdisc__put(x->disc);
	free(x);
	s->priv = NULL;
}

static void configure(struct exits_src *x, const struct ks_source_opts *o)
{
	struct ks_exits *skel = x->skel;

	skel->rodata->targ_tgid = o->pid;
	skel->rodata->lat_filter = o->lat_filter;
	skel->rodata->lat_lo = o->lat_lo;
	skel->rodata->lat_hi = o->lat_hi;
	skel->rodata->row_ns = x->row_ns;
	/* Only bench/bench_probe_cost.c's programs use it. */
	bpf_map__set_autocreate(skel->maps.bench_base, false);
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

/* The vcpu_id thread tid last ran, from the probe's thread state. */
static int64_t tid_vcpu(void *ctx, uint32_t tid)
{
	struct exits_src *x = ctx;
	struct ks_exit_thread th;

	if (bpf_map_lookup_elem(bpf_map__fd(x->skel->maps.exit_threads), &tid,
				&th) || th.vcpu == KS_VCPU_UNKNOWN)
		return -1;
	return th.vcpu;
}

static int exits_open(struct ks_source *s, const struct ks_source_opts *o,
		      struct ks_err *err)
{
	struct exits_src *x;
	int e;

	ks_bpfload_set_verbose(o->verbose);
	if (!(x = calloc(1, sizeof(*x))))
		return ks_err_set(err, ENOMEM, "bpf_exits", "out of memory");
	s->priv = x;
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
	x->skel = ks_exits__open();
	if (!x->skel) {
		e = -errno;
		exits_close(s);
		return ks_bpfload_err(err, "bpf_exits", "open", e);
	}
	configure(x, o);
	if ((e = ks_exits__load(x->skel))) {
		exits_close(s);
		return ks_bpfload_err(err, "bpf_exits", "load", e);
	}
	x->skel->bss->realtime_off_ns = ks_bpfload_realtime_offset();
	if ((e = gens_init(x))) {
		exits_close(s);
		return ks_err_set(err, e, "bpf_exits", "%s", strerror(-e));
	}
	/* Without discovery, vCPUs keep KVM's vcpu_id. */
	if ((x->disc = ks_vmdisc__shared(NULL)))
		ks_vmident__set_discovery(x->vi, x->disc, tid_vcpu, x);
	return 0;
}

static int exits_attach(struct ks_source *s, struct ks_err *err)
{
	struct exits_src *x = s->priv;
	int e = ks_exits__attach(x->skel);

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

/* Hands r to the sink, or counts a key no probe writes (-EINVAL). */
static int emit(struct exits_src *x, int e, const struct ks_record *r,
		uint64_t sum)
{
	if (e == -EINVAL) {
		x->s->st.bad++;
		return 0;
	}
	if (e)
		return e;
	return ks_source__emit(x->s, x->sink, r, sum);
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
		c = (struct ks_source_counter){ k.tgid, k.vcpu, "emul", sum };
		return x->sink->counter(x->sink->ctx, &c);
	}
	e = ks_bpfrec_exit(&k, sum, x->ts, &id, &r);
	return emit(x, e, &r, sum);
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
	return emit(x, e, &r, sum);
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
		       d[KS_EXS_UEXIT_FULL] + d[KS_EXS_MMIO_FULL];
	s->st.filtered += d[KS_EXS_FILTERED];
	s->st.unpaired += d[KS_EXS_UNPAIRED];
	return 0;
}

static int exits_read(struct ks_source *s, uint64_t ts,
		      const struct ks_source_sink *sink)
{
	struct exits_src *x = s->priv;
	int e, e2, e3;

	/* NTP may have stepped or slewed the wall clock since the last tick. */
	x->skel->bss->realtime_off_ns = ks_bpfload_realtime_offset();
	ks_vmident__tick(x->vi);
	x->s = s;
	x->sink = sink;
	x->ts = ts;
	/* Every pair is drained even when one fails: none keeps a tick. */
	e = ks_bpfgen__drain(&x->gen, on_exit_entry, x);
	e2 = ks_bpfgen__drain(&x->ugen, on_uexit_entry, x);
	e3 = ks_bpfgen__drain(&x->mgen, on_uexit_entry, x);
	if (!e)
		e = e2 ? e2 : e3;
	if (!e)
		e = read_stats(s, x);
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
};
