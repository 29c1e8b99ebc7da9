/* exitreason.c - the VMX and SVM exit reason tables and their names.
 *
 * Both tables are sorted by code and searched by bisection, so a BPF source
 * turning raw codes into names and the trace reader normalising printed
 * names share one definition.  The entries are the kernel's own names (its
 * VMX_EXIT_REASONS and SVM_EXIT_REASONS print tables, as the kvm_exit
 * format files of Linux 6.1 and 6.18 show them), because users compare
 * kvmscope's keys with what perf, trace-cmd and bpftrace print.
 */
#include "kvm/exitreason.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "engine/symtab.h"

struct reason {
	uint32_t code;
	const char *name;
};

/* Basic exit reasons (exit_reason & 0xffff), Intel SDM appendix C. */
static const struct reason vmx[] = {
	{ 0, "EXCEPTION_NMI" },
	{ 1, "EXTERNAL_INTERRUPT" },
	{ 2, "TRIPLE_FAULT" },
	{ 3, "INIT_SIGNAL" },
	{ 4, "SIPI_SIGNAL" },
	{ 7, "INTERRUPT_WINDOW" },
	{ 8, "NMI_WINDOW" },
	{ 9, "TASK_SWITCH" },
	{ 10, "CPUID" },
	{ 12, "HLT" },
	{ 13, "INVD" },
	{ 14, "INVLPG" },
	{ 15, "RDPMC" },
	{ 16, "RDTSC" },
	{ 18, "VMCALL" },
	{ 19, "VMCLEAR" },
	{ 20, "VMLAUNCH" },
	{ 21, "VMPTRLD" },
	{ 22, "VMPTRST" },
	{ 23, "VMREAD" },
	{ 24, "VMRESUME" },
	{ 25, "VMWRITE" },
	{ 26, "VMOFF" },
	{ 27, "VMON" },
	{ 28, "CR_ACCESS" },
	{ 29, "DR_ACCESS" },
	{ 30, "IO_INSTRUCTION" },
	{ 31, "MSR_READ" },
	{ 32, "MSR_WRITE" },
	{ 33, "INVALID_STATE" },
	{ 34, "MSR_LOAD_FAIL" },
	{ 36, "MWAIT_INSTRUCTION" },
	{ 37, "MONITOR_TRAP_FLAG" },
	{ 39, "MONITOR_INSTRUCTION" },
	{ 40, "PAUSE_INSTRUCTION" },
	{ 41, "MCE_DURING_VMENTRY" },
	{ 43, "TPR_BELOW_THRESHOLD" },
	{ 44, "APIC_ACCESS" },
	{ 45, "EOI_INDUCED" },
	{ 46, "GDTR_IDTR" },
	{ 47, "LDTR_TR" },
	{ 48, "EPT_VIOLATION" },
	{ 49, "EPT_MISCONFIG" },
	{ 50, "INVEPT" },
	{ 51, "RDTSCP" },
	{ 52, "PREEMPTION_TIMER" },
	{ 53, "INVVPID" },
	{ 54, "WBINVD" },
	{ 55, "XSETBV" },
	{ 56, "APIC_WRITE" },
	{ 57, "RDRAND" },
	{ 58, "INVPCID" },
	{ 59, "VMFUNC" },
	{ 60, "ENCLS" },
	{ 61, "RDSEED" },
	{ 62, "PML_FULL" },
	{ 63, "XSAVES" },
	{ 64, "XRSTORS" },
	{ 67, "UMWAIT" },
	{ 68, "TPAUSE" },
	{ 74, "BUS_LOCK" },
	{ 75, "NOTIFY" },
	{ 77, "TDCALL" },
	{ 84, "MSR_READ_IMM" },
	{ 85, "MSR_WRITE_IMM" },
};

/* SVM exit codes (AMD APM vol. 2 appendix C); 0xffffffff is VMEXIT_INVALID,
 * which the kernel's table lists as -1. */
