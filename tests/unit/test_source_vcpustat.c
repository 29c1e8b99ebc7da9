/* test_source_vcpustat.c - kvmstat's columns, and VM names by tgid.
 *
 * Records built by the real converters (bpfrec) are fed through the
 * vcpustat sink and every column of every row is checked for both exit
 * tables (VMX and SVM names), mmiox from userspace exits only; rows are
 * sorted, idle rows of dead processes go, live ones stay; rates round as
 * kvmstat rounds.  vmident is run against a fake /proc tree: names,
 * renames, exited processes, and vcpu_id -> vCPU index through discovery
 * of a QEMU whose APIC ids have holes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bpf/uexits.h"

#include "engine/symtab.h"
#include "kvm/exitreason.h"
#include "source/bpfrec.h"
#include "source/vcpustat.h"
#include "source/vmident.h"
#include "vm/discovery.h"

static int teardown(void **state)
{
	(void)state;
	ks_sym_reset();
	return 0;
}

/* Feeds n exits of (isa, reason) on pid/vcpu through the sink. */
static void exits(const struct ks_source_sink *sink, uint32_t pid,
		  uint32_t vcpu, enum ks_isa isa, uint32_t reason, uint64_t n)
{
	struct ks_exit_key k = { .tgid = pid, .vcpu = vcpu, .reason = reason,
				 .bucket = KS_BUCKET_NONE, .isa = (uint8_t)isa,
				 .kind = KS_EXK_EXIT };
	struct ks_ident id = { ks_bpfrec_dec_sym(pid), ks_sym_intern("vm") };
	struct ks_record r;

	assert_int_equal(ks_bpfrec_exit(&k, n, 1, &id, &r), 0);
	assert_int_equal(sink->record(sink->ctx, &r), 0);
}

static void irqs(const struct ks_source_sink *sink, uint32_t pid,
		 uint32_t vcpu, enum ks_irq_path path, uint64_t n)
{
	struct ks_irq_key k = { .tgid = pid, .vcpu = vcpu, .vector = 0x20,
				.path = (uint8_t)path };
	struct ks_ident id = { ks_bpfrec_dec_sym(pid), 0 };
	struct ks_record r;

	assert_int_equal(ks_bpfrec_irq(&k, n, 1, KS_IRQ_ROW_NS_DEFAULT, &id,
				       &r), 0);
	assert_int_equal(sink->record(sink->ctx, &r), 0);
}

/* n userspace exits of reason on pid/vcpu. */
static void uexits(const struct ks_source_sink *sink, uint32_t pid,
		   uint32_t vcpu, uint32_t reason, uint64_t n)
{
	struct ks_uexit_key k = { .tgid = pid, .vcpu = vcpu, .arg = reason,
				  .kind = KS_UXK_UEXIT };
	struct ks_ident id = { ks_bpfrec_dec_sym(pid), 0 };
	struct ks_record r;

	assert_int_equal(ks_bpfrec_uexit(&k, n, 1, 10000000, &id, &r), 0);
	assert_int_equal(sink->record(sink->ctx, &r), 0);
}

/* n port or MMIO accesses: no column counts them. */
static void accesses(const struct ks_source_sink *sink, uint32_t pid,
		   uint8_t kind, uint64_t n)
{
	struct ks_uexit_key k = { .tgid = pid, .vcpu = 0, .addr = 0x10,
				  .arg = 1, .sub = 1, .kind = kind };
	struct ks_record r;

	assert_int_equal(ks_bpfrec_uexit(&k, n, 1, 10000000, NULL, &r), 0);
	assert_int_equal(sink->record(sink->ctx, &r), 0);
}

static bool dead(uint64_t pid)
{
	(void)pid;
	return false;
}

static bool alive(uint64_t pid)
{
	(void)pid;
	return true;
}

/* A VM whose first read brings only its counters (its exits wait for the
 * next read) still has a named row. */
