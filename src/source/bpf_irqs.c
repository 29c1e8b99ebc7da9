/* bpf_irqs.c - the vm.irqs and vm.apic_irqs source: irqs.bpf.c live.
 *
 * Loads the interrupts probe, sets its subsecond row size and process
 * filter before load, keeps its wall-clock offset current (the probe adds
 * it to the monotonic clock to place each interrupt in the wall-clock
 * second, so the subsecond field matches the records' wall-clock time and
 * other hosts), and each tick drains one map generation into records.
 * Interrupts of the second after the one the read ends (the read comes a
 * few ms late) wait in a hold for the next read (sechold.h), so each is
 * counted in its own second.  vCPUs are named by QEMU's index through
 * discovery (vmident.h), from the thread -> vcpu_id map the probe keeps
 * for injected interrupts.
 */
#include "source/source.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irqs.skel.h"
#include "source/bpfgen.h"
#include "source/bpfload.h"
#include "source/bpfrec.h"
#include "source/sechold.h"
#include "source/vmident.h"
#include "util/clock.h"

struct irqs_src {
	struct ks_irqs *skel;
	struct ks_bpfgen gen;
	struct ks_sechold *hold;	/* the next second's, until it ends */
	struct ks_vmident *vi;
	struct ks_vmdisc *disc;
	uint64_t row_ns;
	uint64_t prev[KS_IRS__COUNT];
	struct ks_source *s;
	const struct ks_source_sink *sink;
	uint64_t ts;
};

static const enum ks_metric metrics[] = { KS_M_VM_IRQS, KS_M_VM_APIC_IRQS };

static void irqs_close(struct ks_source *s)
{
	struct irqs_src *x = s->priv;

	if (!x)
		return;
	ks_bpfgen__fini(&x->gen);
	/* Interrupts whose second never ended while we ran: lost. */
	s->st.drops += ks_sechold__free(x->hold);
	ks_irqs__destroy(x->skel);
	ks_vmident__free(x->vi);
	ks_vmdisc__put(x->disc);
	free(x);
	s->priv = NULL;
}

/* The vcpu_id thread tid last ran, from the probe's irq_vcpu map. */
static int64_t tid_vcpu(void *ctx, uint32_t tid)
{
	struct irqs_src *x = ctx;
	uint32_t vcpu;

	if (bpf_map_lookup_elem(bpf_map__fd(x->skel->maps.irq_vcpu), &tid,
				&vcpu))
		return -1;
	return vcpu;
}

static int irqs_open(struct ks_source *s, const struct ks_source_opts *o,
		     struct ks_err *err)
{
	uint64_t row_ns = o->subsec_row_ns ? o->subsec_row_ns :
					     KS_IRQ_ROW_NS_DEFAULT;
	struct irqs_src *x;
	int e;

	if ((e = ks_bpfrec_row_ns_check(row_ns, err)))
		return e;
	ks_bpfload_set_verbose(o->verbose);
	if (!(x = calloc(1, sizeof(*x))))
		return ks_err_set(err, ENOMEM, "bpf_irqs", "out of memory");
	s->priv = x;
	x->row_ns = row_ns;
	x->hold = ks_sechold__new();
	if (!(x->vi = ks_vmident__new(NULL)) || !x->hold) {
		irqs_close(s);
		return ks_err_set(err, ENOMEM, "bpf_irqs", "out of memory");
	}
	if (!(x->skel = ks_irqs__open())) {
		e = -errno;
		irqs_close(s);
		return ks_bpfload_err(err, "bpf_irqs", "open", e);
	}
	x->skel->rodata->targ_tgid = o->pid;
	x->skel->rodata->row_ns = row_ns;
	if ((e = ks_irqs__load(x->skel))) {
		irqs_close(s);
		return ks_bpfload_err(err, "bpf_irqs", "load", e);
	}
	x->skel->bss->realtime_off_ns =
		ks_clock_wall_offset(x->skel->bss->realtime_off_ns);
	/* Without discovery, vCPUs keep KVM's vcpu_id. */
	if ((x->disc = ks_vmdisc__shared(NULL)))
		ks_vmident__set_discovery(x->vi, x->disc, tid_vcpu, x);
	e = ks_bpfgen__init(&x->gen, bpf_map__fd(x->skel->maps.irq_cur),
			    bpf_map__fd(x->skel->maps.irq_gen0),
			    bpf_map__fd(x->skel->maps.irq_gen1),
			    sizeof(struct ks_irq_key));
	if (e) {
		irqs_close(s);
		return ks_err_set(err, e, "bpf_irqs", "%s", strerror(-e));
	}
	return 0;
}

static int irqs_attach(struct ks_source *s, struct ks_err *err)
{
	struct irqs_src *x = s->priv;
	int e = ks_irqs__attach(x->skel);

	return e ? ks_bpfload_err(err, "bpf_irqs", "attach", e) : 0;
}

static int on_entry(void *ctx, const void *key, uint64_t sum)
{
	struct irqs_src *x = ctx;
	struct ks_irq_key k = *(const struct ks_irq_key *)key;
	struct ks_ident id;
	struct ks_record r;
	int e;

	e = ks_bpfload_ident(x->vi, bpf_map__fd(x->skel->maps.irq_comm),
			     k.tgid, &id);
	if (!e)
		e = ks_vmident__vcpu(x->vi, k.tgid, k.vcpu, &k.vcpu, NULL);
	if (e)
		return e;
	e = ks_bpfrec_irq(&k, sum, x->ts, x->row_ns, &id, &r);
	if (!e && k.vcpu == KS_VCPU_UNKNOWN)
		x->s->st.no_vcpu += sum;
	return ks_sechold__emit_conv(x->hold, x->s, x->sink, e, &r, sum, k.sec);
}

static int read_stats(struct ks_source *s, struct irqs_src *x)
{
	int fd = bpf_map__fd(x->skel->maps.irq_stats);
	uint64_t d[KS_IRS__COUNT];
	int e;

	if ((e = ks_bpfgen_stats_delta(fd, KS_IRS__COUNT, x->gen.ncpu, x->prev, d)))
		return e;
	s->st.drops += d[KS_IRS_DROP_FULL] + d[KS_IRS_DROP_NOMAP];
	return 0;
}

static int irqs_read(struct ks_source *s, uint64_t ts,
		     const struct ks_source_sink *sink)
{
	struct irqs_src *x = s->priv;
	int e;

	/* NTP may have stepped or slewed the wall clock since the last tick. */
	x->skel->bss->realtime_off_ns =
		ks_clock_wall_offset(x->skel->bss->realtime_off_ns);
	ks_vmident__tick(x->vi);
	x->s = s;
	x->sink = sink;
	x->ts = ts;
	/* Last read's early arrivals of the second that ends now go first. */
	e = ks_sechold__release(x->hold, s, sink, ts);
	if (!e)
		e = ks_bpfgen__drain(&x->gen, on_entry, x);
	if (!e)
		e = read_stats(s, x);
	return e;
}

const struct ks_source_ops ks_source_bpf_irqs = {
	.name = "bpf_irqs",
	.summary = "interrupts injected into and accepted by guests "
		   "(kvm_inj_virq, kvm_apic_accept_irq)",
	.metrics = metrics,
	.nmetrics = sizeof(metrics) / sizeof(metrics[0]),
	.open = irqs_open,
	.attach = irqs_attach,
	.read = irqs_read,
	.close = irqs_close,
};
