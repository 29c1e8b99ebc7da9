/* bpfrec.c - BPF map entries to engine records (see bpfrec.h).
 *
 * Field values are written exactly as the trace reader (replay/kvmtrace.c)
 * writes them, so live and replayed data decompose into the same keys:
 * vCPUs in decimal, vectors in lowercase hex without "0x", exit reasons by
 * the kernel's table names (kvm/exitreason.h), delivery modes by the
 * names kvm_apic_accept_irq prints, userspace exits, port and MMIO
 * directions as kvm_userspace_exit, kvm_pio and kvm_mmio print them.
 */
#include "source/bpfrec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "bpf/loglin.h"
#include "engine/symtab.h"
#include "kvm/exitreason.h"
#include "kvm/uexitreason.h"

#define MS_NS 1000000ULL

uint64_t ks_bpfrec_sum(const uint64_t *percpu, size_t ncpu)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < ncpu; i++)
		sum += percpu[i];
	return sum;
}

uint32_t ks_bpfrec_dec_sym(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return ks_sym_transient(buf);
}

uint32_t ks_bpfrec_hex_sym(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llx", (unsigned long long)v);
	return ks_sym_transient(buf);
}

uint32_t ks_bpfrec_guest_sym(uint32_t tgid, enum ks_field f, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%llx", (unsigned long long)v);

	return ks_sym_guest_n(ks_sym_guest_scope(tgid, f), buf, (size_t)n);
}

const char *ks_bpfrec_dm_name(unsigned int dm)
{
	static const char *const names[8] = {
		"Fixed", "LowPrio", "SMI", "Res3", "NMI", "INIT", "SIPI",
		"ExtINT",
	};

	return names[dm & 7];
}

int ks_bpfrec_row_ns_valid(uint64_t row_ns)
{
	if (row_ns < MS_NS || row_ns % MS_NS || KS_NSEC_PER_SEC % row_ns)
		return -EINVAL;
	return 0;
}

int ks_bpfrec_row_ns_check(uint64_t row_ns, struct ks_err *err)
{
	if (!ks_bpfrec_row_ns_valid(row_ns))
		return 0;
	return ks_err_set(err, EINVAL, "subsecond",
			  "row size %llu ns is not a whole number of ms "
			  "dividing one second", (unsigned long long)row_ns);
}

/* Identity and vCPU, common to every record. */
static int set_who(struct ks_record *r, const struct ks_ident *id,
		   uint32_t vcpu)
{
	uint32_t sym;

	if (id && id->pid_sym)
		ks_record_set(r, KS_F_PID, id->pid_sym);
	if (id && id->vm_sym)
		ks_record_set(r, KS_F_VM, id->vm_sym);
	if (id && id->uuid_sym)
		ks_record_set(r, KS_F_VMUUID, id->uuid_sym);
	if (vcpu == KS_VCPU_UNKNOWN)
		return 0;
	if (!(sym = ks_bpfrec_dec_sym(vcpu)))
		return -ENOMEM;
	ks_record_set(r, KS_F_VCPU, sym);
	return 0;
}

int ks_bpfrec_exit(const struct ks_exit_key *k, uint64_t count, uint64_t ts,
		   const struct ks_ident *id, struct ks_record *r)
{
	uint32_t sym;

	if (k->kind != KS_EXK_EXIT ||
	    (k->isa != KS_ISA_VMX && k->isa != KS_ISA_SVM) ||
	    (k->bucket != KS_BUCKET_NONE && k->bucket >= KS_LL_NBUCKETS))
		return -EINVAL;
	ks_record_init(r, KS_M_VM_EXITS, ts, count);
	if (set_who(r, id, k->vcpu))
		return -ENOMEM;
	if (!(sym = ks_exitreason_sym((enum ks_isa)k->isa, k->reason)))
		return -ENOMEM;
	ks_record_set(r, KS_F_VLEAVEREASON, sym);
	if (k->bucket != KS_BUCKET_NONE)
		ks_record_set(r, KS_F_LATENCY, ks_ll_lo(k->bucket));
	return 0;
}

int ks_bpfrec_irq(const struct ks_irq_key *k, uint64_t count, uint64_t ts,
		  uint64_t row_ns, const struct ks_ident *id,
		  struct ks_record *r)
{
	enum ks_metric m;
	uint32_t sym;

