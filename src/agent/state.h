/* state.h - what the agent keeps across restarts, and when it saves it.
 *
 * The agent's side of persistence (the sqlite store is src/store/): which
 * file, checked with clear errors before anything is opened; loading the
 * saved instrumentations under their old owners and ids, with their
 * persisted data;
 * saving each instrumentation when the API creates, clones, modifies or
 * deletes it, and forgetting those the engine reaps for idleness; and
 * checkpointing the data of persist-data instrumentations on a timer and
 * at a clean stop.  CA's aggregator meant to save "at approximately the
 * granularity interval" but its periodic save condition was inverted and
 * never fired; here the interval is explicit (default 10 s), so a kill -9
 * loses at most that much of the persisted data.
 *
 * Not thread-safe: every call is made with the engine's (the API's) lock
 * held, which is also what serialises the database.
 */
#ifndef KS_AGENT_STATE_H
#define KS_AGENT_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "util/err.h"

#define KS_STATE_DEFAULT_PATH "/var/lib/kvmscope/state.db"
#define KS_STATE_CHECKPOINT_DEFAULT_S 10
#define KS_STATE_CHECKPOINT_MAX_S 86400

struct ks_state;

/* The default state file: KS_STATE_DEFAULT_PATH when the agent runs as
 * root under systemd (a service: INVOCATION_ID is set), else NULL, so that
 * an agent started by hand or by a test never touches the host's state. */
const char *ks_state_default_path(void);

/* Checks that path can be the state database: not empty, not a directory
 * or other non-file, in an existing writable directory, readable and
 * writable if it exists.  -EINVAL (param "--state") with a sentence. */
int ks_state_check_path(const char *path, struct ks_err *err);

/* Checks path (creating its directory first if make_dir), opens the store
 * (setting aside a corrupt or foreign file, with a message on stderr) and
 * loads the saved instrumentations into e, which should have been ticked
 * to the wall clock so their idle time starts now.  With access control,
 * t (the API's tenancy) and tokens (both outliving the state) give each
 * tenant's instrumentations back to it, restricted again to its VMs; with
 * NULL they all come back as the operator's.  NULL with err set. */
struct ks_tenancy;
struct ks_tokens;
struct ks_state *ks_state__open(const char *path, bool make_dir,
				unsigned interval_s, struct ks_engine *e,
				struct ks_tenancy *t,
				const struct ks_tokens *tokens,
				struct ks_err *err);
void ks_state__close(struct ks_state *s);

/* The API's change hook: in is the instrumentation after a create, clone
 * or modify, NULL after the instrumentation (owner, id) was deleted. */
void ks_state__changed(void *state, const char *owner, const char *id,
		       const struct ks_instn *in);

/* Forgets saved instrumentations that are no longer in e (reaped). */
void ks_state__sync(struct ks_state *s, struct ks_engine *e);

/* Whether a checkpoint is due at now (ns, wall clock). */
bool ks_state__due(const struct ks_state *s, uint64_t now_ns);
/* Saves the data of every persist-data instrumentation.  0 or -EIO. */
int ks_state__checkpoint(struct ks_state *s, struct ks_engine *e,
			 uint64_t now_ns);

/* {file, checkpoint_interval, loaded, skipped, set_aside, saves,
 * checkpoints, last_checkpoint_ms, errors, last_error?}. */
json_t *ks_state__status(const struct ks_state *s);

#endif /* KS_AGENT_STATE_H */
