/* catalog.c - the one table of types, fields and metrics.
 *
 * CA's names are kept where CA had the metric or field (vm.exits,
 * vleavereason, irqvector, vmmmuctx, subsecond, optype, latency, size,
 * offset, errno, direction); what Linux lets us add (vm name, uuid, vCPU
 * index, guest mode and RIP, exit-handling latency, per-NIC and per-disk
 * identity, userspace exits, port and MMIO accesses) is added beside them.
 * Adding a metric is adding a row here and a source that fills it.
 */
#include "engine/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct ks_typeinfo types[KS_TYPE__COUNT] = {
	[KS_TYPE_STRING] = { "string", false, NULL, NULL, 0, 0, 0 },
	[KS_TYPE_NUMBER] = { "number", true, NULL, NULL, 0, 0, 0 },
	[KS_TYPE_PERCENT] = { "percent", true, "percent", "%", 0, 0, 100 },
	[KS_TYPE_SIZE] = { "size", true, "bytes", "B", 2, 0, 0 },
	[KS_TYPE_TIME] = { "time", true, "seconds", "s", 10, -9, 0 },
	[KS_TYPE_SUBSECOND] = { "subsecond", true, "seconds", "s", 10, -3, 0 },
};

static const struct ks_fieldinfo fields[KS_F__COUNT] = {
	[KS_F_VM] = { "vm", "VM name", KS_TYPE_STRING },
	[KS_F_VMUUID] = { "vmuuid", "VM UUID", KS_TYPE_STRING },
	[KS_F_PID] = { "pid", "VMM process id", KS_TYPE_STRING },
	[KS_F_VCPU] = { "vcpu", "vCPU index", KS_TYPE_STRING,
		"vcpu is QEMU's vCPU index, mapped from KVM's vcpu_id through "
		"VM discovery (QEMU's \"CPU n/KVM\" thread names, else KVM's "
		"debugfs); where neither names the vCPU's thread, live data "
		"shows KVM's vcpu_id, the APIC id, which equals the index "
		"unless the CPU topology leaves holes in the APIC ids." },
	[KS_F_VLEAVEREASON] = { "vleavereason", "exit reason", KS_TYPE_STRING },
	[KS_F_LATENCY] = { "latency", "latency", KS_TYPE_TIME },
	[KS_F_SUBSECOND] = { "subsecond", "subsecond offset", KS_TYPE_SUBSECOND },
	[KS_F_GUESTRIP] = { "guestrip", "guest instruction pointer", KS_TYPE_STRING,
		"guestrip is in vm.thread_samples only when asked for (opt-in: "
		"one key per address, capped per read); on AMD it comes from the "
		"VMCB, on Intel only when KVM had read it at that exit (perf "
		"does for the sample from Linux 6.3); absent otherwise." },
	[KS_F_IRQVECTOR] = { "irqvector", "interrupt vector", KS_TYPE_STRING },
	[KS_F_DELIVERYMODE] = { "deliverymode", "APIC delivery mode", KS_TYPE_STRING },
	[KS_F_GUESTMODE] = { "guestmode", "guest mode", KS_TYPE_STRING,
		"guestmode is host (KVM or the VMM on the vCPU thread; always "
		"under TCG), kernel or user (the guest's ring at the sample, "
		"read from the VMCB on AMD), or guest where the ring cannot be "
		"read: Intel (it is in the VMCS), no kvm_amd BTF, encrypted "
		"guests." },
	[KS_F_VMMMUCTX] = { "vmmmuctx", "guest MMU context (cr3)", KS_TYPE_STRING,
		"vmmmuctx is the guest's cr3 at the sample, in hex: from the "
		"VMCB on AMD with nested paging (needs kvm_amd's BTF), from "
		"KVM's copy under shadow paging; absent on Intel with EPT "
		"unless KVM had read it at that exit, and for encrypted "
		"guests." },
	[KS_F_DISK] = { "disk", "guest disk", KS_TYPE_STRING },
	[KS_F_OPTYPE] = { "optype", "operation type", KS_TYPE_STRING },
	[KS_F_SIZE] = { "size", "size", KS_TYPE_SIZE },
	[KS_F_OFFSET] = { "offset", "offset", KS_TYPE_SIZE },
	[KS_F_ERRNO] = { "errno", "error", KS_TYPE_STRING },
	[KS_F_NIC] = { "nic", "guest NIC", KS_TYPE_STRING },
	[KS_F_DIRECTION] = { "direction", "direction", KS_TYPE_STRING },
	[KS_F_UEXITREASON] = { "uexitreason", "userspace exit reason", KS_TYPE_STRING },
	[KS_F_PORT] = { "port", "I/O port", KS_TYPE_STRING },
	[KS_F_GPA] = { "gpa", "guest physical address", KS_TYPE_STRING },
	[KS_F_HOSTNAME] = { "hostname", "server hostname", KS_TYPE_STRING,
		"hostname is the name of the host the agent runs on, the same "
		"for every record of one agent (CA's field: it tells hosts "
		"apart across a fleet)." },
};

