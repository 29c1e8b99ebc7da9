/* replay_out.h - what `kvmscope replay` answers after a session (replay/session.h):
 * the summary on stderr, the value as a table or CA's JSON on stdout, and
 * the heatmap figure as a PNG file.
 *
 * Every line on stderr starts "kvmscope replay: ".
 */
#ifndef KS_CLI_REPLAY_OUT_H
#define KS_CLI_REPLAY_OUT_H

#include <stdbool.h>

#include "replay/session.h"

/* How to answer.  The strings are the command line's, unparsed. */
struct ks_replay_out {
	const char *file;	/* the trace, named in the figure */
	const char *metric;
	const char *predicate;	/* or NULL */
	bool per_second;	/* one value per granularity interval */
	bool json;		/* CA's value object(s), not a table */
	bool raw;		/* table values as raw integers */
	const char *heatmap;	/* the PNG to write, or NULL */
	bool log;		/* heatmap rows on a log scale */
	const char *ymax, *width, *height;	/* heatmap, or NULL */
};

/* What the readers made of the input at path, on stderr. */
void ks_replay_report_input(const struct ks_replay_stats *st,
			    const char *path);

/* The engine's summary on stderr, then the heatmap file if asked, then
 * the value on stdout.  The exit status: 0, or 1 after saying why. */
int ks_replay_output(const struct ks_replay *rp,
		     const struct ks_replay_out *o);

#endif /* KS_CLI_REPLAY_OUT_H */
