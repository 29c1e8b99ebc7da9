/* recfile.c - the native record file: encoding, decoding, damage recovery.
 *
 * The writer batches records into blocks of up to BATCH_RECORDS, preceded
 * by a symbol block defining the strings those records use first, so each
 * block can be decoded knowing only the schema and the symbols before it.
 * The reader maps the file into memory and walks its blocks; it never
 * trusts a length or an id it read: every cursor read is bounds-checked,
 * and damage ends up as a count and a message in the stats.
 */
#include "replay/recfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "engine/catalog.h"
#include "engine/symtab.h"
#include "util/clock.h"

static const uint8_t magic[KS_RECFILE_MAGIC_LEN] = {
	0x89, 'K', 'S', 'R', '\r', '\n', 0x1a, '\n'
};
static const uint8_t sync_word[4] = { 'K', 'S', 'B', 'K' };

#define HDR_FIXED 26		/* header bytes before the hostname */
#define BLOCK_HDR 16		/* sync, type, length, crc */
#define MAX_BLOCK (64u << 20)
#define BATCH_RECORDS 4096
#define MAX_FIELDS 64		/* the present mask is one u64 */
#define MAX_SYM_ID (1u << 24)

_Static_assert(KS_F__COUNT <= MAX_FIELDS, "present mask too small");

bool ks_recfile_sniff(const void *buf, size_t len)
{
	return len >= sizeof(magic) && !memcmp(buf, magic, sizeof(magic));
}

/* ---- little-endian bytes ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int buf_put(struct buf *b, const void *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t rd_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int put_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	return buf_put(b, tmp, n);
}

static int put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	return put_varint(b, n) ?: buf_put(b, s, n);
}

/* A bounds-checked read cursor; any overrun sets bad and reads zeros. */
struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t get_varint(struct cur *c)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (c->p >= c->end)
			break;
		b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static uint8_t get_u8(struct cur *c)
{
	if (c->p >= c->end) {
		c->bad = true;
		return 0;
	}
	return *c->p++;
}

/* A length-prefixed string; NULL (and bad) if it overruns. */
static const uint8_t *get_str(struct cur *c, size_t *n)
{
	uint64_t len = get_varint(c);
	const uint8_t *s = c->p;

	if (c->bad || len > (uint64_t)(c->end - c->p)) {
		c->bad = true;
		return NULL;
	}
	c->p += len;
	*n = (size_t)len;
	return s;
}

static uint32_t block_crc(uint32_t type, uint32_t len, const uint8_t *payload)
{
	uint8_t tl[8];
	uLong crc = crc32(0L, Z_NULL, 0);

	le32(tl, type);
	le32(tl + 4, len);
	crc = crc32(crc, tl, sizeof(tl));
	return (uint32_t)crc32(crc, payload, (uInt)len);
}

/* ---- writer ---- */

struct ks_recfile_writer {
	int fd;
	int error;		/* first error, sticky */
	char what[128];		/* what failed, for the message */
	struct buf blk;		/* one block being framed for write(2) */
	struct buf rec;		/* entries of the pending records block */
	struct buf sym;		/* entries of the pending symbols block */
	uint32_t nrec, nsym;
	uint64_t base_ts, prev_ts;
	uint32_t *map;		/* process symbol id -> file id, 0 = none */
	size_t map_cap;
	uint32_t next_id;
	uint64_t total;
};

static int fail(struct ks_recfile_writer *w, int e, const char *what)
{
	if (!w->error) {
		w->error = e;
		snprintf(w->what, sizeof(w->what), "%s", what);
	}
	return e;
}

