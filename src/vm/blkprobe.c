/* blkprobe.c - pairing block-layer uprobe events (see blkprobe.h).
 *
 * In-flight requests live in a flat array searched linearly: a VM has at
 * most its queue depth in flight (virtio-blk: 256 per queue), and the
 * array is bounded, oldest dropped first.  The stats -> BlockBackend name
 * map is learned from the pairing (the start carries stats, the
 * submission carries the name).
 */
#include "vm/blkprobe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INFLIGHT 8192
#define MAX_NAMES 256

struct inflight {
	uint32_t tgid, tid;
	uint64_t cookie, stats;
	uint64_t bytes;
	uint32_t type;
	uint64_t seq;
	bool pending;		/* no submission seen yet */
	bool has_offset;
	uint64_t offset;
};

struct bname {
	uint32_t tgid;
	uint64_t stats;
	char name[64];
};

struct ks_blkprobe {
	int version;
	struct inflight *v;
	size_t n, cap;
	struct bname names[MAX_NAMES];
	size_t nnames;
	uint64_t seq;
	struct ks_blkprobe_stats st;
};

/* ---- parsing -------------------------------------------------------------- */

/* The value of key in "k1=v1 k2=v2 name=\"s\"", copied to out. */
static int field(const char *f, size_t len, const char *key, char *out,
		 size_t size)
{
	size_t kl = strlen(key);
	const char *p = f, *end = f + len, *v;
	size_t vl;

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if ((size_t)(end - p) > kl && !memcmp(p, key, kl) && p[kl] == '=') {
			v = p + kl + 1;
			if (v < end && *v == '"') {
				const char *q;

				v++;
				q = memchr(v, '"', (size_t)(end - v));
				vl = (size_t)((q ? q : end) - v);
			} else {
				vl = 0;
				while (v + vl < end && v[vl] != ' ')
					vl++;
			}
			if (vl >= size)
				vl = size - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
		while (p < end && *p != ' ')
			p++;
	}
	return -ENOENT;
}

static int num(const char *f, size_t len, const char *key, bool is_signed,
	       uint64_t *out)
{
	char buf[32], *e;

	if (field(f, len, key, buf, sizeof(buf)) || !buf[0])
		return -EINVAL;
	errno = 0;
	*out = is_signed ? (uint64_t)strtoll(buf, &e, 0) : strtoull(buf, &e, 0);
	return errno || *e ? -EINVAL : 0;
}

static bool name_is(const char *n, size_t nlen, const char *s)
{
	return nlen == strlen(s) && !memcmp(n, s, nlen);
}

int ks_blkev_parse(const char *name, size_t nlen, const char *f, size_t flen,
		   struct ks_blkev *ev)
{
	uint64_t v;
	int e = 0;

	memset(&ev->stats, 0, sizeof(*ev) - offsetof(struct ks_blkev, stats));
	if (name_is(name, nlen, "start")) {
		ev->kind = KS_BLKEV_START;
	} else if (name_is(name, nlen, "done") || name_is(name, nlen, "failed")) {
		ev->kind = name[0] == 'd' ? KS_BLKEV_DONE : KS_BLKEV_FAILED;
		e = num(f, flen, "start", false, &ev->start_ns);
	} else {
		if (name_is(name, nlen, "readv"))
			ev->kind = KS_BLKEV_READV;
		else if (name_is(name, nlen, "writev"))
			ev->kind = KS_BLKEV_WRITEV;
		else if (name_is(name, nlen, "discard"))
			ev->kind = KS_BLKEV_DISCARD;
		else
			return -EINVAL;
		if ((e = num(f, flen, "off", true, &v)) ||
		    (e = num(f, flen, "size", false, &ev->size)))
			return e;
		ev->offset = (int64_t)v;
		/* An anonymous backend's name is "" (or unreadable). */
		if (field(f, flen, "name", ev->name, sizeof(ev->name)) ||
		    !strcmp(ev->name, "(fault)"))
			ev->name[0] = '\0';
		return 0;
	}
	if (e || (e = num(f, flen, "stats", false, &ev->stats)) ||
	    (e = num(f, flen, "cookie", false, &ev->cookie)) ||
	    (e = num(f, flen, "bytes", true, &v)))
		return e;
	ev->bytes = (int64_t)v;
	if ((e = num(f, flen, "type", false, &v)))
		return e;
	ev->type = (uint32_t)v;
	return 0;
}

int ks_blkprobe_op(int version, uint32_t type)
{
	/* 1 read, 2 write, then (8.1+: 3 zone append) flush, unmap. */
	bool zap = version >= 80100;

	switch (type) {
	case 1: return KS_BS_READ;
	case 2: return KS_BS_WRITE;
	case 3: return zap ? KS_BS_WRITE : KS_BS_FLUSH;
	case 4: return zap ? KS_BS_FLUSH : KS_BS_DISCARD;
	case 5: return zap ? KS_BS_DISCARD : -1;
	default: return -1;
	}
}

/* ---- state ------------------------------------------------------------------- */

struct ks_blkprobe *ks_blkprobe__new(int version)
{
	struct ks_blkprobe *b = calloc(1, sizeof(*b));

	if (b)
		b->version = version;
	return b;
}

void ks_blkprobe__free(struct ks_blkprobe *b)
{
	if (!b)
		return;
	free(b->v);
	free(b);
}

static struct inflight *find(struct ks_blkprobe *b, uint32_t tgid,
			     uint64_t cookie)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].tgid == tgid && b->v[i].cookie == cookie)
			return &b->v[i];
	return NULL;
}

static void drop(struct ks_blkprobe *b, size_t i)
{
	b->v[i] = b->v[--b->n];
}

