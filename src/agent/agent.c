/* agent.c - the host agent: its engine, sources, replay and state, and
 * the loop that ticks them (agent.h).
 *
 * The main thread owns the replay, the ticker, the source reads and the
 * checkpoints, and waits in sigtimedwait(), so SIGINT and SIGTERM
 * (blocked in every thread, the server's included) end the agent
 * cleanly: the command stops the server first, a last checkpoint is
 * saved, then everything is freed.  A replayed trace is fed paced to
 * real time; its records of the seconds before a boundary go in before
 * the boundary's tick, so a checkpoint holds them all.  What runs under
 * the API's lock is only what touches the engine: source reads and the
 * state's writes happen outside it.
 */
#include "agent/agent.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/symtab.h"
#include "source/source.h"
#include "util/clock.h"
#include "util/peers.h"

#define PROG "kvmscope serve"
#define NS 1000000000LL

static int64_t wall_ns(void)
{
	return ks_clock_wall_ns();
}

/* Waits until deadline (ns) or a signal; true if SIGINT/SIGTERM came. */
static bool wait_until(const sigset_t *set, int64_t deadline)
{
	int64_t d = deadline - wall_ns();
	struct timespec ts;
	int sig;

	if (d < 0)
		d = 0;
	if (d > NS)
		d = NS;
	ts.tv_sec = d / NS;
	ts.tv_nsec = d % NS;
	sig = sigtimedwait(set, NULL, &ts);
	return sig == SIGINT || sig == SIGTERM;
}

/* The other agents to link to (checked when the settings were read). */
static json_t *peers_json(const char *list)
{
	struct ks_peer p[KS_PEERS_MAX];
	json_t *a = json_array();
	size_t n = 0;

	if (list && !ks_peers_parse(list, "peers", p, KS_PEERS_MAX, &n, NULL))
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_pack("{s:s,s:s}",
				"label", p[i].label, "url", p[i].url));
	return a;
}

/* The bounds on what guests and clients can grow, and what they refused. */
static json_t *memory_json(const struct ks_engine *e)
{
	struct ks_engine_memory m = ks_engine__memory(e);
	struct ks_sym_stats ss;

	ks_sym_stats(&ss);
	return json_pack("{s:{s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I}}",
		"instrumentations",
		"bytes", (json_int_t)m.used, "budget", (json_int_t)m.budget,
		"keys", (json_int_t)m.keys,
		"raw_values", (json_int_t)m.raw_values,
		"refused", (json_int_t)ks_engine__stats(e)->refused,
		"symbols",
		"count", (json_int_t)ss.count, "bytes", (json_int_t)ss.bytes,
		"freed", (json_int_t)ss.freed, "dropped", (json_int_t)ss.dropped,
		"guest_dropped", (json_int_t)ss.scope_dropped);
}

/* GET /ca/admin/status: the replay, the sources, the state, the peers
 * (locked; tenants get none of it, http/tenancy.c). */
static void agent_status(void *ctx, json_t *status)
{
	struct ks_agent *ag = ctx;

	if (ag->rp)
		ks_playback__status(ag->rp, status);
	json_object_set_new(status, "sources", ks_live__status(ag->live));
	json_object_set_new(status, "state", ag->state ?
			    ks_state__status(ag->state) : json_null());
	json_object_set_new(status, "peers", peers_json(ag->c->peers));
	json_object_set_new(status, "memory", memory_json(ag->e));
}

/* The second boundary: advances the engine (reaping idle
 * instrumentations, which the state forgets too), reads the live sources
 * if this is an aligned tick, and asks for a checkpoint when due (the
 * state's thread writes it, outside the lock). */