static void test_counter_names_row(void **state)
{
	struct ks_vcpustat *vs = ks_vcpustat__new();
	const struct ks_source_sink *sink;
	struct ks_source_counter c = { 78, 1, "emul", 4,
				       ks_sym_intern("fresh-vm") };
	const struct ks_vs_row *rows;

	(void)state;
	assert_non_null(vs);
	sink = ks_vcpustat__sink(vs);
	assert_int_equal(sink->counter(sink->ctx, &c), 0);
	assert_int_equal(ks_vcpustat__rows(vs, &rows), 1);
	assert_int_equal(rows[0].pid, 78);
	assert_int_equal(rows[0].vcpu, 1);
	assert_string_equal(ks_sym_str(rows[0].vm_sym), "fresh-vm");
	assert_int_equal(rows[0].n[KS_VS_EMUL], 4);
	ks_vcpustat__free(vs);
}

static void test_columns_svm(void **state)
{
	struct ks_vcpustat *vs = ks_vcpustat__new();
	const struct ks_source_sink *sink;
	struct ks_source_counter c = { 77, 0, "emul", 9 };
	const struct ks_vs_row *rows;

	(void)state;
	assert_non_null(vs);
	sink = ks_vcpustat__sink(vs);
	exits(sink, 77, 0, KS_ISA_SVM, 0x7b, 1015);	/* io */
	exits(sink, 77, 0, KS_ISA_SVM, 0x400, 64);	/* npf */
	exits(sink, 77, 0, KS_ISA_SVM, 0x72, 62);	/* cpuid: other */
	exits(sink, 77, 0, KS_ISA_SVM, 0x78, 1);	/* hlt */
	exits(sink, 77, 0, KS_ISA_SVM, 0x60, 5);	/* interrupt */
	exits(sink, 77, 0, KS_ISA_SVM, 0x64, 3);	/* vintr */
	irqs(sink, 77, 0, KS_IRQ_INJ, 15);
	irqs(sink, 77, 0, KS_IRQ_APIC, 100);		/* not a column */
	/* 62 of the npf exits went to user space as MMIO. */
	uexits(sink, 77, 0, 6, 62);			/* KVM_EXIT_MMIO */
	uexits(sink, 77, 0, 2, 1015);			/* KVM_EXIT_IO */
	uexits(sink, 77, 0, 5, 1);			/* KVM_EXIT_HLT */
	accesses(sink, 77, KS_UXK_PIO, 1015);
	accesses(sink, 77, KS_UXK_MMIO, 62);
	assert_int_equal(sink->counter(sink->ctx, &c), 0);
	assert_int_equal(ks_vcpustat__rows(vs, &rows), 1);
	assert_int_equal(rows[0].pid, 77);
	assert_int_equal(rows[0].vcpu, 0);
	assert_string_equal(ks_sym_str(rows[0].vm_sym), "vm");
	assert_int_equal(rows[0].n[KS_VS_EXITS], 1015 + 64 + 62 + 1 + 5 + 3);
	assert_int_equal(rows[0].n[KS_VS_IOX], 1015);
	assert_int_equal(rows[0].n[KS_VS_MMIOX], 62);
	assert_int_equal(rows[0].n[KS_VS_EPTV], 64);
	assert_int_equal(rows[0].n[KS_VS_HALTX], 1);
	assert_int_equal(rows[0].n[KS_VS_IRQX], 5);
	assert_int_equal(rows[0].n[KS_VS_IRQWX], 3);
	assert_int_equal(rows[0].n[KS_VS_IRQS], 15);
	assert_int_equal(rows[0].n[KS_VS_EMUL], 9);
	ks_vcpustat__free(vs);
}

static bool never_alive(uint64_t pid)
{
	(void)pid;
	return false;
}

