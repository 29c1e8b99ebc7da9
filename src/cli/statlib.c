/* statlib.c - the guest check and human times of stat and top (statlib.h). */
#include "cli/statlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/record.h"

#include "vm/discovery.h"

/* The VM pid or name selects, or NULL. */
static const struct ks_vm *selected(const struct ks_vmdisc *d, uint32_t pid,
				    const char *name)
{
	for (size_t i = 0; i < ks_vmdisc__count(d); i++) {
		const struct ks_vm *vm = ks_vmdisc__at(d, i);

		if ((!pid || vm->pid == (pid_t)pid) &&
		    (!name || !strcmp(vm->name, name)))
			return vm;
	}
	return NULL;
}

static void say_no_such(const char *prog, uint32_t pid, const char *name,
			const struct ks_vm *vm)
{
	char what[300];

	if (pid && name)
		snprintf(what, sizeof(what), "pid %u named '%.200s'", pid, name);
	else if (pid)
		snprintf(what, sizeof(what), "pid %u", pid);
	else
		snprintf(what, sizeof(what), "'%.280s'", name);
	if (!vm)
		fprintf(stderr, "%s: no such VM: %s is not a VM on this host "
			"(kvmscope vms lists them)\n", prog, what);
	else
		fprintf(stderr, "%s: no such VM: %s runs without KVM (%s): "
			"it makes no VM exits\n", prog, what,
			ks_vm_accel_name(vm->accel));
}

enum ks_guests ks_cli_guests(const char *prog, uint32_t pid,
			     const char *name, bool kvm_only)
{
	struct ks_vmdisc_opts o;
	struct ks_vmdisc *d;
	const struct ks_vm *vm;
	enum ks_guests g = KS_GUESTS_NONE;
	struct ks_err err;

	/* Without root, other users' VMs are invisible: no verdict. */
	if (geteuid() != 0)
		return KS_GUESTS_UNKNOWN;
	ks_vmdisc_opts_init(&o);
	o.no_watch = true;
	if (!(d = ks_vmdisc__new(&o, &err)) || ks_vmdisc__scan(d)) {
		ks_vmdisc__free(d);
		return KS_GUESTS_UNKNOWN;
	}
	if (pid || name) {
		vm = selected(d, pid, name);
		if (!vm || (kvm_only && vm->accel != KS_VM_ACCEL_KVM)) {
			say_no_such(prog, pid, name, vm);
			g = KS_GUESTS_NO_SUCH;
		} else {
			g = KS_GUESTS_SOME;
		}
	} else {
		for (size_t i = 0; i < ks_vmdisc__count(d); i++)
			if (!kvm_only ||
			    ks_vmdisc__at(d, i)->accel == KS_VM_ACCEL_KVM)
				g = KS_GUESTS_SOME;
		if (g == KS_GUESTS_NONE)
			fprintf(stderr, "%s: no %s on this host\n", prog,
				kvm_only ? "KVM guests" : "VMs");
	}
	ks_vmdisc__free(d);
	return g;
}

volatile sig_atomic_t ks_cli_stop;

static void on_signal(int sig)
{
	(void)sig;
	ks_cli_stop = 1;
}

void ks_cli_catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void ks_cli_wait_until(uint64_t mono_deadline)
{
	struct timespec t = {
		.tv_sec = (time_t)(mono_deadline / KS_NSEC_PER_SEC),
		.tv_nsec = (long)(mono_deadline % KS_NSEC_PER_SEC),
	};

	while (!ks_cli_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
					       &t, NULL) == EINTR)
		;
}

int ks_cli_parse_uint(const char *prog, const char *s, const char *what,
		      unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out == 0 || *out > max) {
		fprintf(stderr, "%s: %s '%s' must be a whole number from 1 to "
			"%lu\n", prog, what, s, max);
		return -EINVAL;
	}
	return 0;
}
