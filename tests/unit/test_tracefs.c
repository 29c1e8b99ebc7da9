/* test_tracefs.c - the ftrace text line parser and reader.
 *
 * Each format variant (cat trace with and without flags, record-tgid,
 * trace-cmd report, nanosecond timestamps, perf's system:name) is parsed
 * from a literal line and every field is checked; malformed lines must be
 * classified as such, never as events; the reader must count lines, keep
 * the line numbers of malformed ones, and survive an over-long line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "replay/tracefs.h"

static enum ks_tfs_line parse(const char *line, struct ks_tfs_event *ev)
{
	uint64_t lost = 0;

	memset(ev, 0, sizeof(*ev));
	return ks_tfs_parse_line(line, strlen(line), ev, &lost);
}

static void assert_str(const char *s, size_t n, const char *want)
{
	char buf[512];

	assert_true(n < sizeof(buf));
	memcpy(buf, s, n);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void test_cat_trace(void **state)
{
	struct ks_tfs_event ev;

	(void)state;
	assert_int_equal(parse("         kvmtest-335     [000] .....     "
			       "6.600017: kvm_exit: vcpu 0 reason npf rip "
			       "0x1000 info1 0x0000000100000014", &ev),
			 KS_TFS_EVENT);
	assert_str(ev.comm, ev.comm_len, "kvmtest");
	assert_int_equal(ev.tid, 335);
	assert_false(ev.has_tgid);
	assert_int_equal(ev.cpu, 0);
	assert_int_equal(ev.ts, 6600017000ULL);
	assert_str(ev.name, ev.name_len, "kvm_exit");
	assert_str(ev.fields, ev.fields_len,
		   "vcpu 0 reason npf rip 0x1000 info1 0x0000000100000014");
}

static void test_comm_with_dashes_and_spaces(void **state)
{
	struct ks_tfs_event ev;

	(void)state;
	assert_int_equal(parse(" qemu-system-x86-145     [001] d..1.    "
			       "20.433461: kvm_entry: vcpu 0, rip 0xffff", &ev),
			 KS_TFS_EVENT);
	assert_str(ev.comm, ev.comm_len, "qemu-system-x86");
	assert_int_equal(ev.tid, 145);
	assert_int_equal(ev.cpu, 1);
	assert_int_equal(ev.ts, 20433461000ULL);

	assert_int_equal(parse("       CPU 0/KVM-2041  [003] ....  "
			       "123.000001: kvm_entry: vcpu 0", &ev),
			 KS_TFS_EVENT);
	assert_str(ev.comm, ev.comm_len, "CPU 0/KVM");
	assert_int_equal(ev.tid, 2041);
	assert_int_equal(ev.cpu, 3);

	/* A bracket inside the comm is not the cpu column. */
	assert_int_equal(parse("   w[1] x-9-77 [002] .... 1.5: kvm_fpu: load",
			       &ev), KS_TFS_EVENT);
	assert_str(ev.comm, ev.comm_len, "w[1] x-9");
	assert_int_equal(ev.tid, 77);
	assert_int_equal(ev.cpu, 2);
	assert_int_equal(ev.ts, 1500000000ULL);

	assert_int_equal(parse("          <idle>-0       [001] d.h1. "
			       "55.000000: kvm_fpu: unload", &ev), KS_TFS_EVENT);
	assert_str(ev.comm, ev.comm_len, "<idle>");
	assert_int_equal(ev.tid, 0);
}

static void test_record_tgid(void **state)
{
	struct ks_tfs_event ev;

	(void)state;
	assert_int_equal(parse("       CPU 1/KVM-2042  (   2030) [000] d..1. "
			       "  7.000100: kvm_exit: vcpu 1 reason hlt rip 0x1",
			       &ev), KS_TFS_EVENT);
	assert_str(ev.comm, ev.comm_len, "CPU 1/KVM");
	assert_int_equal(ev.tid, 2042);
	assert_true(ev.has_tgid);
	assert_int_equal(ev.tgid, 2030);
	assert_int_equal(ev.ts, 7000100000ULL);

	/* The kernel prints dashes when it has no tgid for the task. */
	assert_int_equal(parse("           <...>-2042  (-------) [000] ..... "
			       "  7.000100: kvm_entry: vcpu 1", &ev),
			 KS_TFS_EVENT);
	assert_str(ev.comm, ev.comm_len, "<...>");
	assert_false(ev.has_tgid);
}

