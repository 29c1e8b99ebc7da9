/* blkprobe.h - QEMU block-layer uprobe events to guest disk operations.
 *
 * The uprobe disk source puts probes on QEMU's exported block functions
 * and reads what they record from tracefs.  Four kinds of event arrive:
 *
 *   start   block_acct_start(stats, cookie, bytes, type): a request is
 *           accounted (stats is the disk's BlockAcctStats, cookie the
 *           request's BlockAcctCookie);
 *   readv/writev/discard
 *           blk_aio_preadv/pwritev/pdiscard(blk, offset, ...): the
 *           request goes to the block layer, with its byte offset, size
 *           and the BlockBackend's name (the -drive id; "" for anonymous
 *           backends, as -blockdev makes);
 *   done/failed
 *           block_acct_done/failed(stats, cookie): it completed; the
 *           cookie still holds bytes, type and QEMU's start time
 *           (CLOCK_MONOTONIC ns, the trace clock we ask for).
 *
 * This module pairs them: a start is given the offset of the next
 * matching readv/writev on the same thread (the frontends account, then
 * submit; several requests merged into one submission get consecutive
 * offsets), and a done yields one operation with its type, size, latency
 * (trace time minus the cookie's start), offset when paired, and disk
 * name when learned.  Pure: fed parsed events, no I/O, unit-tested.
 */
#ifndef KS_VM_BLKPROBE_H
#define KS_VM_BLKPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/blockstats.h"

enum ks_blkev_kind {
	KS_BLKEV_START,
	KS_BLKEV_READV,
	KS_BLKEV_WRITEV,
	KS_BLKEV_DISCARD,
	KS_BLKEV_DONE,
	KS_BLKEV_FAILED,
};

struct ks_blkev {
	enum ks_blkev_kind kind;
	uint32_t tgid, tid;
	uint64_t ts;		/* trace time, CLOCK_MONOTONIC ns */
	uint64_t stats, cookie;	/* start, done, failed */
	int64_t bytes;
	uint32_t type;		/* QEMU's BlockAcctType */
	uint64_t start_ns;	/* done, failed */
	int64_t offset;		/* readv, writev, discard */
	uint64_t size;
	char name[64];		/* BlockBackend name */
};

/* The event names the source gives its probes, and their fetch args. */
#define KS_BLKEV_START_ARGS "stats=%di:x64 cookie=%si:x64 bytes=%dx:s64 " \
			    "type=%cx:u32"
#define KS_BLKEV_DONE_ARGS "stats=%di:x64 cookie=%si:x64 bytes=+0(%si):s64 " \
			   "start=+8(%si):u64 type=+16(%si):u32"
/* blk_aio_preadv/pwritev(blk, offset, qiov, ...): qiov->size is at +32
 * (QEMUIOVector: iov, niov, then a union whose size_t sits at +32). */
#define KS_BLKEV_RW_ARGS "blk=%di:x64 off=%si:s64 size=+32(%dx):u64 " \
			 "name=+0(+0(%di)):string"
/* blk_aio_pdiscard(blk, offset, bytes, ...) */
#define KS_BLKEV_DISCARD_ARGS "blk=%di:x64 off=%si:s64 size=%dx:u64 " \
			      "name=+0(+0(%di)):string"

/* Parses one event's name ("start", "readv", "writev", "discard",
 * "done", "failed") and field text into ev (kind and fields; tgid, tid
 * and ts are the caller's).  0, or -EINVAL for a name or fields that are
 * not ours. */
int ks_blkev_parse(const char *name, size_t nlen, const char *fields,
		   size_t flen, struct ks_blkev *ev);

/* QEMU's BlockAcctType numbering changed in 8.1 (ZONE_APPEND went in
 * before FLUSH).  The op for type in a QEMU of version (major * 10000 +
 * minor * 100 + micro), or -1 for none/unknown. */
int ks_blkprobe_op(int qemu_version, uint32_t type);

/* One completed guest disk operation. */
struct ks_blkop {
	uint32_t tgid;
	enum ks_bs_op op;
	uint64_t bytes;
	bool has_offset;
	uint64_t offset;
	uint64_t latency;	/* ns */
	bool failed;
	uint64_t ts;		/* completion, trace time */
	char disk[64];		/* BlockBackend name; "" if not learned */
};

struct ks_blkprobe_stats {
	uint64_t ops;
	uint64_t no_offset;	/* completed without a paired submission */
	uint64_t overflow;	/* in-flight entries dropped for room */
	uint64_t bad_type;	/* types this version cannot name */
};

struct ks_blkprobe;

/* qemu_version as for ks_blkprobe_op; NULL on ENOMEM. */
struct ks_blkprobe *ks_blkprobe__new(int qemu_version);
void ks_blkprobe__free(struct ks_blkprobe *b);

/* Feeds one event; 1 with *op filled when it completes an operation, 0
 * otherwise, -ENOMEM. */
int ks_blkprobe__feed(struct ks_blkprobe *b, const struct ks_blkev *ev,
		      struct ks_blkop *op);

/* Forgets a process's state (its VM ended). */
void ks_blkprobe__forget(struct ks_blkprobe *b, uint32_t tgid);

const struct ks_blkprobe_stats *ks_blkprobe__stats(const struct ks_blkprobe *b);

#endif /* KS_VM_BLKPROBE_H */
