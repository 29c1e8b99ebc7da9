/* svm.bpf.h - kvm_amd's per-vCPU state, as the probes read it.
 *
 * KVM's AMD module keeps a vCPU's guest state in its VMCB, reached from
 * struct vcpu_svm, which embeds the generic struct kvm_vcpu.  These are
 * local flavours with only the fields read: CO-RE finds the real types
 * in the kvm_amd module's BTF (or vmlinux's, where kvm_amd is built in)
 * and relocates every offset, so one object reads 6.1 to 6.18.  On 6.1
 * `save` sits in an anonymous union: CO-RE looks through it.  Where no
 * vcpu_svm is known (Intel, or no BTF) bpf_core_type_exists() is 0 at
 * load and the reads below are dead code the verifier drops.
 *
 * Used by samples.bpf.c (guest mode, cr3 and RIP of a sampled vCPU) and
 * exits.bpf.c (the exit code of kvm:kvm_exit's raw hook).
 */
#ifndef KS_BPF_SVM_BPF_H
#define KS_BPF_SVM_BPF_H
#ifdef __BPF__

#include "vmlinux/x86/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct vmcb_control_area___ks {
	__u32 exit_code;	/* svm_get_exit_info's reason */
} __attribute__((preserve_access_index));

struct vmcb_save_area___ks {
	__u8 cpl;
	__u64 cr3;
	__u64 rip;
} __attribute__((preserve_access_index));

struct vmcb___ks {
	struct vmcb_control_area___ks control;
	struct vmcb_save_area___ks save;
} __attribute__((preserve_access_index));

struct vcpu_svm___ks {
	struct kvm_vcpu vcpu;
	struct vmcb___ks *vmcb;
} __attribute__((preserve_access_index));

/* Whether this kernel's BTF has kvm_amd's vCPU type (a load-time
 * constant). */
static __always_inline bool ks_svm_known(void)
{
	return bpf_core_type_exists(struct vcpu_svm___ks);
}

/* The current VMCB of vcpu, or NULL (not AMD, or unreadable). */
static __always_inline struct vmcb___ks *ks_svm_vmcb(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm___ks *svm;
	struct vmcb___ks *vmcb = NULL;

	if (!ks_svm_known())
		return NULL;
	svm = (void *)vcpu - bpf_core_field_offset(struct vcpu_svm___ks, vcpu);
	if (bpf_core_read(&vmcb, sizeof(vmcb), &svm->vmcb))
		return NULL;
	return vmcb;
}

#endif /* __BPF__ */
#endif /* KS_BPF_SVM_BPF_H */
