/* test_source_bpfrec.c - BPF map entries to records, and source options.
 *
 * Every key layout the probes write is converted and each field of the
 * record checked against what the replay reader writes for the same event
 * (exit reason names, hex vectors, decimal vCPUs, delivery mode names).
 * Latency buckets must come back as a value inside the same bucket, for
 * every bucket, so distributions rebuilt from records equal the kernel's.
 * Keys no probe writes must be rejected, never turned into records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bpf/loglin.h"
#include "engine/symtab.h"
#include "kvm/exitreason.h"
#include "source/bpfrec.h"
#include "source/sechold.h"
#include "source/source.h"

static struct ks_ident ident(void)
{
	struct ks_ident id = { ks_sym_intern("4242"), ks_sym_intern("vm-a") };

	return id;
}

static const char *field(const struct ks_record *r, enum ks_field f)
{
	assert_true(ks_record_has(r, f));
	return ks_sym_str((uint32_t)r->f[f]);
}

static int teardown(void **state)
{
	(void)state;
	ks_sym_reset();
	return 0;
}

static void test_exit_svm_with_latency(void **state)
{
	struct ks_exit_key k = { .tgid = 4242, .vcpu = 3, .reason = 0x7b,
				 .isa = KS_ISA_SVM, .kind = KS_EXK_EXIT };
	struct ks_ident id = ident();
	struct ks_record r;

	(void)state;
	k.bucket = (uint16_t)ks_ll_index(1500);
	assert_int_equal(ks_bpfrec_exit(&k, 7, 123456789, &id, &r), 0);
	assert_int_equal(r.metric, KS_M_VM_EXITS);
	assert_int_equal(r.value, 7);
	assert_int_equal(r.ts, 123456789);
	assert_string_equal(field(&r, KS_F_PID), "4242");
	assert_string_equal(field(&r, KS_F_VM), "vm-a");
	assert_string_equal(field(&r, KS_F_VCPU), "3");
	assert_string_equal(field(&r, KS_F_VLEAVEREASON), "io");
	assert_true(ks_record_has(&r, KS_F_LATENCY));
	assert_int_equal(r.f[KS_F_LATENCY], ks_ll_lo(k.bucket));
	assert_true(r.f[KS_F_LATENCY] <= 1500);
	/* Live BPF exits carry neither a subsecond offset nor a guest RIP. */
	assert_false(ks_record_has(&r, KS_F_SUBSECOND));
	assert_false(ks_record_has(&r, KS_F_GUESTRIP));
}

static void test_exit_vmx_names(void **state)
{
	struct ks_exit_key k = { .tgid = 1, .vcpu = 0, .isa = KS_ISA_VMX,
				 .kind = KS_EXK_EXIT,
				 .bucket = KS_BUCKET_NONE };
	struct ks_record r;
	char want[KS_EXITREASON_MAXLEN];

	(void)state;
	k.reason = 48;
	assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), 0);
	assert_string_equal(field(&r, KS_F_VLEAVEREASON), "ept_violation");
	/* No identity given: no pid, no vm; no bucket: no latency. */
	assert_false(ks_record_has(&r, KS_F_PID));
	assert_false(ks_record_has(&r, KS_F_VM));
	assert_false(ks_record_has(&r, KS_F_LATENCY));
	/* A failed VM entry keeps its flag word, as the tracepoint prints. */
	k.reason = 0x80000021;
	assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), 0);
	ks_exitreason_format(KS_ISA_VMX, 0x80000021, want, sizeof(want));
	assert_string_equal(field(&r, KS_F_VLEAVEREASON), want);
	assert_non_null(strstr(want, "failed_vmentry"));
	/* A code missing from the table reads as the kernel prints it. */
	k.isa = KS_ISA_SVM;
	k.reason = 0x7ff;
	assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), 0);
	assert_string_equal(field(&r, KS_F_VLEAVEREASON), "0x7ff");
}