static int on_start(struct ks_blkprobe *b, const struct ks_blkev *ev)
{
	struct inflight *f = find(b, ev->tgid, ev->cookie);
	int op = ks_blkprobe_op(b->version, ev->type);

	if (!f) {
		if (b->n == MAX_INFLIGHT) {
			size_t oldest = 0;

			for (size_t i = 1; i < b->n; i++)
				if (b->v[i].seq < b->v[oldest].seq)
					oldest = i;
			drop(b, oldest);
			b->st.overflow++;
		}
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 64;
			struct inflight *nv = realloc(b->v, cap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			b->v = nv;
			b->cap = cap;
		}
		f = &b->v[b->n++];
	}
	*f = (struct inflight){ .tgid = ev->tgid, .tid = ev->tid,
				.cookie = ev->cookie, .stats = ev->stats,
				.bytes = ev->bytes > 0 ? (uint64_t)ev->bytes : 0,
				.type = ev->type, .seq = ++b->seq,
				.pending = op == KS_BS_READ || op == KS_BS_WRITE ||
					   op == KS_BS_DISCARD };
	return 0;
}

static void learn_name(struct ks_blkprobe *b, uint32_t tgid, uint64_t stats,
		       const char *name)
{
	size_t i;

	for (i = 0; i < b->nnames; i++)
		if (b->names[i].tgid == tgid && b->names[i].stats == stats)
			break;
	if (i == b->nnames) {
		if (b->nnames == MAX_NAMES)
			return;
		b->nnames++;
	}
	b->names[i].tgid = tgid;
	b->names[i].stats = stats;
	snprintf(b->names[i].name, sizeof(b->names[i].name), "%s", name);
}

static const char *name_of(const struct ks_blkprobe *b, uint32_t tgid,
			   uint64_t stats)
{
	for (size_t i = 0; i < b->nnames; i++)
		if (b->names[i].tgid == tgid && b->names[i].stats == stats)
			return b->names[i].name;
	return "";
}

/* The oldest pending start of op on this thread, or NULL. */
static struct inflight *oldest_pending(struct ks_blkprobe *b,
				       const struct ks_blkev *ev, int op)
{
	struct inflight *best = NULL;

	for (size_t i = 0; i < b->n; i++) {
		struct inflight *f = &b->v[i];

		if (f->pending && f->tgid == ev->tgid && f->tid == ev->tid &&
		    ks_blkprobe_op(b->version, f->type) == op &&
		    (!best || f->seq < best->seq))
			best = f;
	}
	return best;
}

/* A submission covers the oldest pending starts of its type on its
 * thread, in order, as far as its size goes. */
static void on_submit(struct ks_blkprobe *b, const struct ks_blkev *ev)
{
	int op = ev->kind == KS_BLKEV_READV ? KS_BS_READ :
		 ev->kind == KS_BLKEV_WRITEV ? KS_BS_WRITE : KS_BS_DISCARD;
	uint64_t done = 0;
	struct inflight *f;

	if (ev->offset < 0)
		return;
	while ((f = oldest_pending(b, ev, op)) && done + f->bytes <= ev->size) {
		f->pending = false;
		f->has_offset = true;
		f->offset = (uint64_t)ev->offset + done;
		done += f->bytes;
		learn_name(b, ev->tgid, f->stats, ev->name);
		if (!f->bytes)
			break;
	}
}

static int on_done(struct ks_blkprobe *b, const struct ks_blkev *ev,
		   struct ks_blkop *op)
{
	struct inflight *f = find(b, ev->tgid, ev->cookie);
	int o = ks_blkprobe_op(b->version, ev->type);

	memset(op, 0, sizeof(*op));
	if (o < 0) {
		b->st.bad_type++;
		if (f)
			drop(b, (size_t)(f - b->v));
		return 0;
	}
	op->tgid = ev->tgid;
	op->op = (enum ks_bs_op)o;
	op->bytes = ev->bytes > 0 ? (uint64_t)ev->bytes : 0;
	op->failed = ev->kind == KS_BLKEV_FAILED;
	op->ts = ev->ts;
	/* The trace shows microseconds; QEMU's start is in ns. */
	op->latency = ev->ts > ev->start_ns ? ev->ts - ev->start_ns : 0;
	snprintf(op->disk, sizeof(op->disk), "%s",
		 name_of(b, ev->tgid, ev->stats));
	if (f && f->has_offset) {
		op->has_offset = true;
		op->offset = f->offset;
	} else if (o != KS_BS_FLUSH) {
		b->st.no_offset++;
	}
	if (f)
		drop(b, (size_t)(f - b->v));
	b->st.ops++;
	return 1;
}

int ks_blkprobe__feed(struct ks_blkprobe *b, const struct ks_blkev *ev,
		      struct ks_blkop *op)
{
	switch (ev->kind) {
	case KS_BLKEV_START:
		return on_start(b, ev);
	case KS_BLKEV_READV:
	case KS_BLKEV_WRITEV:
	case KS_BLKEV_DISCARD:
		on_submit(b, ev);
		return 0;
	case KS_BLKEV_DONE:
	case KS_BLKEV_FAILED:
		return on_done(b, ev, op);
	}
	return 0;
}

void ks_blkprobe__forget(struct ks_blkprobe *b, uint32_t tgid)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].tgid != tgid)
			b->v[n++] = b->v[i];
	b->n = n;
	n = 0;
	for (size_t i = 0; i < b->nnames; i++)
		if (b->names[i].tgid != tgid)
			b->names[n++] = b->names[i];
	b->nnames = n;
}

const struct ks_blkprobe_stats *ks_blkprobe__stats(const struct ks_blkprobe *b)
{
	return &b->st;
}