/* Reasons asked for (stat -x) get columns of their own, both tables. */
static void test_added_reasons(void **state)
{
	struct ks_vcpustat *vs = ks_vcpustat__new();
	const struct ks_source_sink *sink;
	const struct ks_vs_row *rows;

	(void)state;
	assert_non_null(vs);
	assert_int_equal(ks_vcpustat__add_reason(vs, "cpuid"), 0);
	assert_int_equal(ks_vcpustat__add_reason(vs, "msr"), 0);
	assert_int_equal(ks_vcpustat__add_reason(vs, "msr"), -EEXIST);
	for (int i = 2; i < KS_VS_XMAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "r%d", i);
		assert_int_equal(ks_vcpustat__add_reason(vs, name), 0);
	}
	assert_int_equal(ks_vcpustat__add_reason(vs, "npf"), -ENOSPC);
	assert_int_equal(ks_vcpustat__nreasons(vs), KS_VS_XMAX);
	assert_string_equal(ks_vcpustat__reason(vs, 1), "msr");
	sink = ks_vcpustat__sink(vs);
	exits(sink, 77, 0, KS_ISA_SVM, 0x72, 62);	/* cpuid */
	exits(sink, 77, 0, KS_ISA_SVM, 0x7c, 7);	/* msr */
	exits(sink, 77, 0, KS_ISA_SVM, 0x7b, 5);	/* io: no column */
	exits(sink, 78, 1, KS_ISA_VMX, 10, 3);		/* VMX cpuid */
	assert_int_equal(ks_vcpustat__rows(vs, &rows), 2);
	assert_int_equal(rows[0].x[0], 62);
	assert_int_equal(rows[0].x[1], 7);
	assert_int_equal(rows[0].n[KS_VS_EXITS], 74);
	assert_int_equal(rows[1].x[0], 3);
	assert_int_equal(rows[1].x[1], 0);
	/* A new interval starts the added columns at zero too. */
	ks_vcpustat__reset(vs, never_alive);
	assert_int_equal(ks_vcpustat__rows(vs, &rows), 2);
	assert_int_equal(rows[0].x[0] + rows[0].x[1] + rows[1].x[0], 0);
	ks_vcpustat__free(vs);
}

static void test_columns_vmx_and_order(void **state)
{
	struct ks_vcpustat *vs = ks_vcpustat__new();
	const struct ks_source_sink *sink = ks_vcpustat__sink(vs);
	const struct ks_vs_row *rows;

	(void)state;
	/* IO_INSTRUCTION, EPT_VIOLATION and _MISCONFIG, EXTERNAL_INTERRUPT,
	 * INTERRUPT_WINDOW, HLT; CPUID on vCPU 0. */
	exits(sink, 200, 1, KS_ISA_VMX, 30, 4);
	exits(sink, 200, 1, KS_ISA_VMX, 48, 6);
	exits(sink, 200, 1, KS_ISA_VMX, 49, 2);
	exits(sink, 200, 1, KS_ISA_VMX, 1, 8);
	exits(sink, 200, 1, KS_ISA_VMX, 7, 3);
	exits(sink, 200, 1, KS_ISA_VMX, 12, 2);
	exits(sink, 200, 0, KS_ISA_VMX, 10, 1);
	exits(sink, 100, 5, KS_ISA_VMX, 10, 1);
	exits(sink, 100, KS_VCPU_UNKNOWN, KS_ISA_VMX, 10, 1);
	uexits(sink, 200, 1, 6, 5);
	assert_int_equal(ks_vcpustat__rows(vs, &rows), 4);
	/* By pid, then vCPU, the unknown vCPU first. */
	assert_int_equal(rows[0].pid, 100);
	assert_int_equal(rows[0].vcpu, -1);
	assert_int_equal(rows[1].pid, 100);
	assert_int_equal(rows[1].vcpu, 5);
	assert_int_equal(rows[2].pid, 200);
	assert_int_equal(rows[2].vcpu, 0);
	assert_int_equal(rows[3].vcpu, 1);
	assert_int_equal(rows[3].n[KS_VS_EXITS], 25);
	assert_int_equal(rows[3].n[KS_VS_IOX], 4);
	/* MMIO exits, not EPT violations and misconfigurations. */
	assert_int_equal(rows[3].n[KS_VS_MMIOX], 5);
	assert_int_equal(rows[3].n[KS_VS_EPTV], 6);
	assert_int_equal(rows[3].n[KS_VS_IRQX], 8);
	assert_int_equal(rows[3].n[KS_VS_IRQWX], 3);
	assert_int_equal(rows[3].n[KS_VS_HALTX], 2);
	assert_int_equal(rows[2].n[KS_VS_EXITS], 1);
	assert_int_equal(rows[2].n[KS_VS_IOX], 0);
	ks_vcpustat__free(vs);
}