static void test_exit_unknown_vcpu(void **state)
{
	struct ks_exit_key k = { .tgid = 9, .vcpu = KS_VCPU_UNKNOWN,
				 .reason = 0x78, .isa = KS_ISA_SVM,
				 .kind = KS_EXK_EXIT,
				 .bucket = KS_BUCKET_NONE };
	struct ks_record r;

	(void)state;
	assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), 0);
	assert_false(ks_record_has(&r, KS_F_VCPU));
	assert_string_equal(field(&r, KS_F_VLEAVEREASON), "hlt");
}

/* For every bucket the probe can write, the record's latency is a value
 * of that bucket: re-bucketing records reproduces the kernel histogram. */
static void test_exit_every_bucket_round_trips(void **state)
{
	struct ks_exit_key k = { .tgid = 1, .vcpu = 0, .reason = 0x7b,
				 .isa = KS_ISA_SVM, .kind = KS_EXK_EXIT };
	struct ks_record r;

	(void)state;
	for (uint32_t b = 0; b < KS_LL_NBUCKETS; b++) {
		k.bucket = (uint16_t)b;
		assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), 0);
		assert_int_equal(ks_ll_index(r.f[KS_F_LATENCY]), b);
	}
	/* And from the other side: sampled latencies keep their bucket. */
	for (uint64_t v = 1; v < (1ULL << 40); v = v * 3 + 1) {
		k.bucket = (uint16_t)ks_ll_index(v);
		assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), 0);
		assert_int_equal(ks_ll_index(r.f[KS_F_LATENCY]), k.bucket);
		assert_true(r.f[KS_F_LATENCY] <= v);
	}
}

static void test_exit_bad_keys(void **state)
{
	struct ks_exit_key k = { .tgid = 1, .vcpu = 0, .reason = 0x7b,
				 .isa = KS_ISA_SVM, .kind = KS_EXK_EXIT,
				 .bucket = 0 };
	struct ks_record r;

	(void)state;
	k.isa = 0;
	assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), -EINVAL);
	k.isa = 3;
	assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), -EINVAL);
	k.isa = KS_ISA_SVM;
	k.bucket = KS_LL_NBUCKETS;
	assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), -EINVAL);
	k.bucket = 0;
	k.kind = KS_EXK_EMUL;
	assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), -EINVAL);
	k.kind = KS_EXK__COUNT;
	assert_int_equal(ks_bpfrec_exit(&k, 1, 0, NULL, &r), -EINVAL);
}

static void test_irq_injected(void **state)
{
	struct ks_irq_key k = { .tgid = 4242, .vcpu = 1, .row = 25,
				.vector = 0x20, .path = KS_IRQ_INJ };
	struct ks_ident id = ident();
	struct ks_record r;

	(void)state;
	assert_int_equal(ks_bpfrec_irq(&k, 3, 5, KS_IRQ_ROW_NS_DEFAULT, &id,
				       &r), 0);
	assert_int_equal(r.metric, KS_M_VM_IRQS);
	assert_int_equal(r.value, 3);
	assert_string_equal(field(&r, KS_F_IRQVECTOR), "20");
	assert_string_equal(field(&r, KS_F_VCPU), "1");
	assert_string_equal(field(&r, KS_F_PID), "4242");
	assert_int_equal(r.f[KS_F_SUBSECOND], 250);
	assert_false(ks_record_has(&r, KS_F_DELIVERYMODE));
	/* 1 ms rows: the row is the millisecond. */
	k.row = 999;
	k.vector = 0xfb;
	assert_int_equal(ks_bpfrec_irq(&k, 1, 5, 1000000, &id, &r), 0);
	assert_int_equal(r.f[KS_F_SUBSECOND], 999);
	assert_string_equal(field(&r, KS_F_IRQVECTOR), "fb");
	k.vector = 0;
	assert_int_equal(ks_bpfrec_irq(&k, 1, 5, 1000000, &id, &r), 0);
	assert_string_equal(field(&r, KS_F_IRQVECTOR), "0");
}

