/* test_source_samples.c - the vCPU sampler's keys to records, and the
 * loader's parsing of /proc and /sys.
 *
 * Every mode the probe writes becomes a vm.thread_samples record whose
 * fields are checked one by one; what the probe could not read (cr3, RIP,
 * the vCPU) must be absent from the record, never a zero or a guess; keys
 * no probe writes are rejected.  The CPU list, vendor and paging-mode
 * parsers are fed real kernel text and malformed text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/symtab.h"
#include "source/samplerec.h"
#include "source/sechold.h"
#include "source/source.h"

#define ROW_10MS 10000000ULL

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

static struct ks_sample_key key(uint8_t mode, uint8_t flags)
{
	struct ks_sample_key k = { .tgid = 4242, .vcpu = 2, .row = 37,
				   .mode = mode, .flags = flags };

	return k;
}

static void test_host_sample(void **state)
{
	struct ks_sample_key k = key(KS_SMODE_HOST, 0);
	struct ks_record r;

	(void)state;
	assert_int_equal(ks_samplerec(&k, 3, 987654321, ROW_10MS, &r), 0);
	assert_int_equal(r.metric, KS_M_VM_THREAD_SAMPLES);
	assert_int_equal(r.value, 3);
	assert_int_equal(r.ts, 987654321);
	assert_string_equal(field(&r, KS_F_VCPU), "2");
	assert_string_equal(field(&r, KS_F_GUESTMODE), "host");
	assert_true(ks_record_has(&r, KS_F_SUBSECOND));
	assert_int_equal(r.f[KS_F_SUBSECOND], 370);
	/* A host sample has no guest state, and identity is the caller's. */
	assert_false(ks_record_has(&r, KS_F_VMMMUCTX));
	assert_false(ks_record_has(&r, KS_F_GUESTRIP));
	assert_false(ks_record_has(&r, KS_F_PID));
	assert_false(ks_record_has(&r, KS_F_VM));
	assert_false(ks_record_has(&r, KS_F_VMUUID));
}

static void test_guest_kernel_with_state(void **state)
{
	struct ks_sample_key k = key(KS_SMODE_KERNEL, KS_SMP_CR3 | KS_SMP_RIP);
	struct ks_record r;

	(void)state;
	k.cr3 = 0x4000;
	k.rip = 0xffffffff81a0c3d2ULL;
	assert_int_equal(ks_samplerec(&k, 1, 0, ROW_10MS, &r), 0);
	assert_string_equal(field(&r, KS_F_GUESTMODE), "kernel");
	assert_string_equal(field(&r, KS_F_VMMMUCTX), "4000");
	assert_string_equal(field(&r, KS_F_GUESTRIP), "ffffffff81a0c3d2");
}

static void test_guest_user_cr3_zero_is_real(void **state)
{
	struct ks_sample_key k = key(KS_SMODE_USER, KS_SMP_CR3);
	struct ks_record r;

	(void)state;
	/* cr3 0 (paging off) is a value the probe read: present, "0". */
	k.cr3 = 0;
	assert_int_equal(ks_samplerec(&k, 1, 0, ROW_10MS, &r), 0);
	assert_string_equal(field(&r, KS_F_GUESTMODE), "user");
	assert_string_equal(field(&r, KS_F_VMMMUCTX), "0");
	assert_false(ks_record_has(&r, KS_F_GUESTRIP));
}

static void test_unread_state_is_absent(void **state)
{
	struct ks_sample_key k = key(KS_SMODE_GUEST, 0);
	struct ks_record r;

	(void)state;
	/* Values sit in the key but the flags say they were not read. */
	k.cr3 = 0x1234000;
	k.rip = 0x401000;
	k.vcpu = KS_VCPU_UNKNOWN;
	assert_int_equal(ks_samplerec(&k, 5, 0, ROW_10MS, &r), 0);
	assert_string_equal(field(&r, KS_F_GUESTMODE), "guest");
	assert_false(ks_record_has(&r, KS_F_VMMMUCTX));
	assert_false(ks_record_has(&r, KS_F_GUESTRIP));
	assert_false(ks_record_has(&r, KS_F_VCPU));
	assert_int_equal(r.value, 5);
}

