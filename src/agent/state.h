/* state.h - what the agent keeps across restarts, and when it saves it.
 *
 * The agent's side of persistence (the sqlite store is src/store/): which
 * file, checked with clear errors before anything is opened; loading the
 * saved instrumentations under their old owners and ids, with their
 * persisted data; saving each instrumentation when the API creates,
 * clones, modifies or deletes it, and forgetting those the engine reaps
 * for idleness; and checkpointing the data of persist-data
 * instrumentations on a timer and at a clean stop.  CA's aggregator meant
 * to save "at approximately the granularity interval" but its periodic
 * save condition was inverted and never fired; here the interval is
 * explicit (default 10 s), so a kill -9 loses at most that much of the
 * persisted data.
 *
 * No file I/O happens under the engine's lock.  A change is recorded, as
 * the row to write, in a set of pending saves (one per instrumentation,
 * the latest); a checkpoint is a request.  A saver thread writes them,
 * taking the engine lock only to serialise one dataset at a time, and
 * retries every second what failed (a locked or full file) until it is
 * written: an acknowledged change is never dropped, and "saving works
 * again" means nothing is pending.
 *
 * Thread safety: changed, sync, due, checkpoint and status are called
 * with the engine's (the API's) lock held; flush, start, finish and close
 * without it.
 */
#ifndef KS_AGENT_STATE_H
#define KS_AGENT_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "store/store.h"
#include "util/err.h"

#define KS_STATE_DEFAULT_PATH "/var/lib/kvmscope/state.db"
#define KS_STATE_CHECKPOINT_DEFAULT_S 10
#define KS_STATE_CHECKPOINT_MAX_S 86400

struct ks_state;

/* The default state file: KS_STATE_DEFAULT_PATH when the agent runs as
 * root under systemd (a service: INVOCATION_ID is set), else NULL, so that
 * an agent started by hand or by a test never touches the host's state. */
const char *ks_state_default_path(void);

/* How long the open waits for another process's lock on the file, and
 * a clean stop for the last saves, before giving up. */
#define KS_STATE_OPEN_WAIT_MS 10000
#define KS_STATE_STOP_WAIT_MS 10000
/* How long a request that changed something waits for its save. */
#define KS_STATE_ACK_WAIT_MS 1500

/* Checks that path can be the state database: not empty, not a symbolic
 * link, a directory or other non-file, a file of the agent's user that
 * no one else can write, in an existing directory that only its owner
 * (the agent's user or root) can write.  -EINVAL (param "--state") with
 * a sentence. */
int ks_state_check_path(const char *path, struct ks_err *err);

/* Checks path (creating its directory first if make_dir), opens the store
 * (setting aside a damaged or foreign file, with a message on stderr;
 * refusing, with the file kept, when it is locked by another agent or
 * process, full, read-only or newer) and loads the saved instrumentations
 * into e, which should have been ticked to the wall clock so their idle
 * time starts now.  ow (copied; its ctx must outlive the state) gives each
 * tenant's instrumentations back to it and saves the predicate it wrote;
 * with NULL they all come back as the operator's.  NULL with err set. */
struct ks_state *ks_state__open(const char *path, bool make_dir,
				unsigned interval_s, struct ks_engine *e,
				const struct ks_store_owners *ow,
				struct ks_err *err);
/* Starts the saver thread; lock and unlock take the engine's lock.  Until
 * then (and without it) nothing is written but by ks_state__flush.
 * 0 or a negative errno. */
int ks_state__start(struct ks_state *s, void (*lock)(void *),
		    void (*unlock)(void *), void *ctx);
/* Writes what is pending, then the requested checkpoint, now, in the
 * caller's thread (not holding the engine lock).  0 when nothing is left
 * pending, -EAGAIN when all was written but more came meanwhile, else a
 * negative errno (what failed stays pending). */
int ks_state__flush(struct ks_state *s);
/* Stops the saver thread and writes what is pending, retrying for up to
 * wait_ms.  0, or a negative errno with a message on stderr naming how
 * many changes were not saved. */
int ks_state__finish(struct ks_state *s, unsigned wait_ms);
/* Stops the saver thread, if any, and frees s (what is still pending is
 * lost: call ks_state__finish first). */
void ks_state__close(struct ks_state *s);

/* The API's change hook: in is the instrumentation after a create, clone
 * or modify, NULL after the instrumentation (owner, id) was deleted.
 * Records the change as pending and wakes the saver. */
void ks_state__changed(void *state, const char *owner, const char *id,
		       const struct ks_instn *in);

/* Called by the API after a request that changed something, without
 * the engine lock: waits until the saver has tried to write every change
 * recorded so far, for at most KS_STATE_ACK_WAIT_MS, so that an answered
 * change is on disk (kill -9 proof) unless saving fails, in which case
 * it stays pending and is retried.  Returns at once without the saver. */
void ks_state__wait_saved(void *state);

/* Forgets saved instrumentations that are no longer in e (reaped). */
void ks_state__sync(struct ks_state *s, struct ks_engine *e);

/* Whether a checkpoint is due at now (ns, wall clock). */
bool ks_state__due(const struct ks_state *s, uint64_t now_ns);
/* Requests a checkpoint of the data of every persist-data
 * instrumentation as of now or later (the saver serialises each when it
 * writes it); its time, once written, is last_checkpoint_ms. */
void ks_state__checkpoint(struct ks_state *s, struct ks_engine *e,
			  uint64_t now_ns);

/* {file, checkpoint_interval, loaded, skipped, set_aside, saves,
 * checkpoints, last_checkpoint_ms, errors, pending, failing,
 * last_error?}: pending counts the changes not yet written. */
json_t *ks_state__status(const struct ks_state *s);

#endif /* KS_AGENT_STATE_H */
