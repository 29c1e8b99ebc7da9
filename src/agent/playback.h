/* playback.h - `kvmscope serve --replay FILE`: a recorded trace fed as if
 * it were live.
 *
 * The trace (tracefs or perf script text, a kvmscope record file, or
 * perf.data read through `perf script`: replay/input.h) is fed paced to real
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
#ifndef KS_AGENT_PLAYBACK_H
#define KS_AGENT_PLAYBACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/feed.h"
#include "http/api.h"

/* How often a quiet pipe is looked at again, ns. */
#define KS_PLAYBACK_POLL_NS (100 * 1000 * 1000LL)

struct ks_playback_opts {
	const char *path;
	double speed;		/* > 0 */
	bool loop;
	/* NULL, or prepended to every VM name and UUID of the trace (serve
	 * --replay-vm-prefix), so that one trace replayed by several agents
	 * looks like different VMs to a fleet. */
	const char *vm_prefix;
};

struct ks_playback;

/* Opens the trace (o must outlive the replay) and reads up to its first
 * record.  NULL after printing why on stderr (prefixed with prog). */
struct ks_playback *ks_playback__open(const struct ks_playback_opts *o,
				  const char *prog, int64_t now);
void ks_playback__free(struct ks_playback *rp);

/* Feeds up to one batch of the records due by now (wall ns) into feed;
 * true if more are due. */
bool ks_playback__feed_due(struct ks_playback *rp, struct ks_feed *feed,
			 struct ks_api *api, int64_t now);
/* When the replay next needs the loop, no later than by: the next
 * record's time, soon when a quiet pipe is to be read again, else by. */
int64_t ks_playback__wake(const struct ks_playback *rp, int64_t now, int64_t by);
/* GET /ca/admin/status: what the replay has done (called locked). */
void ks_playback__status(const struct ks_playback *rp, json_t *status);

#endif /* KS_AGENT_PLAYBACK_H */