static void test_trace_cmd_report(void **state)
{
	struct ks_tfs_event ev;

	(void)state;
	/* No flags column, padded fields, nanosecond timestamps (-t). */
	assert_int_equal(parse("         kvmtest-335   [000]  6.600017123: "
			       "kvm_exit:             vcpu 0 reason io rip 0x10",
			       &ev), KS_TFS_EVENT);
	assert_str(ev.comm, ev.comm_len, "kvmtest");
	assert_int_equal(ev.ts, 6600017123ULL);
	assert_str(ev.name, ev.name_len, "kvm_exit");
	assert_str(ev.fields, ev.fields_len, "vcpu 0 reason io rip 0x10");

	/* perf script style "system:name:"; trailing CR and spaces. */
	assert_int_equal(parse("qemu-12 [001] 3.25: kvm:kvm_pio: pio_read at "
			       "0x70 size 1 count 1 val 0x0 \r", &ev),
			 KS_TFS_EVENT);
	assert_str(ev.name, ev.name_len, "kvm_pio");
	assert_str(ev.fields, ev.fields_len,
		   "pio_read at 0x70 size 1 count 1 val 0x0");
	assert_int_equal(ev.ts, 3250000000ULL);

	/* perf script's default task column: "COMM TID", no tgid. */
	assert_int_equal(parse("  qemu-system-x86  7358 [000]   254.574760: "
			       "kvm:kvm_exit: vcpu 0 reason io rip 0x10",
			       &ev), KS_TFS_EVENT);
	assert_str(ev.comm, ev.comm_len, "qemu-system-x86");
	assert_int_equal(ev.tid, 7358);
	assert_false(ev.has_tgid);
	assert_str(ev.name, ev.name_len, "kvm_exit");
	assert_int_equal(ev.ts, 254574760000ULL);
	/* -F comm,pid,tid: "COMM PID/TID", the pid standing for the tgid;
	 * a comm with blanks and digits of its own. */
	assert_int_equal(parse("     CPU 1/KVM  7350/7358  [001]   254.5: "
			       "kvm:kvm_entry: vcpu 1", &ev), KS_TFS_EVENT);
	assert_str(ev.comm, ev.comm_len, "CPU 1/KVM");
	assert_int_equal(ev.tid, 7358);
	assert_true(ev.has_tgid);
	assert_int_equal(ev.tgid, 7350);
	/* Numbers with no comm before them, a slash with no pid, or an
	 * ftrace tgid column before perf's task are not tasks. */
	assert_int_equal(parse("7358 [000] 1.0: e: x", &ev), KS_TFS_MALFORMED);
	assert_int_equal(parse("a /7358 [000] 1.0: e: x", &ev),
			 KS_TFS_MALFORMED);
	assert_int_equal(parse("a 12 (12) [000] 1.0: e: x", &ev),
			 KS_TFS_MALFORMED);

	/* Sub-nanosecond digits are dropped, not misread. */
	assert_int_equal(parse("a-1 [000] 1.0000000019: e: x", &ev),
			 KS_TFS_EVENT);
	assert_int_equal(ev.ts, 1000000001ULL);
	/* A counter clock prints a bare integer. */
	assert_int_equal(parse("a-1 [000] 123456: e: x", &ev), KS_TFS_EVENT);
	assert_int_equal(ev.ts, 123456ULL * 1000000000ULL);
	/* An event with no field text. */
	assert_int_equal(parse("a-1 [000] .... 1.0: e:", &ev), KS_TFS_EVENT);
	assert_int_equal(ev.fields_len, 0);
}