static const struct reason svm[] = {
	{ 0x000, "read_cr0" },
	{ 0x002, "read_cr2" },
	{ 0x003, "read_cr3" },
	{ 0x004, "read_cr4" },
	{ 0x008, "read_cr8" },
	{ 0x010, "write_cr0" },
	{ 0x012, "write_cr2" },
	{ 0x013, "write_cr3" },
	{ 0x014, "write_cr4" },
	{ 0x018, "write_cr8" },
	{ 0x020, "read_dr0" },
	{ 0x021, "read_dr1" },
	{ 0x022, "read_dr2" },
	{ 0x023, "read_dr3" },
	{ 0x024, "read_dr4" },
	{ 0x025, "read_dr5" },
	{ 0x026, "read_dr6" },
	{ 0x027, "read_dr7" },
	{ 0x030, "write_dr0" },
	{ 0x031, "write_dr1" },
	{ 0x032, "write_dr2" },
	{ 0x033, "write_dr3" },
	{ 0x034, "write_dr4" },
	{ 0x035, "write_dr5" },
	{ 0x036, "write_dr6" },
	{ 0x037, "write_dr7" },
	{ 0x040, "DE excp" },
	{ 0x041, "DB excp" },
	{ 0x043, "BP excp" },
	{ 0x044, "OF excp" },
	{ 0x045, "BR excp" },
	{ 0x046, "UD excp" },
	{ 0x047, "NM excp" },
	{ 0x048, "DF excp" },
	{ 0x04a, "TS excp" },
	{ 0x04b, "NP excp" },
	{ 0x04c, "SS excp" },
	{ 0x04d, "GP excp" },
	{ 0x04e, "PF excp" },
	{ 0x050, "MF excp" },
	{ 0x051, "AC excp" },
	{ 0x052, "MC excp" },
	{ 0x053, "XF excp" },
	{ 0x060, "interrupt" },
	{ 0x061, "nmi" },
	{ 0x062, "smi" },
	{ 0x063, "init" },
	{ 0x064, "vintr" },
	{ 0x065, "cr0_sel_write" },
	{ 0x066, "read_idtr" },
	{ 0x067, "read_gdtr" },
	{ 0x068, "read_ldtr" },
	{ 0x069, "read_rt" },
	{ 0x06a, "write_idtr" },
	{ 0x06b, "write_gdtr" },
	{ 0x06c, "write_ldtr" },
	{ 0x06d, "write_rt" },
	{ 0x06e, "rdtsc" },
	{ 0x06f, "rdpmc" },
	{ 0x070, "pushf" },
	{ 0x071, "popf" },
	{ 0x072, "cpuid" },
	{ 0x073, "rsm" },
	{ 0x074, "iret" },
	{ 0x075, "swint" },
	{ 0x076, "invd" },
	{ 0x077, "pause" },
	{ 0x078, "hlt" },
	{ 0x079, "invlpg" },
	{ 0x07a, "invlpga" },
	{ 0x07b, "io" },
	{ 0x07c, "msr" },
	{ 0x07d, "task_switch" },
	{ 0x07e, "ferr_freeze" },
	{ 0x07f, "shutdown" },
	{ 0x080, "vmrun" },
	{ 0x081, "hypercall" },
	{ 0x082, "vmload" },
	{ 0x083, "vmsave" },
	{ 0x084, "stgi" },
	{ 0x085, "clgi" },
	{ 0x086, "skinit" },
	{ 0x087, "rdtscp" },
	{ 0x088, "icebp" },
	{ 0x089, "wbinvd" },
	{ 0x08a, "monitor" },
	{ 0x08b, "mwait" },
	{ 0x08d, "xsetbv" },
	{ 0x08f, "write_efer_trap" },
	{ 0x090, "write_cr0_trap" },
	{ 0x094, "write_cr4_trap" },
	{ 0x098, "write_cr8_trap" },
	{ 0x0a2, "invpcid" },
	{ 0x0a5, "buslock" },
	{ 0x0a6, "idle-halt" },
	{ 0x400, "npf" },
	{ 0x401, "avic_incomplete_ipi" },
	{ 0x402, "avic_unaccelerated_access" },
	{ 0x403, "vmgexit" },
	{ 0x80000001, "vmgexit_mmio_read" },
	{ 0x80000002, "vmgexit_mmio_write" },
	{ 0x80000003, "vmgexit_nmi_complete" },
	{ 0x80000004, "vmgexit_ap_hlt_loop" },
	{ 0x80000005, "vmgexit_ap_jump_table" },
	{ 0x80000010, "vmgexit_page_state_change" },
	{ 0x80000011, "vmgexit_guest_request" },
	{ 0x80000012, "vmgexit_ext_guest_request" },
	{ 0x80000013, "vmgexit_ap_creation" },
	{ 0x8000fffd, "vmgexit_hypervisor_feature" },
	{ 0xffffffff, "invalid_guest_state" },
};