static void tick(struct ks_agent *ag, int64_t now, bool aligned)
{
	size_t reaped;
	struct ks_latcuts cuts;
	bool lat;

	ks_api__lock(ag->api);
	reaped = ks_engine__tick(ag->e, (uint64_t)now);
	ks_prom__expire(ag->prom, (uint64_t)now);
	if (ag->state && reaped)
		ks_state__sync(ag->state, ag->e);
	lat = ks_feed_exit_latency_wanted(ag->e);
	ks_feed_exit_latency_cuts(ag->e, &cuts);
	ks_api__unlock(ag->api);
	/* Exits are timed only while an instrumentation uses latency.  What
	 * the sources counted since the last boundary belongs to the second
	 * that just ended. */
	if (!ag->rp) {
		ks_live__set_latency(ag->live, lat);
		ks_live__set_cuts(ag->live, &cuts);
	}
	if (aligned && !ag->rp)
		ks_live__tick(ag->live, (uint64_t)(now / NS * NS - 1));
	/* What the sources interned since the last boundary is fed by now:
	 * symbols nothing holds any more can go (engine/symtab.h). */
	ks_sym_sweep();
	ks_api__lock(ag->api);
	if (ag->state && ks_state__due(ag->state, (uint64_t)now))
		ks_state__checkpoint(ag->state, ag->e, (uint64_t)now);
	ks_api__unlock(ag->api);
}

void ks_agent__run(struct ks_agent *ag, const sigset_t *set)
{
	struct ks_playback *rp = ag->rp;
	int64_t next_tick = 0, deadline;

	for (;;) {
		int64_t now = wall_ns();
		bool more = false;

		if (now >= next_tick) {
			/* Records of the seconds before the boundary go in
			 * before it, so a checkpoint holds them all. */
			while (rp && ks_playback__feed_due(rp, &ag->feed, ag->api,
							 next_tick - 1))
				;
			/* The first tick, at start, is not on a boundary. */
			tick(ag, now, next_tick != 0);
			now = wall_ns();
			next_tick = (now / NS + 1) * NS;
		}
		if (rp)
			more = ks_playback__feed_due(rp, &ag->feed, ag->api, now);
		deadline = more ? now : next_tick;
		if (!more && rp)
			deadline = ks_playback__wake(rp, now, deadline);
		if (wait_until(set, deadline))
			return;
	}
}

/* Whether the name is in the comma-separated list. */
static bool listed(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p = list;

	for (;;) {
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
		if (!(p = strchr(p, ',')))
			return false;
		p++;
	}
}

int ks_agent_check_sources(const char *list)
{
	char *copy, *tok, *save;
	int rc = 0;

	if (strspn(list, ",") == strlen(list)) {
		fprintf(stderr, PROG ": --sources needs a list of sources (or "
			"all, none)\n");
		return -EINVAL;
	}
	if (!(copy = strdup(list)))
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		if (ks_source_find(tok) || !strcmp(tok, "all") ||
		    !strcmp(tok, "none"))
			continue;
		fprintf(stderr, PROG ": --sources: no source '%s'; the "
			"sources are:", tok);
		for (size_t i = 0; i < ks_source_count(); i++)
			fprintf(stderr, " %s", ks_source_at(i)->name);
		fprintf(stderr, " (or all, none)\n");
		rc = -EINVAL;
	}
	free(copy);
	return rc;
}

/* Turns off the sources that --sources (checked) does not name. */
static void choose_sources(struct ks_live *live, const char *list)
{
	if (!list || listed(list, "all"))
		return;
	for (size_t i = 0; i < ks_source_count(); i++)
		if (!listed(list, ks_source_at(i)->name))
			ks_live__off(live, i, "not chosen (--sources)");
}

/* Opens the live sources, or with --replay marks them all off. */
static void start_sources(struct ks_agent *ag)
{
	struct ks_source_opts so;
	char why[PATH_MAX + 32];
	size_t n;

	if (ag->rp) {
		snprintf(why, sizeof(why), "replaying %s (--replay)",
			 ag->c->replay.path);
		for (size_t i = 0; i < ks_source_count(); i++)
			ks_live__off(ag->live, i, why);
		return;
	}
	choose_sources(ag->live, ag->c->sources);
	ks_source_opts_init(&so);
	so.guest_rip = ag->c->guest_rip;
	/* Exits start timed only if a restored instrumentation wants it;
	 * each tick switches as instrumentations come and go. */
	ks_api__lock(ag->api);
	so.exits_count_only = !ks_feed_exit_latency_wanted(ag->e);
	ks_api__unlock(ag->api);
	n = ks_live__start(ag->live, &so);
	if (!n)
		fprintf(stderr, PROG ": no live sources %s: serving an engine "
			"without data; use --replay FILE to feed a trace\n",
			ag->c->sources ? "chosen (--sources)" :
			"can run here (see above)");
	else
		fprintf(stderr, PROG ": %zu live source%s running\n", n,
			n == 1 ? "" : "s");
}