static void test_headers_and_lost(void **state)
{
	struct ks_tfs_event ev;
	uint64_t lost = 0;
	const char *l;

	(void)state;
	assert_int_equal(parse("# tracer: nop", &ev), KS_TFS_HEADER);
	assert_int_equal(parse("#           TASK-PID     CPU#  |||||", &ev),
			 KS_TFS_HEADER);
	assert_int_equal(parse("", &ev), KS_TFS_HEADER);
	assert_int_equal(parse("   \t ", &ev), KS_TFS_HEADER);
	assert_int_equal(parse("cpus=2", &ev), KS_TFS_HEADER);
	/* trace-cmd report prints this for a CPU that recorded nothing. */
	assert_int_equal(parse("CPU 1 is empty", &ev), KS_TFS_HEADER);
	assert_int_equal(parse("CPU 12 is empty\r", &ev), KS_TFS_HEADER);
	/* Only that exact line: anything else like it is not a header. */
	assert_int_equal(parse("CPU is empty", &ev), KS_TFS_MALFORMED);
	assert_int_equal(parse("CPU 1 is empty now", &ev), KS_TFS_MALFORMED);
	assert_int_equal(parse("CPU 1x is empty", &ev), KS_TFS_MALFORMED);
	l = "CPU:1 [LOST 1234 EVENTS]";
	assert_int_equal(ks_tfs_parse_line(l, strlen(l), &ev, &lost),
			 KS_TFS_LOST);
	assert_int_equal(lost, 1234);
	l = "CPU:0 [LOST EVENTS]";
	assert_int_equal(ks_tfs_parse_line(l, strlen(l), &ev, &lost),
			 KS_TFS_LOST);
	assert_int_equal(lost, 0);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"garbage",
		"kvmtest-335 6.600017: kvm_exit: no cpu column",
		"kvmtest [000] 6.6: kvm_exit: no pid",
		"kvmtest-335 [000] .....",
		"kvmtest-335 [000] ..... 6.6 kvm_exit: no colon after ts",
		"kvmtest-335 [000] ..... 6.: kvm_exit: empty fraction",
		"kvmtest-335 [000] ..... 6.6: : empty name",
		"kvmtest-335 [000] ..... 6.6: kvm_exit no colon",
		"kvmtest-335 [000] toolongflags 6.6: kvm_exit: x",
		"kvmtest-99999999999 [000] 6.6: kvm_exit: pid too long",
		"kvmtest-335 [99999999999] 6.6: kvm_exit: cpu too long",
		"kvmtest-335 [0x] 6.6: kvm_exit: cpu not decimal",
		"kvmtest-335 (abc) [000] 6.6: kvm_exit: tgid not a number",
		"-335 [000] 6.6: kvm_exit: empty comm",
		"kvmtest-335 [000]6.6: kvm_exit: no space after cpu",
		"kvmtest-335 [000] 99999999999.5: kvm_exit: seconds overflow",
		"CPU:1 something else",
	};
	static const char nul[] = "a-1 [000] 1.0: kvm_fpu: lo\0ad";
	struct ks_tfs_event ev;
	uint64_t lost;

	(void)state;
	/* A NUL byte anywhere makes the line binary, not text. */
	assert_int_equal(ks_tfs_parse_line(nul, sizeof(nul) - 1, &ev, &lost),
			 KS_TFS_MALFORMED);
	assert_int_equal(ks_tfs_parse_line(nul, 26, &ev, &lost), KS_TFS_EVENT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum ks_tfs_line k = parse(bad[i], &ev);

		if (k != KS_TFS_MALFORMED)
			fail_msg("accepted as %d: '%s'", k, bad[i]);
	}
}

static const char sample[] =
	"# tracer: nop\n"
	"#\n"
	"  a-1 [000] ..... 1.000001: kvm_exit: vcpu 0 reason io rip 0x1\n"
	"this line is junk\n"
	"  a-1 [000] ..... 1.000002: kvm_entry: vcpu 0, rip 0x3\r\n"
	"CPU:0 [LOST 7 EVENTS]\n"
	"\n"
	"more junk [1]\n"
	"  b-2 [001] 2.5: kvm_fpu: load";	/* no final newline */

