/* agent.h - the host agent that `kvmscope serve` runs: one engine fed by
 * the live sources or a replayed trace, ticking once a second.
 *
 * The agent owns the engine, the HTTP API object (http/api.h; the server
 * itself is the command's), the Prometheus aggregator behind GET
 * /metrics, the live sources (agent/live.h), the optional replay
 * (agent/playback.h) and the optional state file (agent/state.h).
 * Records take one path (agent/feed.h) into the engine and the
 * aggregator.  The command's own settings (limits, tokens, the web root)
 * go onto e and api between ks_agent__open() and ks_agent__start().
 *
 * Order of use: ks_agent__open(); the command's settings; ks_agent__start()
 * (state restored, replay opened, sources started, hooks set); the server
 * started; ks_agent__start_saver(); ks_agent__run() until a signal;
 * ks_agent__close().  Errors are said on stderr as "kvmscope serve: ...".
 */
#ifndef KS_AGENT_AGENT_H
#define KS_AGENT_AGENT_H

#include <signal.h>
#include <stdbool.h>

#include "agent/feed.h"
#include "agent/live.h"
#include "agent/playback.h"
#include "agent/state.h"
#include "engine/engine.h"
#include "expo/prom.h"
#include "http/api.h"
#include "http/owners.h"

/* What the command line and the config file chose. */
struct ks_agent_conf {
	const char *state;	/* the state file, or NULL: none */
	bool state_default;	/* state is the service default */
	bool no_state;		/* nothing kept, as asked (--no-state) */
	unsigned checkpoint_s;	/* between checkpoints of persist-data */
	const char *sources;	/* live sources to run (checked), or NULL */
	bool guest_rip;		/* the sampler keys guest RIPs too */
	struct ks_playback_opts replay;	/* replay.path NULL: live */
	const char *peers;	/* other agents, LABEL=URL,... (checked) */
};

struct ks_agent {
	const struct ks_agent_conf *c;
	struct ks_engine *e;
	struct ks_api *api;
	struct ks_prom *prom;
	struct ks_feed feed;	/* records -> engine + prom */
	struct ks_live *live;	/* the sources (all off with a replay) */
	struct ks_state *state;	/* NULL: nothing kept */
	struct ks_tenant_owners owners;	/* the state's tenants */
	struct ks_playback *rp;	/* NULL: live */
};

/* Checks a --sources list: every item a source, "all" or "none".  0, or
 * -EINVAL after saying which item is not (or -ENOMEM). */
int ks_agent_check_sources(const char *list);

/* Makes the engine, API, aggregator and sources (none started) of a zeroed
 * ag; c must outlive it.  0, or -ENOMEM (said); what was made stays in ag
 * for ks_agent__close(). */
int ks_agent__open(struct ks_agent *ag, const struct ks_agent_conf *c);

/* Restores the state file, opens the replay or starts the live sources,
 * and sets the API's status and metrics hooks.  0, or a negative errno
 * (said). */
int ks_agent__start(struct ks_agent *ag);

/* Starts the thread that writes the state, once the server narrowed the
 * capabilities (which must happen while the agent has one thread).  0,
 * or a negative errno (said). */
int ks_agent__start_saver(struct ks_agent *ag);

/* Ticks, reads the sources and replays until SIGINT or SIGTERM (blocked
 * in set, which holds them). */
void ks_agent__run(struct ks_agent *ag, const sigset_t *set);

/* Saves what is pending and, at a clean stop (the server stopped), a last
 * checkpoint, then frees everything.  -EIO when a clean stop could not
 * save everything (said), else 0. */
int ks_agent__close(struct ks_agent *ag, bool clean);

#endif /* KS_AGENT_AGENT_H */
