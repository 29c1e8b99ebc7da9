/* protobuf.c - the protocol buffers wire format, the few parts we need.
 *
 * Everything is appended to one growing buffer.  Nested messages are
 * written in place and their length prefix inserted afterwards
 * (ks_pb__close), so no message is ever built twice or copied into a
 * parent; the one memmove per message is cheap next to formatting.
 */
#include "expo/protobuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ks_pb_fini(struct ks_pb *b)
{
	free(b->buf);
	*b = (struct ks_pb)KS_PB_INIT;
}

uint8_t *ks_pb__take(struct ks_pb *b, size_t *len)
{
	uint8_t *p = b->buf;

	if (!b->err && !p)
		p = calloc(1, 1);
	if (b->err || !p) {
		ks_pb_fini(b);
		return NULL;
	}
	if (len)
		*len = b->len;
	*b = (struct ks_pb)KS_PB_INIT;
	return p;
}

/* Room for n more bytes: 0, or the sticky -ENOMEM. */
static int reserve(struct ks_pb *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *p;

	if (b->err)
		return b->err;
	if (n <= b->cap - b->len)
		return 0;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			return b->err = -ENOMEM;
		cap *= 2;
	}
	if (!(p = realloc(b->buf, cap)))
		return b->err = -ENOMEM;
	b->buf = p;
	b->cap = cap;
	return 0;
}

void ks_pb__raw(struct ks_pb *b, const void *p, size_t n)
{
	if (!n || reserve(b, n))
		return;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

size_t ks_pb_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Writes v as a varint at p (ks_pb_varint_len(v) bytes). */
static void put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p = (uint8_t)v;
}

void ks_pb__varint(struct ks_pb *b, uint64_t v)
{
	size_t n = ks_pb_varint_len(v);

	if (reserve(b, n))
		return;
	put_varint(b->buf + b->len, v);
	b->len += n;
}

void ks_pb__tag(struct ks_pb *b, uint32_t field, enum ks_pb_wire wire)
{
	ks_pb__varint(b, (uint64_t)field << 3 | wire);
}

void ks_pb__uint(struct ks_pb *b, uint32_t field, uint64_t v)
{
	ks_pb__tag(b, field, KS_PB_VARINT);
	ks_pb__varint(b, v);
}

void ks_pb__sint(struct ks_pb *b, uint32_t field, int64_t v)
{
	ks_pb__tag(b, field, KS_PB_VARINT);
	ks_pb__varint(b, ks_pb_zigzag(v));
}

void ks_pb__double(struct ks_pb *b, uint32_t field, double v)
{
	uint8_t le[8];
	uint64_t u;

	/* IEEE 754 bits, least significant byte first whatever the host. */
	memcpy(&u, &v, sizeof(u));
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(u >> (8 * i));
	ks_pb__tag(b, field, KS_PB_I64);
	ks_pb__raw(b, le, sizeof(le));
}

void ks_pb__bytes(struct ks_pb *b, uint32_t field, const void *p, size_t n)
{
	ks_pb__tag(b, field, KS_PB_LEN);
	ks_pb__varint(b, n);
	ks_pb__raw(b, p, n);
}

void ks_pb__string(struct ks_pb *b, uint32_t field, const char *s)
{
	ks_pb__bytes(b, field, s, strlen(s));
}

size_t ks_pb__open(struct ks_pb *b, uint32_t field)
{
	if (field)
		ks_pb__tag(b, field, KS_PB_LEN);
	return b->len;
}

void ks_pb__close(struct ks_pb *b, size_t mark)
{
	size_t body, n;

	if (b->err || mark > b->len)
		return;
	body = b->len - mark;
	n = ks_pb_varint_len(body);
	if (reserve(b, n))
		return;
	memmove(b->buf + mark + n, b->buf + mark, body);
	put_varint(b->buf + mark, body);
	b->len += n;
}