static const struct ks_fieldalias aliases[] = {
	{ "vcpuid", "vCPU identifier", KS_F_VCPU },
	{ "zonename", "zone name", KS_F_VMUUID },
};

size_t ks_field_alias_count(void)
{
	return sizeof(aliases) / sizeof(aliases[0]);
}

const struct ks_fieldalias *ks_field_alias(size_t i)
{
	return i < ks_field_alias_count() ? &aliases[i] : NULL;
}

static const struct ks_moduleinfo modules[] = {
	{ "vm", "Virtual Machine" },	/* CA's labels */
	{ "nic", "Network interface" },
};

#define ID KS_F_HOSTNAME, KS_F_VM, KS_F_VMUUID, KS_F_PID
/* The field count is computed, so the list and its length cannot disagree. */
#define FIELDS(...) \
	sizeof((enum ks_field[]){ __VA_ARGS__ }) / sizeof(enum ks_field), \
	{ __VA_ARGS__ }

static const struct ks_metricinfo metrics[KS_M__COUNT] = {
	[KS_M_VM_EXITS] = { "vm", "exits", "VM exits", "exits", KS_TYPE_NUMBER,
		false, "tracepoints kvm:kvm_exit and kvm:kvm_entry",
		"counts only: kvm_exit alone, 75-85 ns of BPF per exit (1.07-1.26x "
		"a per-CPU counter); with latency asked for: kvm_exit + "
		"kvm_entry, 279-295 ns (bench_probe_cost, 2026-12-07; 333-371 "
		"ns before it counted into the thread's slot; man kvmscope "
		"OVERHEAD)",
		FIELDS(ID, KS_F_VCPU, KS_F_VLEAVEREASON, KS_F_LATENCY, KS_F_SUBSECOND,
		       KS_F_GUESTRIP) },
	[KS_M_VM_IRQS] = { "vm", "irqs", "interrupts injected", "interrupts",
		KS_TYPE_NUMBER, false, "tracepoint kvm:kvm_inj_virq",
		"one hash update per interrupt (about one kvm_exit program run "
		"in latency mode, ~180 ns); nothing per exit",
		FIELDS(ID, KS_F_VCPU, KS_F_IRQVECTOR, KS_F_SUBSECOND) },
	[KS_M_VM_APIC_IRQS] = { "vm", "apic_irqs",
		"interrupts accepted by the guest local APIC", "interrupts",
		KS_TYPE_NUMBER, false, "tracepoint kvm:kvm_apic_accept_irq",
		"as vm.irqs: one hash update per accepted interrupt",
		FIELDS(ID, KS_F_VCPU, KS_F_IRQVECTOR, KS_F_DELIVERYMODE,
		       KS_F_SUBSECOND) },
	[KS_M_VM_THREAD_SAMPLES] = { "vm", "thread_samples",
		"vCPU samples at 99 Hz", "samples", KS_TYPE_NUMBER, false,
		"perf_event cpu-clock at 99 Hz on vCPU threads",
		"99 samples a second per CPU; 4.9 us of BPF per sample measured "
		"(~0.05% of the CPUs)",
		FIELDS(ID, KS_F_VCPU, KS_F_GUESTMODE, KS_F_GUESTRIP, KS_F_VMMMUCTX,
		       KS_F_SUBSECOND) },
	[KS_M_VM_PHYSIO_OPS] = { "vm", "physio_ops", "guest disk operations",
		"operations", KS_TYPE_NUMBER, false,
		"uprobes on QEMU's block layer, or QMP query-blockstats",
		"one uprobe hit per request start and completion",
		FIELDS(ID, KS_F_DISK, KS_F_OPTYPE, KS_F_LATENCY, KS_F_SIZE,
		       KS_F_OFFSET, KS_F_ERRNO) },
	[KS_M_VM_PHYSIO_BYTES] = { "vm", "physio_bytes", "guest disk bytes",
		NULL, KS_TYPE_SIZE, false,
		"uprobes on QEMU's block layer, or QMP query-blockstats",
		"as vm.physio_ops",
		FIELDS(ID, KS_F_DISK, KS_F_OPTYPE) },
	[KS_M_NIC_VNIC_BYTES] = { "nic", "vnic_bytes", "guest NIC bytes", NULL,
		KS_TYPE_SIZE, false, "tap/vnet interface counters, per second",
		"one counter read per NIC per second",
		FIELDS(ID, KS_F_NIC, KS_F_DIRECTION) },
	[KS_M_NIC_VNIC_PACKETS] = { "nic", "vnic_packets", "guest NIC packets",
		"packets", KS_TYPE_NUMBER, false,
		"tap/vnet interface counters, per second",
		"one counter read per NIC per second",
		FIELDS(ID, KS_F_NIC, KS_F_DIRECTION) },
	[KS_M_VM_USERSPACE_EXITS] = { "vm", "userspace_exits",
		"exits to the VMM in user space", "exits", KS_TYPE_NUMBER, false,
		"tracepoint kvm:kvm_userspace_exit",
		"one BPF map update per userspace exit",
		FIELDS(ID, KS_F_VCPU, KS_F_UEXITREASON, KS_F_SUBSECOND) },
	[KS_M_VM_PIO_OPS] = { "vm", "pio_ops", "guest port I/O accesses",
		"accesses", KS_TYPE_NUMBER, false, "tracepoint kvm:kvm_pio",
		"one BPF map update per access",
		FIELDS(ID, KS_F_VCPU, KS_F_PORT, KS_F_DIRECTION, KS_F_SIZE) },
	[KS_M_VM_MMIO_OPS] = { "vm", "mmio_ops", "guest MMIO accesses",
		"accesses", KS_TYPE_NUMBER, false, "tracepoint kvm:kvm_mmio",
		"one BPF map update per access",
		FIELDS(ID, KS_F_VCPU, KS_F_GPA, KS_F_DIRECTION, KS_F_SIZE) },
	[KS_M_VM_VCPUS] = { "vm", "vcpus", "vCPUs", "vCPUs", KS_TYPE_NUMBER,
		true, "VM discovery (debugfs, /proc)",
		"one directory scan per second",
		FIELDS(ID) },
};

