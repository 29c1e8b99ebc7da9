/* test_source_uexits.c - userspace exits, port I/O and MMIO from the
 * exits probe's keys.
 *
 * The userspace exit name table is checked against the kernel's own print
 * table, read from the kvm_userspace_exit format files of Linux 6.1 and
 * 6.18 in tests/data, and the MMIO direction names against kvm_mmio's.
 * Then each kind of key the probe writes is converted and compared, field
 * by field, with the record the replay reader makes of the trace line the
 * kernel prints for the same event: live and replayed data must decompose
 * into the same keys.  Keys no probe writes are rejected.  Each key's
 * second bits sort its record into its own second through the loader's
 * sechold, as the exits records are.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bpf/uexits.h"
#include "engine/symtab.h"
#include "kvm/uexitreason.h"
#include "replay/kvmtrace.h"
#include "source/bpfrec.h"
#include "source/sechold.h"

#define ROW_NS 10000000ULL

static int teardown(void **state)
{
	(void)state;
	ks_sym_reset();
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	if (!f)
		fail_msg("cannot open %s (tests run from the repository root)",
			 path);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* ---- name tables against the kernel's ---- */

/* Checks every { N, "KVM_EXIT_" "NAME" } of a format file against ours
 * and returns how many there were. */
static size_t check_uexit_table(const char *path)
{
	char *fmt = slurp(path), *p = strstr(fmt, "__print_symbolic(");
	size_t n = 0;

	assert_non_null(p);
	while ((p = strstr(p, "{ "))) {
		char want[64], tail[48];
		unsigned code;
		int used = 0;

		if (sscanf(p, "{ %u, \"KVM_EXIT_\" \"%47[^\"]\" }%n", &code,
			   tail, &used) != 2 || !used)
			fail_msg("%s: cannot read entry at '%.40s'", path, p);
		snprintf(want, sizeof(want), "KVM_EXIT_%s", tail);
		if (!ks_uexitreason_name(code) ||
		    strcmp(ks_uexitreason_name(code), want))
			fail_msg("%s: code %u is %s, ours %s", path, code, want,
				 ks_uexitreason_name(code));
		p += used;
		n++;
	}
	free(fmt);
	return n;
}

static void test_uexit_table_matches_kernels(void **state)
{
	uint32_t code;
	const char *name;
	size_t ours = 0;

	(void)state;
	while (!ks_uexitreason_entry(ours, &code, &name)) {
		assert_int_equal(code, ours);
		ours++;
	}
	/* Ours is exactly the kernels' table: every entry, nothing more. */
	assert_int_equal(check_uexit_table(
		"tests/data/formats-6.1/kvm_userspace_exit.format"), ours);
	assert_int_equal(check_uexit_table(
		"tests/data/formats-6.18/kvm_userspace_exit.format"), ours);
	assert_null(ks_uexitreason_name((uint32_t)ours));
}

static void test_uexit_format(void **state)
{
	char buf[KS_UEXITREASON_MAXLEN];

	(void)state;
	ks_uexitreason_format(KS_KVM_EXIT_MMIO, 0, buf, sizeof(buf));
	assert_string_equal(buf, "KVM_EXIT_MMIO");
	/* A failed KVM_RUN: the reason is not printed. */
	ks_uexitreason_format(KS_KVM_EXIT_IO, -KS_UEXIT_EINTR, buf, sizeof(buf));
	assert_string_equal(buf, "restart");
	ks_uexitreason_format(KS_KVM_EXIT_IO, -14, buf, sizeof(buf));
	assert_string_equal(buf, "error");
	/* Newer codes the tracepoint's table lacks, as __print_symbolic. */
	ks_uexitreason_format(38, 0, buf, sizeof(buf));
	assert_string_equal(buf, "0x26");
	ks_uexitreason_format(0xffffffffu, 0, buf, sizeof(buf));
	assert_string_equal(buf, "0xffffffff");
	assert_int_equal(ks_uexitreason_format(7, 0, buf, 4), 24);
	assert_string_equal(buf, "KVM");
	assert_int_equal(ks_uexitreason_sym(5, 0),
			 ks_sym_intern("KVM_EXIT_HLT"));
}

