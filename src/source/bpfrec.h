/* bpfrec.h - BPF map entries to engine records.
 *
 * The probes count events under keys (exits.h, irqs.h); this module turns
 * one key and its count into one ks_record, with no libbpf in sight, so the
 * conversion is unit-tested without a kernel.  Numeric fields the kernel
 * only knows as a log-linear bucket (exit latency) are set to the bucket's
 * lower bound, ks_ll_lo(): that value falls in the same bucket, so a
 * distribution rebuilt from the records is exactly the kernel's.  The
 * exits source then moves the value to the right side of any latency cut
 * inside the bucket (latcuts.h), which keeps latency predicates exact.
 */
#ifndef KS_SOURCE_BPFREC_H
#define KS_SOURCE_BPFREC_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/exits.h"
#include "bpf/irqs.h"
#include "bpf/uexits.h"
#include "engine/record.h"
#include "util/err.h"

/* A VMM process as records name it: symtab ids, 0 when unknown. */
struct ks_ident {
	uint32_t pid_sym;	/* tgid in decimal */
	uint32_t vm_sym;	/* VM name */
	uint32_t uuid_sym;	/* VM UUID (vmuuid); 0: none known */
};

/* Sum of a per-CPU value array. */
uint64_t ks_bpfrec_sum(const uint64_t *percpu, size_t ncpu);

/* Decimal and hex (lowercase, no "0x") symbols, as the replay reader
 * writes vCPUs and vectors; 0 with errno set on ENOMEM. */
uint32_t ks_bpfrec_dec_sym(uint64_t v);
uint32_t ks_bpfrec_hex_sym(uint64_t v);
/* Hex symbol of a guest-driven value (RIP, cr3, guest physical address:
 * field f) of VMM process tgid: capped per VM and field
 * (engine/symtab.h); 0 with errno ENOSPC when refused by the cap. */
uint32_t ks_bpfrec_guest_sym(uint32_t tgid, enum ks_field f, uint64_t v);

/* The kernel's name of an APIC delivery mode 0..7 ("Fixed", "ExtINT"). */
const char *ks_bpfrec_dm_name(unsigned int dm);

/* A vm.exits record of count exits for k (kind KS_EXK_EXIT) stamped ts.
 * 0, -EINVAL for a key no probe writes (bad isa, kind or bucket), or
 * -ENOMEM. */
int ks_bpfrec_exit(const struct ks_exit_key *k, uint64_t count, uint64_t ts,
		   const struct ks_ident *id, struct ks_record *r);

/* A vm.irqs (path KS_IRQ_INJ) or vm.apic_irqs (KS_IRQ_APIC) record; the
 * subsecond field is the row's first millisecond, for rows of row_ns.
 * (k->sec is the caller's, for source/sechold.h.)  0, -EINVAL (bad path,
 * row, row_ns or second bits) or -ENOMEM. */
int ks_bpfrec_irq(const struct ks_irq_key *k, uint64_t count, uint64_t ts,
		  uint64_t row_ns, const struct ks_ident *id,
		  struct ks_record *r);

/* kvm_mmio's name of an access type 0..2 ("unsatisfied-read", "read",
 * "write"), or NULL. */
const char *ks_bpfrec_mmio_dir(unsigned int type);

/* A vm.userspace_exits (kind KS_UXK_UEXIT, with the subsecond field for
 * rows of row_ns), vm.pio_ops (KS_UXK_PIO) or vm.mmio_ops (KS_UXK_MMIO)
 * record of count events for k, stamped ts.  Fields are written as the
 * trace reader writes them: reasons by uexitreason.h's names, port and
 * gpa in hex, direction by the tracepoint's word.  0, -EINVAL for a key no
 * probe writes (bad kind, direction, outcome, row or second bits), or
 * -ENOMEM.  k->sec is the caller's, to sort the record into its second. */
int ks_bpfrec_uexit(const struct ks_uexit_key *k, uint64_t count,
		    uint64_t ts, uint64_t row_ns, const struct ks_ident *id,
		    struct ks_record *r);

/* Checks a subsecond row size: a whole number of ms dividing 1 s. */
int ks_bpfrec_row_ns_valid(uint64_t row_ns);
/* The same, filling err (parameter "subsecond") for the sources' open. */
int ks_bpfrec_row_ns_check(uint64_t row_ns, struct ks_err *err);

#endif /* KS_SOURCE_BPFREC_H */
