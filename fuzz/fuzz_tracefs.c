/* fuzz_tracefs.c - libFuzzer target for the trace reader and translator.
 *
 * Input: any bytes, read as a tracefs text trace and translated into
 * records.  Besides "no crash, no leak, no UB", it checks what must hold
 * for any input: every line is classified exactly once (events + headers
 * + malformed + LOST notices = lines), every string an event hands out
 * lies inside the input, every record has a known metric and the
 * identity fields, and each event is what ks_tfs_parse_line() makes of its
 * line alone (the reader's prefix cache must not change an answer).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "replay/kvmtrace.h"
#include "replay/tracefs.h"

static const uint8_t *lo, *hi;

static void inside(const char *s, size_t n)
{
	if (n && ((const uint8_t *)s < lo || (const uint8_t *)s + n > hi))
		abort();
}

/* The line numbered lineno (1-based) of the input: its start and length. */
static const char *nth_line(uint64_t lineno, size_t *len)
{
	const uint8_t *p = lo, *nl;

	while (--lineno && p < hi) {
		nl = memchr(p, '\n', (size_t)(hi - p));
		p = nl ? nl + 1 : hi;
	}
	nl = memchr(p, '\n', (size_t)(hi - p));
	*len = (size_t)((nl ? nl : hi) - p);
	return (const char *)p;
}

static bool same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && !memcmp(a, b, an);
}

/* ev against its line parsed alone. */
static void check_alone(const struct ks_tfs_event *ev)
{
	struct ks_tfs_event one;
	uint64_t lost;
	size_t len;
	const char *line = nth_line(ev->lineno, &len);

	if (ks_tfs_parse_line(line, len, &one, &lost) != KS_TFS_EVENT ||
	    !same(ev->comm, ev->comm_len, one.comm, one.comm_len) ||
	    ev->tid != one.tid || ev->has_tgid != one.has_tgid ||
	    (ev->has_tgid && ev->tgid != one.tgid) || ev->cpu != one.cpu ||
	    ev->ts != one.ts || !same(ev->name, ev->name_len, one.name,
				      one.name_len) ||
	    !same(ev->fields, ev->fields_len, one.fields, one.fields_len))
		abort();
}

static int sink(void *ctx, const struct ks_record *r)
{
	uint64_t *n = ctx;

	if (r->metric >= KS_M__COUNT || !ks_record_has(r, KS_F_VM) ||
	    !ks_record_has(r, KS_F_PID) || r->value != 1)
		abort();
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_tfs_reader *r = ks_tfs_reader__new_mem(data, size);
	uint64_t nrec = 0;
	struct ks_kvmtrace *kt = ks_kvmtrace__new(sink, &nrec);
	const struct ks_tfs_stats *st;
	struct ks_tfs_event ev;
	struct ks_err err;

	if (!r || !kt)
		abort();
	lo = data;
	hi = data + size;
	while (ks_tfs_reader__next(r, &ev, &err) > 0) {
		inside(ev.comm, ev.comm_len);
		inside(ev.name, ev.name_len);
		inside(ev.fields, ev.fields_len);
		if (!ev.name_len)
			abort();
		check_alone(&ev);
		if (ks_kvmtrace__event(kt, &ev))
			abort();
	}
	if (ks_kvmtrace__finish(kt))
		abort();
	st = ks_tfs_reader__stats(r);
	if (st->events + st->headers + st->malformed + st->lost_notices !=
	    st->lines)
		abort();
	if (ks_kvmtrace__stats(kt)->records != nrec)
		abort();
	ks_kvmtrace__free(kt);
	ks_tfs_reader__free(r);
	ks_sym_reset();
	return 0;
}
