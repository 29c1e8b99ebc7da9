/* bpfload.h - what BPF sources share about loading probes.
 *
 * libbpf reports problems as log lines and negative errnos; a user of
 * kvmscope needs one sentence saying what to do (run as root, mount
 * tracefs, load kvm).  This module keeps libbpf quiet unless asked
 * (-v) and turns load and attach failures into such sentences.  It also
 * names processes from the probes' comm maps when /proc cannot, and gives
 * the probes the wall clock's offset.
 */
#ifndef KS_SOURCE_BPFLOAD_H
#define KS_SOURCE_BPFLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "source/bpfrec.h"
#include "source/vmident.h"
#include "util/err.h"

/* libbpf's own messages go to stderr only when verbose. */
void ks_bpfload_set_verbose(bool verbose);

/* Why a step failed. */
enum ks_bpfload_why {
	KS_BPFLOAD_NOPERM,	/* the process may not: a skip, "needs root" */
	KS_BPFLOAD_REJECTED,	/* the verifier said no to a privileged load */
	KS_BPFLOAD_FAILED,	/* anything else */
};

/* True if the calling thread may load BPF (CAP_BPF or CAP_SYS_ADMIN
 * effective). */
bool ks_bpfload_privileged(void);
/* Tells a missing privilege from a verifier rejection: EPERM always, and
 * EACCES without the privilege, are NOPERM; EACCES at "load" with it is
 * REJECTED. */
enum ks_bpfload_why ks_bpfload_classify(const char *step, int e,
					bool privileged);
/* Fills err for a failed step ("open", "load", "attach") of a source's
 * probe; e is the negative errno.  Says "needs root" only when the
 * process lacks the privilege; a verifier rejection prints libbpf's kept
 * log (the verifier's) on stderr and says it is a kvmscope bug.
 * Returns e. */
int ks_bpfload_err(struct ks_err *err, const char *source, const char *step,
		   int e);

/* Whether kernel BTF describes kvm_amd's struct vcpu_svm (kvm_amd built
 * in, or its module BTF): the probes' VMCB reads need it. */
bool ks_bpfload_svm_btf(void);


/* The identity of tgid: from /proc through vi, else from the name the
 * probe noted in its comm map (comm.h) at comm_fd.  0 or -ENOMEM. */
int ks_bpfload_ident(struct ks_vmident *vi, int comm_fd, uint32_t tgid,
		     struct ks_ident *id);

#endif /* KS_SOURCE_BPFLOAD_H */
