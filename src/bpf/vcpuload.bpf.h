/* vcpuload.bpf.h - the KVM vCPU loaded on the current thread.
 *
 * vcpu_load() registers the vCPU's preempt notifier on
 * current->preempt_notifiers, and KVM is the only user of that list, so
 * while a vCPU thread is inside KVM_RUN the first entry is embedded in its
 * struct kvm_vcpu: container_of() gives the vCPU, and with it vcpu_id,
 * the number kvm_exit and kvm_entry print.  Probes that fire on the vCPU
 * thread but whose tracepoint names no vCPU (kvm_inj_virq, a perf sample)
 * learn it here at the event itself, with no extra program on every VM
 * exit and no kallsyms (kvm_running_vcpu would need them).  The offsets
 * come from kvm's module BTF (CO-RE); without it the vCPU is unknown.
 *
 * Only the BPF target sees the body: `make headers` compiles every header
 * in src/ for user space, where this one is empty.
 */
#ifndef KS_BPF_VCPULOAD_BPF_H
#define KS_BPF_VCPULOAD_BPF_H
#ifdef __BPF__

#include "vmlinux/x86/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* The vCPU loaded on task (the current thread), or NULL: none loaded, or
 * no kvm BTF.  *odd is set when the list held something that does not
 * say it runs on this CPU (not a loaded vCPU after all), so the caller
 * can count it. */
static __always_inline struct kvm_vcpu *ks_loaded_vcpu(struct task_struct *task,
						       bool *odd)
{
	struct hlist_node *first = NULL;
	struct kvm_vcpu *vcpu;
	int cpu = -1;

	*odd = false;
	if (!bpf_core_type_exists(struct kvm_vcpu) ||
	    !bpf_core_field_exists(task->preempt_notifiers))
		return NULL;
	if (bpf_core_read(&first, sizeof(first),
			  &task->preempt_notifiers.first) || !first)
		return NULL;
	vcpu = (void *)first -
	       bpf_core_field_offset(struct kvm_vcpu, preempt_notifier) -
	       bpf_core_field_offset(struct preempt_notifier, link);
	if (bpf_core_read(&cpu, sizeof(cpu), &vcpu->cpu) ||
	    cpu != (int)bpf_get_smp_processor_id()) {
		*odd = true;
		return NULL;
	}
	return vcpu;
}

/* The vcpu_id of the vCPU loaded on task; false if there is none. */
static __always_inline bool ks_loaded_vcpu_id(struct task_struct *task,
					      __u32 *id, bool *odd)
{
	struct kvm_vcpu *vcpu = ks_loaded_vcpu(task, odd);

	return vcpu && !bpf_core_read(id, sizeof(*id), &vcpu->vcpu_id);
}

#endif /* __BPF__ */
#endif /* KS_BPF_VCPULOAD_BPF_H */