	if (ks_bpfrec_row_ns_valid(row_ns) ||
	    k->row >= KS_NSEC_PER_SEC / row_ns || k->dm > 7 ||
	    k->sec > KS_SEC_MASK)
		return -EINVAL;
	if (k->path == KS_IRQ_INJ)
		m = KS_M_VM_IRQS;
	else if (k->path == KS_IRQ_APIC)
		m = KS_M_VM_APIC_IRQS;
	else
		return -EINVAL;
	ks_record_init(r, m, ts, count);
	if (set_who(r, id, k->vcpu))
		return -ENOMEM;
	if (!(sym = ks_bpfrec_hex_sym(k->vector)))
		return -ENOMEM;
	ks_record_set(r, KS_F_IRQVECTOR, sym);
	if (m == KS_M_VM_APIC_IRQS) {
		if (!(sym = ks_sym_intern(ks_bpfrec_dm_name(k->dm))))
			return -ENOMEM;
		ks_record_set(r, KS_F_DELIVERYMODE, sym);
	}
	ks_record_set(r, KS_F_SUBSECOND, k->row * (row_ns / MS_NS));
	return 0;
}

const char *ks_bpfrec_mmio_dir(unsigned int type)
{
	static const char *const names[] = { "unsatisfied-read", "read",
					     "write" };

	return type < 3 ? names[type] : NULL;
}

/* Does k hold only what the probe writes for its kind? */
static bool uexit_key_valid(const struct ks_uexit_key *k, uint64_t row_ns)
{
	if (k->sec > KS_SEC_MASK)
		return false;
	switch (k->kind) {
	case KS_UXK_UEXIT:
		return !k->addr && k->sub <= KS_UXE_ERROR &&
		       (k->sub == KS_UXE_NONE || !k->arg) &&
		       !ks_bpfrec_row_ns_valid(row_ns) &&
		       k->row < KS_NSEC_PER_SEC / row_ns;
	case KS_UXK_PIO:
		return k->sub <= 1 && !k->row && k->addr <= 0xffff;
	case KS_UXK_MMIO:
		return ks_bpfrec_mmio_dir(k->sub) && !k->row;
	default:
		return false;
	}
}

static const enum ks_metric uexit_metric[KS_UXK__COUNT] = {
	[KS_UXK_UEXIT] = KS_M_VM_USERSPACE_EXITS,
	[KS_UXK_PIO] = KS_M_VM_PIO_OPS,
	[KS_UXK_MMIO] = KS_M_VM_MMIO_OPS,
};

/* The uexitreason of a KS_UXK_UEXIT key. */
static uint32_t uexit_reason_sym(const struct ks_uexit_key *k)
{
	int32_t err = k->sub == KS_UXE_RESTART ? -KS_UEXIT_EINTR :
		      k->sub == KS_UXE_ERROR ? -1 : 0;

	return ks_uexitreason_sym(k->arg, err);
}

/* Port or gpa, direction and size of a PIO or MMIO key. */
static int set_access(struct ks_record *r, const struct ks_uexit_key *k)
{
	const char *dir = k->kind == KS_UXK_PIO ?
			  (k->sub ? "write" : "read") :
			  ks_bpfrec_mmio_dir(k->sub);
	uint32_t addr, d = ks_sym_intern(dir);

	if (!d)
		return -ENOMEM;
	/* Ports are 64K at most; guest physical addresses are the guest's
	 * to choose, so they count against its VM's cap.  One refused
	 * leaves the field absent (symtab counts it). */
	if (k->kind == KS_UXK_PIO)
		addr = ks_bpfrec_hex_sym(k->addr);
	else
		addr = ks_bpfrec_guest_sym(k->tgid, KS_F_GPA, k->addr);
	if (!addr && errno != ENOSPC)
		return -ENOMEM;
	if (addr)
		ks_record_set(r, k->kind == KS_UXK_PIO ? KS_F_PORT : KS_F_GPA,
			      addr);
	ks_record_set(r, KS_F_DIRECTION, d);
	ks_record_set(r, KS_F_SIZE, k->arg);
	return 0;
}

int ks_bpfrec_uexit(const struct ks_uexit_key *k, uint64_t count,
		    uint64_t ts, uint64_t row_ns, const struct ks_ident *id,
		    struct ks_record *r)
{
	uint32_t sym;

	if (!uexit_key_valid(k, row_ns))
		return -EINVAL;
	ks_record_init(r, uexit_metric[k->kind], ts, count);
	if (set_who(r, id, k->vcpu))
		return -ENOMEM;
	if (k->kind != KS_UXK_UEXIT)
		return set_access(r, k);
	if (!(sym = uexit_reason_sym(k)))
		return -ENOMEM;
	ks_record_set(r, KS_F_UEXITREASON, sym);
	ks_record_set(r, KS_F_SUBSECOND, k->row * (row_ns / MS_NS));
	return 0;
}
