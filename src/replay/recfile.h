/* recfile.h - kvmscope's native record file: write records, read them back.
 *
 * `kvmscope record` saves what a host saw so that `kvmscope replay` can run
 * it through the engine elsewhere, later, perhaps with a newer kvmscope.
 * The file is a header then a sequence of independent, checksummed blocks:
 *
 *   header  magic "\x89KSR\r\n\x1a\n", version, flags, creation time,
 *           hostname, CRC32
 *   block   sync "KSBK", type, length, CRC32 (of type, length, payload),
 *           payload
 *
 * A schema block names every metric and field by its catalogue name, so
 * records are mapped by name when read: a metric or field this kvmscope
 * does not know is counted and skipped, never misread.  Symbol blocks carry
 * the strings of discrete values (file-local id -> string); record blocks
 * carry batches of records, varint-encoded with delta timestamps; an end
 * block carries the totals, so truncation is detected.  A corrupt block is
 * found by its CRC, reported, and skipped by scanning for the next sync
 * word whose block checks out; the blocks after it are still read.  All
 * integers are little-endian, and no in-memory struct is ever written.
 */
#ifndef KS_REPLAY_RECFILE_H
#define KS_REPLAY_RECFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/record.h"
#include "util/err.h"

#define KS_RECFILE_VERSION 1
#define KS_RECFILE_MAGIC_LEN 8
/* Header flags. */
#define KS_RECFILE_F_CONVERTED 0x1u	/* converted from a tracefs text trace */

/* Block types. */
enum ks_recfile_block {
	KS_RB_SCHEMA = 1,
	KS_RB_SYMBOLS = 2,
	KS_RB_RECORDS = 3,
	KS_RB_END = 4,
};

/* True if buf (len bytes, len >= KS_RECFILE_MAGIC_LEN) starts with the
 * magic of a record file. */
bool ks_recfile_sniff(const void *buf, size_t len);

/* ---- writing ---- */

struct ks_recfile_writer;

/* Creates (truncates) path and writes the header and schema.  NULL with
 * err filled (param "FILE") on failure. */
struct ks_recfile_writer *ks_recfile_writer__open(const char *path,
						  uint32_t flags,
						  struct ks_err *err);
/* Same on an open fd, which the writer closes. */
struct ks_recfile_writer *ks_recfile_writer__new_fd(int fd, uint32_t flags,
						    struct ks_err *err);
/* Adds n records (buffered; blocks are written as they fill).  0 or a
 * negative errno; after an error the writer only fails. */
int ks_recfile_writer__add(struct ks_recfile_writer *w,
			   const struct ks_record *r, size_t n);
/* Writes the pending blocks and the end block, closes and frees w (also
 * after an error).  0 or the first error, with err filled. */
int ks_recfile_writer__close(struct ks_recfile_writer *w, struct ks_err *err);

/* ---- reading ---- */

#define KS_RECFILE_MAXPROBLEMS 8

struct ks_recfile_stats {
	uint64_t blocks;	/* blocks read whole */
	uint64_t corrupt;	/* damaged regions skipped */
	uint64_t corrupt_bytes;
	bool truncated;		/* ends inside a block */
	bool has_end;		/* the end block was read */
	uint64_t end_records;	/* records it says were written */
	uint64_t unknown_blocks;	/* types this version does not know */
	uint64_t records;	/* records returned */
	uint64_t unknown_metric;	/* records of unknown metrics */
	uint64_t unknown_field;	/* values of unknown fields, skipped */
	uint64_t unresolved_sym;	/* discrete values whose string is lost */
	uint64_t undecodable;	/* records of intact blocks that did not
				   decode */
	size_t nproblems;
	char problems[KS_RECFILE_MAXPROBLEMS][160];
};

struct ks_recfile_header {
	uint16_t version;
	uint16_t flags;
	uint64_t ctime_ns;	/* creation, ns since the Unix epoch */
	char hostname[256];
};

struct ks_recfile_reader;

/* Opens path.  NULL with err filled (param "FILE") if it cannot be read or
 * is not a record file of a version this kvmscope reads. */
struct ks_recfile_reader *ks_recfile_reader__open(const char *path,
						  struct ks_err *err);
/* Reads from memory (not copied; must outlive the reader). */
struct ks_recfile_reader *ks_recfile_reader__new_mem(const void *buf,
						     size_t len,
						     struct ks_err *err);
void ks_recfile_reader__free(struct ks_recfile_reader *rd);

/* Next record: 1 and r filled, 0 at the end.  Damage is never fatal: it
 * is counted in the stats, with a message per problem. */
int ks_recfile_reader__next(struct ks_recfile_reader *rd, struct ks_record *r);
const struct ks_recfile_header *
ks_recfile_reader__header(const struct ks_recfile_reader *rd);
const struct ks_recfile_stats *
ks_recfile_reader__stats(const struct ks_recfile_reader *rd);

#endif /* KS_REPLAY_RECFILE_H */