static void test_vcpuid_flag_keeps_the_number(void **state)
{
	struct ks_sample_key k = key(KS_SMODE_HOST, KS_SMP_VCPUID);
	struct ks_record r;

	(void)state;
	/* The loader maps vcpu_ids before converting; the number stays. */
	k.vcpu = 17;
	assert_int_equal(ks_samplerec(&k, 1, 0, ROW_10MS, &r), 0);
	assert_string_equal(field(&r, KS_F_VCPU), "17");
}

static void test_rows(void **state)
{
	struct ks_sample_key k = key(KS_SMODE_HOST, 0);
	struct ks_record r;

	(void)state;
	k.row = 999;
	assert_int_equal(ks_samplerec(&k, 1, 0, 1000000, &r), 0);
	assert_int_equal(r.f[KS_F_SUBSECOND], 999);
	k.row = 1;
	assert_int_equal(ks_samplerec(&k, 1, 0, 250000000, &r), 0);
	assert_int_equal(r.f[KS_F_SUBSECOND], 250);
	k.row = 0;
	assert_int_equal(ks_samplerec(&k, 1, 0, KS_NSEC_PER_SEC, &r), 0);
	assert_int_equal(r.f[KS_F_SUBSECOND], 0);
}

static void test_bad_keys(void **state)
{
	struct ks_sample_key k;
	struct ks_record r;

	(void)state;
	k = key(KS_SMODE__COUNT, 0);
	assert_int_equal(ks_samplerec(&k, 1, 0, ROW_10MS, &r), -EINVAL);
	k = key(KS_SMODE_KERNEL, 0x8);
	assert_int_equal(ks_samplerec(&k, 1, 0, ROW_10MS, &r), -EINVAL);
	k = key(KS_SMODE_HOST, KS_SMP_CR3);
	assert_int_equal(ks_samplerec(&k, 1, 0, ROW_10MS, &r), -EINVAL);
	k = key(KS_SMODE_HOST, KS_SMP_RIP);
	assert_int_equal(ks_samplerec(&k, 1, 0, ROW_10MS, &r), -EINVAL);
	k = key(KS_SMODE_HOST, 0);
	k.tgid = 0;
	assert_int_equal(ks_samplerec(&k, 1, 0, ROW_10MS, &r), -EINVAL);
	k = key(KS_SMODE_HOST, 0);
	k.row = 100;	/* rows of 10 ms end at 99 */
	assert_int_equal(ks_samplerec(&k, 1, 0, ROW_10MS, &r), -EINVAL);
	k.row = 0;
	assert_int_equal(ks_samplerec(&k, 1, 0, 0, &r), -EINVAL);
	assert_int_equal(ks_samplerec(&k, 1, 0, 3000000, &r), -EINVAL);
	assert_int_equal(ks_samplerec(&k, 1, 0, 1500000, &r), -EINVAL);
}

/* The second bits ride along for the loader's hold and never exceed
 * KS_SEC_MASK; the key stays 32 bytes. */
static void test_second_bits(void **state)
{
	struct ks_sample_key k = key(KS_SMODE_KERNEL, KS_SMP_CR3);
	struct ks_record r;

	(void)state;
	assert_int_equal(sizeof(k), 32);
	for (k.sec = 0; k.sec <= KS_SEC_MASK; k.sec++) {
		assert_int_equal(ks_samplerec(&k, 3, 11, ROW_10MS, &r), 0);
		assert_int_equal(r.ts, 11);
		assert_int_equal(r.value, 3);
		assert_int_equal(r.f[KS_F_SUBSECOND], 370);
	}
	k.sec = KS_SEC_MASK + 1;
	assert_int_equal(ks_samplerec(&k, 1, 11, ROW_10MS, &r), -EINVAL);
	k.sec = 0xff;
	assert_int_equal(ks_samplerec(&k, 1, 11, ROW_10MS, &r), -EINVAL);
}

