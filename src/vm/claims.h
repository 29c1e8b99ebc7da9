/* claims.h - which source covers a VM's disks.
 *
 * Two sources can supply guest disk operations: uprobes on QEMU's block
 * layer (exact per-request offset, size, latency) and QMP counters (any
 * QEMU, no offsets).  The choice is per VM, made at run time by what its
 * QEMU binary exports: the uprobe source claims each VM it instruments,
 * and the QMP source skips claimed VMs, so no operation is counted twice
 * and every VM is covered by the best source that works for it.  Claims
 * are by discovery serial, process-wide, and released when the claiming
 * source closes or the VM ends.
 */
#ifndef KS_VM_CLAIMS_H
#define KS_VM_CLAIMS_H

#include <stdbool.h>
#include <stdint.h>

/* 0, or -ENOMEM. */
int ks_claim_disk(uint64_t serial);
void ks_unclaim_disk(uint64_t serial);
bool ks_disk_claimed(uint64_t serial);

#endif /* KS_VM_CLAIMS_H */
