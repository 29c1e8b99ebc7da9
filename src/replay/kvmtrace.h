/* kvmtrace.h - kvm tracepoint events to engine records.
 *
 * Turns the events of a kvm trace into the records the engine counts:
 *
 *   kvm_exit (+ the next kvm_entry on the thread)  -> vm.exits
 *   kvm_inj_virq                                   -> vm.irqs
 *   kvm_apic_accept_irq                            -> vm.apic_irqs
 *   kvm_userspace_exit                             -> vm.userspace_exits
 *   kvm_pio                                        -> vm.pio_ops
 *   kvm_mmio                                       -> vm.mmio_ops
 *
 * An exit's latency is its handling time: from the kvm_exit to the next
 * kvm_entry of the same thread.  An exit not followed by an entry (the
 * trace ends, or the thread exits again first) is still counted, without
 * latency.  Because of that pairing a vm.exits record is emitted when its
 * entry is seen, so records come out slightly out of timestamp order.
 *
 * Identity: vm is the comm of the thread, or of its thread group leader
 * once a line of the leader has been seen (record-tgid traces); pid is the
 * tgid when the trace has it, else the tid.  The vCPU is the one the event
 * prints, else the one the last kvm_entry/kvm_exit of the thread printed
 * (older kernels, such as 5.10, print no vcpu in kvm_exit).  Field layouts of Linux
 * 5.10 to 6.18 are accepted; an event whose fields do not parse is counted,
 * with its line number, never guessed at.
 */
#ifndef KS_REPLAY_KVMTRACE_H
#define KS_REPLAY_KVMTRACE_H

#include <stdint.h>

#include "engine/record.h"
#include "replay/tracefs.h"

/* Receives each record; a negative return stops the translation and is
 * passed back to the caller. */
typedef int (*ks_kvmtrace_emit_fn)(void *ctx, const struct ks_record *r);

enum ks_kt_event {
	KS_KT_EXIT,
	KS_KT_ENTRY,
	KS_KT_INJ_VIRQ,
	KS_KT_APIC_ACCEPT_IRQ,
	KS_KT_USERSPACE_EXIT,
	KS_KT_PIO,
	KS_KT_MMIO,
	KS_KT__COUNT
};

#define KS_KT_MAXBAD 8

struct ks_kvmtrace_stats {
	uint64_t seen[KS_KT__COUNT];	/* events of each kind */
	uint64_t other;		/* events not translated (other names) */
	uint64_t bad;		/* translated events whose fields did not parse */
	size_t nbad;
	uint64_t bad_line[KS_KT_MAXBAD];
	uint64_t records;	/* emitted */
	uint64_t unpaired;	/* exits without a following entry */
	uint64_t backwards;	/* entries timestamped before their exit */
	uint64_t no_vcpu;	/* records whose vCPU was unknown */
};

struct ks_kvmtrace;

struct ks_kvmtrace *ks_kvmtrace__new(ks_kvmtrace_emit_fn emit, void *ctx);
void ks_kvmtrace__free(struct ks_kvmtrace *kt);
/* The record fields the receiver reads (bits 1u << KS_F_x; all unless
 * told).  The guest addresses (guestrip, gpa) are left out of the records
 * when not wanted: interning one per event was a fifth of a replay's
 * time, for a count by exit reason that never reads them.  Everything
 * else is always filled. */
void ks_kvmtrace__want(struct ks_kvmtrace *kt, uint32_t fields);

/* Translates one event.  0, or the emitter's negative return, or -ENOMEM.
 * Events of other names are counted and ignored. */
int ks_kvmtrace__event(struct ks_kvmtrace *kt, const struct ks_tfs_event *ev);
/* Emits the exits still waiting for an entry (without latency).  Call once
 * at the end of the trace. */
int ks_kvmtrace__finish(struct ks_kvmtrace *kt);
const struct ks_kvmtrace_stats *
ks_kvmtrace__stats(const struct ks_kvmtrace *kt);
const char *ks_kt_event_name(enum ks_kt_event k);

#endif /* KS_REPLAY_KVMTRACE_H */