struct got {
	uint64_t ts[4], value[4];
	size_t n;
};

static int sink_record(void *ctx, const struct ks_record *r)
{
	struct got *g = ctx;

	assert_true(g->n < 4);
	g->ts[g->n] = r->ts;
	g->value[g->n++] = r->value;
	return 0;
}

/* A read of second 41 that comes 3 ms late (as bpf_samples.c reads) finds
 * samples of 41 and of 42's first row: 42's wait, and the read that ends
 * 42 counts them there; those still waiting at the end are lost. */
static void test_next_second_waits(void **state)
{
	const uint64_t S = KS_NSEC_PER_SEC;
	struct ks_sample_key now = key(KS_SMODE_HOST, 0), next = now;
	struct ks_sechold *h = ks_sechold__new();
	struct ks_source s = { 0 };
	struct got g = { 0 };
	struct ks_source_sink sink = { sink_record, NULL, &g };
	struct ks_record r;

	(void)state;
	assert_non_null(h);
	now.sec = 41 & KS_SEC_MASK;
	next.sec = 42 & KS_SEC_MASK;
	next.row = 0;
	assert_int_equal(ks_samplerec(&next, 2, 42 * S - 1, ROW_10MS, &r), 0);
	assert_int_equal(ks_sechold__emit(h, &s, &sink, &r, 2, next.sec), 0);
	assert_int_equal(ks_samplerec(&now, 5, 42 * S - 1, ROW_10MS, &r), 0);
	assert_int_equal(ks_sechold__emit(h, &s, &sink, &r, 5, now.sec), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.value[0], 5);
	assert_int_equal(g.ts[0] / S, 41);
	assert_int_equal(ks_sechold__release(h, &s, &sink, 43 * S - 1), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.value[1], 2);
	assert_int_equal(g.ts[1] / S, 42);
	/* Next second's samples when the source closes: counted lost. */
	assert_int_equal(ks_samplerec(&next, 4, 43 * S - 1, ROW_10MS, &r), 0);
	next.sec = 44 & KS_SEC_MASK;
	assert_int_equal(ks_sechold__emit(h, &s, &sink, &r, 4, next.sec), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(ks_sechold__free(h), 4);
}

static void test_mode_names(void **state)
{
	(void)state;
	assert_string_equal(ks_samplerec_mode_name(KS_SMODE_HOST), "host");
	assert_string_equal(ks_samplerec_mode_name(KS_SMODE_KERNEL), "kernel");
	assert_string_equal(ks_samplerec_mode_name(KS_SMODE_USER), "user");
	assert_string_equal(ks_samplerec_mode_name(KS_SMODE_GUEST), "guest");
	assert_null(ks_samplerec_mode_name(KS_SMODE__COUNT));
}

static void test_cpu_lists(void **state)
{
	bool on[16];
	int n = 0;

	(void)state;
	assert_int_equal(ks_samplerec_cpus("0-3,8,10-11\n", on, 16), 0);
	for (int i = 0; i < 16; i++)
		n += on[i];
	assert_int_equal(n, 7);
	assert_true(on[0] && on[3] && on[8] && on[10] && on[11]);
	assert_false(on[4] || on[9] || on[12]);
	assert_int_equal(ks_samplerec_cpus("0", on, 16), 0);
	assert_true(on[0]);
	assert_false(on[1]);
	assert_int_equal(ks_samplerec_cpus("15\n", on, 16), 0);
	assert_true(on[15]);
}

static void test_bad_cpu_lists(void **state)
{
	static const char *const bad[] = {
		"", "\n", "3-1", "0,,1", "0-", "-1", "a", "0-3 ", "1,", "0;1",
		"0-3\n\n", "99999999999999999999999",
	};
	bool on[16];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int e = ks_samplerec_cpus(bad[i], on, 16);

		if (e != -EINVAL && e != -ERANGE)
			fail_msg("'%s' gave %d", bad[i], e);
	}
	assert_int_equal(ks_samplerec_cpus("16", on, 16), -ERANGE);
	assert_int_equal(ks_samplerec_cpus("0-16", on, 16), -ERANGE);
}