#define VMX_FAILED_VMENTRY 0x80000000u
#define VMX_BASIC_MASK 0xffffu

static const struct reason *table(enum ks_isa isa, size_t *n)
{
	switch (isa) {
	case KS_ISA_VMX:
		*n = sizeof(vmx) / sizeof(vmx[0]);
		return vmx;
	case KS_ISA_SVM:
		*n = sizeof(svm) / sizeof(svm[0]);
		return svm;
	}
	*n = 0;
	return NULL;
}

const char *ks_exitreason_name(enum ks_isa isa, uint32_t code)
{
	size_t lo = 0, hi;
	const struct reason *t = table(isa, &hi);

	if (isa == KS_ISA_VMX)
		code &= VMX_BASIC_MASK;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t[mid].code == code)
			return t[mid].name;
		if (t[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int64_t ks_exitreason_code(enum ks_isa isa, const char *name)
{
	size_t n;
	const struct reason *t = table(isa, &n);

	for (size_t i = 0; i < n; i++) {
		int diff = isa == KS_ISA_VMX ? strcasecmp(t[i].name, name) :
					       strcmp(t[i].name, name);

		if (!diff)
			return t[i].code;
	}
	return -ENOENT;
}

int ks_exitreason_entry(enum ks_isa isa, size_t i, uint32_t *code,
			const char **name)
{
	size_t n;
	const struct reason *t = table(isa, &n);

	if (i >= n)
		return -ENOENT;
	*code = t[i].code;
	*name = t[i].name;
	return 0;
}

/* Appends as snprintf would, tracking the length needed in *pos. */
static void put(char *buf, size_t len, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos < len) {
		size_t room = len - *pos - 1;

		memcpy(buf + *pos, s, n < room ? n : room);
		buf[*pos + (n < room ? n : room)] = '\0';
	}
	*pos += n;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* The kernel prints "%s%s%s": the reason, a space if any flag bit is set,
 * then __print_flags() of the high bits: known flag names and any leftover
 * bits in hex, joined by spaces. */
static void put_vmx(char *buf, size_t len, size_t *pos, uint32_t code)
{
	const char *name = ks_exitreason_name(KS_ISA_VMX, code);
	uint32_t flags = code & ~VMX_BASIC_MASK;
	char tmp[KS_EXITREASON_MAXLEN];

	if (name)
		snprintf(tmp, sizeof(tmp), "%s", name);
	else
		snprintf(tmp, sizeof(tmp), "0x%x", code & VMX_BASIC_MASK);
	if (flags & VMX_FAILED_VMENTRY) {
		strcat(tmp, " FAILED_VMENTRY");
		flags &= ~VMX_FAILED_VMENTRY;
		if (flags)
			snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp),
				 " 0x%x", flags);
	} else if (flags) {
		snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), " 0x%x",
			 flags);
	}
	lower(tmp);
	put(buf, len, pos, tmp);
}

size_t ks_exitreason_format(enum ks_isa isa, uint32_t code, char *buf,
			    size_t len)
{
	char tmp[16];
	const char *name;
	size_t pos = 0;

	if (len)
		buf[0] = '\0';
	if (isa == KS_ISA_VMX) {
		put_vmx(buf, len, &pos, code);
		return pos;
	}
	name = isa == KS_ISA_SVM ? ks_exitreason_name(isa, code) : NULL;
	if (!name) {
		snprintf(tmp, sizeof(tmp), "0x%x", code);
		name = tmp;
	}
	put(buf, len, &pos, name);
	return pos;
}

size_t ks_exitreason_normalize(const char *s, size_t n, char *buf, size_t len)
{
	bool has_lower = false;
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			has_lower = true;
	for (i = 0; len && i < n && i < len - 1; i++) {
		char c = s[i];

		if (!has_lower && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		buf[i] = c;
	}
	if (len)
		buf[i] = '\0';
	return n;
}

uint32_t ks_exitreason_sym(enum ks_isa isa, uint32_t code)
{
	char name[KS_EXITREASON_MAXLEN];

	ks_exitreason_format(isa, code, name, sizeof(name));
	return ks_sym_intern(name);
}