static void test_mmio_dirs_match_kernels(void **state)
{
	const char *files[] = { "tests/data/formats-6.1/kvm_mmio.format",
				"tests/data/formats-6.18/kvm_mmio.format" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char *fmt = slurp(files[i]), want[80];

		for (unsigned t = 0; t < 3; t++) {
			snprintf(want, sizeof(want), "{ %u, \"%s\" }", t,
				 ks_bpfrec_mmio_dir(t));
			if (!strstr(fmt, want))
				fail_msg("%s lacks %s", files[i], want);
		}
		free(fmt);
	}
	assert_null(ks_bpfrec_mmio_dir(3));
}

/* ---- probe keys against the replayed trace line ---- */

struct one {
	struct ks_record r;
	size_t n;
};

static int keep(void *ctx, const struct ks_record *r)
{
	struct one *o = ctx;

	o->r = *r;
	o->n++;
	return 0;
}

/* What the replay reader makes of one event of thread kvmtest-335 on vCPU
 * 3, at 8.25 s (subsecond 250). */
static struct ks_record replayed(const char *event)
{
	char line[256];
	struct ks_tfs_event ev;
	struct one o = { .n = 0 };
	struct ks_kvmtrace *kt = ks_kvmtrace__new(keep, &o);
	const char *entry = "kvmtest-335 [001] ..... 8.100000: kvm_entry: "
			    "vcpu 3, rip 0x101f";
	uint64_t lost;

	assert_non_null(kt);
	assert_int_equal(ks_tfs_parse_line(entry, strlen(entry), &ev, &lost),
			 KS_TFS_EVENT);
	assert_int_equal(ks_kvmtrace__event(kt, &ev), 0);
	snprintf(line, sizeof(line), "kvmtest-335 [001] ..... 8.250000: %s",
		 event);
	assert_int_equal(ks_tfs_parse_line(line, strlen(line), &ev, &lost),
			 KS_TFS_EVENT);
	assert_int_equal(ks_kvmtrace__event(kt, &ev), 0);
	assert_int_equal(ks_kvmtrace__finish(kt), 0);
	ks_kvmtrace__free(kt);
	assert_int_equal(o.n, 1);
	return o.r;
}

/* The probe's record of k (tgid 335, vCPU 3, row 25 if a userspace exit)
 * must equal the replayed one in metric and every field. */
static void same(struct ks_uexit_key k, const char *event)
{
	struct ks_ident id = { ks_sym_intern("335"), ks_sym_intern("kvmtest") };
	struct ks_record live, rep = replayed(event);

	k.tgid = 335;
	k.vcpu = 3;
	if (k.kind == KS_UXK_UEXIT)
		k.row = 25;
	assert_int_equal(ks_bpfrec_uexit(&k, 1, 8250000000ULL, ROW_NS, &id,
					 &live), 0);
	assert_int_equal(live.metric, rep.metric);
	assert_int_equal(live.value, rep.value);
	for (int f = 0; f < KS_F__COUNT; f++) {
		if (ks_record_has(&live, f) != ks_record_has(&rep, f))
			fail_msg("%s: field %s in %s only", event,
				 ks_field_info(f)->name,
				 ks_record_has(&live, f) ? "live" : "replay");
		if (ks_record_has(&live, f) && live.f[f] != rep.f[f])
			fail_msg("%s: field %s differs", event,
				 ks_field_info(f)->name);
	}
}

static void test_uexit_keys_as_replayed(void **state)
{
	struct ks_uexit_key k = { .kind = KS_UXK_UEXIT };

	(void)state;
	k.arg = KS_KVM_EXIT_IO;
	same(k, "kvm_userspace_exit: reason KVM_EXIT_IO (2)");
	k.arg = KS_KVM_EXIT_MMIO;
	same(k, "kvm_userspace_exit: reason KVM_EXIT_MMIO (6)");
	k.arg = 38;
	same(k, "kvm_userspace_exit: reason 0x26 (38)");
	k.arg = 0;
	k.sub = KS_UXE_RESTART;
	same(k, "kvm_userspace_exit: reason restart (4)");
	k.sub = KS_UXE_ERROR;
	same(k, "kvm_userspace_exit: reason error (14)");
}

