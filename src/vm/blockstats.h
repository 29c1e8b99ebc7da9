/* blockstats.h - QEMU's per-disk I/O counters from QMP query-blockstats.
 *
 * QEMU counts, per block backend, completed operations and bytes by type
 * (read, write, flush, discard), failed operations, and - once
 * block-latency-histogram-set has been sent - a latency histogram per type
 * with the bin boundaries it was given.  This module parses that reply,
 * names each disk the way discovery does (the QEMU device id, else the
 * drive id, else the node name), and gives the boundaries kvmscope asks
 * for: the edges of its own log-linear buckets (bpf/loglin.h), so that
 * QEMU's bins are exactly kvmscope's buckets and the latency distribution
 * it reports is a real one, not an average dressed up.
 *
 * There are no per-request offsets or sizes in QMP; those need the uprobe
 * source.
 */
#ifndef KS_VM_BLOCKSTATS_H
#define KS_VM_BLOCKSTATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ks_bs_op {
	KS_BS_READ,
	KS_BS_WRITE,
	KS_BS_FLUSH,
	KS_BS_DISCARD,
	KS_BS__COUNT
};

/* The optype field's value for op ("read", "write", "flush", "discard"). */
const char *ks_bs_op_name(enum ks_bs_op op);

struct ks_bs_hist {
	uint64_t *bounds;	/* nbins - 1 boundaries, ns */
	uint64_t *bins;		/* nbins counts */
	size_t nbins;		/* 0: no histogram */
};

struct ks_bs_dev {
	char *name;		/* the disk field's value */
	char *qdev;		/* QOM path for block-latency-histogram-set */
	uint64_t ops[KS_BS__COUNT];
	uint64_t bytes[KS_BS__COUNT];
	uint64_t failed[KS_BS__COUNT];
	struct ks_bs_hist hist[KS_BS__COUNT];	/* discard: none in QMP */
};

struct ks_blockstats {
	struct ks_bs_dev *v;
	size_t n;
};

/* Parses query-blockstats' return value.  Entries without counters are
 * skipped.  0, -EPROTO if it is not an array, -ENOMEM. */
int ks_blockstats_parse(const json_t *ret, struct ks_blockstats *out);
void ks_blockstats_fini(struct ks_blockstats *b);
const struct ks_bs_dev *ks_blockstats_find(const struct ks_blockstats *b,
					   const char *name);

/* The disk name of an entry: the id in a qdev path
 * "/machine/peripheral/ID/...", else device (the -drive id) if not
 * empty, else node_name, else qdev as it is; NULL if none. */
const char *ks_blockstats_name(const char *device, const char *qdev,
			       const char *node_name, char *buf, size_t size);

/* kvmscope's histogram boundaries: the lower edges of the log-linear
 * buckets from 256 ns to 2^36 ns (68.7 s).  Bin 0 (under 256 ns) is
 * reported as 0 ns; the last bin (68.7 s and over) as 68.7 s. */
size_t ks_blockstats_bounds(const uint64_t **bounds);
/* True if h has exactly those boundaries. */
bool ks_blockstats_hist_ours(const struct ks_bs_hist *h);
/* The latency a record of bin i of one of our histograms carries. */
uint64_t ks_blockstats_bin_latency(size_t i);

/* block-latency-histogram-set's arguments for qdev, with our boundaries
 * (a new reference), or NULL on ENOMEM. */
json_t *ks_blockstats_hist_args(const char *qdev);

#endif /* KS_VM_BLOCKSTATS_H */
