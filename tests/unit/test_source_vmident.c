/* test_source_vmident.c - BPF records name VMs as discovery does.
 *
 * DESIGN decision 4: every live record of a VM carries the same vm, vmuuid
 * and pid, whichever source made it.  The NIC and disk sources write
 * discovery's view (vm/vmrec.h); the BPF sources go through vmident.  This
 * runs vmident against discovery of a fake /proc tree - a named QEMU with
 * a UUID, an unnamed one, a shell - and checks that a BPF record of each
 * carries exactly the fields vmrec writes for that VM, and none for the
 * shell but its comm; that the name and UUID outlive the VM's exit; and
 * that a reused pid loses the old UUID instead of inheriting it.  Also
 * that processes not seen for a while are forgotten while busy ones keep
 * their names, across the table's growth and pruning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/symtab.h"
#include "kvm/exitreason.h"
#include "source/bpfrec.h"
#include "source/vmident.h"
#include "vm/discovery.h"
#include "vm/vmrec.h"

#define UUID "0E1D2C3B-4A59-4687-9A0B-C1D2E3F4A5B1"

static void put(const char *root, const char *rel, const char *data,
		size_t len)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* A process: stat (with its start time), comm and a NUL-separated
 * command line given with spaces. */
static void proc(const char *root, int pid, const char *comm,
		 unsigned long start, const char *cmd)
{
	char rel[64], buf[512];
	size_t n = strlen(cmd) + 1;

	snprintf(buf, sizeof(buf), "%d (%s) S 1 %d %d 0 -1 4194560 0 0 0 0 0 "
		 "0 0 0 20 0 1 0 %lu 100000 200 18446744073709551615\n",
		 pid, comm, pid, pid, start);
	snprintf(rel, sizeof(rel), "%d/stat", pid);
	put(root, rel, buf, strlen(buf));
	snprintf(buf, sizeof(buf), "%s\n", comm);
	snprintf(rel, sizeof(rel), "%d/comm", pid);
	put(root, rel, buf, strlen(buf));
	snprintf(rel, sizeof(rel), "%d/task/%d/comm", pid, pid);
	put(root, rel, buf, strlen(buf));
	memcpy(buf, cmd, n);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == ' ')
			buf[i] = '\0';
	snprintf(rel, sizeof(rel), "%d/cmdline", pid);
	put(root, rel, buf, n);
}

static void rm_rf(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* Discovery holds the root open: only what is under it may go. */
static void rm_pid(const char *root, int pid)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	rm_rf(path);
}

static int64_t no_vcpu(void *ctx, uint32_t tid)
{
	(void)ctx;
	(void)tid;
	return -1;
}

/* A vm.exits record of pid as a BPF source writes it. */
static void bpf_record(struct ks_vmident *vi, uint32_t pid,
		       struct ks_record *r)
{
	struct ks_exit_key k = { .tgid = pid, .vcpu = 0, .reason = 12,
				 .bucket = KS_BUCKET_NONE,
				 .isa = KS_ISA_VMX, .kind = KS_EXK_EXIT };
	struct ks_ident id;

	assert_int_equal(ks_vmident__get(vi, pid, &id), 0);
	assert_int_equal(ks_bpfrec_exit(&k, 1, 1, &id, r), 0);
}

/* The BPF record of pid names it exactly as vmrec names discovery's VM. */
static void same_as_vmrec(struct ks_vmident *vi, struct ks_vmdisc *d,
			  uint32_t pid)
{
	const struct ks_vm *vm = ks_vmdisc__find(d, (pid_t)pid);
	struct ks_record r, want;
	static const enum ks_field f[] = { KS_F_VM, KS_F_VMUUID, KS_F_PID };

	assert_non_null(vm);
	bpf_record(vi, pid, &r);
	ks_record_init(&want, KS_M_VM_EXITS, 1, 1);
	assert_int_equal(ks_vmrec_ident(&want, vm), 0);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		assert_int_equal(ks_record_has(&r, f[i]),
				 ks_record_has(&want, f[i]));
		if (ks_record_has(&r, f[i]))
			assert_int_equal(r.f[f[i]], want.f[f[i]]);
	}
}

static const char *field(const struct ks_record *r, enum ks_field f)
{
	return ks_record_has(r, f) ? ks_sym_str((uint32_t)r->f[f]) : NULL;
}