static void test_pio_mmio_keys_as_replayed(void **state)
{
	struct ks_uexit_key k = { .kind = KS_UXK_PIO };

	(void)state;
	k.addr = 0x10;
	k.sub = 1;
	k.arg = 1;
	same(k, "kvm_pio: pio_write at 0x10 size 1 count 1 val 0x0 ");
	k.addr = 0x3f8;
	k.sub = 0;
	k.arg = 2;
	same(k, "kvm_pio: pio_read at 0x3f8 size 2 count 4 val 0x1 (...)");
	k.kind = KS_UXK_MMIO;
	k.addr = 0x10000;
	k.sub = 2;
	k.arg = 1;
	same(k, "kvm_mmio: mmio write len 1 gpa 0x10000 val 0x0");
	k.addr = 0xfee000f0;
	k.sub = 1;
	k.arg = 4;
	same(k, "kvm_mmio: mmio read len 4 gpa 0xfee000f0 val 0xff");
	k.addr = 0;
	k.sub = 0;
	k.arg = 8;
	same(k, "kvm_mmio: mmio unsatisfied-read len 8 gpa 0x0 val 0x0");
}

static void test_uexit_record_fields(void **state)
{
	struct ks_uexit_key k = { .tgid = 9, .vcpu = KS_VCPU_UNKNOWN,
				  .kind = KS_UXK_UEXIT, .arg = 5, .row = 99 };
	struct ks_record r;

	(void)state;
	assert_int_equal(ks_bpfrec_uexit(&k, 7, 1, ROW_NS, NULL, &r), 0);
	assert_int_equal(r.metric, KS_M_VM_USERSPACE_EXITS);
	assert_int_equal(r.value, 7);
	assert_false(ks_record_has(&r, KS_F_VCPU));
	assert_false(ks_record_has(&r, KS_F_PID));
	assert_int_equal(r.f[KS_F_SUBSECOND], 990);
	/* 1 ms rows. */
	k.row = 999;
	assert_int_equal(ks_bpfrec_uexit(&k, 1, 1, 1000000, NULL, &r), 0);
	assert_int_equal(r.f[KS_F_SUBSECOND], 999);
	/* A 64-bit guest physical address keeps every digit. */
	k = (struct ks_uexit_key){ .kind = KS_UXK_MMIO, .vcpu = 0,
				   .addr = 0xfffffffffffff000ULL, .sub = 2,
				   .arg = 8 };
	assert_int_equal(ks_bpfrec_uexit(&k, 1, 1, ROW_NS, NULL, &r), 0);
	assert_string_equal(ks_sym_str((uint32_t)r.f[KS_F_GPA]),
			    "fffffffffffff000");
	assert_int_equal(r.f[KS_F_SIZE], 8);
}

static void test_uexit_bad_keys(void **state)
{
	const struct ks_uexit_key bad[] = {
		{ .kind = KS_UXK__COUNT },
		{ .kind = KS_UXK_UEXIT, .row = 100 },	/* rows 0..99 */
		{ .kind = KS_UXK_UEXIT, .sub = 3 },
		{ .kind = KS_UXK_UEXIT, .sub = KS_UXE_RESTART, .arg = 2 },
		{ .kind = KS_UXK_UEXIT, .addr = 1 },
		{ .kind = KS_UXK_PIO, .sub = 2 },
		{ .kind = KS_UXK_PIO, .addr = 0x10000 },
		{ .kind = KS_UXK_PIO, .row = 1 },
		{ .kind = KS_UXK_MMIO, .sub = 3 },
		{ .kind = KS_UXK_MMIO, .row = 1 },
		/* Second bits beyond KS_SEC_MASK, for every kind. */
		{ .kind = KS_UXK_UEXIT, .sec = KS_SEC_MASK + 1 },
		{ .kind = KS_UXK_PIO, .sec = KS_SEC_MASK + 1 },
		{ .kind = KS_UXK_MMIO, .sec = 0x80 },
	};
	struct ks_uexit_key ok = { .kind = KS_UXK_UEXIT };
	struct ks_record r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ks_bpfrec_uexit(&bad[i], 1, 0, ROW_NS, NULL, &r) != -EINVAL)
			fail_msg("bad key %zu accepted", i);
	/* A row size that is not whole milliseconds. */
	assert_int_equal(ks_bpfrec_uexit(&ok, 1, 0, 1500000, NULL, &r),
			 -EINVAL);
	assert_int_equal(ks_bpfrec_uexit(&ok, 1, 0, ROW_NS, NULL, &r), 0);
}