static void test_irq_apic(void **state)
{
	static const char *const dm[8] = { "Fixed", "LowPrio", "SMI", "Res3",
					   "NMI", "INIT", "SIPI", "ExtINT" };
	struct ks_irq_key k = { .tgid = 0, .vcpu = 2, .row = 0,
				.vector = 0xec, .path = KS_IRQ_APIC };
	struct ks_record r;

	(void)state;
	for (unsigned i = 0; i < 8; i++) {
		k.dm = (uint8_t)i;
		assert_int_equal(ks_bpfrec_irq(&k, 1, 0, KS_IRQ_ROW_NS_DEFAULT,
					       NULL, &r), 0);
		assert_int_equal(r.metric, KS_M_VM_APIC_IRQS);
		assert_string_equal(field(&r, KS_F_DELIVERYMODE), dm[i]);
		assert_string_equal(field(&r, KS_F_IRQVECTOR), "ec");
		assert_string_equal(field(&r, KS_F_VCPU), "2");
		assert_int_equal(r.f[KS_F_SUBSECOND], 0);
		/* Sent by a kernel thread: no VM to name. */
		assert_false(ks_record_has(&r, KS_F_PID));
	}
}

static void test_irq_bad_keys(void **state)
{
	struct ks_irq_key k = { .tgid = 1, .vcpu = 0, .row = 100,
				.vector = 0x20, .path = KS_IRQ_INJ };
	struct ks_record r;

	(void)state;
	/* Row 100 does not exist with 10 ms rows (0..99). */
	assert_int_equal(ks_bpfrec_irq(&k, 1, 0, KS_IRQ_ROW_NS_DEFAULT, NULL,
				       &r), -EINVAL);
	k.row = 0;
	k.path = KS_IRQ__COUNT;
	assert_int_equal(ks_bpfrec_irq(&k, 1, 0, KS_IRQ_ROW_NS_DEFAULT, NULL,
				       &r), -EINVAL);
	k.path = KS_IRQ_APIC;
	k.dm = 8;
	assert_int_equal(ks_bpfrec_irq(&k, 1, 0, KS_IRQ_ROW_NS_DEFAULT, NULL,
				       &r), -EINVAL);
	k.dm = 0;
	assert_int_equal(ks_bpfrec_irq(&k, 1, 0, 3000000, NULL, &r), -EINVAL);
}

/* The second bits ride along for the reader's hold (the record is stamped
 * by the read) and never exceed KS_SEC_MASK; the key stays 16 bytes. */
static void test_irq_second_bits(void **state)
{
	struct ks_irq_key k = { .tgid = 1, .vcpu = 0, .row = 7,
				.vector = 0x20, .path = KS_IRQ_INJ };
	struct ks_record r;

	(void)state;
	assert_int_equal(sizeof(k), 16);
	for (k.sec = 0; k.sec <= KS_SEC_MASK; k.sec++) {
		assert_int_equal(ks_bpfrec_irq(&k, 2, 9, KS_IRQ_ROW_NS_DEFAULT,
					       NULL, &r), 0);
		assert_int_equal(r.ts, 9);
		assert_int_equal(r.value, 2);
		assert_int_equal(r.f[KS_F_SUBSECOND], 70);
	}
	k.sec = KS_SEC_MASK + 1;
	assert_int_equal(ks_bpfrec_irq(&k, 1, 9, KS_IRQ_ROW_NS_DEFAULT, NULL,
				       &r), -EINVAL);
}

struct irq_got {
	uint64_t ts[4], sub[4];
	size_t n;
};

static int irq_sink(void *ctx, const struct ks_record *r)
{
	struct irq_got *g = ctx;

	assert_true(g->n < 4);
	g->ts[g->n] = r->ts;
	g->sub[g->n++] = r->f[KS_F_SUBSECOND];
	return 0;
}

/* An interrupt 2 ms into second 101, drained by the late read that ends
 * second 100, is counted in second 101, as bpf_irqs.c passes keys through
 * its hold; one at 990 ms of second 100 stays in 100. */