static void test_reset(void **state)
{
	struct ks_vcpustat *vs = ks_vcpustat__new();
	const struct ks_source_sink *sink = ks_vcpustat__sink(vs);
	const struct ks_vs_row *rows;

	(void)state;
	exits(sink, 300, 0, KS_ISA_SVM, 0x7b, 2);
	exits(sink, 301, 0, KS_ISA_SVM, 0x7b, 2);
	/* Active rows survive the end of their interval, zeroed. */
	ks_vcpustat__reset(vs, dead);
	assert_int_equal(ks_vcpustat__rows(vs, &rows), 2);
	assert_int_equal(rows[0].n[KS_VS_EXITS], 0);
	/* An idle interval keeps rows of live processes... */
	ks_vcpustat__reset(vs, alive);
	assert_int_equal(ks_vcpustat__rows(vs, &rows), 2);
	/* ...and drops those of processes gone, unless they were active. */
	exits(sink, 301, 0, KS_ISA_SVM, 0x7b, 1);
	ks_vcpustat__reset(vs, dead);
	assert_int_equal(ks_vcpustat__rows(vs, &rows), 1);
	assert_int_equal(rows[0].pid, 301);
	ks_vcpustat__reset(vs, dead);
	assert_int_equal(ks_vcpustat__rows(vs, &rows), 0);
	/* The default liveness check: this process is alive. */
	exits(sink, (uint32_t)getpid(), 0, KS_ISA_SVM, 0x7b, 1);
	ks_vcpustat__reset(vs, NULL);
	ks_vcpustat__reset(vs, NULL);
	assert_int_equal(ks_vcpustat__rows(vs, &rows), 1);
	ks_vcpustat__free(vs);
}

static void test_rate(void **state)
{
	(void)state;
	assert_int_equal(ks_vcpustat_rate(0, 1000000000), 0);
	assert_int_equal(ks_vcpustat_rate(100, 1000000000), 100);
	assert_int_equal(ks_vcpustat_rate(1, 3000000000ULL), 0);
	assert_int_equal(ks_vcpustat_rate(2, 3000000000ULL), 1);
	/* 2.5 rounds up. */
	assert_int_equal(ks_vcpustat_rate(5, 2000000000ULL), 3);
	assert_int_equal(ks_vcpustat_rate(1000, 1005000000), 995);
	assert_int_equal(ks_vcpustat_rate(7, 0), 0);
	assert_string_equal(ks_vcpustat_col_name(KS_VS_EPTV), "eptv");
	assert_string_equal(ks_vcpustat_col_name(KS_VS__COUNT), "");
}

static void write_comm(const char *root, unsigned pid, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%u/comm", root, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", name);
	fclose(f);
}

static void remove_comm(const char *root, unsigned pid)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%u/comm", root, pid);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%u", root, pid);
	rmdir(path);
}

