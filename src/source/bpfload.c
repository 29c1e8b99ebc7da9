/* bpfload.c - quiet libbpf, clear messages when probes fail to load,
 * process names from the probes' comm maps, the wall clock's offset.
 *
 * The kernel answers EACCES both to a process without the privilege and
 * to a program its verifier rejects, so the errno alone cannot say which:
 * the process's effective capabilities do.  With CAP_BPF (or
 * CAP_SYS_ADMIN) an EACCES at load is the verifier's, a kvmscope bug to
 * fail on, never a "needs root" to skip.  libbpf's warnings are kept (the
 * last few kilobytes) even when not shown, so such a failure prints the
 * verifier's log. */
#include "source/bpfload.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bpf/comm.h"
#include "util/caps.h"

#define LOG_KEEP 6144	/* bytes of libbpf's warnings kept */

static bool verbose;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[LOG_KEEP];
static size_t log_len;

/* Appends to the kept log, dropping its older half when full. */
static void keep_log(const char *fmt, va_list ap)
{
	char line[1024];
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	pthread_mutex_lock(&log_lock);
	if (log_len + (size_t)n >= LOG_KEEP) {
		size_t drop = log_len / 2 > (size_t)n ? log_len / 2 : log_len;

		memmove(log_buf, log_buf + drop, log_len - drop);
		log_len -= drop;
	}
	memcpy(log_buf + log_len, line, (size_t)n);
	log_len += (size_t)n;
	log_buf[log_len] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static int print_fn(enum libbpf_print_level level, const char *fmt,
		    va_list ap)
{
	va_list copy;

	if (level == LIBBPF_DEBUG)
		return 0;
	va_copy(copy, ap);
	keep_log(fmt, copy);
	va_end(copy);
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

bool ks_bpfload_privileged(void)
{
	struct ks_caps c;

	return !ks_caps_get(&c) &&
	       (c.effective & (KS_CAP(CAP_BPF) | KS_CAP(CAP_SYS_ADMIN)));
}

enum ks_bpfload_why ks_bpfload_classify(const char *step, int e,
					bool privileged)
{
	if (e > 0)
		e = -e;
	if (e == -EPERM || (e == -EACCES && !privileged))
		return KS_BPFLOAD_NOPERM;
	if (e == -EACCES && !strcmp(step, "load"))
		return KS_BPFLOAD_REJECTED;
	return KS_BPFLOAD_FAILED;
}

/* Prints the kept libbpf log (the verifier's, after a rejection). */
static void print_log(const char *source)
{
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s: the loader's log, last %zu bytes:\n%s%s", source,
		log_len, log_buf,
		log_len && log_buf[log_len - 1] != '\n' ? "\n" : "");
	pthread_mutex_unlock(&log_lock);
}

void ks_bpfload_set_verbose(bool v)
{
	verbose = v;
	libbpf_set_print(print_fn);
}

int ks_bpfload_err(struct ks_err *err, const char *source, const char *step,
		   int e)
{
	if (e > 0)
		e = -e;
	switch (ks_bpfload_classify(step, e, ks_bpfload_privileged())) {
	case KS_BPFLOAD_NOPERM:
		return ks_err_set(err, e, source,
				  "cannot %s the BPF probe: %s; live data "
				  "needs root (CAP_BPF and CAP_PERFMON)",
				  step, strerror(-e));
	case KS_BPFLOAD_REJECTED:
		print_log(source);
		return ks_err_set(err, e, source,
				  "the kernel's verifier rejected the BPF probe "
				  "although this process may load BPF: a "
				  "kvmscope bug, not a permission problem (the "
				  "verifier's log is above)");
	case KS_BPFLOAD_FAILED:
		break;
	}
	if (e == -ENOENT && !strcmp(step, "attach"))
		return ks_err_set(err, e, source,
				  "cannot attach the BPF probe: a kvm "
				  "tracepoint is missing; is KVM loaded "
				  "(modprobe kvm) and tracefs mounted on "
				  "/sys/kernel/tracing?");
	return ks_err_set(err, e, source,
			  "cannot %s the BPF probe: %s (run with -v for "
			  "the loader's messages)",
			  step, strerror(-e));
}

int ks_bpfload_ident(struct ks_vmident *vi, int comm_fd, uint32_t tgid,
		     struct ks_ident *id)
{
	struct ks_comm c;
	int e;

	if ((e = ks_vmident__get(vi, tgid, id)) || id->vm_sym || !tgid)
		return e;
	if (bpf_map_lookup_elem(comm_fd, &tgid, &c))
		return 0;
	if ((e = ks_vmident__fallback(vi, tgid, c.name,
				      strnlen(c.name, sizeof(c.name)))))
		return e;
	return ks_vmident__get(vi, tgid, id);
}

bool ks_bpfload_svm_btf(void)
{
	struct btf *vml = btf__load_vmlinux_btf(), *mod;
	bool found = false;

	if (!vml)
		return false;
	if (btf__find_by_name_kind(vml, "vcpu_svm", BTF_KIND_STRUCT) > 0) {
		found = true;
	} else if ((mod = btf__load_module_btf("kvm_amd", vml))) {
		found = btf__find_by_name_kind(mod, "vcpu_svm",
					       BTF_KIND_STRUCT) > 0;
		btf__free(mod);
	}
	btf__free(vml);
	return found;
}
