/* input.h - a whole trace file, of either format, into a record callback.
 *
 * The commands that report on a recorded trace as they would on a live
 * host (`kvmscope stat --input`, `kvmscope top --input`) read it here:
 * kvmscope's record file (told apart by its magic) or kvm tracefs text
 * (`cat trace`, trace_pipe, `trace-cmd report`; "-" is standard input),
 * the latter through the kvm translation (kvmtrace.h).  The summary says
 * what was read and what could not be used, for one line on stderr.
 */
#ifndef KS_REPLAY_INPUT_H
#define KS_REPLAY_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/record.h"
#include "util/err.h"

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
