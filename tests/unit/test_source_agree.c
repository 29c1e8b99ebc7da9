/* test_source_agree.c - kvmscope check's comparison with KVM's statistics.
 *
 * The judge: KVM's range over a window is (B_before - A_after) to
 * (B_after - A_before); a count inside it agrees (exactly when the range
 * is one number), outside it differs, and readings that go backwards (a
 * VM replaced under the same pid) are not compared.  The sink: records
 * of the three metrics land in the five statistics, per VM, and exits
 * per vCPU.  KVM's debugfs reader: per-VM directories summed by pid,
 * other names skipped, missing files marked absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/symtab.h"
#include "kvm/uexitreason.h"
#include "source/agree.h"
#include "vm/kvmcounters.h"

static void test_judge(void **state)
{
	struct ks_agree_kvm quiet = { 100, 100, 250, 250 };
	struct ks_agree_kvm busy = { 100, 110, 250, 265 };
	struct ks_agree_kvm back = { 100, 90, 250, 265 };
	uint64_t lo, hi;

	(void)state;
	assert_int_equal(ks_agree_judge(150, &quiet, &lo, &hi), KS_AGREE_EXACT);
	assert_int_equal(lo, 150);
	assert_int_equal(hi, 150);
	assert_int_equal(ks_agree_judge(149, &quiet, &lo, &hi), KS_AGREE_DIFFER);
	assert_int_equal(ks_agree_judge(151, &quiet, &lo, &hi), KS_AGREE_DIFFER);
	/* 250 - 110 = 140 .. 265 - 100 = 165 */
	assert_int_equal(ks_agree_judge(140, &busy, &lo, &hi), KS_AGREE_EDGES);
	assert_int_equal(lo, 140);
	assert_int_equal(hi, 165);
	assert_int_equal(ks_agree_judge(165, &busy, &lo, &hi), KS_AGREE_EDGES);
	assert_int_equal(ks_agree_judge(139, &busy, &lo, &hi), KS_AGREE_DIFFER);
	assert_int_equal(ks_agree_judge(166, &busy, &lo, &hi), KS_AGREE_DIFFER);
	assert_int_equal(ks_agree_judge(150, &back, &lo, &hi), KS_AGREE_NONE);
}

static void feed(struct ks_agree *a, enum ks_metric m, const char *pid,
		 const char *vcpu, enum ks_field f, const char *v,
		 uint64_t value)
{
	const struct ks_source_sink *s = ks_agree__sink(a);
	struct ks_record r;

	ks_record_init(&r, m, 0, value);
	ks_record_set(&r, KS_F_PID, ks_sym_intern(pid));
	if (vcpu)
		ks_record_set(&r, KS_F_VCPU, ks_sym_intern(vcpu));
	if (v)
		ks_record_set(&r, f, ks_sym_intern(v));
	assert_int_equal(s->record(s->ctx, &r), 0);
}

static void test_sink(void **state)
{
	struct ks_agree *a = ks_agree__new();
	const struct ks_agree_vm *vm;
	const struct ks_agree_vcpu *vc;
	const char *io = ks_uexitreason_name(KS_KVM_EXIT_IO);
	const char *mmio = ks_uexitreason_name(KS_KVM_EXIT_MMIO);

	(void)state;
	assert_non_null(a);
	feed(a, KS_M_VM_EXITS, "20", "1", KS_F_VLEAVEREASON, "io", 7);
	feed(a, KS_M_VM_EXITS, "20", "0", KS_F_VLEAVEREASON, "hlt", 2);
	feed(a, KS_M_VM_EXITS, "10", "0", KS_F_VLEAVEREASON, "npf", 5);
	feed(a, KS_M_VM_USERSPACE_EXITS, "20", "1", KS_F_UEXITREASON, io, 6);
	feed(a, KS_M_VM_USERSPACE_EXITS, "20", "1", KS_F_UEXITREASON, mmio, 3);
	feed(a, KS_M_VM_USERSPACE_EXITS, "20", "1", KS_F_UEXITREASON,
	     "KVM_EXIT_HLT", 9);
	feed(a, KS_M_VM_IRQS, "20", "0", KS_F_IRQVECTOR, "20", 4);
	feed(a, KS_M_VM_APIC_IRQS, "20", "0", KS_F_IRQVECTOR, "20", 40);
	assert_int_equal(ks_agree__vms(a, &vm), 2);
	assert_int_equal(vm[0].pid, 10);
	assert_int_equal(vm[0].ours[KS_KC_EXITS], 5);
	assert_int_equal(vm[1].pid, 20);
	assert_int_equal(vm[1].ours[KS_KC_EXITS], 9);
	assert_int_equal(vm[1].ours[KS_KC_HALT_EXITS], 2);
	assert_int_equal(vm[1].ours[KS_KC_IO_EXITS], 6);
	assert_int_equal(vm[1].ours[KS_KC_MMIO_EXITS], 3);
	assert_int_equal(vm[1].ours[KS_KC_IRQ_INJECTIONS], 4);
	assert_int_equal(ks_agree__vcpus(a, &vc), 3);
	assert_int_equal(vc[0].pid, 10);
	assert_int_equal(vc[1].pid, 20);
	assert_int_equal(vc[1].vcpu, 0);
	assert_int_equal(vc[1].exits, 2);
	assert_int_equal(vc[2].vcpu, 1);
	assert_int_equal(vc[2].exits, 7);
	ks_agree__reset(a);
	assert_int_equal(ks_agree__vms(a, &vm), 0);
	ks_agree__free(a);
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void test_debugfs(void **state)
{
	char root[] = "/tmp/test_agree.XXXXXX", d[600];
	struct ks_kvmcounters *kc = malloc(sizeof(*kc));
	const struct ks_kc_vm *vm;

	(void)state;
	assert_non_null(kc);
	assert_non_null(mkdtemp(root));
	put(root, "exits", "999\n");	/* the host-wide sum: not a VM */
	snprintf(d, sizeof(d), "%s/300-12", root);
	mkdir(d, 0755);
	put(d, "exits", "100\n");
	put(d, "halt_exits", "3\n");
	snprintf(d, sizeof(d), "%s/300-15", root);	/* a second VM */
	mkdir(d, 0755);
	put(d, "exits", "50\n");
	snprintf(d, sizeof(d), "%s/7-9", root);
	mkdir(d, 0755);
	put(d, "irq_injections", "8\n");
	snprintf(d, sizeof(d), "%s/x-1", root);
	mkdir(d, 0755);
	assert_int_equal(ks_kvmcounters__read(kc, root), 0);
	assert_int_equal(kc->n, 2);
	assert_int_equal(kc->vm[0].pid, 7);
	assert_non_null(vm = ks_kvmcounters__find(kc, 300));
	assert_int_equal(vm->nvm, 2);
	assert_int_equal(vm->v[KS_KC_EXITS], 150);
	assert_true(vm->have[KS_KC_HALT_EXITS]);
	assert_int_equal(vm->v[KS_KC_HALT_EXITS], 3);
	assert_false(vm->have[KS_KC_IO_EXITS]);
	assert_null(ks_kvmcounters__find(kc, 8));
	assert_int_equal(ks_kvmcounters__read(kc, "/nonexistent/kvm"), -2);
	free(kc);
	snprintf(d, sizeof(d), "rm -rf %s", root);
	assert_int_equal(system(d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_sink),
		cmocka_unit_test(test_debugfs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
