/* bpfload.c - quiet libbpf, clear messages when probes fail to load, and
 * process names from the probes' comm maps. */
#include "source/bpfload.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bpf/comm.h"

static bool verbose;

static int print_fn(enum libbpf_print_level level, const char *fmt,
		    va_list ap)
{
	if (!verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
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
	if (e == -EPERM || e == -EACCES)
		return ks_err_set(err, e, source,
				  "cannot %s the BPF probe: %s; live data "
				  "needs root (CAP_BPF and CAP_PERFMON)",
				  step, strerror(-e));
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
