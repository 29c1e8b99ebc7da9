/* test_recfile.c - the native record file: round trips and damage.
 *
 * Records written are read back identical (discrete values compared as
 * strings, since symbol ids are per process).  Then the file is damaged
 * the ways files get damaged - a flipped byte in a block, in a length, in
 * the header, a cut at the end, a foreign file, a newer version - and the
 * reader must report exactly the damaged block and still read the rest.
 * A file with a metric and a field unknown to this kvmscope is built by
 * hand, block by block, from the format's description.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "engine/symtab.h"
#include "replay/recfile.h"

#define NREC 10000	/* several record blocks of 4096 */

/* Deterministic records of several metrics, with and without fields. */
static void make_record(struct ks_record *r, unsigned i)
{
	char s[32];

	ks_record_init(r, i % 3 == 0 ? KS_M_VM_IRQS : KS_M_VM_EXITS,
		       5000000000ULL + i * 1000003ULL - (i % 7) * 500, 1 + i % 2);
	memset(r->f, 0, sizeof(r->f));
	r->source = (uint8_t)(i % 4);
	snprintf(s, sizeof(s), "vm%u", i % 5);
	ks_record_set(r, KS_F_VM, ks_sym_intern(s));
	snprintf(s, sizeof(s), "%u", i % 4);
	ks_record_set(r, KS_F_VCPU, ks_sym_intern(s));
	if (r->metric == KS_M_VM_EXITS) {
		snprintf(s, sizeof(s), "reason%u", i % 11);
		ks_record_set(r, KS_F_VLEAVEREASON, ks_sym_intern(s));
		if (i % 5)
			ks_record_set(r, KS_F_LATENCY, (uint64_t)i * i * 37);
		snprintf(s, sizeof(s), "%x", i * 4099);
		ks_record_set(r, KS_F_GUESTRIP, ks_sym_intern(s));
	} else {
		ks_record_set(r, KS_F_IRQVECTOR, ks_sym_intern(i % 2 ? "20" : "fb"));
	}
	if (i == 7)
		ks_record_set(r, KS_F_LATENCY, UINT64_MAX);
	ks_record_set_subsecond(r);
}

static void assert_same(const struct ks_record *a, const struct ks_record *b)
{
	assert_int_equal(a->ts, b->ts);
	assert_int_equal(a->value, b->value);
	assert_int_equal(a->metric, b->metric);
	assert_int_equal(a->source, b->source);
	assert_int_equal(a->present, b->present);
	for (int f = 0; f < KS_F__COUNT; f++) {
		if (!ks_record_has(a, f))
			continue;
		if (ks_field_numeric(f))
			assert_int_equal(a->f[f], b->f[f]);
		else
			assert_string_equal(ks_sym_str((uint32_t)a->f[f]),
					    ks_sym_str((uint32_t)b->f[f]));
	}
}

static char path[64];

