/* agree.c - sorting source records into KVM's statistics, and judging.
 *
 * Records arrive once a second per (VM, vCPU, reason); a window of a few
 * seconds on a host of a few hundred VMs is small, so the tables are flat
 * arrays searched linearly, bounded, with what does not fit counted.
 */
#include "source/agree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "kvm/uexitreason.h"

struct ks_agree {
	struct ks_source_sink sink;
	uint32_t hlt_sym, io_sym, mmio_sym;
	size_t nvm, nvcpu;
	uint64_t dropped;
	struct ks_agree_vm vm[KS_AGREE_MAXVM];
	struct ks_agree_vcpu vcpu[KS_AGREE_MAXVCPU];
};

static uint64_t num_field(const struct ks_record *r, enum ks_field f,
			  int64_t missing)
{
	if (!ks_record_has(r, f))
		return (uint64_t)missing;
	return strtoull(ks_sym_str((uint32_t)r->f[f]), NULL, 10);
}

static struct ks_agree_vm *vm_of(struct ks_agree *a, uint32_t pid)
{
	for (size_t i = 0; i < a->nvm; i++)
		if (a->vm[i].pid == pid)
			return &a->vm[i];
	if (a->nvm == KS_AGREE_MAXVM)
		return NULL;
	memset(&a->vm[a->nvm], 0, sizeof(a->vm[0]));
	a->vm[a->nvm].pid = pid;
	return &a->vm[a->nvm++];
}

static struct ks_agree_vcpu *vcpu_of(struct ks_agree *a, uint32_t pid,
				     int64_t vcpu)
{
	for (size_t i = 0; i < a->nvcpu; i++)
		if (a->vcpu[i].pid == pid && a->vcpu[i].vcpu == vcpu)
			return &a->vcpu[i];
	if (a->nvcpu == KS_AGREE_MAXVCPU)
		return NULL;
	a->vcpu[a->nvcpu] = (struct ks_agree_vcpu){ pid, vcpu, 0 };
	return &a->vcpu[a->nvcpu++];
}

/* Which statistic a userspace exit counts in, or -1. */
static int uexit_stat(const struct ks_agree *a, const struct ks_record *r)
{
	uint32_t why = ks_record_has(r, KS_F_UEXITREASON) ?
		       (uint32_t)r->f[KS_F_UEXITREASON] : 0;

	return why == a->io_sym ? KS_KC_IO_EXITS :
	       why == a->mmio_sym ? KS_KC_MMIO_EXITS : -1;
}

static void count_exit(struct ks_agree *a, struct ks_agree_vm *vm,
		       const struct ks_record *r)
{
	struct ks_agree_vcpu *vc;

	vm->ours[KS_KC_EXITS] += r->value;
	if (ks_record_has(r, KS_F_VLEAVEREASON) &&
	    r->f[KS_F_VLEAVEREASON] == a->hlt_sym)
		vm->ours[KS_KC_HALT_EXITS] += r->value;
	vc = vcpu_of(a, vm->pid, (int64_t)num_field(r, KS_F_VCPU, -1));
	if (vc)
		vc->exits += r->value;
	else
		a->dropped++;
}

static int on_record(void *ctx, const struct ks_record *r)
{
	struct ks_agree *a = ctx;
	struct ks_agree_vm *vm;
	int s;

	if (r->metric != KS_M_VM_EXITS && r->metric != KS_M_VM_IRQS &&
	    r->metric != KS_M_VM_USERSPACE_EXITS)
		return 0;
	if (!(vm = vm_of(a, (uint32_t)num_field(r, KS_F_PID, 0)))) {
		a->dropped++;
		return 0;
	}
	if (ks_record_has(r, KS_F_VM))
		vm->vm_sym = (uint32_t)r->f[KS_F_VM];
	if (r->metric == KS_M_VM_EXITS)
		count_exit(a, vm, r);
	else if (r->metric == KS_M_VM_IRQS)
		vm->ours[KS_KC_IRQ_INJECTIONS] += r->value;
	else if ((s = uexit_stat(a, r)) >= 0)
		vm->ours[s] += r->value;
	return 0;
}

struct ks_agree *ks_agree__new(void)
{
	struct ks_agree *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->sink = (struct ks_source_sink){ on_record, NULL, a };
	a->hlt_sym = ks_sym_intern("hlt");
	a->io_sym = ks_sym_intern(ks_uexitreason_name(KS_KVM_EXIT_IO));
	a->mmio_sym = ks_sym_intern(ks_uexitreason_name(KS_KVM_EXIT_MMIO));
	return a;
}

void ks_agree__free(struct ks_agree *a)
{
	free(a);
}

const struct ks_source_sink *ks_agree__sink(struct ks_agree *a)
{
	return &a->sink;
}

void ks_agree__reset(struct ks_agree *a)
{
	a->nvm = a->nvcpu = 0;
	a->dropped = 0;
}

static int cmp_vm(const void *x, const void *y)
{
	const struct ks_agree_vm *a = x, *b = y;

	return (a->pid > b->pid) - (a->pid < b->pid);
}

static int cmp_vcpu(const void *x, const void *y)
{
	const struct ks_agree_vcpu *a = x, *b = y;

	if (a->pid != b->pid)
		return (a->pid > b->pid) - (a->pid < b->pid);
	return (a->vcpu > b->vcpu) - (a->vcpu < b->vcpu);
}

size_t ks_agree__vms(const struct ks_agree *a,
		     const struct ks_agree_vm **vms)
{
	qsort((void *)a->vm, a->nvm, sizeof(a->vm[0]), cmp_vm);
	*vms = a->vm;
	return a->nvm;
}

size_t ks_agree__vcpus(const struct ks_agree *a,
		       const struct ks_agree_vcpu **vcpus)
{
	qsort((void *)a->vcpu, a->nvcpu, sizeof(a->vcpu[0]), cmp_vcpu);
	*vcpus = a->vcpu;
	return a->nvcpu;
}

uint64_t ks_agree__dropped(const struct ks_agree *a)
{
	return a->dropped;
}

enum ks_agree_verdict ks_agree_judge(uint64_t ours,
				     const struct ks_agree_kvm *k,
				     uint64_t *lo, uint64_t *hi)
{
	/* Statistics only grow; a reading that went down means the VM was
	 * replaced under the same pid, and nothing can be said. */
	if (k->a_after < k->a_before || k->b_before < k->a_after ||
	    k->b_after < k->b_before) {
		*lo = *hi = 0;
		return KS_AGREE_NONE;
	}
	*lo = k->b_before - k->a_after;
	*hi = k->b_after - k->a_before;
	if (ours < *lo || ours > *hi)
		return KS_AGREE_DIFFER;
	return *lo == *hi ? KS_AGREE_EXACT : KS_AGREE_EDGES;
}

const char *ks_agree_verdict_name(enum ks_agree_verdict v)
{
	static const char *const n[] = { "exact", "within edges", "DIFFERS",
					 "not compared" };

	return v <= KS_AGREE_NONE ? n[v] : "?";
}
