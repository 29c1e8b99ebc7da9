/* uexitreason.c - the kvm_userspace_exit name table (uexitreason.h).
 *
 * The table is the tracepoint's own, KVM_EXIT_UNKNOWN (0) to
 * KVM_EXIT_X86_WRMSR (30), dense from 0, so a code is its index.  Newer
 * KVM_EXIT_* codes (KVM_EXIT_X86_BUS_LOCK, KVM_EXIT_MEMORY_FAULT, ...) are
 * missing from the tracepoint's table in every kernel kvmscope supports,
 * and so are printed as hex, here as there.
 */
#include "kvm/uexitreason.h"

#include <errno.h>
#include <stdio.h>

#include "engine/symtab.h"

static const char *const names[] = {
	"KVM_EXIT_UNKNOWN", "KVM_EXIT_EXCEPTION", "KVM_EXIT_IO",
	"KVM_EXIT_HYPERCALL", "KVM_EXIT_DEBUG", "KVM_EXIT_HLT",
	"KVM_EXIT_MMIO", "KVM_EXIT_IRQ_WINDOW_OPEN", "KVM_EXIT_SHUTDOWN",
	"KVM_EXIT_FAIL_ENTRY", "KVM_EXIT_INTR", "KVM_EXIT_SET_TPR",
	"KVM_EXIT_TPR_ACCESS", "KVM_EXIT_S390_SIEIC", "KVM_EXIT_S390_RESET",
	"KVM_EXIT_DCR", "KVM_EXIT_NMI", "KVM_EXIT_INTERNAL_ERROR",
	"KVM_EXIT_OSI", "KVM_EXIT_PAPR_HCALL", "KVM_EXIT_S390_UCONTROL",
	"KVM_EXIT_WATCHDOG", "KVM_EXIT_S390_TSCH", "KVM_EXIT_EPR",
	"KVM_EXIT_SYSTEM_EVENT", "KVM_EXIT_S390_STSI", "KVM_EXIT_IOAPIC_EOI",
	"KVM_EXIT_HYPERV", "KVM_EXIT_ARM_NISV", "KVM_EXIT_X86_RDMSR",
	"KVM_EXIT_X86_WRMSR",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

const char *ks_uexitreason_name(uint32_t code)
{
	return code < NNAMES ? names[code] : NULL;
}

size_t ks_uexitreason_format(uint32_t reason, int32_t err, char *buf,
			     size_t len)
{
	const char *name;
	int n;

	if (err < 0)
		name = err == -KS_UEXIT_EINTR ? "restart" : "error";
	else
		name = ks_uexitreason_name(reason);
	if (name)
		n = snprintf(buf, len, "%s", name);
	else
		n = snprintf(buf, len, "0x%x", reason);
	return n < 0 ? 0 : (size_t)n;
}

uint32_t ks_uexitreason_sym(uint32_t reason, int32_t err)
{
	char name[KS_UEXITREASON_MAXLEN];

	ks_uexitreason_format(reason, err, name, sizeof(name));
	return ks_sym_intern(name);
}

int ks_uexitreason_entry(size_t i, uint32_t *code, const char **name)
{
	if (i >= NNAMES)
		return -ENOENT;
	*code = (uint32_t)i;
	*name = names[i];
	return 0;
}