static void test_names_from_discovery(void **state)
{
	char root[] = "/tmp/ks-vmidname-XXXXXX";
	struct ks_vmdisc_opts o;
	struct ks_vmident *vi;
	struct ks_vmdisc *d;
	struct ks_record r;
	struct ks_err err;

	(void)state;
	assert_non_null(mkdtemp(root));
	proc(root, 100, "qemu-system-x86", 5000, "qemu-system-x86_64 -accel "
	     "tcg -name guest=web1,debug-threads=on -uuid " UUID " -smp 2");
	proc(root, 200, "bash", 6000, "-bash");
	proc(root, 300, "qemu-system-x86", 7000, "qemu-system-x86_64 -accel tcg");
	ks_vmdisc_opts_init(&o);
	o.procroot = root;
	o.devkvm = "";
	o.debugfs = "";
	o.no_watch = true;
	assert_non_null(d = ks_vmdisc__new(&o, &err));
	assert_non_null(vi = ks_vmident__new(root));

	/* Without discovery: "comm-pid", as discovery names an unnamed VM
	 * (so a VM seen before discovery knows it keeps one name), and no
	 * UUID. */
	bpf_record(vi, 100, &r);
	assert_string_equal(field(&r, KS_F_VM), "qemu-system-x86-100");
	assert_null(field(&r, KS_F_VMUUID));

	/* With it: discovery's name and UUID, from the next tick on. */
	ks_vmident__set_discovery(vi, d, no_vcpu, NULL);
	ks_vmident__tick(vi);
	assert_int_equal(ks_vmdisc__count(d), 2);
	bpf_record(vi, 100, &r);
	assert_string_equal(field(&r, KS_F_VM), "web1");
	assert_string_equal(field(&r, KS_F_VMUUID),
			    "0e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b1");
	assert_string_equal(field(&r, KS_F_PID), "100");
	same_as_vmrec(vi, d, 100);
	/* Unnamed: discovery's "comm-pid", no UUID field at all. */
	bpf_record(vi, 300, &r);
	assert_string_equal(field(&r, KS_F_VM), "qemu-system-x86-300");
	assert_null(field(&r, KS_F_VMUUID));
	same_as_vmrec(vi, d, 300);
	/* Not a VM: comm-pid, no UUID. */
	bpf_record(vi, 200, &r);
	assert_string_equal(field(&r, KS_F_VM), "bash-200");
	assert_null(field(&r, KS_F_VMUUID));

	/* The VM ends: counts read afterwards keep its name and UUID. */
	rm_pid(root, 100);
	assert_int_equal(ks_vmdisc__scan(d), 0);
	assert_null(ks_vmdisc__find(d, 100));
	ks_vmident__tick(vi);
	bpf_record(vi, 100, &r);
	assert_string_equal(field(&r, KS_F_VM), "web1");
	assert_string_equal(field(&r, KS_F_VMUUID),
			    "0e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b1");

	/* Its pid is reused by a process that is no VM: no UUID inherited. */
	proc(root, 100, "make", 9000, "make -j2");
	assert_int_equal(ks_vmdisc__scan(d), 0);
	ks_vmident__tick(vi);
	bpf_record(vi, 100, &r);
	assert_string_equal(field(&r, KS_F_VM), "make-100");
	assert_null(field(&r, KS_F_VMUUID));

	/* ... and then by another VM: that one's identity. */
	rm_pid(root, 100);
	proc(root, 100, "qemu-system-x86", 9500, "qemu-system-x86_64 -accel "
	     "tcg -name db2");
	assert_int_equal(ks_vmdisc__scan(d), 0);
	ks_vmident__tick(vi);
	bpf_record(vi, 100, &r);
	assert_string_equal(field(&r, KS_F_VM), "db2");
	assert_null(field(&r, KS_F_VMUUID));
	same_as_vmrec(vi, d, 100);

	ks_vmident__free(vi);
	ks_vmdisc__free(d);
	rm_rf(root);
	ks_sym_reset();
}

/* Names known only from a fallback (no /proc entry) last while their
 * process is seen, and go once it has been idle for long. */
static void test_idle_forgotten(void **state)
{
	char root[] = "/tmp/ks-vmididle-XXXXXX";
	char want[300][64];
	struct ks_vmident *vi;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_non_null(vi = ks_vmident__new(root));
	for (uint32_t t = 1; t <= 300; t++) {
		char comm[32];

		snprintf(comm, sizeof(comm), "qemu-%u", t);
		assert_int_equal(ks_vmident__fallback(vi, t, comm,
						      strlen(comm)), 0);
		assert_non_null(ks_vmident__name(vi, t));
		snprintf(want[t - 1], sizeof(want[0]), "%s",
			 ks_vmident__name(vi, t));
	}
	for (int i = 0; i < 200; i++) {
		ks_vmident__tick(vi);
		for (uint32_t t = 2; t <= 300; t += 2)
			assert_string_equal(ks_vmident__name(vi, t),
					    want[t - 1]);
	}
	for (uint32_t t = 1; t <= 300; t++) {
		if (t % 2)
			assert_null(ks_vmident__name(vi, t));
		else
			assert_string_equal(ks_vmident__name(vi, t),
					    want[t - 1]);
	}
	ks_vmident__free(vi);
	rm_rf(root);
	ks_sym_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_from_discovery),
		cmocka_unit_test(test_idle_forgotten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