static int write_all(struct ks_recfile_writer *w, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(w->fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return fail(w, -errno, "write");
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int write_block(struct ks_recfile_writer *w, uint32_t type,
		       const struct buf *head, const struct buf *body)
{
	uint8_t h[BLOCK_HDR];
	size_t len = (head ? head->len : 0) + (body ? body->len : 0);
	int e;

	if (len > MAX_BLOCK)
		return fail(w, -EFBIG, "block too large");
	w->blk.len = 0;
	memset(h, 0, sizeof(h));
	if ((e = buf_put(&w->blk, h, sizeof(h))) ||
	    (head && (e = buf_put(&w->blk, head->p, head->len))) ||
	    (body && (e = buf_put(&w->blk, body->p, body->len))))
		return fail(w, e, "buffer");
	memcpy(w->blk.p, sync_word, 4);
	le32(w->blk.p + 4, type);
	le32(w->blk.p + 8, (uint32_t)len);
	le32(w->blk.p + 12, block_crc(type, (uint32_t)len,
				      w->blk.p + BLOCK_HDR));
	return write_all(w, w->blk.p, w->blk.len);
}

static int write_header(struct ks_recfile_writer *w, uint32_t flags)
{
	uint8_t h[HDR_FIXED + 255 + 4];
	char host[256] = "";
	size_t hn, total;
	uint64_t ns;

	if (gethostname(host, sizeof(host) - 1))
		host[0] = '\0';
	hn = strnlen(host, 255);
	total = HDR_FIXED + hn + 4;
	ns = (uint64_t)ks_clock_wall_ns();
	memcpy(h, magic, sizeof(magic));
	h[8] = KS_RECFILE_VERSION & 0xff;
	h[9] = KS_RECFILE_VERSION >> 8;
	h[10] = flags & 0xff;
	h[11] = (flags >> 8) & 0xff;
	le32(h + 12, (uint32_t)total);
	le32(h + 16, (uint32_t)ns);
	le32(h + 20, (uint32_t)(ns >> 32));
	h[24] = (uint8_t)hn;
	h[25] = 0;
	memcpy(h + HDR_FIXED, host, hn);
	le32(h + HDR_FIXED + hn,
	     (uint32_t)crc32(crc32(0L, Z_NULL, 0), h, (uInt)(HDR_FIXED + hn)));
	return write_all(w, h, total);
}

/* Names every catalogue field (with its kind) and metric; records refer
 * to them by their index here. */
static int write_schema(struct ks_recfile_writer *w)
{
	struct buf b = { 0 };
	char name[96];
	int e = put_varint(&b, KS_F__COUNT);

	for (int f = 0; !e && f < KS_F__COUNT; f++)
		e = put_str(&b, ks_field_info(f)->name) ?:
		    buf_put(&b, &(uint8_t){ ks_field_numeric(f) }, 1);
	if (!e)
		e = put_varint(&b, KS_M__COUNT);
	for (int m = 0; !e && m < KS_M__COUNT; m++) {
		snprintf(name, sizeof(name), "%s.%s", ks_metric_info(m)->module,
			 ks_metric_info(m)->stat);
		e = put_str(&b, name);
	}
	e = e ? fail(w, e, "buffer") : write_block(w, KS_RB_SCHEMA, &b, NULL);
	free(b.p);
	return e;
}

static struct ks_recfile_writer *writer_new(int fd, uint32_t flags,
					    struct ks_err *err)
{
	struct ks_recfile_writer *w = calloc(1, sizeof(*w));
	int e;

	if (!w) {
		close(fd);
		ks_err_set(err, ENOMEM, "FILE", "out of memory");
		return NULL;
	}
	w->fd = fd;
	w->next_id = 1;
	if ((e = write_header(w, flags)) || (e = write_schema(w))) {
		ks_err_set(err, e, "FILE", "cannot write the record file: %s",
			   strerror(-e));
		close(fd);
		free(w->blk.p);
		free(w);
		return NULL;
	}
	return w;
}

struct ks_recfile_writer *ks_recfile_writer__new_fd(int fd, uint32_t flags,
						    struct ks_err *err)
{
	return writer_new(fd, flags, err);
}

struct ks_recfile_writer *ks_recfile_writer__open(const char *path,
						  uint32_t flags,
						  struct ks_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		ks_err_set(err, errno, "FILE", "cannot create '%s': %s", path,
			   strerror(errno));
		return NULL;
	}
	return writer_new(fd, flags, err);
}

/* The file id of a process symbol id, defining it in the pending symbol
 * block on first use.  0 stays 0 ("no value"). */
static int file_sym(struct ks_recfile_writer *w, uint64_t id, uint64_t *out)
{
	if (!id || id > UINT32_MAX) {
		*out = id > UINT32_MAX ? 0 : id;
		return 0;
	}
	if (id >= w->map_cap) {
		size_t cap = w->map_cap ? w->map_cap : 256;
		uint32_t *p;

		while (cap <= id)
			cap *= 2;
		p = realloc(w->map, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + w->map_cap, 0, (cap - w->map_cap) * sizeof(*p));
		w->map = p;
		w->map_cap = cap;
	}
	if (!w->map[id]) {
		int e;

		w->map[id] = w->next_id++;
		if ((e = put_varint(&w->sym, w->map[id])) ||
		    (e = put_str(&w->sym, ks_sym_str((uint32_t)id))))
			return e;
		w->nsym++;
	}
	*out = w->map[id];
	return 0;
}

static int flush(struct ks_recfile_writer *w)
{
	struct buf head = { 0 };
	int e = 0;

	if (!w->nrec)
		return 0;
	if (w->nsym) {
		if ((e = put_varint(&head, w->nsym)) ||
		    (e = write_block(w, KS_RB_SYMBOLS, &head, &w->sym)))
			goto out;
		head.len = 0;
	}
	if ((e = put_varint(&head, w->nrec)) ||
	    (e = put_varint(&head, w->base_ts)) ||
	    (e = write_block(w, KS_RB_RECORDS, &head, &w->rec)))
		goto out;
	w->sym.len = w->rec.len = 0;
	w->nsym = w->nrec = 0;
out:
	free(head.p);
	return e ? fail(w, e, "write") : 0;
}

static int encode(struct ks_recfile_writer *w, const struct ks_record *r)
{
	uint64_t mask = r->present & ((1ull << KS_F__COUNT) - 1);
	int64_t delta;
	uint64_t v;
	int e;

	if (!w->nrec)
		w->base_ts = w->prev_ts = r->ts;
	delta = (int64_t)(r->ts - w->prev_ts);
	w->prev_ts = r->ts;
	if ((e = put_varint(&w->rec, ((uint64_t)delta << 1) ^
					     (uint64_t)(delta >> 63))) ||
	    (e = put_varint(&w->rec, r->value)) ||
	    (e = put_varint(&w->rec, r->metric)) ||
	    (e = buf_put(&w->rec, &r->source, 1)) ||
	    (e = put_varint(&w->rec, mask)))
		return e;
	for (int f = 0; f < KS_F__COUNT; f++) {
		if (!(mask & (1ull << f)))
			continue;
		v = r->f[f];
		if (!ks_field_numeric(f) && (e = file_sym(w, r->f[f], &v)))
			return e;
		if ((e = put_varint(&w->rec, v)))
			return e;
	}
	w->nrec++;
	w->total++;
	return 0;
}

int ks_recfile_writer__add(struct ks_recfile_writer *w,
			   const struct ks_record *r, size_t n)
{
	int e;

	if (w->error)
		return w->error;
	for (size_t i = 0; i < n; i++) {
		if (r[i].metric >= KS_M__COUNT)
			return fail(w, -EINVAL, "record of an unknown metric");
		if ((e = encode(w, &r[i])))
			return fail(w, e, "buffer");
		if (w->nrec >= BATCH_RECORDS && (e = flush(w)))
			return e;
	}
	return 0;
}

int ks_recfile_writer__close(struct ks_recfile_writer *w, struct ks_err *err)
{
	struct buf end = { 0 };
	int e;

	if (!w->error && !flush(w)) {
		if ((e = put_varint(&end, w->total)))
			fail(w, e, "buffer");
		else
			write_block(w, KS_RB_END, &end, NULL);
	}
	if (close(w->fd) && !w->error)
		fail(w, -errno, "close");
	e = w->error;
	if (e)
		ks_err_set(err, e, "FILE", "cannot write the record file (%s): %s",
			   w->what, strerror(-e));
	free(end.p);
	free(w->blk.p);
	free(w->rec.p);
	free(w->sym.p);
	free(w->map);
	free(w);
	return e;
}

/* ---- reader ---- */

struct ks_recfile_reader {
	const uint8_t *base;
	size_t len;
	void *mapped;		/* mmap'd file, or NULL */
	uint8_t *own;		/* file read into memory, or NULL */
	size_t off;		/* next block */
	bool done;
	struct ks_recfile_header hdr;
	struct ks_recfile_stats st;
	bool has_schema;
	uint32_t nfields;
	int fmap[MAX_FIELDS];	/* file field -> catalogue field, or -1 */
	uint32_t nmetrics;
	int *mmap_;		/* file metric -> catalogue metric, or -1 */
	uint32_t *syms;		/* file symbol id -> process id, 0 = unknown */
	size_t nsyms;
	struct cur rc;		/* the records block being decoded */
	uint64_t rc_left, prev_ts;
	size_t rc_off;
};

static void problem(struct ks_recfile_reader *rd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct ks_recfile_reader *rd, const char *fmt, ...)
{
	va_list ap;

	if (rd->st.nproblems >= KS_RECFILE_MAXPROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(rd->st.problems[rd->st.nproblems++],
		  sizeof(rd->st.problems[0]), fmt, ap);
	va_end(ap);
}

static int parse_header(struct ks_recfile_reader *rd, struct ks_err *err)
{
	const uint8_t *h = rd->base;
	size_t total, hn;
	uint32_t crc;

	if (!ks_recfile_sniff(h, rd->len))
		return ks_err_set(err, EINVAL, "FILE",
				  "not a kvmscope record file (bad magic)");
	if (rd->len < HDR_FIXED + 4)
		return ks_err_set(err, EINVAL, "FILE",
				  "record file header is truncated");
	rd->hdr.version = (uint16_t)rd_le(h + 8, 2);
	rd->hdr.flags = (uint16_t)rd_le(h + 10, 2);
	if (rd->hdr.version != KS_RECFILE_VERSION)
		return ks_err_set(err, ENOTSUP, "FILE",
				  "record file version %u; this kvmscope reads "
				  "version %u", rd->hdr.version,
				  KS_RECFILE_VERSION);
	total = (size_t)rd_le(h + 12, 4);
	hn = (size_t)rd_le(h + 24, 2);
	if (hn > 255 || total != HDR_FIXED + hn + 4 || total > rd->len)
		return ks_err_set(err, EINVAL, "FILE",
				  "record file header is damaged (length %zu)",
				  total);
	rd->hdr.ctime_ns = rd_le(h + 16, 8);
	memcpy(rd->hdr.hostname, h + HDR_FIXED, hn);
	rd->hdr.hostname[hn] = '\0';
	crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), h, (uInt)(total - 4));
	if (crc != rd_le(h + total - 4, 4))
		problem(rd, "header checksum mismatch: its time and hostname "
			    "may be wrong");
	rd->off = total;
	return 0;
}

