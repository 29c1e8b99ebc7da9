/* statlib.c - the guest check and human times of stat and top (statlib.h). */
#include "cli/statlib.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

void ks_cli_fmt_ns(char *buf, size_t len, double ns)
{
	static const struct { double div; const char *unit; } u[] = {
		{ 1e9, "s" }, { 1e6, "ms" }, { 1e3, "us" }, { 1, "ns" } };
	size_t i = 0;
	double v;

	while (i < 3 && ns < u[i].div)
		i++;
	v = ns / u[i].div;
	if (i == 3 || v >= 100)
		snprintf(buf, len, "%.0f%s", v, u[i].unit);
	else
		snprintf(buf, len, "%.*f%s", v >= 10 ? 1 : 2, v, u[i].unit);
}
