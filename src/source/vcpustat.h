/* vcpustat.h - kvmstat's per-vCPU table, filled from source output.
 *
 * illumos kvmstat(1) shows one line per vCPU with per-second rates of
 * exits, the exits by a few reasons, injected interrupts, emulated
 * instructions and EPT violations.  This module is a sink (source.h) that
 * sorts the records of a tick into those columns, by reason name so that
 * both exit tables map: VMX and SVM reasons (as exitreason.h names them)
 *
 *   haltx  hlt                       irqwx  interrupt_window | vintr
 *   irqx   external_interrupt | interrupt    iox  io_instruction | io
 *   eptv   ept_violation | npf
 *   mmiox  vm.userspace_exits records of KVM_EXIT_MMIO: the MMIO exits
 *          that reach the VMM, KVM's own mmio_exits statistic (the exit
 *          reason cannot tell MMIO from other nested page faults)
 *   irqs   vm.irqs records (event injection)   emul  "emul" counters
 *
 * and keeps rows of processes that still exist when a tick is idle, as
 * kvmstat keeps a line per vCPU of every running VM.
 */
#ifndef KS_SOURCE_VCPUSTAT_H
#define KS_SOURCE_VCPUSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source/source.h"

enum ks_vs_col {
	KS_VS_EXITS,
	KS_VS_HALTX,
	KS_VS_IRQX,
	KS_VS_IRQWX,
	KS_VS_IOX,
	KS_VS_MMIOX,
	KS_VS_IRQS,
	KS_VS_EMUL,
	KS_VS_EPTV,
	KS_VS__COUNT
};

/* Exit reasons shown on request (kvmscope stat -x), beyond kvmstat's. */
#define KS_VS_XMAX 8

struct ks_vs_row {
	uint64_t pid;		/* 0: unknown */
	int64_t vcpu;		/* -1: unknown */
	uint32_t vm_sym;	/* VM name, 0 if unknown */
	uint64_t n[KS_VS__COUNT];	/* counts this interval */
	uint64_t x[KS_VS_XMAX];	/* exits by the reasons added */
};

struct ks_vcpustat;

struct ks_vcpustat *ks_vcpustat__new(void);
void ks_vcpustat__free(struct ks_vcpustat *vs);

/* Adds a column of the exits whose reason is name, as records name it
 * (the tracepoint's name, VMX lowercased: "msr", "cpuid").  0, -ENOSPC
 * beyond KS_VS_XMAX columns, -EEXIST for a reason already shown, or
 * -ENOMEM.  Call before reading. */
int ks_vcpustat__add_reason(struct ks_vcpustat *vs, const char *name);
/* The reasons added, in order. */
size_t ks_vcpustat__nreasons(const struct ks_vcpustat *vs);
const char *ks_vcpustat__reason(const struct ks_vcpustat *vs, size_t i);

/* The sink to read sources into. */
const struct ks_source_sink *ks_vcpustat__sink(struct ks_vcpustat *vs);

/* Rows sorted by pid then vCPU; valid until the next call on vs. */
size_t ks_vcpustat__rows(struct ks_vcpustat *vs,
			 const struct ks_vs_row **rows);

/* Starts a new interval: zeroes the counts and forgets rows that were
 * idle and whose process is gone (or that `alive` says are gone, when
 * given: tests). */
void ks_vcpustat__reset(struct ks_vcpustat *vs,
			bool (*alive)(uint64_t pid));

/* The column heading ("haltx"). */
const char *ks_vcpustat_col_name(enum ks_vs_col c);

/* Per-second rate of count over interval_ns, rounded to nearest as
 * kvmstat rounds; 0 for an empty interval. */
uint64_t ks_vcpustat_rate(uint64_t count, uint64_t interval_ns);

#endif /* KS_SOURCE_VCPUSTAT_H */