static void test_vmident(void **state)
{
	char root[] = "/tmp/ks-vmident-XXXXXX";
	struct ks_vmident *vi;
	struct ks_ident id;

	(void)state;
	assert_non_null(mkdtemp(root));
	write_comm(root, 1234, "qemu-vm1");
	vi = ks_vmident__new(root);
	assert_non_null(vi);
	assert_int_equal(ks_vmident__get(vi, 1234, &id), 0);
	assert_string_equal(ks_sym_str(id.pid_sym), "1234");
	assert_string_equal(ks_sym_str(id.vm_sym), "qemu-vm1-1234");
	/* A rename shows from the next tick on, not within one. */
	write_comm(root, 1234, "renamed");
	assert_int_equal(ks_vmident__get(vi, 1234, &id), 0);
	assert_string_equal(ks_sym_str(id.vm_sym), "qemu-vm1-1234");
	ks_vmident__tick(vi);
	assert_string_equal(ks_vmident__name(vi, 1234), "renamed-1234");
	/* Gone: the last name is kept. */
	remove_comm(root, 1234);
	ks_vmident__tick(vi);
	assert_string_equal(ks_vmident__name(vi, 1234), "renamed-1234");
	/* Never seen and no /proc entry: a pid but no name. */
	assert_int_equal(ks_vmident__get(vi, 99, &id), 0);
	assert_string_equal(ks_sym_str(id.pid_sym), "99");
	assert_int_equal(id.vm_sym, 0);
	assert_null(ks_vmident__name(vi, 99));
	/* The probe's note names it; it never overrides /proc's name. */
	assert_int_equal(ks_vmident__fallback(vi, 99, "short-vm-xyz", 8), 0);
	assert_string_equal(ks_vmident__name(vi, 99), "short-vm-99");
	assert_int_equal(ks_vmident__fallback(vi, 1234, "other", 5), 0);
	assert_string_equal(ks_vmident__name(vi, 1234), "renamed-1234");
	assert_int_equal(ks_vmident__fallback(vi, 0, "kthread", 7), 0);
	/* A kernel thread (tgid 0): no identity at all. */
	assert_int_equal(ks_vmident__get(vi, 0, &id), 0);
	assert_int_equal(id.pid_sym, 0);
	assert_int_equal(id.vm_sym, 0);
	/* Many processes: the table grows and forgets nobody. */
	for (uint32_t p = 1; p <= 500; p++)
		assert_int_equal(ks_vmident__get(vi, p * 7919, &id), 0);
	assert_string_equal(ks_vmident__name(vi, 1234), "renamed-1234");
	for (uint32_t p = 1; p <= 500; p++) {
		char want[16];

		assert_int_equal(ks_vmident__get(vi, p * 7919, &id), 0);
		snprintf(want, sizeof(want), "%u", p * 7919);
		assert_string_equal(ks_sym_str(id.pid_sym), want);
	}
	ks_vmident__free(vi);
	rmdir(root);
}

/* ---- vcpu_id -> index through discovery ---- */

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

static void link_fd(const char *root, int pid, int fd, const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/fd/%d", root, pid, fd);
	assert_int_equal(symlink(target, path), 0);
}

/* A QEMU (pid 100) under KVM with named vCPU threads 102..104 running
 * indexes 0..2; its APIC ids, the vcpu_ids the probe sees, are 0, 2, 4
 * (a topology with holes). */
static void fake_qemu(const char *root)
{
	static const char cmd[] = "qemu-system-x86_64\0-name\0"
				  "guest=web1,debug-threads=on\0-smp\0003\0";
	static const char stat[] = "100 (qemu-system-x86) S 1 100 100 0 -1 "
				   "4194560 0 0 0 0 0 0 0 0 20 0 5 0 5000 "
				   "100000 200 18446744073709551615\n";
	char devkvm[300];

	put(root, "100/stat", stat, strlen(stat));
	put(root, "100/cmdline", cmd, sizeof(cmd) - 1);
	put(root, "100/comm", "qemu-system-x86\n", 16);
	put(root, "100/task/100/comm", "qemu-system-x86\n", 16);
	put(root, "100/task/101/comm", "IO mon_iothread\n", 16);
	put(root, "100/task/102/comm", "CPU 0/KVM\n", 10);
	put(root, "100/task/103/comm", "CPU 1/KVM\n", 10);
	put(root, "100/task/104/comm", "CPU 2/KVM\n", 10);
	put(root, "devkvm", "", 0);
	snprintf(devkvm, sizeof(devkvm), "%s/devkvm", root);
	link_fd(root, 100, 12, devkvm);
	link_fd(root, 100, 13, "anon_inode:kvm-vm");
}

