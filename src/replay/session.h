/* session.h - one offline replay: a trace through the engine.
 *
 * A session reads a kvm trace (tracefs text from `cat trace`, trace_pipe or
 * `trace-cmd report`, `perf script` text, a perf.data file read through
 * `perf script`, or kvmscope's own record file, told apart by content), turns its events into records and feeds the chosen metric's to
 * one instrumentation built from the parameters the HTTP API takes.  The
 * engine's clock follows the trace and the retention is the most CA allows
 * at the granularity, so the answer is CA's value over the trace.  Every
 * record can also be written to a record file (convert once, replay fast).
 *
 * The session keeps what the readers made of the input (lines, events,
 * records, what was not counted and why) for the caller to report: it
 * prints nothing itself.
 */
#ifndef KS_REPLAY_SESSION_H
#define KS_REPLAY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/value.h"
#include "replay/kvmtrace.h"
#include "replay/recfile.h"
#include "replay/tracefs.h"
#include "util/err.h"

/* What to replay.  The strings are the command line's, unparsed. */
struct ks_replay_conf {
	const char *metric;		/* NULL: only convert */
	const char *predicate;		/* CA predicate JSON, or NULL */
	const char *granularity;	/* or NULL */
	const char *const *decomp;	/* field names, each maybe "F1,F2" */
	size_t ndecomp;
	const char *write_record;	/* record file to write, or NULL */
	bool need_numeric;		/* a heatmap is wanted */
};

/* What the input held, for the caller's report. */
struct ks_replay_stats {
	bool tracefs, recfile;		/* which reader read something */
	bool perfdata;			/* tracefs text from perf script */
	struct ks_tfs_stats tfs;
	struct ks_kvmtrace_stats kt;
	struct ks_recfile_stats rf;
	struct ks_recfile_header rfh;
	uint64_t fed;			/* records of the metric */
	uint64_t lacking[KS_F__COUNT];	/* records lacking a needed field */
};

struct ks_replay;

struct ks_replay *ks_replay__new(void);
void ks_replay__free(struct ks_replay *rp);

/* Creates the instrumentation and opens the record file.  0, or a
 * negative errno with err set; err->param names the option at fault
 * ("metric", "decompose", "predicate", "granularity", "write-record",
 * "heatmap-png"). */
int ks_replay__setup(struct ks_replay *rp, const struct ks_replay_conf *c,
		     const char *input, struct ks_err *err);

/* Reads path ('-': stdin) to its end and closes the record file.  0, or a
 * negative errno with err set (err->param "" for the input, or
 * "write-record").  The stats are filled either way. */
int ks_replay__run(struct ks_replay *rp, const char *path,
		   struct ks_err *err);

const struct ks_replay_stats *ks_replay__stats(const struct ks_replay *rp);
const struct ks_engine_stats *ks_replay__engine_stats(
	const struct ks_replay *rp);
/* The instrumentation, NULL when only converting. */
const struct ks_instn *ks_replay__instn(const struct ks_replay *rp);
/* The trace's span in whole intervals: [*start, *start + *dur) seconds,
 * one interval at 0 when no record was fed. */
void ks_replay__span(const struct ks_replay *rp, int64_t *start,
		     uint32_t *dur);

/* The value of each interval of the span, one a column: v[i] and cols[i]
 * pointing at it, n of them, in new arrays the caller frees with
 * ks_replay_columns_free().  0 or -ENOMEM. */
int ks_replay__columns(const struct ks_replay *rp, struct ks_value **v,
		       const struct ks_value ***cols, size_t *n);
void ks_replay_columns_free(struct ks_value *v, const struct ks_value **cols,
			    size_t n);

#endif /* KS_REPLAY_SESSION_H */
