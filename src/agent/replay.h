/* replay.h - `kvmscope serve --replay FILE`: a recorded trace fed as if
 * it were live.
 *
 * The trace (tracefs text, or a kvmscope record file) is fed paced to real
 * time, with its timestamps moved onto the wall clock, so CA's "latest
 * complete second" defaults and a browser polling the API see it as live
 * data.  The shift is a whole number of seconds at normal speed, so
 * subsecond offsets (timer phases) survive it; a speed compresses or
 * stretches time, and looping starts the trace again, one second after
 * its end, for as long as the agent runs.
 *
 * The file may also be a pipe or a character device (a FIFO, tracefs'
 * trace_pipe) that is quiet for as long as it likes: it is read without
 * blocking, so the agent listens at once, its clock keeps ticking and a
 * signal stops it at once; what arrives is fed as it comes.  The trace's
 * clock is mapped onto the wall's at its first record.
 *
 * One thread (the agent's loop) drives a replay; the status hook reads a
 * copy kept under the API's lock.
 */
#ifndef KS_AGENT_REPLAY_H
#define KS_AGENT_REPLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/feed.h"
#include "http/api.h"

/* How often a quiet pipe is looked at again, ns. */
#define KS_REPLAY_POLL_NS (100 * 1000 * 1000LL)

struct ks_replay_opts {
	const char *path;
	double speed;		/* > 0 */
	bool loop;
};

struct ks_replay;

/* Opens the trace (o must outlive the replay) and reads up to its first
 * record.  NULL after printing why on stderr (prefixed with prog). */
struct ks_replay *ks_replay__open(const struct ks_replay_opts *o,
				  const char *prog, int64_t now);
void ks_replay__free(struct ks_replay *rp);

/* Feeds up to one batch of the records due by now (wall ns) into feed;
 * true if more are due. */
bool ks_replay__feed_due(struct ks_replay *rp, struct ks_feed *feed,
			 struct ks_api *api, int64_t now);
/* When the replay next needs the loop, no later than by: the next
 * record's time, soon when a quiet pipe is to be read again, else by. */
int64_t ks_replay__wake(const struct ks_replay *rp, int64_t now, int64_t by);
/* GET /ca/admin/status: what the replay has done (called locked). */
void ks_replay__status(const struct ks_replay *rp, json_t *status);

#endif /* KS_AGENT_REPLAY_H */
