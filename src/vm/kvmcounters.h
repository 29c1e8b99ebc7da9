/* kvmcounters.h - KVM's own statistics per VM, from its debugfs.
 *
 * KVM counts what each vCPU does in struct kvm_vcpu_stat, and its debugfs
 * shows every VM's sums as <debugfs>/kvm/<pid>-<vmfd>/<statistic>.  These
 * are the numbers `kvmscope check` holds its probes' counts against: they
 * are kept by KVM itself at the places the exits and injections happen, so
 * an agreement says the probes see what KVM does.  debugfs has no per-vCPU
 * statistics (its vcpuN directories hold arch state only), so the
 * comparison is per VM; a process may hold several VMs, and they are
 * summed under its pid.
 */
#ifndef KS_VM_KVMCOUNTERS_H
#define KS_VM_KVMCOUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The statistics compared, in this order. */
enum ks_kc_stat {
	KS_KC_EXITS,		/* every VM exit */
	KS_KC_HALT_EXITS,	/* HLT exits */
	KS_KC_IO_EXITS,		/* port I/O handed to the VMM */
	KS_KC_MMIO_EXITS,	/* MMIO handed to the VMM */
	KS_KC_IRQ_INJECTIONS,	/* interrupts injected (not posted) */
	KS_KC__COUNT
};

/* The most VM processes one read keeps; more are counted as dropped. */
#define KS_KC_MAXVM 256

struct ks_kc_vm {
	pid_t pid;
	unsigned nvm;		/* VMs (debugfs directories) of this pid */
	uint64_t v[KS_KC__COUNT];
	bool have[KS_KC__COUNT];	/* the statistic's file was there */
};

struct ks_kvmcounters {
	size_t n;
	size_t dropped;		/* VM processes past KS_KC_MAXVM */
	int err;		/* the first failed open or read (errno) */
	char err_what[96];	/* ... and of what: "read 134-11/exits" */
	struct ks_kc_vm vm[KS_KC_MAXVM];
};

/* Reads every VM under dir (KVM's debugfs directory), sorted by pid.
 * 0, or a negative errno if dir cannot be read. */
int ks_kvmcounters__read(struct ks_kvmcounters *kc, const char *dir);

/* The VM process pid, or NULL. */
const struct ks_kc_vm *ks_kvmcounters__find(const struct ks_kvmcounters *kc,
					    pid_t pid);

/* The statistic's debugfs name ("halt_exits"). */
const char *ks_kc_stat_name(enum ks_kc_stat s);

#endif /* KS_VM_KVMCOUNTERS_H */