static void api_lock(void *api)
{
	ks_api__lock(api);
}

static void api_unlock(void *api)
{
	ks_api__unlock(api);
}

/* Opens the state file, if any, and restores what it holds. */
static int open_state(struct ks_agent *ag)
{
	struct ks_store_owners ow;
	struct ks_err err;

	if (!ag->c->state) {
		if (!ag->c->no_state)
			fprintf(stderr, PROG ": no state file (--state FILE): "
				"instrumentations will not survive a "
				"restart\n");
		return 0;
	}
	/* Restored instrumentations' idle time starts now. */
	ks_engine__tick(ag->e, (uint64_t)wall_ns());
	ks_err_clear(&err);
	ag->owners = (struct ks_tenant_owners){ ks_api__tenancy(ag->api),
						ks_api__tokens(ag->api) };
	ag->state = ks_state__open(ag->c->state, ag->c->state_default,
				   ag->c->checkpoint_s, ag->e,
				   ks_tenant_owners__hooks(&ag->owners, &ow),
				   &err);
	if (!ag->state) {
		fprintf(stderr, PROG ": %s%s%s\n", err.param,
			err.param[0] ? ": " : "", err.msg);
		return -EINVAL;
	}
	ks_api__set_change_hook(ag->api, ks_state__changed, ag->state);
	ks_api__set_saved_hook(ag->api, ks_state__wait_saved);
	return 0;
}

/* Changes made before the thread starts are pending and written then. */
int ks_agent__start_saver(struct ks_agent *ag)
{
	int rc;

	if (!ag->state)
		return 0;
	if ((rc = ks_state__start(ag->state, api_lock, api_unlock, ag->api)))
		fprintf(stderr, PROG ": cannot start the thread that saves "
			"the state: %s\n", strerror(-rc));
	return rc;
}

int ks_agent__open(struct ks_agent *ag, const struct ks_agent_conf *c)
{
	const struct ks_source_ops *ops[64];
	size_t nops = ks_source_count();

	ag->c = c;
	if (nops > sizeof(ops) / sizeof(ops[0]))
		nops = sizeof(ops) / sizeof(ops[0]);
	for (size_t i = 0; i < nops; i++)
		ops[i] = ks_source_at(i);
	if (!(ag->e = ks_engine__new()) || !(ag->api = ks_api__new(ag->e)) ||
	    !(ag->prom = ks_prom__new(0)) ||
	    !(ag->live = ks_live__new(ops, nops, ks_feed__records,
				      &ag->feed))) {
		fprintf(stderr, PROG ": out of memory\n");
		return -ENOMEM;
	}
	ag->feed = (struct ks_feed){ ag->e, ag->prom, ag->api, ag->live };
	return 0;
}

int ks_agent__start(struct ks_agent *ag)
{
	if (open_state(ag))
		return -EINVAL;
	if (ag->c->replay.path &&
	    !(ag->rp = ks_playback__open(&ag->c->replay, PROG, wall_ns())))
		return -EINVAL;
	start_sources(ag);
	ks_api__set_status_hook(ag->api, agent_status, ag);
	ks_api__set_metrics_hook(ag->api, ks_feed__metrics, &ag->feed);
	ks_api__set_metrics_pb_hook(ag->api, ks_feed__metrics_pb, &ag->feed);
	return 0;
}

/* Saves what is pending and, at a clean stop, a last checkpoint (the
 * server is stopped), then frees everything.  -EIO when a clean stop
 * could not save everything (said on stderr). */
int ks_agent__close(struct ks_agent *ag, bool clean)
{
	int rc = 0;

	if (ag->state && clean) {
		ks_api__lock(ag->api);
		ks_state__checkpoint(ag->state, ag->e, (uint64_t)wall_ns());
		ks_api__unlock(ag->api);
	}
	if (ag->state && ks_state__finish(ag->state, clean ?
					  KS_STATE_STOP_WAIT_MS : 0))
		rc = -EIO;
	else if (ag->state && clean)
		fprintf(stderr, PROG ": state saved to %s\n", ag->c->state);
	ks_state__close(ag->state);
	ks_live__free(ag->live);
	ks_playback__free(ag->rp);
	ks_api__free(ag->api);
	ks_prom__free(ag->prom);
	ks_engine__free(ag->e);
	ks_sym_reset();
	return clean ? rc : 0;
}

