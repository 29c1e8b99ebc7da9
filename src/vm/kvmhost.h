/* kvmhost.h - what a host offers KVM instrumentation, read from the host.
 *
 * `kvmscope check` starts by saying what it runs on, because every later
 * answer depends on it: the kernel, the CPU's virtualisation extension
 * (Intel VMX or AMD SVM), whether KVM is loaded and usable, the KVM module
 * parameters that change what exits and interrupts look like (EPT/NPT,
 * APICv/AVIC and posted interrupts), which kvm tracepoints exist, and which
 * BTF the probes can use (kvm_amd's BTF is what lets the sampler read the
 * VMCB).  Everything is read from files under a root directory ("" for the
 * real host), so tests can point it elsewhere; nothing here needs root.
 */
#ifndef KS_VM_KVMHOST_H
#define KS_VM_KVMHOST_H

#include <stdbool.h>
#include <stddef.h>

enum ks_kvm_vendor {
	KS_VENDOR_NONE,		/* neither vmx nor svm in /proc/cpuinfo */
	KS_VENDOR_VMX,		/* Intel VT-x */
	KS_VENDOR_SVM,		/* AMD-V */
};

/* The kvm tracepoints the probes hook, in this order. */
enum ks_kvm_tp {
	KS_TP_EXIT,
	KS_TP_ENTRY,
	KS_TP_USERSPACE_EXIT,
	KS_TP_INJ_VIRQ,
	KS_TP_APIC_ACCEPT_IRQ,
	KS_TP_PIO,
	KS_TP_MMIO,
	KS_TP__COUNT
};

#define KS_KVMHOST_MAXPARAM 12

struct ks_kvm_param {
	const char *name;	/* "npt", "enable_apicv" */
	const char *what;	/* what it changes, one phrase */
	char value[16];		/* as the module prints it; "" if absent */
};

struct ks_kvmhost {
	char kernel[128];	/* uname -r */
	char cpu_vendor[32];	/* vendor_id: GenuineIntel, AuthenticAMD */
	enum ks_kvm_vendor vendor;
	bool kvm_loaded;	/* /sys/module/kvm */
	char module[16];	/* "kvm_intel", "kvm_amd", "" if neither */
	bool dev_kvm;		/* /dev/kvm exists */
	bool debugfs_kvm;	/* <debugfs>/kvm: KVM's own counters */
	bool tracefs;		/* a tracefs with kvm events */
	bool tp[KS_TP__COUNT];
	bool btf_vmlinux, btf_kvm, btf_module;	/* /sys/kernel/btf/... */
	size_t nparams;
	struct ks_kvm_param param[KS_KVMHOST_MAXPARAM];
};

/* Reads the host under root ("" for /).  Never fails: what cannot be read
 * is reported as absent. */
void ks_kvmhost__probe(struct ks_kvmhost *h, const char *root);

/* The tracepoint's name ("kvm_exit"). */
const char *ks_kvmhost_tp_name(enum ks_kvm_tp tp);
/* "Intel VMX", "AMD SVM" or "none". */
const char *ks_kvmhost_vendor_name(enum ks_kvm_vendor v);
/* KVM's debugfs directory under root, for KVM's own counters. */
const char *ks_kvmhost_debugfs(void);

#endif /* KS_VM_KVMHOST_H */
