/* test_tracefs.c - the ftrace text line parser and reader.
 *
 * Each format variant (cat trace with and without flags, record-tgid,
 * trace-cmd report, nanosecond timestamps, perf's system:name) is parsed
 * from a literal line and every field is checked; malformed lines must be
 * classified as such, never as events; the reader must count lines, keep
 * the line numbers of malformed ones, and survive an over-long line.  The
 * reader's prefix cache must give the answer of each line parsed alone,
 * for crafted near-misses and for mutations of a real capture.
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

/* ---- the reader's prefix cache ---- */

struct want {
	enum ks_tfs_line kind;
	struct ks_tfs_event ev;
	const char *line;
};

static void assert_same_event(const struct ks_tfs_event *a,
			      const struct ks_tfs_event *b, const char *line)
{
	if (a->comm_len != b->comm_len || memcmp(a->comm, b->comm, a->comm_len) ||
	    a->tid != b->tid || a->has_tgid != b->has_tgid ||
	    (a->has_tgid && a->tgid != b->tgid) || a->cpu != b->cpu ||
	    a->ts != b->ts || a->name_len != b->name_len ||
	    memcmp(a->name, b->name, a->name_len) ||
	    a->fields_len != b->fields_len ||
	    memcmp(a->fields, b->fields, a->fields_len))
		fail_msg("the reader and the line parser differ on: %s", line);
}

/* Reads buf (n lines at line[i]) with a memory reader and checks every
 * event and count against ks_tfs_parse_line() of each line alone. */
static void check_reader_same(const char *buf, size_t len,
			      const char *const *line, size_t n)
{
	struct ks_tfs_reader *r = ks_tfs_reader__new_mem(buf, len);
	struct want *w = calloc(n, sizeof(*w));
	const struct ks_tfs_stats *st;
	struct ks_tfs_event ev;
	struct ks_err err;
	uint64_t malformed = 0, headers = 0, events = 0, seen = 0;
	int rc;

	assert_non_null(r);
	assert_non_null(w);
	for (size_t i = 0; i < n; i++) {
		uint64_t lost;

		w[i].line = line[i];
		w[i].kind = ks_tfs_parse_line(line[i], strlen(line[i]),
					      &w[i].ev, &lost);
		malformed += w[i].kind == KS_TFS_MALFORMED;
		headers += w[i].kind == KS_TFS_HEADER;
		events += w[i].kind == KS_TFS_EVENT;
	}
	while ((rc = ks_tfs_reader__next(r, &ev, &err)) > 0) {
		const struct want *x;

		assert_true(ev.lineno >= 1 && ev.lineno <= n);
		x = &w[ev.lineno - 1];
		if (x->kind != KS_TFS_EVENT)
			fail_msg("the reader found an event in: %s", x->line);
		assert_same_event(&ev, &x->ev, x->line);
		seen++;
	}
	assert_int_equal(rc, 0);
	st = ks_tfs_reader__stats(r);
	assert_int_equal(seen, events);
	assert_int_equal(st->events, events);
	assert_int_equal(st->malformed, malformed);
	assert_int_equal(st->headers, headers);
	ks_tfs_reader__free(r);
	free(w);
}

/* Joins lines with newlines into a new buffer. */
static char *join(const char *const *line, size_t n, size_t *len)
{
	size_t total = 0;
	char *buf, *p;

	for (size_t i = 0; i < n; i++)
		total += strlen(line[i]) + 1;
	p = buf = malloc(total + 1);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(line[i]);

		memcpy(p, line[i], k);
		p += k;
		*p++ = '\n';
	}
	*p = '\0';
	*len = total;
	return buf;
}

#define P "         kvmtest-335     [000] .....     "
#define T "qemu-system-x86-145   [001]  "

/* Lines that start with the bytes of an earlier event's prefix (or its
 * name) but go on otherwise: the cache must give the full scan's answer,
 * falling back to it where the rest reads another way. */
