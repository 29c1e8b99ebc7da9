/* vm_vcpus.c - the vm.vcpus source: how many vCPUs each VM has.
 *
 * vm.vcpus is a point metric (a level, not a count of events), so each
 * tick emits one record per VM discovery knows, its value the VM's vCPU
 * count, named by vm, vmuuid and pid as every live source names it
 * (vm/vmrec.h).  The engine keeps the first report per slot, so a second
 * that saw two ticks still says 2 for a two-vCPU VM, not 4.
 *
 * The count is the larger of the vCPU threads discovery has found and the
 * -smp the command line asks for: threads appear one by one while QEMU
 * starts (and only when it names them or debugfs is mounted), and a
 * hot-plugged vCPU runs a thread the command line never mentioned.  A
 * QEMU without -smp runs one vCPU.  A VM that gives neither (a non-QEMU
 * VMM whose threads are not known yet) gets no record rather than a
 * guessed one; how many were left out is in the source's no_vcpu stat
 * and its note.  Cost: discovery's scan, shared with the other sources.
 */
#include "source/source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vm/discovery.h"
#include "vm/vmrec.h"

#define MAX_AGE_NS (250 * 1000000ULL)

struct vcpus_src {
	struct ks_vmdisc *d;
	uint32_t pid;		/* filter; 0: all */
};

static const enum ks_metric metrics[] = { KS_M_VM_VCPUS };

static void vcpus_close(struct ks_source *s)
{
	struct vcpus_src *x = s->priv;

	if (!x)
		return;
	ks_vmdisc__put(x->d);
	free(x);
	s->priv = NULL;
}

static int vcpus_open(struct ks_source *s, const struct ks_source_opts *o,
		      struct ks_err *err)
{
	struct vcpus_src *x = calloc(1, sizeof(*x));

	if (!x)
		return ks_err_set(err, ENOMEM, "vm_vcpus", "out of memory");
	s->priv = x;
	x->pid = o->pid;
	if (!(x->d = ks_vmdisc__shared(err))) {
		vcpus_close(s);
		return -EIO;
	}
	return 0;
}

static int vcpus_attach(struct ks_source *s, struct ks_err *err)
{
	(void)s;
	(void)err;
	return 0;
}

/* The VM's vCPU count, or 0 when nothing says. */
static unsigned vcpu_count(const struct ks_vm *vm)
{
	unsigned smp = vm->smp ? vm->smp : vm->qemu ? 1 : 0;

	return vm->nvcpus > smp ? (unsigned)vm->nvcpus : smp;
}

static int vcpus_read(struct ks_source *s, uint64_t ts,
		      const struct ks_source_sink *sink)
{
	struct vcpus_src *x = s->priv;
	size_t unknown = 0;
	int e;

	if ((e = ks_vmdisc__update(x->d, MAX_AGE_NS)) < 0)
		return e;
	for (size_t i = 0; i < ks_vmdisc__count(x->d); i++) {
		const struct ks_vm *vm = ks_vmdisc__at(x->d, i);
		unsigned n = vcpu_count(vm);
		struct ks_record r;

		if (x->pid && (uint32_t)vm->pid != x->pid)
			continue;
		if (!n) {
			unknown++;
			continue;
		}
		ks_record_init(&r, KS_M_VM_VCPUS, ts, n);
		if ((e = ks_vmrec_ident(&r, vm)))
			return e;
		s->st.records++;
		if ((e = sink->record(sink->ctx, &r)))
			return e;
	}
	s->st.no_vcpu += unknown;
	if (unknown)
		snprintf(s->note, sizeof(s->note), "%zu VM%s with no known vCPU "
			 "count (no -smp, no vCPU threads found yet): not "
			 "reported", unknown, unknown == 1 ? "" : "s");
	else
		s->note[0] = '\0';
	return 0;
}

const struct ks_source_ops ks_source_vm_vcpus = {
	.name = "vm_vcpus",
	.summary = "vCPUs per VM (VM discovery)",
	.metrics = metrics,
	.nmetrics = sizeof(metrics) / sizeof(metrics[0]),
	.open = vcpus_open,
	.attach = vcpus_attach,
	.read = vcpus_read,
	.close = vcpus_close,
};