/* The probe's view: thread -> vcpu_id, as the test sets it. */
static int64_t probe_vcpu[8];

static int64_t tid_vcpu(void *ctx, uint32_t tid)
{
	(void)ctx;
	return tid >= 100 && tid < 108 ? probe_vcpu[tid - 100] : -1;
}

static uint32_t index_of(struct ks_vmident *vi, uint32_t tgid, uint32_t id,
			 bool *mapped)
{
	uint32_t index = 12345;

	assert_int_equal(ks_vmident__vcpu(vi, tgid, id, &index, mapped), 0);
	return index;
}

static void test_vcpu_index(void **state)
{
	char root[] = "/tmp/ks-vcpuidx-XXXXXX", cmd[64];
	struct ks_vmdisc_opts o;
	struct ks_vmident *vi;
	struct ks_vmdisc *d;
	struct ks_err err;
	bool mapped;

	(void)state;
	assert_non_null(mkdtemp(root));
	fake_qemu(root);
	ks_vmdisc_opts_init(&o);
	o.procroot = root;
	o.devkvm = "";
	o.debugfs = "";
	o.no_watch = true;
	assert_non_null(d = ks_vmdisc__new(&o, &err));
	assert_non_null(vi = ks_vmident__new(root));
	/* Without discovery: KVM's vcpu_id, and said so. */
	assert_int_equal(index_of(vi, 100, 4, &mapped), 4);
	assert_false(mapped);
	for (int i = 0; i < 8; i++)
		probe_vcpu[i] = -1;
	probe_vcpu[2] = 0;
	probe_vcpu[3] = 2;
	ks_vmident__set_discovery(vi, d, tid_vcpu, NULL);
	ks_vmident__tick(vi);
	assert_int_equal(ks_vmdisc__count(d), 1);
	assert_int_equal(index_of(vi, 100, 0, &mapped), 0);
	assert_true(mapped);
	assert_int_equal(index_of(vi, 100, 2, &mapped), 1);
	assert_true(mapped);
	/* Thread 104 has not entered the guest yet: vcpu_id 4 stays 4. */
	assert_int_equal(index_of(vi, 100, 4, &mapped), 4);
	assert_false(mapped);
	/* Once it has, from the next tick on, it is index 2. */
	probe_vcpu[4] = 4;
	assert_int_equal(index_of(vi, 100, 4, &mapped), 4);
	ks_vmident__tick(vi);
	assert_int_equal(index_of(vi, 100, 4, &mapped), 2);
	assert_true(mapped);
	/* Threads gone from the probe's map: the VM's map is remembered. */
	for (int i = 0; i < 8; i++)
		probe_vcpu[i] = -1;
	ks_vmident__tick(vi);
	assert_int_equal(index_of(vi, 100, 2, &mapped), 1);
	assert_true(mapped);
	/* Another process, an unknown vCPU, a kernel thread: unmapped. */
	assert_int_equal(index_of(vi, 200, 2, &mapped), 2);
	assert_false(mapped);
	assert_int_equal(index_of(vi, 100, KS_VCPU_UNKNOWN, NULL),
			 KS_VCPU_UNKNOWN);
	assert_int_equal(index_of(vi, 0, 2, NULL), 2);
	ks_vmident__free(vi);
	ks_vmdisc__free(d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_columns_svm, teardown),
		cmocka_unit_test_teardown(test_counter_names_row, teardown),
		cmocka_unit_test_teardown(test_columns_vmx_and_order, teardown),
		cmocka_unit_test_teardown(test_added_reasons, teardown),
		cmocka_unit_test_teardown(test_reset, teardown),
		cmocka_unit_test(test_rate),
		cmocka_unit_test_teardown(test_vmident, teardown),
		cmocka_unit_test_teardown(test_vcpu_index, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
