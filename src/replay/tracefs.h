/* tracefs.h - a reader of the ftrace text format.
 *
 * `cat trace`, `trace_pipe` and `trace-cmd report` all print one event per
 * line:
 *
 *   COMM-TID (TGID) [CPU] FLAGS SECS.FRAC: EVENT: FIELDS
 *
 * where the comm may hold spaces and dashes (the tid is the last -digits
 * before the [cpu]), the (tgid) column appears only with the record-tgid
 * option, and the flags column is absent from trace-cmd's default output.
 * `perf script` prints the same fields with the task as "COMM TID" (its
 * default for tracepoints) or "COMM PID/TID" (-F comm,pid,tid), the event
 * as "system:name", and no flags; both are read too, the PID standing in
 * for the tgid.
 * Lines starting with '#' (the header), blank lines, trace-cmd's "cpus=N"
 * and "CPU N is empty" lines and "CPU:N [LOST N EVENTS]" notices are
 * recognised; every other line
 * that is not an event is counted as malformed, with the line numbers of
 * the first few, so nothing is dropped silently.  Parsing is hand-written
 * scanning (no regex, no allocation per line): replaying a trace of
 * millions of lines must take seconds, not minutes.
 */
#ifndef KS_REPLAY_TRACEFS_H
#define KS_REPLAY_TRACEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* One event.  The strings point into the reader's buffer and are valid
 * until the next call; they are not NUL-terminated. */
struct ks_tfs_event {
	const char *comm;
	size_t comm_len;
	uint32_t tid;
	uint32_t tgid;		/* valid only if has_tgid */
	bool has_tgid;
	uint32_t cpu;
	uint64_t ts;		/* ns */
	const char *name;	/* event name, without its system */
	size_t name_len;
	const char *fields;	/* the text after "name: ", trimmed */
	size_t fields_len;
	uint64_t lineno;	/* 1-based */
};

/* What a line turned out to be. */
enum ks_tfs_line {
	KS_TFS_EVENT,
	KS_TFS_HEADER,		/* '#' comment, "cpus=N", "CPU N is empty", blank */
	KS_TFS_LOST,		/* "CPU:N [LOST N EVENTS]" */
	KS_TFS_MALFORMED,
};

/* Classifies and parses one line (len bytes, no newline).  For
 * KS_TFS_EVENT, ev is filled (all but lineno); for KS_TFS_LOST, *lost is
 * set to the number of events the kernel reported lost. */
enum ks_tfs_line ks_tfs_parse_line(const char *line, size_t len,
				   struct ks_tfs_event *ev, uint64_t *lost);

#define KS_TFS_MAXBAD 8
/* Longest line accepted; longer ones are counted as malformed. */
#define KS_TFS_MAXLINE (1u << 20)

struct ks_tfs_stats {
	uint64_t lines;
	uint64_t events;
	uint64_t headers;
	uint64_t malformed;
	uint64_t lost_notices;	/* "LOST" lines */
	uint64_t lost_events;	/* events the kernel said it lost */
	uint64_t bytes;
	size_t nbad;		/* entries used in bad[] */
	uint64_t bad[KS_TFS_MAXBAD];	/* line numbers of the first malformed */
};

struct ks_tfs_reader;

/* Reads from fd (not closed by the reader). */
struct ks_tfs_reader *ks_tfs_reader__new_fd(int fd);
/* Reads from a memory buffer (not copied; must outlive the reader). */
struct ks_tfs_reader *ks_tfs_reader__new_mem(const void *buf, size_t len);
void ks_tfs_reader__free(struct ks_tfs_reader *r);

/* Next event: 1 and ev filled, 0 at end of input, or a negative errno on
 * a read error (err filled, param "FILE").  Non-event lines are counted
 * in the stats and skipped.  On a non-blocking fd with nothing to read
 * now, -EAGAIN: nothing is lost (a partial line is kept), and a later call
 * goes on where this one stopped. */
int ks_tfs_reader__next(struct ks_tfs_reader *r, struct ks_tfs_event *ev,
			struct ks_err *err);
const struct ks_tfs_stats *ks_tfs_reader__stats(const struct ks_tfs_reader *r);

#endif /* KS_REPLAY_TRACEFS_H */
