/* input.h - opening a trace file of any format, and reading a whole one
 * into a record callback.
 *
 * ks_input_open() is the one place a trace file is opened and its format
 * told apart by content: kvmscope's record file (by its magic), a
 * perf.data file (by perf's magic; read through `perf script`,
 * perfdata.h, where the caller allows it), else text for the tracefs
 * reader (`cat trace`, trace_pipe, `trace-cmd report`, `perf script`;
 * "-" is standard input).  `kvmscope replay` (session.c) reads what it
 * opens itself.
 *
 * The commands that report on a recorded trace as they would on a live
 * host (`kvmscope stat --input`, `kvmscope top --input`) read it through
 * ks_input_read(): a record file or tracefs text, the latter through the
 * kvm translation (kvmtrace.h).  The summary says what was read and what
 * could not be used, for one line on stderr.
 */
#ifndef KS_REPLAY_INPUT_H
#define KS_REPLAY_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/record.h"
#include "replay/perfdata.h"
#include "replay/recfile.h"
#include "util/err.h"

enum ks_input_kind {
	KS_INPUT_TEXT,		/* tracefs or perf script text at fd */
	KS_INPUT_RECFILE,	/* a record file, open in rd */
	KS_INPUT_PERFDATA,	/* perf.data: perf script's text at fd */
};

/* ks_input_open()'s flags. */
#define KS_INPUT_PERF 1u	/* read perf.data through perf script (else
				 * it is text, and not a trace) */
#define KS_INPUT_STREAM 2u	/* a pipe or device (a FIFO being written,
				 * trace_pipe) is opened without waiting for
				 * a writer and read without blocking: text */

/* An open trace file. */
struct ks_input_file {
	enum ks_input_kind kind;
	int fd;			/* TEXT, PERFDATA: the text to read */
	bool own_fd;		/* TEXT: fd is ours to close (not stdin) */
	bool stream;		/* with KS_INPUT_STREAM, TEXT from a pipe or
				 * device, or PERFDATA: fd is non-blocking;
				 * -EAGAIN from it is "nothing yet", not the
				 * end */
	struct ks_recfile_reader *rd;	/* RECFILE */
	struct ks_perfdata pd;		/* PERFDATA */
};

/* Opens path ("-": standard input) and tells its format apart.  0, or a
 * negative errno with err set (cannot open; a record file whose first
 * block is damaged; perf missing). */
int ks_input_open(struct ks_input_file *f, const char *path, unsigned flags,
		  struct ks_err *err);

/* Closes what ks_input_open() opened.  0, or for perf.data -EIO with err
 * holding perf's own reason when perf failed. */
int ks_input_close(struct ks_input_file *f, struct ks_err *err);

typedef int (*ks_input_fn)(void *ctx, const struct ks_record *r);

struct ks_input_stats {
	bool recfile;		/* a record file, not trace text */
	uint64_t records;	/* handed to the callback */
	uint64_t first_ts, last_ts;	/* of those records (ns) */
	uint64_t unusable;	/* lines, events or blocks not understood */
	uint64_t unpaired;	/* text: exits without latency */
};

/* Reads path to its end, calling fn for each record; a negative return
 * of fn stops the read and is returned.  0, or a negative errno with err
 * set (cannot open, not a trace, a damaged record file's first block). */
int ks_input_read(const char *path, ks_input_fn fn, void *ctx,
		  struct ks_input_stats *st, struct ks_err *err);

#endif /* KS_REPLAY_INPUT_H */