static void test_irq_next_second_waits(void **state)
{
	const uint64_t S = KS_NSEC_PER_SEC;
	struct ks_irq_key early = { .tgid = 1, .vcpu = 0, .row = 0,
				    .vector = 0x20, .path = KS_IRQ_INJ,
				    .sec = 101 & KS_SEC_MASK };
	struct ks_irq_key late = early;
	struct ks_sechold *h = ks_sechold__new();
	struct ks_source s = { 0 };
	struct irq_got g = { 0 };
	struct ks_source_sink sink = { irq_sink, NULL, &g };
	struct ks_record r;

	(void)state;
	assert_non_null(h);
	late.row = 99;
	late.sec = 100 & KS_SEC_MASK;
	assert_int_equal(ks_bpfrec_irq(&early, 1, 101 * S - 1,
				       KS_IRQ_ROW_NS_DEFAULT, NULL, &r), 0);
	assert_int_equal(ks_sechold__emit(h, &s, &sink, &r, 1, early.sec), 0);
	assert_int_equal(ks_bpfrec_irq(&late, 1, 101 * S - 1,
				       KS_IRQ_ROW_NS_DEFAULT, NULL, &r), 0);
	assert_int_equal(ks_sechold__emit(h, &s, &sink, &r, 1, late.sec), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ts[0] / S, 100);
	assert_int_equal(g.sub[0], 990);
	assert_int_equal(ks_sechold__release(h, &s, &sink, 102 * S - 1), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.ts[1] / S, 101);
	assert_int_equal(g.sub[1], 0);
	assert_int_equal(ks_sechold__free(h), 0);
}

static void test_row_ns(void **state)
{
	(void)state;
	assert_int_equal(ks_bpfrec_row_ns_valid(1000000), 0);
	assert_int_equal(ks_bpfrec_row_ns_valid(10000000), 0);
	assert_int_equal(ks_bpfrec_row_ns_valid(250000000), 0);
	assert_int_equal(ks_bpfrec_row_ns_valid(1000000000), 0);
	assert_int_equal(ks_bpfrec_row_ns_valid(0), -EINVAL);
	assert_int_equal(ks_bpfrec_row_ns_valid(500000), -EINVAL);
	assert_int_equal(ks_bpfrec_row_ns_valid(1500000), -EINVAL);
	assert_int_equal(ks_bpfrec_row_ns_valid(3000000), -EINVAL);
	assert_int_equal(ks_bpfrec_row_ns_valid(2000000000), -EINVAL);
}

static void test_sum_and_syms(void **state)
{
	uint64_t v[5] = { 1, 0, 40, 0, 1ULL << 40 };

	(void)state;
	assert_int_equal(ks_bpfrec_sum(v, 5), 41 + (1ULL << 40));
	assert_int_equal(ks_bpfrec_sum(v, 0), 0);
	assert_string_equal(ks_sym_str(ks_bpfrec_dec_sym(0)), "0");
	assert_string_equal(ks_sym_str(ks_bpfrec_dec_sym(4294967295u)),
			    "4294967295");
	assert_string_equal(ks_sym_str(ks_bpfrec_hex_sym(255)), "ff");
	assert_string_equal(ks_bpfrec_dm_name(7), "ExtINT");
}

static void test_opts_latency(void **state)
{
	struct ks_source_opts o;
	struct ks_err err;

	(void)state;
	ks_source_opts_init(&o);
	assert_false(o.lat_filter);
	assert_int_equal(o.lat_hi, UINT64_MAX);
	assert_int_equal(o.subsec_row_ns, KS_IRQ_ROW_NS_DEFAULT);
	assert_int_equal(ks_source_opts_latency(&o, "gt", 1000, &err), 0);
	assert_true(o.lat_filter);
	assert_int_equal(o.lat_lo, 1001);
	assert_int_equal(ks_source_opts_latency(&o, "le", 5000, &err), 0);
	assert_int_equal(o.lat_lo, 1001);
	assert_int_equal(o.lat_hi, 5000);
	/* A looser bound does not widen the range. */
	assert_int_equal(ks_source_opts_latency(&o, "ge", 10, &err), 0);
	assert_int_equal(o.lat_lo, 1001);
	assert_int_equal(ks_source_opts_latency(&o, "lt", 5000, &err), 0);
	assert_int_equal(o.lat_hi, 4999);
	/* An empty range is an error, and leaves o as it was. */
	assert_int_equal(ks_source_opts_latency(&o, "lt", 1001, &err), -EINVAL);
	assert_string_equal(err.param, "latency");
	assert_int_equal(o.lat_hi, 4999);
	assert_int_equal(ks_source_opts_latency(&o, "eq", 5, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "eq"));
	ks_source_opts_init(&o);
	assert_int_equal(ks_source_opts_latency(&o, "gt", UINT64_MAX, &err),
			 -EINVAL);
	assert_int_equal(ks_source_opts_latency(&o, "lt", 0, &err), -EINVAL);
	assert_int_equal(ks_source_opts_latency(&o, "le", 0, &err), 0);
	assert_int_equal(o.lat_lo, 0);
	assert_int_equal(o.lat_hi, 0);
}

