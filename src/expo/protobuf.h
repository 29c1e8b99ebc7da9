/* protobuf.h - a small protocol buffers wire-format encoder.
 *
 * Prometheus' protobuf exposition (prom_pb.h) needs only a handful of
 * wire-format pieces: varints, zigzag-encoded signed ints, little-endian
 * doubles, length-delimited strings and nested messages.  Writing them by
 * hand keeps a protobuf library (and protoc code generation) out of the
 * build.  A nested message's length is not known until its contents are
 * written, so ks_pb__open() remembers where the contents start and
 * ks_pb__close() inserts the length varint there, shifting the contents;
 * the output is therefore canonical (minimal varints), which lets tests
 * compare it byte for byte.
 *
 * Allocation failure is sticky: the first -ENOMEM is kept in err and every
 * later call does nothing, so a writer checks once at the end.
 */
#ifndef KS_EXPO_PROTOBUF_H
#define KS_EXPO_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

/* Wire types (the low three bits of a field's tag). */
enum ks_pb_wire {
	KS_PB_VARINT = 0,
	KS_PB_I64 = 1,
	KS_PB_LEN = 2,
	KS_PB_I32 = 5,
};

struct ks_pb {
	uint8_t *buf;
	size_t len, cap;
	int err;		/* 0 or -ENOMEM, sticky */
};

#define KS_PB_INIT { NULL, 0, 0, 0 }

void ks_pb_fini(struct ks_pb *b);

/* Hands the bytes over (malloc'd, even when empty; the caller frees) and
 * resets b; NULL if an allocation failed (b is freed then). */
uint8_t *ks_pb__take(struct ks_pb *b, size_t *len);

/* Raw pieces. */
void ks_pb__raw(struct ks_pb *b, const void *p, size_t n);
void ks_pb__varint(struct ks_pb *b, uint64_t v);
void ks_pb__tag(struct ks_pb *b, uint32_t field, enum ks_pb_wire wire);

static inline uint64_t ks_pb_zigzag(int64_t v)
{
	/* Sign into the low bit, so small magnitudes stay short. */
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* Whole fields: tag then value. */
void ks_pb__uint(struct ks_pb *b, uint32_t field, uint64_t v);
void ks_pb__sint(struct ks_pb *b, uint32_t field, int64_t v);
void ks_pb__double(struct ks_pb *b, uint32_t field, double v);
void ks_pb__bytes(struct ks_pb *b, uint32_t field, const void *p, size_t n);
void ks_pb__string(struct ks_pb *b, uint32_t field, const char *s);

/* A nested message (or packed repeated field) as field `field`: returns
 * the mark to give to ks_pb__close() once its contents are written.
 * Field 0 writes no tag: the varint-length-delimited framing used to
 * stream several top-level messages. */
size_t ks_pb__open(struct ks_pb *b, uint32_t field);
void ks_pb__close(struct ks_pb *b, size_t mark);

/* The size of v as a varint, 1..10 bytes. */
size_t ks_pb_varint_len(uint64_t v);

#endif /* KS_EXPO_PROTOBUF_H */