static uint8_t *write_file(size_t n, size_t *len)
{
	struct ks_recfile_writer *w;
	struct ks_err err;
	struct ks_record r;
	struct stat sb;
	uint8_t *buf;
	int fd;

	strcpy(path, "/tmp/test_recfile.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	w = ks_recfile_writer__new_fd(fd, KS_RECFILE_F_CONVERTED, &err);
	assert_non_null(w);
	for (unsigned i = 0; i < n; i++) {
		make_record(&r, i);
		assert_int_equal(ks_recfile_writer__add(w, &r, 1), 0);
	}
	assert_int_equal(ks_recfile_writer__close(w, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	buf = malloc((size_t)sb.st_size);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, buf, (size_t)sb.st_size), sb.st_size);
	close(fd);
	unlink(path);
	*len = (size_t)sb.st_size;
	return buf;
}

/* Reads buf; checks each record returned is the one written at its index
 * (indexes in [skip_from, skip_to) are expected to be missing). */
static const struct ks_recfile_stats *
read_check(struct ks_recfile_reader *rd, unsigned n, unsigned skip_from,
	   unsigned skip_to)
{
	struct ks_record want, got;
	unsigned i = 0;

	while (ks_recfile_reader__next(rd, &got) > 0) {
		if (i == skip_from)
			i = skip_to;
		assert_true(i < n);
		make_record(&want, i);
		assert_same(&want, &got);
		i++;
	}
	if (i == skip_from)
		i = skip_to;
	assert_int_equal(i, n);
	return ks_recfile_reader__stats(rd);
}

/* Block offsets, by walking the framing as the format describes it. */
struct blockpos {
	size_t off, len;
	uint32_t type;
};

static size_t blocks(const uint8_t *b, size_t len, struct blockpos *bp,
		     size_t max)
{
	size_t off = b[12] | b[13] << 8 | b[14] << 16 | (size_t)b[15] << 24;
	size_t n = 0;

	while (off + 16 <= len && n < max) {
		assert_memory_equal(b + off, "KSBK", 4);
		bp[n].off = off;
		bp[n].type = b[off + 4];
		bp[n].len = b[off + 8] | b[off + 9] << 8 | b[off + 10] << 16 |
			    (size_t)b[off + 11] << 24;
		off += 16 + bp[n].len;
		n++;
	}
	assert_int_equal(off, len);
	return n;
}

static void test_roundtrip(void **state)
{
	size_t len;
	uint8_t *buf = write_file(NREC, &len);
	struct ks_recfile_reader *rd;
	const struct ks_recfile_header *h;
	const struct ks_recfile_stats *st;
	struct blockpos bp[32];
	size_t nb = blocks(buf, len, bp, 32);
	struct ks_err err;
	char host[256] = "";

	(void)state;
	/* schema, then (symbols, records) x 3, then end */
	assert_int_equal(nb, 8);
	assert_int_equal(bp[0].type, KS_RB_SCHEMA);
	assert_int_equal(bp[1].type, KS_RB_SYMBOLS);
	assert_int_equal(bp[2].type, KS_RB_RECORDS);
	assert_int_equal(bp[7].type, KS_RB_END);
	/* Varints and delta timestamps: well under the 200-byte struct. */
	assert_true(len < NREC * 40);

	rd = ks_recfile_reader__new_mem(buf, len, &err);
	assert_non_null(rd);
	h = ks_recfile_reader__header(rd);
	assert_int_equal(h->version, KS_RECFILE_VERSION);
	assert_int_equal(h->flags, KS_RECFILE_F_CONVERTED);
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(h->hostname, host);
	assert_true(h->ctime_ns > 1700000000ULL * 1000000000ULL);
	st = read_check(rd, NREC, NREC, NREC);
	assert_int_equal(st->records, NREC);
	assert_true(st->has_end);
	assert_int_equal(st->end_records, NREC);
	assert_int_equal(st->corrupt, 0);
	assert_int_equal(st->nproblems, 0);
	/* Reading past the end stays at the end. */
	assert_int_equal(ks_recfile_reader__next(rd, &(struct ks_record){ 0 }), 0);
	ks_recfile_reader__free(rd);

	/* Symbol ids are per process: read into a fresh symbol table. */
	ks_sym_reset();
	ks_sym_intern("something else first");
	rd = ks_recfile_reader__new_mem(buf, len, &err);
	read_check(rd, NREC, NREC, NREC);
	ks_recfile_reader__free(rd);
	free(buf);
}

static void test_open_path_and_empty(void **state)
{
	struct ks_recfile_writer *w;
	struct ks_recfile_reader *rd;
	struct ks_record r;
	struct ks_err err;

	(void)state;
	strcpy(path, "/tmp/test_recfile_empty.ksr");
	w = ks_recfile_writer__open(path, 0, &err);
	assert_non_null(w);
	assert_int_equal(ks_recfile_writer__close(w, &err), 0);
	rd = ks_recfile_reader__open(path, &err);
	assert_non_null(rd);
	assert_int_equal(ks_recfile_reader__next(rd, &r), 0);
	assert_true(ks_recfile_reader__stats(rd)->has_end);
	assert_int_equal(ks_recfile_reader__stats(rd)->nproblems, 0);
	ks_recfile_reader__free(rd);
	unlink(path);

	assert_null(ks_recfile_writer__open("/nonexistent/dir/x.ksr", 0, &err));
	assert_string_equal(err.param, "FILE");
	assert_non_null(strstr(err.msg, "/nonexistent/dir/x.ksr"));
	assert_null(ks_recfile_reader__open("/nonexistent/x.ksr", &err));
	assert_non_null(strstr(err.msg, "cannot open"));
}

static void test_flip_record_block(void **state)
{
	size_t len;
	uint8_t *buf = write_file(NREC, &len);
	struct blockpos bp[32];
	struct ks_recfile_reader *rd;
	const struct ks_recfile_stats *st;
	struct ks_err err;

	(void)state;
	blocks(buf, len, bp, 32);
	/* Block 4 holds records 4096..8191. */
	assert_int_equal(bp[4].type, KS_RB_RECORDS);
	buf[bp[4].off + 16 + bp[4].len / 2] ^= 0x40;
	rd = ks_recfile_reader__new_mem(buf, len, &err);
	st = read_check(rd, NREC, 4096, 8192);
	assert_int_equal(st->corrupt, 1);
	assert_int_equal(st->corrupt_bytes, 16 + bp[4].len);
	assert_int_equal(st->records, NREC - 4096);
	assert_false(st->truncated);
	assert_true(st->nproblems >= 2);
	assert_non_null(strstr(st->problems[0], "damaged block at offset"));
	/* The end block's total tells the records that went missing. */
	assert_non_null(strstr(st->problems[1], "wrote 10000 records; 5904"));
	ks_recfile_reader__free(rd);
	free(buf);
}

static void test_flip_length(void **state)
{
	size_t len;
	uint8_t *buf = write_file(NREC, &len);
	struct blockpos bp[32];
	struct ks_recfile_reader *rd;
	const struct ks_recfile_stats *st;
	struct ks_err err;

	(void)state;
	blocks(buf, len, bp, 32);
	/* A wrong length in the first records block: framing is lost, the
	 * reader resynchronises on the next intact block. */
	buf[bp[2].off + 9] ^= 0x01;
	rd = ks_recfile_reader__new_mem(buf, len, &err);
	st = read_check(rd, NREC, 0, 4096);
	assert_int_equal(st->corrupt, 1);
	assert_int_equal(st->records, NREC - 4096);
	ks_recfile_reader__free(rd);

	/* A damaged sync word is found the same way. */
	buf[bp[2].off + 9] ^= 0x01;
	buf[bp[6].off] = 'X';
	rd = ks_recfile_reader__new_mem(buf, len, &err);
	st = read_check(rd, NREC, 8192, NREC);
	assert_int_equal(st->corrupt, 1);
	ks_recfile_reader__free(rd);
	free(buf);
}

static void test_flip_symbols(void **state)
{
	size_t len;
	uint8_t *buf = write_file(100, &len);
	struct blockpos bp[8];
	struct ks_recfile_reader *rd;
	const struct ks_recfile_stats *st;
	struct ks_record r;
	struct ks_err err;
	size_t n = 0;

	(void)state;
	blocks(buf, len, bp, 8);
	assert_int_equal(bp[1].type, KS_RB_SYMBOLS);
	buf[bp[1].off + 20] ^= 0xff;
	rd = ks_recfile_reader__new_mem(buf, len, &err);
	/* The records still come, their strings lost: discrete fields are
	 * absent (and counted), numeric ones intact. */
	while (ks_recfile_reader__next(rd, &r) > 0) {
		struct ks_record want;

		make_record(&want, (unsigned)n++);
		assert_false(ks_record_has(&r, KS_F_VM));
		assert_int_equal(r.ts, want.ts);
		assert_int_equal(r.f[KS_F_SUBSECOND], want.f[KS_F_SUBSECOND]);
	}
	st = ks_recfile_reader__stats(rd);
	assert_int_equal(n, 100);
	assert_int_equal(st->corrupt, 1);
	assert_true(st->unresolved_sym >= 300);
	ks_recfile_reader__free(rd);
	free(buf);
}

static void test_truncated(void **state)
{
	size_t len;
	uint8_t *buf = write_file(NREC, &len);
	struct blockpos bp[32];
	struct ks_recfile_reader *rd;
	const struct ks_recfile_stats *st;
	struct ks_err err;

	(void)state;
	blocks(buf, len, bp, 32);
	/* Cut inside the last records block. */
	rd = ks_recfile_reader__new_mem(buf, bp[6].off + 100, &err);
	st = read_check(rd, 8192, 8192, 8192);
	assert_true(st->truncated);
	assert_false(st->has_end);
	assert_int_equal(st->corrupt, 0);
	assert_non_null(strstr(st->problems[0], "truncated"));
	ks_recfile_reader__free(rd);

	/* Cut inside a block header. */
	rd = ks_recfile_reader__new_mem(buf, bp[7].off + 5, &err);
	st = read_check(rd, NREC, NREC, NREC);
	assert_true(st->truncated);
	ks_recfile_reader__free(rd);

	/* Cut at a block boundary: no end block is the only sign. */
	rd = ks_recfile_reader__new_mem(buf, bp[7].off, &err);
	st = read_check(rd, NREC, NREC, NREC);
	assert_false(st->truncated);
	assert_false(st->has_end);
	assert_non_null(strstr(st->problems[0], "no end block"));
	ks_recfile_reader__free(rd);
	free(buf);
}

static void test_foreign_and_header(void **state)
{
	static const char text[] = "# tracer: nop\n   a-1 [000] 1.0: x: y\n";
	size_t len;
	uint8_t *buf = write_file(10, &len);
	struct ks_recfile_reader *rd;
	struct ks_err err;

	(void)state;
	assert_false(ks_recfile_sniff(text, sizeof(text)));
	assert_true(ks_recfile_sniff(buf, len));
	assert_false(ks_recfile_sniff(buf, 7));
	assert_null(ks_recfile_reader__new_mem(text, sizeof(text), &err));
	assert_string_equal(err.param, "FILE");
	assert_non_null(strstr(err.msg, "not a kvmscope record file"));
	assert_null(ks_recfile_reader__new_mem(buf, 5, &err));
	assert_null(ks_recfile_reader__new_mem(buf, 20, &err));
	assert_non_null(strstr(err.msg, "truncated"));

	/* A newer version is refused by name, not misread. */
	buf[8] = 2;
	assert_null(ks_recfile_reader__new_mem(buf, len, &err));
	assert_non_null(strstr(err.msg, "version 2"));
	buf[8] = 1;

	/* A damaged hostname is a warning; the records are all there. */
	buf[26] ^= 0x20;
	rd = ks_recfile_reader__new_mem(buf, len, &err);
	assert_non_null(rd);
	read_check(rd, 10, 10, 10);
	assert_non_null(strstr(ks_recfile_reader__stats(rd)->problems[0],
			       "header checksum"));
	ks_recfile_reader__free(rd);

	/* A damaged header length is fatal: the blocks cannot be found. */
	buf[12] ^= 0x10;
	assert_null(ks_recfile_reader__new_mem(buf, len, &err));
	assert_non_null(strstr(err.msg, "header is damaged"));
	free(buf);
}

/* ---- a file built by hand ---- */

struct bytes {
	uint8_t b[1024];
	size_t n;
};

static void put(struct bytes *o, const void *p, size_t n)
{
	assert_true(o->n + n <= sizeof(o->b));
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void varint(struct bytes *o, uint64_t v)
{
	do {
		uint8_t c = (uint8_t)(v & 0x7f);

		v >>= 7;
		if (v)
			c |= 0x80;
		put(o, &c, 1);
	} while (v);
}

static void str(struct bytes *o, const char *s)
{
	varint(o, strlen(s));
	put(o, s, strlen(s));
}

static void block(struct bytes *file, uint32_t type, const struct bytes *p)
{
	uint8_t h[16] = { 'K', 'S', 'B', 'K' };
	uLong crc;

	for (int i = 0; i < 4; i++) {
		h[4 + i] = (uint8_t)(type >> (8 * i));
		h[8 + i] = (uint8_t)(p->n >> (8 * i));
	}
	crc = crc32(crc32(0L, Z_NULL, 0), h + 4, 8);
	crc = crc32(crc, p->b, (uInt)p->n);
	for (int i = 0; i < 4; i++)
		h[12 + i] = (uint8_t)(crc >> (8 * i));
	put(file, h, 16);
	put(file, p->b, p->n);
}

static void test_unknown_names(void **state)
{
	struct bytes *file = calloc(1, sizeof(*file));
	struct bytes p = { .n = 0 };
	size_t hlen;
	uint8_t *good = write_file(0, &hlen);
	struct ks_recfile_reader *rd;
	const struct ks_recfile_stats *st;
	struct ks_record r;
	struct ks_err err;
	uint8_t u8;

	(void)state;
	/* The header of a real file (its length is at offset 12). */
	put(file, good, good[12]);
	/* Schema: fields vm (discrete), bogus (numeric), latency (numeric),
	 * vcpu claimed numeric (a type change); metrics vm.exits, vm.bogus. */
	varint(&p, 4);
	str(&p, "vm"); u8 = 0; put(&p, &u8, 1);
	str(&p, "bogus"); u8 = 1; put(&p, &u8, 1);
	str(&p, "latency"); u8 = 1; put(&p, &u8, 1);
	str(&p, "vcpu"); u8 = 1; put(&p, &u8, 1);
	varint(&p, 2);
	str(&p, "vm.exits");
	str(&p, "vm.bogus");
	block(file, KS_RB_SCHEMA, &p);
	p.n = 0;
	varint(&p, 1);
	varint(&p, 1);
	str(&p, "myvm");
	block(file, KS_RB_SYMBOLS, &p);
	p.n = 0;
	varint(&p, 3);		/* records */
	varint(&p, 7000000000ULL);	/* base ts */
	/* vm.exits, all four fields */
	varint(&p, 0); varint(&p, 1); varint(&p, 0); u8 = 0; put(&p, &u8, 1);
	varint(&p, 0xf); varint(&p, 1); varint(&p, 5); varint(&p, 777);
	varint(&p, 3);
	/* vm.bogus */
	varint(&p, 2); varint(&p, 1); varint(&p, 1); put(&p, &u8, 1);
	varint(&p, 0x1); varint(&p, 1);
	/* vm.exits with a symbol never defined */
	varint(&p, 2); varint(&p, 4); varint(&p, 0); put(&p, &u8, 1);
	varint(&p, 0x5); varint(&p, 9); varint(&p, 5);
	block(file, KS_RB_RECORDS, &p);
	p.n = 0;
	varint(&p, 3);
	block(file, KS_RB_END, &p);
	/* A block type from the future is skipped. */
	p.n = 0;
	put(&p, "hello", 5);
	block(file, 99, &p);

	rd = ks_recfile_reader__new_mem(file->b, file->n, &err);
	assert_non_null(rd);
	assert_int_equal(ks_recfile_reader__next(rd, &r), 1);
	assert_int_equal(r.metric, KS_M_VM_EXITS);
	assert_int_equal(r.ts, 7000000000ULL);
	assert_string_equal(ks_sym_str((uint32_t)r.f[KS_F_VM]), "myvm");
	assert_int_equal(r.f[KS_F_LATENCY], 777);
	assert_int_equal(r.present, (1u << KS_F_VM) | (1u << KS_F_LATENCY));
	assert_int_equal(ks_recfile_reader__next(rd, &r), 1);
	assert_int_equal(r.ts, 7000000002ULL);	/* zigzag deltas: +1, +1 */
	assert_int_equal(r.value, 4);
	assert_int_equal(r.present, 1u << KS_F_LATENCY);
	assert_int_equal(r.f[KS_F_LATENCY], 5);
	assert_int_equal(ks_recfile_reader__next(rd, &r), 0);
	st = ks_recfile_reader__stats(rd);
	assert_int_equal(st->records, 2);
	assert_int_equal(st->unknown_metric, 1);
	assert_int_equal(st->unknown_field, 2);	/* bogus and vcpu of record 1 */
	assert_int_equal(st->unresolved_sym, 1);
	assert_int_equal(st->unknown_blocks, 1);
	assert_int_equal(st->corrupt, 0);
	assert_non_null(strstr(st->problems[0], "'vcpu' changed type"));
	assert_non_null(strstr(st->problems[1], "'vm.bogus' is not known"));
	ks_recfile_reader__free(rd);
	free(good);
	free(file);
}

/* Writing to a file that cannot take it fails cleanly. */
static void test_write_error(void **state)
{
	struct ks_recfile_writer *w;
	struct ks_record r;
	struct ks_err err;
	int fd = open("/dev/full", O_WRONLY);
	int rc = 0;

	(void)state;
	if (fd < 0)
		skip();
	w = ks_recfile_writer__new_fd(fd, 0, &err);
	if (w) {	/* the header may sit in no buffer: /dev/full fails */
		for (unsigned i = 0; i < NREC && !rc; i++) {
			make_record(&r, i);
			rc = ks_recfile_writer__add(w, &r, 1);
		}
		assert_int_equal(rc, -ENOSPC);
		assert_int_equal(ks_recfile_writer__close(w, &err), -ENOSPC);
	}
	assert_string_equal(err.param, "FILE");
	assert_non_null(strstr(err.msg, "No space"));
}

static int teardown(void **state)
{
	(void)state;
	ks_sym_reset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_roundtrip, teardown),
		cmocka_unit_test_teardown(test_open_path_and_empty, teardown),
		cmocka_unit_test_teardown(test_flip_record_block, teardown),
		cmocka_unit_test_teardown(test_flip_length, teardown),
		cmocka_unit_test_teardown(test_flip_symbols, teardown),
		cmocka_unit_test_teardown(test_truncated, teardown),
		cmocka_unit_test_teardown(test_foreign_and_header, teardown),
		cmocka_unit_test_teardown(test_unknown_names, teardown),
		cmocka_unit_test_teardown(test_write_error, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
