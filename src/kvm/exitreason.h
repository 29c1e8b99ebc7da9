/* exitreason.h - VM exit reason codes and names, for VMX and SVM.
 *
 * The kernel's kvm_exit tracepoint prints an exit reason by looking its
 * code up in one of two tables chosen by the `isa` field (1 = Intel VMX,
 * 2 = AMD SVM).  kvmscope names exit reasons the way the kernel prints
 * them, so a trace read as text and a BPF probe reading the raw code give
 * the same vleavereason key:
 *   - SVM names are kept as printed ("io", "npf", "hlt", "DE excp");
 *   - VMX names are lowercased ("EPT_VIOLATION" -> "ept_violation"), as are
 *     their flag words ("FAILED_VMENTRY");
 *   - a code missing from the table is printed as the kernel does, "0x7b".
 * The tables are the union of those in Linux 6.1 and 6.18.
 */
#ifndef KS_KVM_EXITREASON_H
#define KS_KVM_EXITREASON_H

#include <stddef.h>
#include <stdint.h>

/* The kvm_exit tracepoint's `isa` values. */
enum ks_isa {
	KS_ISA_VMX = 1,
	KS_ISA_SVM = 2,
};

/* Longest normalised name, NUL included ("0x" + 8 digits + flags). */
#define KS_EXITREASON_MAXLEN 64

/* The kernel's name for a code exactly as its table has it (VMX in upper
 * case; for VMX only the basic reason, code & 0xffff, is looked up), or
 * NULL when the table has no entry. */
const char *ks_exitreason_name(enum ks_isa isa, uint32_t code);

/* The code of a kernel name (case-insensitive for VMX), or -ENOENT. */
int64_t ks_exitreason_code(enum ks_isa isa, const char *name);

/* Writes the normalised name of a raw exit_reason into buf (always
 * NUL-terminated when len > 0): what the tracepoint would print, VMX
 * lowercased.  Returns the length it needed, as snprintf does. */
size_t ks_exitreason_format(enum ks_isa isa, uint32_t code, char *buf,
			    size_t len);

/* Normalises a name as a trace printed it (s, n bytes) into buf: a name
 * without lower-case letters is a VMX name and is lowercased; anything
 * else is kept.  Returns the length it needed, as snprintf does. */
size_t ks_exitreason_normalize(const char *s, size_t n, char *buf, size_t len);

/* The symtab id of the normalised name of a raw code, as BPF sources
 * need it: no allocation once the name is interned.  0 with errno set if
 * interning fails. */
uint32_t ks_exitreason_sym(enum ks_isa isa, uint32_t code);

/* Iteration over a table, for docs and tests: the i-th (code, name) pair
 * in increasing code order; returns 0, or -ENOENT past the end. */
int ks_exitreason_entry(enum ks_isa isa, size_t i, uint32_t *code,
			const char **name);

#endif /* KS_KVM_EXITREASON_H */
