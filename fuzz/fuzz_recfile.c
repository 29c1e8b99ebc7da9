/* fuzz_recfile.c - libFuzzer target for the record file reader.
 *
 * Every block carries a CRC, so random bytes almost never get past the
 * framing.  The first input byte therefore picks a mode: odd, the input is
 * the file as is (magic, header and framing checks); even, the rest is a
 * list of blocks ([type][length][payload]...) that this harness frames
 * with correct CRCs after a real header and schema, so the fuzzer reaches
 * the schema, symbol and record decoders.  Any input must read to the end
 * without a crash, a leak or UB, with every record of a known metric.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "engine/symtab.h"
#include "replay/recfile.h"

static uint8_t *prefix;		/* header + schema block of a real file */
static size_t prefix_len;

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz_recfile.XXXXXX";
	int fd = mkstemp(path);
	struct ks_recfile_writer *w;
	struct ks_err err;
	struct stat sb;
	size_t hdr;

	(void)argc;
	(void)argv;
	if (fd < 0 || !(w = ks_recfile_writer__new_fd(fd, 0, &err)) ||
	    ks_recfile_writer__close(w, &err) || stat(path, &sb))
		abort();
	prefix = malloc((size_t)sb.st_size);
	fd = open(path, O_RDONLY);
	if (!prefix || read(fd, prefix, (size_t)sb.st_size) != sb.st_size)
		abort();
	close(fd);
	unlink(path);
	hdr = le32(prefix + 12);
	prefix_len = hdr + 16 + le32(prefix + hdr + 8);
	return 0;
}

static void put(uint8_t *out, size_t *n, const void *p, size_t len)
{
	memcpy(out + *n, p, len);
	*n += len;
}

/* Frames [type][len][payload]... with valid CRCs after the prefix. */
static uint8_t *frame(const uint8_t *data, size_t size, size_t *outlen)
{
	uint8_t *out = malloc(prefix_len + size * 8 + 16);
	size_t n = 0;

	if (!out)
		abort();
	put(out, &n, prefix, prefix_len);
	while (size >= 2) {
		uint8_t h[16] = { 'K', 'S', 'B', 'K' };
		uint32_t type = data[0] % 6, len = data[1];
		uLong crc;

		data += 2;
		size -= 2;
		if (len > size)
			len = (uint32_t)size;
		for (int i = 0; i < 4; i++) {
			h[4 + i] = (uint8_t)(type >> (8 * i));
			h[8 + i] = (uint8_t)(len >> (8 * i));
		}
		crc = crc32(crc32(0L, Z_NULL, 0), h + 4, 8);
		crc = crc32(crc, data, len);
		for (int i = 0; i < 4; i++)
			h[12 + i] = (uint8_t)(crc >> (8 * i));
		put(out, &n, h, 16);
		put(out, &n, data, len);
		data += len;
		size -= len;
	}
	*outlen = n;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_recfile_reader *rd;
	uint8_t *buf = NULL;
	struct ks_record r;
	struct ks_err err;
	size_t len = size;
	uint64_t n = 0;

	if (!size)
		return 0;
	if (data[0] & 1) {
		data++;
		len--;
	} else {
		buf = frame(data + 1, size - 1, &len);
		data = buf;
	}
	rd = ks_recfile_reader__new_mem(data, len, &err);
	if (rd) {
		while (ks_recfile_reader__next(rd, &r) > 0) {
			if (r.metric >= KS_M__COUNT)
				abort();
			n++;
		}
		if (ks_recfile_reader__stats(rd)->records != n)
			abort();
		ks_recfile_reader__free(rd);
	} else if (!err.msg[0] || strcmp(err.param, "FILE")) {
		abort();
	}
	free(buf);
	ks_sym_reset();
	return 0;
}