static void test_vendor(void **state)
{
	(void)state;
	assert_int_equal(ks_samplerec_isa("processor\t: 0\nvendor_id\t: "
					  "AuthenticAMD\ncpu family\t: 25\n"),
			 KS_SISA_SVM);
	assert_int_equal(ks_samplerec_isa("processor\t: 0\nvendor_id\t: "
					  "GenuineIntel\nmodel\t: 85\n"),
			 KS_SISA_VMX);
	assert_int_equal(ks_samplerec_isa("vendor_id\t: HygonGenuine"),
			 KS_SISA_SVM);
	assert_int_equal(ks_samplerec_isa("vendor_id\t: AuthenticAMDX\n"),
			 KS_SISA_UNKNOWN);
	assert_int_equal(ks_samplerec_isa("vendor_id\t: SomeoneElse\n"),
			 KS_SISA_UNKNOWN);
	assert_int_equal(ks_samplerec_isa("processor\t: 0\n"), KS_SISA_UNKNOWN);
	assert_int_equal(ks_samplerec_isa("vendor_id"), KS_SISA_UNKNOWN);
	assert_int_equal(ks_samplerec_isa(""), KS_SISA_UNKNOWN);
}

static void test_tdp(void **state)
{
	(void)state;
	assert_int_equal(ks_samplerec_tdp("Y\n"), KS_STDP_ON);
	assert_int_equal(ks_samplerec_tdp("1"), KS_STDP_ON);
	assert_int_equal(ks_samplerec_tdp("N\n"), KS_STDP_OFF);
	assert_int_equal(ks_samplerec_tdp("0\n"), KS_STDP_OFF);
	assert_int_equal(ks_samplerec_tdp(NULL), KS_STDP_UNKNOWN);
	assert_int_equal(ks_samplerec_tdp(""), KS_STDP_UNKNOWN);
	assert_int_equal(ks_samplerec_tdp("YES"), KS_STDP_UNKNOWN);
	assert_int_equal(ks_samplerec_tdp("2\n"), KS_STDP_UNKNOWN);
}

static void test_registered(void **state)
{
	const struct ks_source_ops *ops = ks_source_find("bpf_samples");
	struct ks_source_opts o;

	(void)state;
	assert_non_null(ops);
	assert_true(ks_source_supplies(ops, KS_M_VM_THREAD_SAMPLES));
	assert_false(ks_source_supplies(ops, KS_M_VM_EXITS));
	/* Guest RIPs are opt-in. */
	ks_source_opts_init(&o);
	assert_false(o.guest_rip);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_host_sample, teardown),
		cmocka_unit_test_teardown(test_guest_kernel_with_state,
					  teardown),
		cmocka_unit_test_teardown(test_guest_user_cr3_zero_is_real,
					  teardown),
		cmocka_unit_test_teardown(test_unread_state_is_absent,
					  teardown),
		cmocka_unit_test_teardown(test_vcpuid_flag_keeps_the_number,
					  teardown),
		cmocka_unit_test_teardown(test_rows, teardown),
		cmocka_unit_test_teardown(test_second_bits, teardown),
		cmocka_unit_test_teardown(test_next_second_waits, teardown),
		cmocka_unit_test_teardown(test_bad_keys, teardown),
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_cpu_lists),
		cmocka_unit_test(test_bad_cpu_lists),
		cmocka_unit_test(test_vendor),
		cmocka_unit_test(test_tdp),
		cmocka_unit_test(test_registered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
