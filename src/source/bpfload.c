/* bpfload.c - quiet libbpf, clear messages when probes fail to load,
 * process names from the probes' comm maps, the wall clock's offset. */
#include "source/bpfload.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

static uint64_t ns_of(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* The monotonic reading is taken on both sides of the realtime one to
 * halve the error. */
uint64_t ks_bpfload_realtime_offset(void)
{
	uint64_t m0 = ns_of(CLOCK_MONOTONIC);
	uint64_t r = ns_of(CLOCK_REALTIME);
	uint64_t m1 = ns_of(CLOCK_MONOTONIC);

	return r - (m0 + (m1 - m0) / 2);
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
