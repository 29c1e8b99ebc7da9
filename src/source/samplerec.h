/* samplerec.h - the vCPU sampler's user-space logic that needs no kernel.
 *
 * The sampler (samples.bpf.c, loaded by bpf_samples.c) counts samples
 * under keys; this module turns one key and its count into one
 * vm.thread_samples record, and parses what the loader reads from /proc
 * and /sys to configure the probe (online CPUs, CPU vendor, whether KVM
 * uses two-dimensional paging).  No libbpf here, so all of it is unit
 * tested without root or KVM.
 */
#ifndef KS_SOURCE_SAMPLEREC_H
#define KS_SOURCE_SAMPLEREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/samples.h"
#include "engine/record.h"

/* "host", "kernel", "user", "guest" (ring unknown); NULL if out of
 * range. */
const char *ks_samplerec_mode_name(unsigned int mode);

/* A vm.thread_samples record of count samples for k, stamped ts, without
 * the identity fields (vm, vmuuid, pid: the caller's).  vcpu, guestmode
 * and subsecond (the row's first ms, rows of row_ns) are always set;
 * vmmmuctx (cr3) and guestrip (lowercase hex, no "0x") only when the key
 * says the probe read them; k->sec is the caller's (source/sechold.h).
 * 0, -EINVAL for a key the probe never writes (bad mode, flags, row or
 * second bits, state in host mode, tgid 0), or -ENOMEM. */
int ks_samplerec(const struct ks_sample_key *k, uint64_t count, uint64_t ts,
		 uint64_t row_ns, struct ks_record *r);

/* Parses a kernel CPU list ("0-3,8,10-11\n", as in
 * /sys/devices/system/cpu/online) into on[0..n): true for each listed
 * CPU.  0, -EINVAL for bad syntax, or -ERANGE for a CPU >= n. */
int ks_samplerec_cpus(const char *list, bool *on, size_t n);

/* The KVM flavour from /proc/cpuinfo text: KS_SISA_SVM for AMD and Hygon,
 * KS_SISA_VMX for Intel (and Centaur), else KS_SISA_UNKNOWN. */
enum ks_sample_isa ks_samplerec_isa(const char *cpuinfo);

/* A boolean module parameter's text ("Y\n", "N", "1", "0") as
 * KS_STDP_ON/OFF; NULL or anything else is KS_STDP_UNKNOWN. */
enum ks_sample_tdp ks_samplerec_tdp(const char *param);

#endif /* KS_SOURCE_SAMPLEREC_H */
