/* bpf_exits.c - the vm.exits source: the exits probe (exits.bpf.c) live.
 *
 * Loads the probe through its skeleton, configures it (process filter,
 * exact latency filter) before load so the verifier prunes what is off,
 * attaches to kvm:kvm_exit, kvm:kvm_entry, kvm:kvm_emulate_insn and
 * sched:sched_process_exit, and each tick drains one map generation into
 * vm.exits records and "emul" counters.  One record per (process, vCPU,
 * reason, latency bucket) per tick, valued with its count: the engine gets
 * exact counts and exact bucketed distributions at a cost independent of
 * the exit rate.
 */
#include "source/source.h"

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
	struct ks_bpfgen gen;
	struct ks_vmident *vi;
	uint64_t prev[KS_EXS__COUNT];	/* exit_stats at the last read */
	/* The tick being read, for the drain callback. */
	struct ks_source *s;
	const struct ks_source_sink *sink;
	uint64_t ts;
};

static const enum ks_metric metrics[] = { KS_M_VM_EXITS };

static void exits_close(struct ks_source *s)
{
	struct exits_src *x = s->priv;

	if (!x)
		return;
	ks_bpfgen__fini(&x->gen);
	ks_exits__destroy(x->skel);
	ks_vmident__free(x->vi);
	free(x);
	s->priv = NULL;
}

static void configure(struct ks_exits *skel, const struct ks_source_opts *o)
{
	skel->rodata->targ_tgid = o->pid;
	skel->rodata->lat_filter = o->lat_filter;
	skel->rodata->lat_lo = o->lat_lo;
	skel->rodata->lat_hi = o->lat_hi;
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
	configure(x->skel, o);
	if ((e = ks_exits__load(x->skel))) {
		exits_close(s);
		return ks_bpfload_err(err, "bpf_exits", "load", e);
	}
	e = ks_bpfgen__init(&x->gen, bpf_map__fd(x->skel->maps.exit_cur),
			    bpf_map__fd(x->skel->maps.exit_gen0),
			    bpf_map__fd(x->skel->maps.exit_gen1),
			    sizeof(struct ks_exit_key));
	if (e) {
		exits_close(s);
		return ks_err_set(err, e, "bpf_exits", "%s", strerror(-e));
	}
	return 0;
}

static int exits_attach(struct ks_source *s, struct ks_err *err)
{
	struct exits_src *x = s->priv;
	int e = ks_exits__attach(x->skel);

	return e ? ks_bpfload_err(err, "bpf_exits", "attach", e) : 0;
}

static int on_entry(void *ctx, const void *key, uint64_t sum)
{
	struct exits_src *x = ctx;
	const struct ks_exit_key *k = key;
	struct ks_source_counter c;
	struct ks_ident id;
	struct ks_record r;
	int e;

	e = ks_bpfload_ident(x->vi, bpf_map__fd(x->skel->maps.exit_comm),
			     k->tgid, &id);
	if (e)
		return e;
	if (k->vcpu == KS_VCPU_UNKNOWN)
		x->s->st.no_vcpu += sum;
	if (k->kind == KS_EXK_EMUL) {
		x->s->st.events += sum;
		if (!x->sink->counter)
			return 0;
		c = (struct ks_source_counter){ k->tgid, k->vcpu, "emul", sum };
		return x->sink->counter(x->sink->ctx, &c);
	}
	e = ks_bpfrec_exit(k, sum, x->ts, &id, &r);
	if (e == -EINVAL) {
		x->s->st.bad++;
		return 0;
	}
	if (e)
		return e;
	x->s->st.records++;
	x->s->st.events += sum;
	return x->sink->record(x->sink->ctx, &r);
}

/* Adds the probe's cumulative counters since the last read to s->st. */
static int read_stats(struct ks_source *s, struct exits_src *x)
{
	int fd = bpf_map__fd(x->skel->maps.exit_stats);
	uint64_t v[KS_EXS__COUNT], d[KS_EXS__COUNT];
	int e;

	for (uint32_t i = 0; i < KS_EXS__COUNT; i++) {
		if ((e = ks_bpfgen_percpu_array_sum(fd, i, x->gen.ncpu, &v[i])))
			return e;
		d[i] = v[i] - x->prev[i];
		x->prev[i] = v[i];
	}
	s->st.drops += d[KS_EXS_DROP_FULL] + d[KS_EXS_DROP_NOMAP];
	s->st.filtered += d[KS_EXS_FILTERED];
	s->st.unpaired += d[KS_EXS_UNPAIRED];
	return 0;
}

static int exits_read(struct ks_source *s, uint64_t ts,
		      const struct ks_source_sink *sink)
{
	struct exits_src *x = s->priv;
	int e;

	ks_vmident__tick(x->vi);
	x->s = s;
	x->sink = sink;
	x->ts = ts;
	e = ks_bpfgen__drain(&x->gen, on_entry, x);
	if (!e)
		e = read_stats(s, x);
	return e;
}

const struct ks_source_ops ks_source_bpf_exits = {
	.name = "bpf_exits",
	.summary = "VM exits and exit-handling latency (kvm_exit/kvm_entry)",
	.metrics = metrics,
	.nmetrics = sizeof(metrics) / sizeof(metrics[0]),
	.open = exits_open,
	.attach = exits_attach,
	.read = exits_read,
	.close = exits_close,
};
