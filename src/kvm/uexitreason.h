/* uexitreason.h - names of userspace exits, as kvm_userspace_exit prints.
 *
 * When KVM_RUN returns to the VMM, the kernel's kvm:kvm_userspace_exit
 * tracepoint prints the run's exit_reason through its kvm_trace_exit_reason
 * table ("KVM_EXIT_IO", "KVM_EXIT_MMIO", ...), a code missing from that
 * table as "0x%x", and a KVM_RUN that failed instead of exiting as
 * "restart" (errno EINTR: a signal interrupted the guest) or "error".
 * This is the one copy of that table in kvmscope: the BPF source names the
 * raw codes it counts with it, and its tests check it against the format
 * files of Linux 6.1 and 6.18, so live keys match what a replayed trace
 * (replay/kvmtrace.c, which keeps the printed word) and perf or bpftrace
 * show.
 */
#ifndef KS_KVM_UEXITREASON_H
#define KS_KVM_UEXITREASON_H

#include <stddef.h>
#include <stdint.h>

/* The KVM_EXIT_* codes kvmscope itself looks for. */
#define KS_KVM_EXIT_IO 2
#define KS_KVM_EXIT_HLT 5
#define KS_KVM_EXIT_MMIO 6

/* The errno EINTR that the tracepoint prints as "restart" (x86, generic). */
#define KS_UEXIT_EINTR 4

/* Longest name, NUL included: "KVM_EXIT_IRQ_WINDOW_OPEN", or "0x" and 8
 * hex digits. */
#define KS_UEXITREASON_MAXLEN 32

/* The tracepoint's name of code ("KVM_EXIT_IO"), or NULL when its table
 * has none. */
const char *ks_uexitreason_name(uint32_t code);

/* Writes what the tracepoint prints for (reason, err) into buf, always
 * NUL-terminated when len > 0: "restart" or "error" when err < 0, else
 * the table's name or "0x<hex>".  Returns the length it needed, as
 * snprintf does. */
size_t ks_uexitreason_format(uint32_t reason, int32_t err, char *buf,
			     size_t len);

/* The symtab id of that name; 0 with errno set if interning fails. */
uint32_t ks_uexitreason_sym(uint32_t reason, int32_t err);

/* The i-th (code, name) pair in code order, for docs and tests: 0, or
 * -ENOENT past the end. */
int ks_uexitreason_entry(size_t i, uint32_t *code, const char **name);

#endif /* KS_KVM_UEXITREASON_H */