static struct ks_recfile_reader *reader_new(const uint8_t *buf, size_t len,
					    struct ks_err *err)
{
	struct ks_recfile_reader *rd = calloc(1, sizeof(*rd));

	if (!rd) {
		ks_err_set(err, ENOMEM, "FILE", "out of memory");
		return NULL;
	}
	rd->base = buf;
	rd->len = len;
	if (parse_header(rd, err)) {
		free(rd);
		return NULL;
	}
	return rd;
}

struct ks_recfile_reader *ks_recfile_reader__new_mem(const void *buf,
						     size_t len,
						     struct ks_err *err)
{
	return reader_new(buf, len, err);
}

/* Reads a non-mappable file (a pipe) into memory. */
static uint8_t *slurp(int fd, size_t *len)
{
	struct buf b = { 0 };
	uint8_t chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_put(&b, chunk, (size_t)n)) {
			free(b.p);
			return NULL;
		}
	}
	*len = b.len;
	return b.p ? b.p : calloc(1, 1);
}

struct ks_recfile_reader *ks_recfile_reader__open(const char *path,
						  struct ks_err *err)
{
	struct ks_recfile_reader *rd;
	void *mapped = NULL;
	uint8_t *own = NULL;
	struct stat sb;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		ks_err_set(err, errno, "FILE", "cannot open '%s': %s", path,
			   strerror(errno));
		return NULL;
	}
	if (!fstat(fd, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0) {
		len = (size_t)sb.st_size;
		mapped = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (mapped == MAP_FAILED)
			mapped = NULL;
	}
	if (!mapped && !(own = slurp(fd, &len))) {
		ks_err_set(err, errno ? errno : EIO, "FILE",
			   "cannot read '%s': %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	close(fd);
	rd = reader_new(mapped ? mapped : own, len, err);
	if (!rd) {
		if (mapped)
			munmap(mapped, len);
		free(own);
		return NULL;
	}
	rd->mapped = mapped;
	rd->own = own;
	return rd;
}

void ks_recfile_reader__free(struct ks_recfile_reader *rd)
{
	if (!rd)
		return;
	if (rd->mapped)
		munmap(rd->mapped, rd->len);
	free(rd->own);
	free(rd->mmap_);
	for (size_t i = 0; i < rd->nsyms; i++)
		ks_sym_put(rd->syms[i]);
	free(rd->syms);
	free(rd);
}

const struct ks_recfile_header *
ks_recfile_reader__header(const struct ks_recfile_reader *rd)
{
	return &rd->hdr;
}

const struct ks_recfile_stats *
ks_recfile_reader__stats(const struct ks_recfile_reader *rd)
{
	return &rd->st;
}

/* ---- block framing ---- */

/* True if a whole, intact block starts at off. */
static bool block_ok(const struct ks_recfile_reader *rd, size_t off)
{
	const uint8_t *h = rd->base + off;
	uint32_t blen;

	if (rd->len - off < BLOCK_HDR || memcmp(h, sync_word, 4))
		return false;
	blen = (uint32_t)rd_le(h + 8, 4);
	if (blen > MAX_BLOCK || blen > rd->len - off - BLOCK_HDR)
		return false;
	return block_crc((uint32_t)rd_le(h + 4, 4), blen, h + BLOCK_HDR) ==
	       rd_le(h + 12, 4);
}

/* The next intact block after off, or the end of the file. */
static size_t resync(const struct ks_recfile_reader *rd, size_t off)
{
	size_t at = off + 1;

	while (at < rd->len) {
		const uint8_t *q = memmem(rd->base + at, rd->len - at,
					  sync_word, sizeof(sync_word));

		if (!q)
			break;
		at = (size_t)(q - rd->base);
		if (block_ok(rd, at))
			return at;
		at++;
	}
	return rd->len;
}

/* The block at off is damaged: skip to the next intact one.  A block that
 * runs past the end with nothing intact after it is a truncation. */
static void skip_damage(struct ks_recfile_reader *rd, size_t off,
			bool past_end)
{
	size_t next = resync(rd, off);

	if (past_end && next == rd->len) {
		rd->st.truncated = true;
		problem(rd, "file is truncated: the block at offset %zu runs "
			    "past the end (%zu bytes lost)", off, rd->len - off);
	} else {
		rd->st.corrupt++;
		rd->st.corrupt_bytes += next - off;
		problem(rd, "damaged block at offset %zu: checksum or framing "
			    "wrong, %zu bytes skipped", off, next - off);
	}
	rd->off = next;
}

/* ---- block contents ---- */

/* The schema's field names into rd->fmap (-1: unknown here, or its type
 * changed).  The number of fields; -1 if the list does not decode, -2
 * (reported) if it is longer than any kvmscope writes. */
static int64_t read_fields(struct ks_recfile_reader *rd, struct cur *c)
{
	uint64_t nf = get_varint(c);
	char name[128];

	if (c->bad)
		return -1;
	if (nf > MAX_FIELDS) {
		problem(rd, "schema block has %llu fields (at most %d)",
			(unsigned long long)nf, MAX_FIELDS);
		return -2;
	}
	for (uint32_t f = 0; f < nf; f++) {
		size_t n;
		const uint8_t *s = get_str(c, &n);
		bool numeric = get_u8(c);
		int id;

		if (c->bad)
			return -1;
		snprintf(name, sizeof(name), "%.*s", (int)n, (const char *)s);
		id = ks_field_lookup(name);
		if (id >= 0 && ks_field_numeric(id) != numeric) {
			problem(rd, "field '%s' changed type; its values are "
				    "skipped", name);
			id = -1;
		}
		rd->fmap[f] = id;
	}
	return (int64_t)nf;
}

/* The schema's metric names into a new rd->mmap_ (-1: unknown here).
 * The number of metrics; -1 if the list does not decode, -2 (reported)
 * when out of memory. */
static int64_t read_metrics(struct ks_recfile_reader *rd, struct cur *c)
{
	uint64_t nm = get_varint(c);
	char name[128];

	if (c->bad || nm > 65536)
		return -1;
	free(rd->mmap_);
	rd->nmetrics = 0;	/* until the new list is whole */
	rd->mmap_ = calloc(nm ? nm : 1, sizeof(*rd->mmap_));
	if (!rd->mmap_) {
		problem(rd, "out of memory reading the schema");
		return -2;
	}
	for (uint32_t m = 0; m < nm; m++) {
		size_t n;
		const uint8_t *s = get_str(c, &n);

		if (c->bad)
			return -1;
		snprintf(name, sizeof(name), "%.*s", (int)n, (const char *)s);
		rd->mmap_[m] = ks_metric_lookup_full(name);
		if (rd->mmap_[m] < 0)
			problem(rd, "metric '%s' is not known here; its records "
				    "are skipped", name);
	}
	return (int64_t)nm;
}

static void read_schema(struct ks_recfile_reader *rd, struct cur *c)
{
	int64_t nf, nm = -1;

	rd->has_schema = false;
	nf = read_fields(rd, c);
	if (nf == -2)
		return;
	if (nf >= 0)
		nm = read_metrics(rd, c);
	if (nm == -2)
		return;
	if (nm < 0) {
		problem(rd, "schema block does not decode");
		return;
	}
	rd->nfields = (uint32_t)nf;
	rd->nmetrics = (uint32_t)nm;
	rd->has_schema = true;
}

static int set_sym(struct ks_recfile_reader *rd, uint64_t id, uint32_t sym)
{
	if (id >= rd->nsyms) {
		size_t n = rd->nsyms ? rd->nsyms : 256;
		uint32_t *p;

		while (n <= id)
			n *= 2;
		p = realloc(rd->syms, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + rd->nsyms, 0, (n - rd->nsyms) * sizeof(*p));
		rd->syms = p;
		rd->nsyms = n;
	}
	ks_sym_put(rd->syms[id]);
	rd->syms[id] = sym;
	return 0;
}

static void read_symbols(struct ks_recfile_reader *rd, struct cur *c)
{
	uint64_t n = get_varint(c);

	for (uint64_t i = 0; i < n && !c->bad; i++) {
		uint64_t id = get_varint(c);
		size_t len;
		const uint8_t *s = get_str(c, &len);
		uint32_t sym;

		if (c->bad || !id || id >= MAX_SYM_ID)
			break;
		/* A string with a NUL byte was never written by kvmscope. */
		/* The reader holds its symbols until it is freed. */
		sym = memchr(s, '\0', len) ? 0 :
		      ks_sym_get_n((const char *)s, len);
		if (!sym || set_sym(rd, id, sym)) {
			ks_sym_put(sym);
			rd->st.unresolved_sym++;
		}
	}
	if (c->bad)
		problem(rd, "symbol block does not decode");
}

static void start_records(struct ks_recfile_reader *rd, struct cur *c,
			  size_t off)
{
	uint64_t n = get_varint(c);

	rd->prev_ts = get_varint(c);
	if (c->bad) {
		problem(rd, "records block at offset %zu does not decode", off);
		return;
	}
	if (!rd->has_schema) {
		rd->st.undecodable += n;
		problem(rd, "records block at offset %zu comes without a "
			    "schema; %llu records skipped", off,
			(unsigned long long)n);
		return;
	}
	rd->rc = *c;
	rd->rc_left = n;
	rd->rc_off = off;
}

/* Reads the next intact block; false at the end of the file. */
static bool next_block(struct ks_recfile_reader *rd)
{
	while (rd->off < rd->len) {
		size_t off = rd->off;
		const uint8_t *h = rd->base + off;
		uint32_t type, blen;
		struct cur c;

		if (!block_ok(rd, off)) {
			bool past = rd->len - off < BLOCK_HDR ||
				    (!memcmp(h, sync_word, 4) &&
				     rd_le(h + 8, 4) > rd->len - off - BLOCK_HDR);

			skip_damage(rd, off, past);
			continue;
		}
		type = (uint32_t)rd_le(h + 4, 4);
		blen = (uint32_t)rd_le(h + 8, 4);
		rd->off = off + BLOCK_HDR + blen;
		rd->st.blocks++;
		c = (struct cur){ h + BLOCK_HDR, h + BLOCK_HDR + blen, false };
		switch (type) {
		case KS_RB_SCHEMA:
			read_schema(rd, &c);
			break;
		case KS_RB_SYMBOLS:
			read_symbols(rd, &c);
			break;
		case KS_RB_RECORDS:
			start_records(rd, &c, off);
			if (rd->rc_left)
				return true;
			break;
		case KS_RB_END:
			rd->st.has_end = true;
			rd->st.end_records = get_varint(&c);
			break;
		default:
			rd->st.unknown_blocks++;
			break;
		}
	}
	return false;
}

/* The field values of mask (file field ids) into r, mapped to this
 * kvmscope's fields and symbols; a mask naming fields the schema has not
 * makes the block bad. */
static void decode_fields(struct ks_recfile_reader *rd, uint64_t mask,
			  struct ks_record *r)
{
	struct cur *c = &rd->rc;

	if (rd->nfields < 64 && mask >> rd->nfields)
		c->bad = true;
	for (uint32_t f = 0; f < rd->nfields && !c->bad; f++) {
		uint64_t v;

		if (!(mask & (1ull << f)))
			continue;
		v = get_varint(c);
		if (rd->fmap[f] < 0)
			rd->st.unknown_field++;
		else if (ks_field_numeric(rd->fmap[f]) || !v)
			ks_record_set(r, rd->fmap[f], v);
		else if (v < rd->nsyms && rd->syms[v])
			ks_record_set(r, rd->fmap[f], rd->syms[v]);
		else
			rd->st.unresolved_sym++;
	}
}

/* Decodes one record of the current block: 1 if r is a record to return,
 * 0 if it was skipped (unknown metric) or the block went bad. */
static int decode(struct ks_recfile_reader *rd, struct ks_record *r)
{
	struct cur *c = &rd->rc;
	uint64_t delta = get_varint(c);
	uint64_t value = get_varint(c);
	uint64_t m = get_varint(c);
	uint8_t source = get_u8(c);
	uint64_t mask = get_varint(c);
	int metric = m < rd->nmetrics ? rd->mmap_[m] : -1;

	rd->prev_ts += (delta >> 1) ^ (~(delta & 1) + 1);
	ks_record_init(r, metric >= 0 ? (enum ks_metric)metric : 0,
		       rd->prev_ts, value);
	memset(r->f, 0, sizeof(r->f));
	r->source = source;
	decode_fields(rd, mask, r);
	rd->rc_left--;
	if (c->bad) {
		rd->st.undecodable += rd->rc_left + 1;
		problem(rd, "records block at offset %zu does not decode; "
			    "%llu records lost", rd->rc_off,
			(unsigned long long)rd->rc_left + 1);
		rd->rc_left = 0;
		return 0;
	}
	if (metric < 0) {
		rd->st.unknown_metric++;
		return 0;
	}
	rd->st.records++;
	return 1;
}

static void at_end(struct ks_recfile_reader *rd)
{
	const struct ks_recfile_stats *st = &rd->st;
	uint64_t seen = st->records + st->unknown_metric;

	rd->done = true;
	if (!st->has_end && !st->truncated)
		problem(rd, "no end block: the file was not closed by its "
			    "writer, or was cut at a block boundary");
	else if (st->has_end && st->end_records != seen)
		problem(rd, "the writer wrote %llu records; %llu were read",
			(unsigned long long)st->end_records,
			(unsigned long long)seen);
}

int ks_recfile_reader__next(struct ks_recfile_reader *rd, struct ks_record *r)
{
	if (rd->done)
		return 0;
	for (;;) {
		while (rd->rc_left)
			if (decode(rd, r))
				return 1;
		if (!next_block(rd))
			break;
	}
	at_end(rd);
	return 0;
}