/* Records a sink got, with their stamps. */
struct got {
	struct ks_record r[8];
	size_t n;
};

static int got_record(void *ctx, const struct ks_record *r)
{
	struct got *g = ctx;

	assert_true(g->n < 8);
	g->r[g->n++] = *r;
	return 0;
}

/* Converts k as read at the end of second 8 and hands it on as the
 * loader does (bpf_exits.c: through the sechold by k.sec). */
static void read_at_8(struct ks_sechold *h, struct ks_source *s,
		      const struct ks_source_sink *sink,
		      const struct ks_uexit_key *k, uint64_t n)
{
	const uint64_t ts = 8999999999ULL;
	struct ks_record r;

	assert_int_equal(ks_bpfrec_uexit(k, n, ts, ROW_NS, NULL, &r), 0);
	assert_int_equal(ks_sechold__emit(h, s, sink, &r, n, k->sec), 0);
}

/* Keys of the ended second (8), a late one (7) and the next (9, as a read
 * a few ms after the boundary drains): only the next waits, and goes out
 * with the read that ends second 9, stamped with it. */
static void test_uexit_seconds(void **state)
{
	struct ks_source s = { 0 };
	struct got g = { .n = 0 };
	const struct ks_source_sink sink = { got_record, NULL, &g };
	struct ks_sechold *h = ks_sechold__new();
	struct ks_uexit_key u = { .kind = KS_UXK_UEXIT, .arg = 2, .row = 99,
				  .sec = 8 & KS_SEC_MASK };
	struct ks_uexit_key p = { .kind = KS_UXK_PIO, .addr = 0x3f8,
				  .arg = 1, .sec = 9 & KS_SEC_MASK };
	struct ks_uexit_key m = { .kind = KS_UXK_MMIO, .addr = 0x1000,
				  .sub = 2, .arg = 4,
				  .sec = 7 & KS_SEC_MASK };

	(void)state;
	assert_non_null(h);
	read_at_8(h, &s, &sink, &u, 3);
	read_at_8(h, &s, &sink, &p, 5);
	read_at_8(h, &s, &sink, &m, 2);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].metric, KS_M_VM_USERSPACE_EXITS);
	assert_int_equal(g.r[0].value, 3);
	assert_int_equal(g.r[1].metric, KS_M_VM_MMIO_OPS);
	assert_int_equal(g.r[1].ts, 8999999999ULL);
	assert_int_equal(ks_sechold__events(h), 5);
	/* The read that ends second 9. */
	assert_int_equal(ks_sechold__release(h, &s, &sink, 9999999999ULL), 0);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.r[2].metric, KS_M_VM_PIO_OPS);
	assert_int_equal(g.r[2].value, 5);
	assert_int_equal(g.r[2].ts, 9999999999ULL);
	assert_int_equal(s.st.events, 10);
	assert_int_equal(ks_sechold__free(h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_uexit_table_matches_kernels,
					  teardown),
		cmocka_unit_test_teardown(test_uexit_format, teardown),
		cmocka_unit_test(test_mmio_dirs_match_kernels),
		cmocka_unit_test_teardown(test_uexit_keys_as_replayed, teardown),
		cmocka_unit_test_teardown(test_pio_mmio_keys_as_replayed,
					  teardown),
		cmocka_unit_test_teardown(test_uexit_record_fields, teardown),
		cmocka_unit_test_teardown(test_uexit_bad_keys, teardown),
		cmocka_unit_test_teardown(test_uexit_seconds, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