static void test_reader_mem(void **state)
{
	struct ks_tfs_reader *r = ks_tfs_reader__new_mem(sample, strlen(sample));
	const struct ks_tfs_stats *st;
	struct ks_tfs_event ev;
	struct ks_err err;
	uint64_t lines[3];
	int n = 0, rc;

	(void)state;
	assert_non_null(r);
	while ((rc = ks_tfs_reader__next(r, &ev, &err)) > 0) {
		assert_true(n < 3);
		lines[n++] = ev.lineno;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 3);
	assert_int_equal(lines[0], 3);
	assert_int_equal(lines[1], 5);
	assert_int_equal(lines[2], 9);
	assert_str(ev.comm, ev.comm_len, "b");
	st = ks_tfs_reader__stats(r);
	assert_int_equal(st->lines, 9);
	assert_int_equal(st->events, 3);
	assert_int_equal(st->headers, 3);
	assert_int_equal(st->malformed, 2);
	assert_int_equal(st->nbad, 2);
	assert_int_equal(st->bad[0], 4);
	assert_int_equal(st->bad[1], 8);
	assert_int_equal(st->lost_notices, 1);
	assert_int_equal(st->lost_events, 7);
	ks_tfs_reader__free(r);

	/* A NUL byte inside a line, through the reader. */
	{
		static const char nul[] = "a-1 [000] 1.0: e: x\n"
					  "a-1 [000] 2.0: e: \0y\n"
					  "a-1 [000] 3.0: e: z\n";

		r = ks_tfs_reader__new_mem(nul, sizeof(nul) - 1);
		n = 0;
		while (ks_tfs_reader__next(r, &ev, &err) > 0)
			n++;
		assert_int_equal(n, 2);
		assert_int_equal(ks_tfs_reader__stats(r)->bad[0], 2);
		ks_tfs_reader__free(r);
	}

	/* Empty input. */
	r = ks_tfs_reader__new_mem("", 0);
	assert_int_equal(ks_tfs_reader__next(r, &ev, &err), 0);
	assert_int_equal(ks_tfs_reader__stats(r)->lines, 0);
	ks_tfs_reader__free(r);
}

/* Reading through a file descriptor gives the same events, and a line
 * longer than the reader accepts is one malformed line, not the end. */
static void test_reader_fd_long_line(void **state)
{
	char path[] = "/tmp/test_tracefs.XXXXXX";
	int fd = mkstemp(path);
	size_t longlen = KS_TFS_MAXLINE * 2 + 123;
	char *junk = malloc(longlen);
	struct ks_tfs_reader *r;
	struct ks_tfs_event ev;
	struct ks_err err;
	int n = 0, rc;
	FILE *f;

	(void)state;
	assert_true(fd >= 0 && junk);
	memset(junk, 'x', longlen);
	f = fdopen(fd, "w");
	fputs("  a-1 [000] 1.0: kvm_fpu: load\n", f);
	fwrite(junk, 1, longlen, f);
	fputs("\n  a-1 [000] 2.0: kvm_fpu: unload\n", f);
	for (int i = 0; i < 100000; i++)
		fprintf(f, "  a-%d [000] %d.%06d: kvm_fpu: load\n", i, i / 1000,
			i % 1000);
	fclose(f);
	fd = open(path, 0);
	unlink(path);
	r = ks_tfs_reader__new_fd(fd);
	while ((rc = ks_tfs_reader__next(r, &ev, &err)) > 0) {
		if (n == 1)
			assert_int_equal(ev.lineno, 3);
		if (n >= 2) {
			/* Lines spanning refills come out whole. */
			assert_int_equal(ev.tid, (uint32_t)(n - 2));
			assert_int_equal(ev.ts, (uint64_t)(n - 2) / 1000 *
						1000000000ULL +
						(uint64_t)(n - 2) % 1000 * 1000);
		}
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 100002);
	assert_int_equal(ks_tfs_reader__stats(r)->malformed, 1);
	assert_int_equal(ks_tfs_reader__stats(r)->bad[0], 2);
	assert_int_equal(ks_tfs_reader__stats(r)->lines, 100003);
	ks_tfs_reader__free(r);
	close(fd);
	free(junk);
}

/* The real captures parse without a single malformed line. */
static void test_real_capture(void **state)
{
	const char *path = "tests/data/kvm-trace-all-events.txt";
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t events = 0, lines = 0;
	struct ks_tfs_event ev;

	(void)state;
	if (!f)
		skip();
	while (fgets(line, sizeof(line), f)) {
		enum ks_tfs_line k;

		lines++;
		line[strcspn(line, "\n")] = '\0';
		k = parse(line, &ev);
		assert_true(k == KS_TFS_EVENT || (line[0] == '#' &&
						  k == KS_TFS_HEADER));
		events += k == KS_TFS_EVENT;
	}
	fclose(f);
	assert_int_equal(lines, 7513);
	assert_int_equal(events, 7501);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cat_trace),
		cmocka_unit_test(test_comm_with_dashes_and_spaces),
		cmocka_unit_test(test_record_tgid),
		cmocka_unit_test(test_trace_cmd_report),
		cmocka_unit_test(test_headers_and_lost),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_reader_mem),
		cmocka_unit_test(test_reader_fd_long_line),
		cmocka_unit_test(test_real_capture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
