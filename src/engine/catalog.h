/* catalog.h - the metric catalogue: types, fields and metrics.
 *
 * One declarative table (catalog.c) describes every metric kvmscope can
 * supply: its module and stat (CA's names where CA had the metric), label,
 * unit or type, whether it is an interval or a point metric, and its fields.
 * The HTTP API's GET /ca, the CLI's `metrics` command and the docs are all
 * generated from it, so they cannot drift apart.
 */
#ifndef KS_ENGINE_CATALOG_H
#define KS_ENGINE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value types, as CA's type table (arity, unit, base, power). */
enum ks_type {
	KS_TYPE_STRING,		/* discrete identifiers */
	KS_TYPE_NUMBER,
	KS_TYPE_PERCENT,
	KS_TYPE_SIZE,		/* bytes, base 2 */
	KS_TYPE_TIME,		/* nanoseconds: seconds, power -9 */
	KS_TYPE_SUBSECOND,	/* milliseconds into the second: power -3 */
	KS_TYPE__COUNT
};

struct ks_typeinfo {
	const char *name;
	bool numeric;
	const char *unit;	/* NULL: none */
	const char *abbr;
	int base;		/* 0: none */
	int power;
	int minmax;		/* 0: none */
};

/* Every field any metric has.  Records index their values by these ids. */
enum ks_field {
	KS_F_VM,		/* VM name */
	KS_F_VMUUID,
	KS_F_PID,		/* QEMU (VMM) process id, discrete */
	KS_F_VCPU,		/* vCPU index within its VM, discrete */
	KS_F_VLEAVEREASON,	/* exit reason, kernel's name */
	KS_F_LATENCY,		/* ns */
	KS_F_SUBSECOND,		/* ms into the wall-clock second */
	KS_F_GUESTRIP,		/* hex */
	KS_F_IRQVECTOR,		/* hex, e.g. "fb" */
	KS_F_DELIVERYMODE,	/* Fixed, LowPrio, NMI, ... */
	KS_F_GUESTMODE,		/* kernel, user, host */
	KS_F_VMMMUCTX,		/* guest cr3, hex */
	KS_F_DISK,
	KS_F_OPTYPE,		/* read, write, flush, discard */
	KS_F_SIZE,		/* bytes */
	KS_F_OFFSET,		/* bytes into the guest disk */
	KS_F_ERRNO,
	KS_F_NIC,
	KS_F_DIRECTION,		/* sent, received (the guest's view) */
	KS_F_UEXITREASON,	/* KVM_EXIT_* of a userspace exit */
	KS_F_PORT,		/* I/O port, hex */
	KS_F_GPA,		/* guest physical address, hex */
	KS_F_HOSTNAME,		/* the host's name: set by the engine */
	KS_F__COUNT
};

struct ks_fieldinfo {
	const char *name;
	const char *label;
	enum ks_type type;
	const char *note;	/* NULL, or what the label cannot say */
};

enum ks_metric {
	KS_M_VM_EXITS,
	KS_M_VM_IRQS,
	KS_M_VM_APIC_IRQS,
	KS_M_VM_THREAD_SAMPLES,
	KS_M_VM_PHYSIO_OPS,
	KS_M_VM_PHYSIO_BYTES,
	KS_M_NIC_VNIC_BYTES,
	KS_M_NIC_VNIC_PACKETS,
	KS_M_VM_USERSPACE_EXITS,
	KS_M_VM_PIO_OPS,
	KS_M_VM_MMIO_OPS,
	KS_M_VM_VCPUS,
	KS_M__COUNT
};

#define KS_METRIC_MAXFIELDS 12

struct ks_metricinfo {
	const char *module;
	const char *stat;
	const char *label;
	const char *unit;	/* for counts; NULL when type is set */
	enum ks_type type;	/* KS_TYPE_NUMBER for counts */
	bool point;		/* point metric: first report per slot wins */
	const char *source;	/* where the data comes from on a live host */
	const char *overhead;	/* cost note, from the measurements */
	size_t nfields;
	enum ks_field fields[KS_METRIC_MAXFIELDS];
};

struct ks_moduleinfo {
	const char *name;
	const char *label;
};

const struct ks_typeinfo *ks_type_info(enum ks_type t);
const struct ks_fieldinfo *ks_field_info(enum ks_field f);
const struct ks_metricinfo *ks_metric_info(enum ks_metric m);
size_t ks_module_count(void);
const struct ks_moduleinfo *ks_module_info(size_t i);

/* CA's field names that are another name of one of ours: vcpuid is our
 * vcpu, zonename (a VM's UUID in CA's KVM, its zone) our vmuuid. */
struct ks_fieldalias {
	const char *name;
	const char *label;	/* CA's */
	enum ks_field field;
};
size_t ks_field_alias_count(void);
const struct ks_fieldalias *ks_field_alias(size_t i);

/* Lookups by name: the id, or -ENOENT.  A field is also found by its CA
 * alias (ks_fieldalias). */
int ks_field_lookup(const char *name);
int ks_metric_lookup(const char *module, const char *stat);
/* "vm.exits" form. */
int ks_metric_lookup_full(const char *name);

bool ks_metric_has_field(enum ks_metric m, enum ks_field f);
/* The metric's field names, "vm, vmuuid, pid, ...", into buf (always
 * NUL-terminated, cut short if size is too small), for error messages
 * that tell the user what would have been accepted. */
void ks_metric_field_list(enum ks_metric m, char *buf, size_t size);
static inline bool ks_field_numeric(enum ks_field f)
{
	return ks_type_info(ks_field_info(f)->type)->numeric;
}

#endif /* KS_ENGINE_CATALOG_H */