static void test_prefix_cache_crafted(void **state)
{
	static const char *const lines[] = {
		P "100.000500: kvm_exit: vcpu 0 reason io rip 0x1",
		P "100.000501: kvm_exit: vcpu 0 reason io rip 0x2",
		P "100.000502: kvm_exitx: vcpu 0",
		P "100.000503: kvm_exit:x vcpu",
		P "100.000504: kvm_exit:x: vcpu",
		P "100.000505: kvm_entry: vcpu 0, rip 0x1",
		P "100.000506:kvm_exit: vcpu 0 reason io rip 0x3",
		P "100.000507: kvm:kvm_exit: vcpu 0",
		P "100.000508: kvm:kvm_exit: vcpu 1 and more text after it",
		P "100.000509: kvm:kvm_exit:",
		P "100.000510: kvm_exit:",
		P "1.2: kvm_exit: short",
		P "100.00050800001: kvm_exit: eleven fraction digits here",
		P "12345678.1: kvm_exit: eight digits of seconds here",
		P "1234567890.123456789: kvm_exit: ten digits of seconds",
		P "12345678901.1: kvm_exit: eleven digits of seconds",
		P "100.: kvm_exit: no fraction digits after the dot",
		P "100.5 kvm_exit: no colon after the timestamp",
		P "abc: kvm_exit: not a timestamp at all, this",
		P "7",
		P,
		P "100.1: kvm_exit: trailing blanks   \r",
		P "100.000511: kvm_apic_accept_irq: apicid 0 vec 3 (Fixed|edge)",
		P "100.000512: kvm_apic_accept_irq: apicid 1 vec 4 (Fixed|edge)",
		P "100.000513:   kvm_exit:   many blanks around the name",
		"         kvmtest-335     [000] d..1.     100.6: kvm_exit: flags",
		"         kvmtest-335     [001] .....     100.7: kvm_exit: cpu 1",
		T "6.600017: kvm_exit: vcpu 0 reason io rip 0x1",
		T "6.600018: kvm_exit: vcpu 0 reason io rip 0x2",
		T "6.600019 6.7: kvm_exit: a flags word that looks like time",
		T "6.600020 6.8 kvm_exit: neither",
		"qemu-system-x86-2030 (   2030) [000] .... 1.05: kvm_set_irq: gsi",
		"qemu-system-x86-2030 (   2030) [000] .... 1.06: kvm_set_irq: gsi",
		"qemu-system-x86-2030 (   2031) [000] .... 1.07: kvm_set_irq: gsi",
		"qemu-system-x86 145 [001] 6.600017: kvm:kvm_exit: vcpu 0 perf",
		"qemu-system-x86 145 [001] 6.600018: kvm:kvm_exit: vcpu 0 perf",
		"qemu-system-x86 145/146 [001] 6.600019: kvm:kvm_exit: vcpu 0",
		"   a [1] b-12       [003] .....   100.1: kvm_exit: bracket comm",
		"   a [1] b-12       [003] .....   100.2: kvm_exit: bracket comm",
		"# a header line that is long enough to hash as a prefix....",
		"CPU:1 [LOST 3 EVENTS] and a long tail so it is hashable too",
		"cpus=2",
		"",
	};

	size_t n = sizeof(lines) / sizeof(lines[0]), len;
	char *buf = join(lines, n, &len);

	(void)state;
	check_reader_same(buf, len, lines, n);
	free(buf);
}

/* The real capture, then each of its first lines with one byte changed
 * (to a separator, digit, letter or high byte), interleaved with the
 * originals so that the cache holds their prefixes. */
static void test_prefix_cache_mutated(void **state)
{
	static const char subst[] = " :.[]()-/\t\r09afAFz_\x80\xff";
	FILE *f = fopen("tests/data/kvm-trace-all-events.txt", "r");
	enum { NORIG = 2000, NMUT = 4 };
	char **lines = calloc(NORIG * (NMUT + 1), sizeof(*lines));
	uint32_t seed = 12345;
	size_t n = 0, len;
	char line[1024], *buf;

	(void)state;
	if (!f)
		skip();
	assert_non_null(lines);
	for (size_t k = 0; k < NORIG && fgets(line, sizeof(line), f); k++) {
		size_t l;

		line[strcspn(line, "\n")] = '\0';
		l = strlen(line);
		lines[n++] = strdup(line);
		for (int m = 0; m < NMUT && l; m++) {
			char *c = strdup(line);

			seed = seed * 1103515245u + 12345u;
			c[(seed >> 8) % (l < 90 ? l : 90)] =
				subst[(seed >> 20) % (sizeof(subst) - 1)];
			lines[n++] = c;
		}
	}
	fclose(f);
	buf = join((const char *const *)lines, n, &len);
	check_reader_same(buf, len, (const char *const *)lines, n);
	free(buf);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
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
		cmocka_unit_test(test_prefix_cache_crafted),
		cmocka_unit_test(test_prefix_cache_mutated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