const struct ks_typeinfo *ks_type_info(enum ks_type t)
{
	return &types[t];
}

const struct ks_fieldinfo *ks_field_info(enum ks_field f)
{
	return &fields[f];
}

const struct ks_metricinfo *ks_metric_info(enum ks_metric m)
{
	return &metrics[m];
}

size_t ks_module_count(void)
{
	return sizeof(modules) / sizeof(modules[0]);
}

const struct ks_moduleinfo *ks_module_info(size_t i)
{
	return i < ks_module_count() ? &modules[i] : NULL;
}

int ks_field_lookup(const char *name)
{
	for (int f = 0; f < KS_F__COUNT; f++)
		if (!strcmp(fields[f].name, name))
			return f;
	for (size_t i = 0; i < ks_field_alias_count(); i++)
		if (!strcmp(aliases[i].name, name))
			return (int)aliases[i].field;
	return -ENOENT;
}

int ks_metric_lookup(const char *module, const char *stat)
{
	for (int m = 0; m < KS_M__COUNT; m++)
		if (!strcmp(metrics[m].module, module) &&
		    !strcmp(metrics[m].stat, stat))
			return m;
	return -ENOENT;
}

int ks_metric_lookup_full(const char *name)
{
	const char *dot = strchr(name, '.');
	char module[32];
	size_t n;

	if (!dot)
		return -ENOENT;
	n = (size_t)(dot - name);
	if (n >= sizeof(module))
		return -ENOENT;
	memcpy(module, name, n);
	module[n] = '\0';
	return ks_metric_lookup(module, dot + 1);
}

bool ks_metric_has_field(enum ks_metric m, enum ks_field f)
{
	const struct ks_metricinfo *mi = &metrics[m];

	for (size_t i = 0; i < mi->nfields; i++)
		if (mi->fields[i] == f)
			return true;
	return false;
}

void ks_metric_field_list(enum ks_metric m, char *buf, size_t size)
{
	const struct ks_metricinfo *mi = &metrics[m];
	size_t len = 0;

	if (!size)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < mi->nfields && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					i ? ", " : "",
					fields[mi->fields[i]].name);
}