static void test_registry(void **state)
{
	const struct ks_source_ops *x = ks_source_find("bpf_exits");
	const struct ks_source_ops *i = ks_source_find("bpf_irqs");

	(void)state;
	assert_non_null(x);
	assert_non_null(i);
	assert_null(ks_source_find("bpf"));
	/* Listed, each once, and nothing past the end. */
	assert_true(ks_source_count() >= 2);
	assert_null(ks_source_at(ks_source_count()));
	for (size_t n = 0, k = 0; k < ks_source_count(); k++) {
		n += ks_source_at(k) == x || ks_source_at(k) == i;
		if (k + 1 == ks_source_count())
			assert_int_equal(n, 2);
	}
	assert_true(ks_source_supplies(x, KS_M_VM_EXITS));
	assert_true(ks_source_supplies(x, KS_M_VM_USERSPACE_EXITS));
	assert_true(ks_source_supplies(x, KS_M_VM_PIO_OPS));
	assert_true(ks_source_supplies(x, KS_M_VM_MMIO_OPS));
	assert_false(ks_source_supplies(x, KS_M_VM_IRQS));
	assert_true(ks_source_supplies(i, KS_M_VM_IRQS));
	assert_true(ks_source_supplies(i, KS_M_VM_APIC_IRQS));
	assert_false(ks_source_supplies(i, KS_M_VM_EXITS));
	/* Every metric a source claims has the fields its records carry. */
	assert_true(ks_metric_has_field(KS_M_VM_EXITS, KS_F_LATENCY));
	assert_true(ks_metric_has_field(KS_M_VM_IRQS, KS_F_SUBSECOND));
	assert_true(ks_metric_has_field(KS_M_VM_APIC_IRQS, KS_F_DELIVERYMODE));
	assert_true(ks_metric_has_field(KS_M_VM_USERSPACE_EXITS,
					KS_F_SUBSECOND));
	assert_true(ks_metric_has_field(KS_M_VM_USERSPACE_EXITS,
					KS_F_UEXITREASON));
	assert_true(ks_metric_has_field(KS_M_VM_PIO_OPS, KS_F_PORT));
	assert_true(ks_metric_has_field(KS_M_VM_MMIO_OPS, KS_F_GPA));
	assert_true(ks_metric_has_field(KS_M_VM_MMIO_OPS, KS_F_SIZE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_exit_svm_with_latency, teardown),
		cmocka_unit_test_teardown(test_exit_vmx_names, teardown),
		cmocka_unit_test_teardown(test_exit_unknown_vcpu, teardown),
		cmocka_unit_test_teardown(test_exit_every_bucket_round_trips,
					  teardown),
		cmocka_unit_test_teardown(test_exit_bad_keys, teardown),
		cmocka_unit_test_teardown(test_irq_injected, teardown),
		cmocka_unit_test_teardown(test_irq_apic, teardown),
		cmocka_unit_test_teardown(test_irq_bad_keys, teardown),
		cmocka_unit_test_teardown(test_irq_second_bits, teardown),
		cmocka_unit_test_teardown(test_irq_next_second_waits, teardown),
		cmocka_unit_test(test_row_ns),
		cmocka_unit_test_teardown(test_sum_and_syms, teardown),
		cmocka_unit_test(test_opts_latency),
		cmocka_unit_test(test_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
