/* tracefs.c - scanning ftrace text lines into events.
 *
 * A line is anchored on its "[CPU]" column: the comm before it may contain
 * anything (spaces, dashes, brackets), and the fields after the event name
 * may too, but "-TID", an optional "(TGID)", then "[digits]" is a shape a
 * comm is very unlikely to end with.  From there the line is read left to
 * right: an optional flags word, the timestamp ending in ':', the event
 * name ending in ':' (perhaps "system:name"), and the field text.
 *
 * The reader hands out lines from a buffer refilled with read(2), so the
 * cost per line is a memchr for the newline plus the scan itself, and it
 * keeps the prefixes of recent events (below) so that a line from the same
 * thread, CPU and flags as an earlier one is read from its timestamp on.
 */
#include "replay/tracefs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/bytes.h"

/* Reads of 256 KiB: the chunk stays in the L2 cache while it is parsed.
 * Mapping the file instead was three times slower in CPU time on the
 * bench host (a page walk per first touch, the data fetched from memory
 * twice), and larger reads measured no better. */
#define CHUNK (1u << 18)

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Identifier bytes: [A-Za-z0-9_], looked up (four ranges per byte cost
 * more than the rest of an event name's scan). */
static const bool ident[256] = {
	['0'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['A'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1,
	['_'] = 1,
	['a'] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1,
};

static inline bool is_ident(char c)
{
	return ident[(unsigned char)c];
}

/* The runs of blanks that pad ftrace's columns (up to 16 before a comm,
 * 5 and more around the flags) are skipped 8 bytes at a time: a byte
 * loop there was a third of the line scan. */
#define SPACES8 0x2020202020202020ULL
#define WORDS_LE KS_WORDS_LE

#define load8 ks_load8

/* The first byte at or after p that is not a blank (or end). */
static const char *skip_space(const char *p, const char *end)
{
	while (WORDS_LE && end - p >= 8) {
		uint64_t v = load8(p) ^ SPACES8;

		if (v) {
			p += __builtin_ctzll(v) / 8;
			break;
		}
		p += 8;
	}
	while (p < end && is_space(*p))
		p++;
	return p;
}

/* The start of the blanks that end just before p (p if none), not going
 * below start. */
static const char *skip_space_back(const char *start, const char *p)
{
	while (WORDS_LE && p - start >= 8) {
		uint64_t v = load8(p - 8) ^ SPACES8;

		if (v) {
			p -= __builtin_clzll(v) / 8;
			break;
		}
		p -= 8;
	}
	while (p > start && is_space(p[-1]))
		p--;
	return p;
}

/* Parses decimal digits in [p, end) into *v (at most 10 digits, so it
 * fits 32 bits after the check).  Returns the end of the digits, or NULL
 * if there are none or too many. */
static const char *parse_u32(const char *p, const char *end, uint32_t *v)
{
	uint64_t x = 0;
	const char *s = p;

	while (p < end && is_digit(*p) && p - s < 11)
		x = x * 10 + (uint64_t)(*p++ - '0');
	if (p == s || p - s > 10 || x > UINT32_MAX)
		return NULL;
	*v = (uint32_t)x;
	return p;
}

static const uint64_t ts_scale[10] = {
	1000000000ULL, 100000000ULL, 10000000ULL, 1000000ULL,
	100000ULL, 10000ULL, 1000ULL, 100ULL, 10ULL, 1ULL,
};

static const char *parse_ts_bytes(const char *p, const char *end,
				  uint64_t *ns);

/* Parses "SECS[.FRAC]" up to ':' into ns.  Returns the position after
 * the ':' or NULL.  The usual timestamp (up to 7 digits of seconds, 1 to
 * 7 of fraction, room after it) is read 8 bytes at a time; anything else
 * byte by byte, with the same answer. */
static const char *parse_ts(const char *p, const char *end, uint64_t *ns)
{
	uint64_t secs, frac = 0;
	int n, nfrac = 0;

	if (!WORDS_LE || end - p < 17)
		return parse_ts_bytes(p, end, ns);
	n = ks_swar_ndigits(load8(p));
	if (!n || n == 8)
		return n ? parse_ts_bytes(p, end, ns) : NULL;
	secs = ks_swar_digits_value(load8(p), n);
	p += n;
	if (*p == '.') {
		nfrac = ks_swar_ndigits(load8(++p));
		if (!nfrac || nfrac == 8)
			return nfrac ? parse_ts_bytes(p - n - 1, end, ns) : NULL;
		frac = ks_swar_digits_value(load8(p), nfrac);
		p += nfrac;
	}
	if (*p != ':')
		return NULL;
	*ns = secs * 1000000000ULL + frac * ts_scale[nfrac];
	return p + 1;
}

static const char *parse_ts_bytes(const char *p, const char *end,
				  uint64_t *ns)
{
	uint64_t secs = 0, frac = 0;
	const char *s = p;
	int nfrac = 0;

	while (p < end && is_digit(*p) && p - s < 11)
		secs = secs * 10 + (uint64_t)(*p++ - '0');
	if (p == s || p - s > 10)
		return NULL;
	if (p < end && *p == '.') {
		s = ++p;
		while (p < end && is_digit(*p)) {
			/* Digits below a nanosecond carry no information. */
			if (nfrac < 9) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				nfrac++;
			}
			p++;
		}
		if (p == s)
			return NULL;
	}
	if (p >= end || *p != ':')
		return NULL;
	*ns = secs * 1000000000ULL + frac * ts_scale[nfrac];
	return p + 1;
}

/* Reads the "(TGID)" column that ends at *pp (just after its ')'), as
 * record-tgid prints it: digits, or dashes when the tgid is unknown.
 * Moves *pp to the text before it; false if it is neither. */
static bool match_tgid(const char *start, const char **pp,
		       struct ks_tfs_event *ev)
{
	const char *close = *pp - 1, *p = close, *d;
	bool dashes = true;
	uint32_t v;

	while (p > start && p[-1] != '(')
		p--;
	if (p == start)
		return false;
	d = p;
	while (d < close && is_space(*d))
		d++;
	for (const char *c = d; c < close; c++)
		if (*c != '-')
			dashes = false;
	if (!dashes || d == close) {
		if (parse_u32(d, close, &v) != close)
			return false;
		ev->tgid = v;
		ev->has_tgid = true;
	}
	p--;	/* the '(' */
	*pp = skip_space_back(start, p);
	return true;
}

/* perf script's task columns, "COMM TID" (its default) or "COMM PID/TID"
 * (-F comm,pid,tid), where the digits [d, p) end the task text.  A blank
 * must part the comm from the numbers, which is what tells them from an
 * ftrace comm that merely ends in digits. */
static bool match_perf_task(const char *start, const char *d, const char *p,
			    struct ks_tfs_event *ev)
{
	const char *c = d;
	uint32_t tid, pid;

	if (parse_u32(d, p, &tid) != p)
		return false;
	if (c[-1] == '/') {
		const char *s = c - 1;

		while (s > start && is_digit(s[-1]))
			s--;
		if (s == c - 1 || parse_u32(s, c - 1, &pid) != c - 1)
			return false;
		ev->tgid = pid;
		ev->has_tgid = true;
		c = s;
	}
	if (c <= start || !is_space(c[-1]))
		return false;
	c = skip_space_back(start, c);
	if (c == start)
		return false;
	ev->tid = tid;
	ev->comm = start;
	ev->comm_len = (size_t)(c - start);
	return true;
}

/* Matches "COMM-TID [(TGID)] " ending just before the '[' at q.  Fills
 * comm, tid and tgid; returns false if the text before q has another
 * shape. */
static bool match_task(const char *start, const char *q,
		       struct ks_tfs_event *ev)
{
	const char *p = skip_space_back(start, q);
	const char *d;
	uint32_t v;

	ev->has_tgid = false;
	if (p > start && p[-1] == ')' && !match_tgid(start, &p, ev))
		return false;
	d = p;
	while (d > start && is_digit(d[-1]))
		d--;
	if (d == p || d - 1 <= start)
		return false;
	if (d[-1] != '-')
		return !ev->has_tgid && match_perf_task(start, d, p, ev);
	if (parse_u32(d, p, &v) != p)
		return false;
	ev->tid = v;
	ev->comm = start;
	ev->comm_len = (size_t)(d - 1 - start);
	return true;
}

/* Finds the "[CPU]" column and the task before it.  Returns the position
 * after the ']' or NULL. */
static const char *find_cpu(const char *start, const char *end,
			    struct ks_tfs_event *ev)
{
	const char *q = start;

	while ((q = memchr(q, '[', (size_t)(end - q)))) {
		const char *c = parse_u32(q + 1, end, &ev->cpu);

		if (c && c < end && *c == ']' &&
		    (c + 1 == end || is_space(c[1])) && match_task(start, q, ev))
			return c + 1;
		q++;
	}
	return NULL;
}

/* After the timestamp's ':': NAME: FIELDS. */
static bool parse_name(const char *p, const char *end, struct ks_tfs_event *ev)
{
	const char *tok;

	p = skip_space(p, end);
	tok = p;
	while (p < end && is_ident(*p))
		p++;
	if (p == tok || p >= end || *p != ':')
		return false;
	if (p + 1 < end && is_ident(p[1])) {
		/* "system:name:" as perf prints it. */
		tok = ++p;
		while (p < end && is_ident(*p))
			p++;
		if (p >= end || *p != ':')
			return false;
	}
	ev->name = tok;
	ev->name_len = (size_t)(p - tok);
	p = skip_space(p + 1, end);
	ev->fields = p;
	ev->fields_len = (size_t)(end - p);
	return true;
}

/* After the cpu column: [FLAGS] TS: NAME: FIELDS.  ts[0] is set to where
 * the timestamp starts, ts[1] to just past its ':'. */
static bool parse_rest(const char *p, const char *end, struct ks_tfs_event *ev,
		       const char *ts[2])
{
	const char *tok, *after;

	p = skip_space(p, end);
	after = parse_ts(p, end, &ev->ts);
	if (!after) {
		/* Not a timestamp: a flags word ("d..1.", "....") first. */
		tok = p;
		while (p < end && !is_space(*p))
			p++;
		if (p == tok || p - tok > 8)
			return false;
		p = skip_space(p, end);
		after = parse_ts(p, end, &ev->ts);
		if (!after)
			return false;
	}
	ts[0] = p;
	ts[1] = after;
	return parse_name(after, end, ev);
}

/* ---- the prefix cache ----
 *
 * Every test the scan makes before the timestamp (the header and notice
 * shapes, the "[CPU]" column and the task before it, the flags word)
 * reads only the bytes before the timestamp, and those repeat: one
 * thread on one CPU prints the same prefix line after line.  A line that
 * starts with the very bytes of an earlier event's prefix therefore has
 * that event's task and cpu, and only its timestamp, name and fields are
 * read.  The prefixes are kept in a small table hashed on the first
 * PREFIX_MIN bytes (all of them inside the prefix). */
#define NPREFIX 16
#define PREFIX_MIN 24
#define PREFIX_MAX 80

struct ks_tfs_prefix {
	uint8_t len;		/* bytes before the timestamp; 0: empty */
	uint8_t comm_off, comm_len;
	bool has_tgid;
	uint32_t tid, tgid, cpu;
	char text[PREFIX_MAX];
	/* The text from the timestamp's ':' to the name's (" kvm_exit:",
	 * " kvm:kvm_exit:"), 16 bytes at most, in two words and their masks:
	 * the event name too is read the same way line after line. */
	uint8_t name_n;		/* 0: none kept */
	uint8_t name_off, name_len;
	bool name_sys;		/* "system:name:", which reads no further */
	uint64_t name_w[2], name_m[2];
};

static unsigned int prefix_slot(const char *line)
{
	uint64_t h = load8(line) ^ (load8(line + 8) << 21 | load8(line + 8) >> 43) ^
		     (load8(line + 16) << 42 | load8(line + 16) >> 22);

	return (unsigned int)((h * 0x9e3779b97f4a7c15ULL) >> 60);
}

/* Keeps the text [after, the ':' after ev's name) in e, when short. */
static void prefix_keep_name(struct ks_tfs_prefix *e, const char *after,
			     const struct ks_tfs_event *ev)
{
	const char *colon = ev->name + ev->name_len;
	size_t n = (size_t)(colon + 1 - after);
	char w[16] = { 0 };

	e->name_n = 0;
	if (!WORDS_LE || n > sizeof(w))
		return;
	memcpy(w, after, n);
	memcpy(e->name_w, w, sizeof(w));
	memset(w, 0, sizeof(w));
	memset(w, 0xff, n);
	memcpy(e->name_m, w, sizeof(w));
	e->name_n = (uint8_t)n;
	e->name_off = (uint8_t)(ev->name - after);
	e->name_len = (uint8_t)ev->name_len;
	e->name_sys = ev->name > after && ev->name[-1] == ':';
}

/* The name and fields after the timestamp (after: past its ':') through
 * e's kept name text, else by the full scan. */
static bool prefix_name(const struct ks_tfs_prefix *e, const char *after,
			const char *end, struct ks_tfs_event *ev)
{
	const char *p = after + e->name_n;

	if (!e->name_n || end - after < 17 ||
	    ((load8(after) ^ e->name_w[0]) & e->name_m[0]) ||
	    ((load8(after + 8) ^ e->name_w[1]) & e->name_m[1]) ||
	    (!e->name_sys && is_ident(*p)))
		return parse_name(after, end, ev);
	ev->name = after + e->name_off;
	ev->name_len = e->name_len;
	p = skip_space(p, end);
	ev->fields = p;
	ev->fields_len = (size_t)(end - p);
	return true;
}

/* Keeps the prefix of the event just parsed from line. */
static void prefix_keep(struct ks_tfs_prefix *pc, const char *line,
			const char *ts_at, const char *after,
			const struct ks_tfs_event *ev)
{
	size_t n = (size_t)(ts_at - line);
	struct ks_tfs_prefix *e;

	if (n < PREFIX_MIN || n > PREFIX_MAX)
		return;
	e = &pc[prefix_slot(line)];
	e->len = (uint8_t)n;
	e->comm_off = (uint8_t)(ev->comm - line);
	e->comm_len = (uint8_t)ev->comm_len;
	e->has_tgid = ev->has_tgid;
	e->tid = ev->tid;
	e->tgid = ev->tgid;
	e->cpu = ev->cpu;
	memcpy(e->text, line, n);
	prefix_keep_name(e, after, ev);
}

/* The line [line, end) read through a kept prefix: KS_TFS_EVENT, or
 * KS_TFS_MALFORMED where the full scan would find the same, or -1 when
 * no prefix matches or the timestamp does not parse (the full scan then
 * decides: what follows may be read another way). */
static int prefix_parse(const struct ks_tfs_prefix *pc, const char *line,
			const char *end, struct ks_tfs_event *ev)
{
	const struct ks_tfs_prefix *e;
	const char *after;

	if (end - line <= PREFIX_MIN)
		return -1;
	e = &pc[prefix_slot(line)];
	if (!e->len || end - line <= e->len ||
	    !ks_bytes_eq(line, e->text, e->len))
		return -1;
	after = parse_ts(line + e->len, end, &ev->ts);
	if (!after)
		return -1;
	if (!prefix_name(e, after, end, ev))
		return KS_TFS_MALFORMED;
	ev->comm = line + e->comm_off;
	ev->comm_len = e->comm_len;
	ev->has_tgid = e->has_tgid;
	ev->tid = e->tid;
	ev->tgid = e->tgid;
	ev->cpu = e->cpu;
	return KS_TFS_EVENT;
}

static enum ks_tfs_line parse_lost(const char *p, const char *end,
				   uint64_t *lost)
{
	uint64_t n = 0;
	const char *b = memchr(p, '[', (size_t)(end - p));

	if (!b)
		return KS_TFS_MALFORMED;
	if (!memmem(b, (size_t)(end - b), "LOST", 4) &&
	    !memmem(b, (size_t)(end - b), "DROPPED", 7))
		return KS_TFS_MALFORMED;
	while (b < end && !is_digit(*b) && *b != ']')
		b++;
	while (b < end && is_digit(*b) && n < UINT64_MAX / 10)
		n = n * 10 + (uint64_t)(*b++ - '0');
	*lost = n;
	return KS_TFS_LOST;
}

/* trace-cmd report's "CPU N is empty" for a CPU that recorded nothing. */
static bool cpu_empty(const char *p, const char *end)
{
	uint32_t cpu;

	if (end - p < 4 || memcmp(p, "CPU ", 4))
		return false;
	p = parse_u32(p + 4, end, &cpu);
	return p && end - p == 9 && !memcmp(p, " is empty", 9);
}

/* nul_check: whether the line may hold a NUL byte (the reader knows when
 * its whole buffer has none, and skips the extra pass).  pc: the reader's
 * prefix cache, or NULL. */
static enum ks_tfs_line parse_line(const char *line, size_t len,
				   struct ks_tfs_event *ev, uint64_t *lost,
				   bool nul_check, struct ks_tfs_prefix *pc)
{
	const char *end = line + len;
	const char *p, *after, *ts[2];
	int k;

	while (end > line && (is_space(end[-1]) || end[-1] == '\r'))
		end--;
	if (pc && !nul_check && (k = prefix_parse(pc, line, end, ev)) >= 0)
		return (enum ks_tfs_line)k;
	p = skip_space(line, end);
	if (p == end || *p == '#')
		return KS_TFS_HEADER;
	/* Text has no NUL bytes; a line with one would hand out strings
	 * that C string functions read differently from their length. */
	if (nul_check && memchr(p, '\0', (size_t)(end - p)))
		return KS_TFS_MALFORMED;
	if ((end - p >= 5 && !memcmp(p, "cpus=", 5)) || cpu_empty(p, end))
		return KS_TFS_HEADER;
	if (end - p >= 4 && !memcmp(p, "CPU:", 4))
		return parse_lost(p, end, lost);
	after = find_cpu(p, end, ev);
	if (!after || !parse_rest(after, end, ev, ts))
		return KS_TFS_MALFORMED;
	if (pc)
		prefix_keep(pc, line, ts[0], ts[1], ev);
	return KS_TFS_EVENT;
}

enum ks_tfs_line ks_tfs_parse_line(const char *line, size_t len,
				   struct ks_tfs_event *ev, uint64_t *lost)
{
	return parse_line(line, len, ev, lost, true, NULL);
}

struct ks_tfs_reader {
	int fd;			/* -1 for a memory reader */
	char *own;		/* the buffer of an fd reader */
	const char *buf;
	size_t cap, pos, fill;
	bool eof;
	bool skipping;		/* inside an over-long line */
	bool has_nul;		/* the buffer holds a NUL byte somewhere */
	struct ks_tfs_stats st;
	struct ks_tfs_prefix prefix[NPREFIX];
};

struct ks_tfs_reader *ks_tfs_reader__new_fd(int fd)
{
	struct ks_tfs_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->own = malloc(CHUNK);
	if (!r->own) {
		free(r);
		return NULL;
	}
	r->fd = fd;
	r->buf = r->own;
	r->cap = CHUNK;
	return r;
}

struct ks_tfs_reader *ks_tfs_reader__new_mem(const void *buf, size_t len)
{
	struct ks_tfs_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = -1;
	r->buf = buf;
	r->cap = r->fill = len;
	r->eof = true;
	r->has_nul = len && memchr(buf, '\0', len);
	return r;
}

void ks_tfs_reader__free(struct ks_tfs_reader *r)
{
	if (!r)
		return;
	free(r->own);
	free(r);
}

const struct ks_tfs_stats *ks_tfs_reader__stats(const struct ks_tfs_reader *r)
{
	return &r->st;
}

static void count_bad(struct ks_tfs_reader *r)
{
	r->st.malformed++;
	if (r->st.nbad < KS_TFS_MAXBAD)
		r->st.bad[r->st.nbad++] = r->st.lines;
}

/* Makes room to read more: moves the partial line to the front, or grows
 * the buffer for a long line.  Returns false if the line is too long. */
static bool make_room(struct ks_tfs_reader *r)
{
	char *p;

	if (r->pos) {
		memmove(r->own, r->own + r->pos, r->fill - r->pos);
		r->fill -= r->pos;
		r->pos = 0;
		return true;
	}
	if (r->cap >= KS_TFS_MAXLINE + CHUNK)
		return false;
	p = realloc(r->own, r->cap * 2);
	if (!p)
		return false;
	r->own = p;
	r->buf = p;
	r->cap *= 2;
	return true;
}

static int refill(struct ks_tfs_reader *r, struct ks_err *err)
{
	ssize_t n;

	if (r->fill == r->cap && !make_room(r)) {
		/* A line longer than we accept: drop what we have of it. */
		r->skipping = true;
		r->pos = r->fill = 0;
	}
	do
		n = read(r->fd, r->own + r->fill, r->cap - r->fill);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ks_err_set(err, errno, "FILE", "cannot read the trace: %s",
				  strerror(errno));
	if (n == 0)
		r->eof = true;
	/* Sticky: one pass per chunk instead of one per line. */
	if (!r->has_nul && memchr(r->own + r->fill, '\0', (size_t)n))
		r->has_nul = true;
	r->fill += (size_t)n;
	r->st.bytes += (size_t)n;
	return 0;
}

/* The next line: 1 with line and len set, 0 at the end, or an error. */
static int next_line(struct ks_tfs_reader *r, const char **line, size_t *len,
		     struct ks_err *err)
{
	for (;;) {
		const char *s = r->buf + r->pos;
		const char *nl = memchr(s, '\n', r->fill - r->pos);
		int e;

		if (nl || (r->eof && r->pos < r->fill)) {
			size_t n = nl ? (size_t)(nl - s) : r->fill - r->pos;

			r->pos += n + (nl != NULL);
			*line = s;
			*len = n;
			return 1;
		}
		if (r->eof)
			return 0;
		if (r->pos == r->fill)
			r->pos = r->fill = 0;
		if ((e = refill(r, err)))
			return e;
	}
}

int ks_tfs_reader__next(struct ks_tfs_reader *r, struct ks_tfs_event *ev,
			struct ks_err *err)
{
	const char *line = NULL;
	size_t len = 0;
	uint64_t lost;
	int e;

	while ((e = next_line(r, &line, &len, err)) > 0) {
		bool was_skipping = r->skipping;

		r->skipping = false;
		r->st.lines++;
		if (was_skipping) {
			count_bad(r);	/* the tail of an over-long line */
			continue;
		}
		switch (parse_line(line, len, ev, &lost, r->has_nul, r->prefix)) {
		case KS_TFS_EVENT:
			r->st.events++;
			ev->lineno = r->st.lines;
			return 1;
		case KS_TFS_HEADER:
			r->st.headers++;
			break;
		case KS_TFS_LOST:
			r->st.lost_notices++;
			r->st.lost_events += lost;
			break;
		case KS_TFS_MALFORMED:
			count_bad(r);
			break;
		}
	}
	if (r->fd < 0)
		r->st.bytes = r->fill;
	return e;
}
