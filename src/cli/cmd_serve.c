/* cmd_serve.c - `kvmscope serve`: the agent, serving CA's HTTP API.
 *
 * Starts the HTTP server (src/http/) over one engine and keeps the engine
 * ticking once a second, which advances its clock and reaps idle
 * instrumentations.  Its data comes from the live sources (src/agent/
 * live.h: every source of the registry that can run here, read at each
 * whole wall-clock second), or, with --replay FILE, from a recorded trace
 * (tracefs text or a kvmscope record file) standing in for them.  Either
 * way records take one path (src/agent/feed.h) into the engine and the
 * Prometheus aggregator behind GET /metrics.  With a state file (--state,
 * src/agent/state.h) instrumentations survive restarts, and the data of
 * persist-data ones is checkpointed every --checkpoint-interval seconds
 * and at a clean stop.
 *
 * A replayed trace (src/agent/playback.h) is fed paced to real time, with
 * its timestamps moved onto the wall clock; it may be a quiet pipe, read
 * without blocking the loop.
 *
 * The main thread owns the replay, the ticker, the source reads and the
 * checkpoints, and waits in sigtimedwait(), so SIGINT and SIGTERM (blocked
 * in every thread, the server's included) end the agent cleanly: the
 * server is stopped first, a last checkpoint saved, then everything is
 * freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/feed.h"
#include "agent/live.h"
#include "agent/playback.h"
#include "agent/state.h"
#include "cli/commands.h"
#include "cli/serve_setup.h"
#include "engine/engine.h"
#include "engine/symtab.h"
#include "http/api.h"
#include "http/owners.h"
#include "http/server.h"
#include "http/static.h"
#include "source/source.h"
#include "util/clock.h"
#include "util/peers.h"

#define PROG "kvmscope serve"
#define NS 1000000000LL
#define SPEED_MAX 1e6

struct opts {
	const char *listen;
	const char *replay;
	const char *web_root;
	double speed;
	bool loop;
	const char *state;	/* NULL: none */
	bool state_default;	/* state is the service default */
	bool no_state;		/* --no-state */
	unsigned checkpoint_s;
	const char *sources;	/* --sources LIST, or NULL for all */
	bool guest_rip;		/* --guest-rip: samples keyed by guest RIP */
	const char *vm_prefix;	/* --replay-vm-prefix */
	struct ks_playback_opts ropts;	/* --replay and its options */
	struct ks_serve_setup setup;	/* config, tokens, TLS, caps */
};

/* Long options without a short form. */
enum { OPT_STATE = 256, OPT_NO_STATE, OPT_CHECKPOINT, OPT_SOURCES,
       OPT_GUEST_RIP, OPT_VM_PREFIX };

/* Everything the agent runs, for the loop and the API's hooks. */
struct agent {
	const struct opts *o;
	struct ks_engine *e;
	struct ks_api *api;
	struct ks_prom *prom;
	struct ks_feed feed;	/* records -> engine + prom */
	struct ks_live *live;	/* the sources (all off with --replay) */
	struct ks_state *state;	/* NULL: nothing kept */
	struct ks_tenant_owners owners;	/* the state's tenants */
	struct ks_playback *rp;	/* NULL: live */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmscope serve [--listen HOST:PORT] [--sources LIST | "
		"--replay FILE\n"
		"                      [--replay-speed X] [--replay-loop]]\n"
		"                      [--state FILE [--checkpoint-interval S] "
		"| --no-state]\n\n"
		"Serves Joyent Cloud Analytics' HTTP API (GET /ca, "
		"/ca/instrumentations,\n"
		"values and heatmaps) at http://HOST:PORT/, and Prometheus' "
		"GET /metrics.\n"
		"Data comes from every live source that can run here (BPF "
		"probes need\n"
		"root), read once a second; GET /ca/admin/status says which "
		"run, and why\n"
		"the others do not.\n\n"
		"  -l, --listen HOST:PORT  address to listen on (default "
		KS_HTTP_DEFAULT_LISTEN ";\n"
		"                          port 0 picks a free port; "
		"[V6ADDR]:PORT for IPv6)\n"
		"  -r, --replay FILE       feed a recorded trace (tracefs "
		"text or a kvmscope\n"
		"                          record file) as if it were live, "
		"paced to real time\n"
		"  -s, --replay-speed X    replay X times faster (0.01 to "
		"1000000; default 1)\n"
		"  -L, --replay-loop       start the trace again when it "
		"ends\n"
		"      --replay-vm-prefix P  prepend P to the trace's VM names "
		"and UUIDs (one\n"
		"                          trace as different VMs on several "
		"agents)\n"
		"  -w, --web-root DIR      serve the web UI from DIR (default: "
		"web/ next to the\n"
		"                          build tree, or "
		KS_STATIC_SYSTEM_ROOT ")\n"
		"      --sources LIST      live sources to run, comma-separated, "
		"'all' (the\n"
		"                          default) or 'none'; not with "
		"--replay\n"
		"      --guest-rip         the sampler also keys guest "
		"instruction pointers\n"
		"                          (vm.thread_samples' guestrip field: one "
		"key per\n"
		"                          address, capped per read; off by "
		"default)\n"
		"      --state FILE        keep instrumentations, and the data of "
		"those with\n"
		"                          persist-data, in FILE (sqlite) across "
		"restarts;\n"
		"                          default " KS_STATE_DEFAULT_PATH
		" when run\n"
		"                          as root by systemd, else none\n"
		"      --no-state          keep nothing across restarts\n"
		"      --checkpoint-interval S  save persist-data data every S "
		"seconds (1 to\n"
		"                          86400; default 10) and at a clean "
		"stop.  CA's own\n"
		"                          periodic save never fired (its "
		"condition was\n"
		"                          inverted); a kill -9 loses at most S "
		"seconds here\n"
		KS_SETUP_USAGE
		"  -h, --help              this help\n\n"
		"Sources:\n");
	for (size_t i = 0; i < ks_source_count(); i++)
		fprintf(f, "  %-12s %s\n", ks_source_at(i)->name,
			ks_source_at(i)->summary);
	fprintf(f, "\nSIGINT or SIGTERM stops the agent (after a last "
		"checkpoint).\n");
}

static int64_t wall_ns(void)
{
	return ks_clock_wall_ns();
}

/* ---- the agent ------------------------------------------------------- */

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
static json_t *peers_json(const struct opts *o)
{
	const char *list = ks_config_str(&o->setup.cfg, KS_CFG_PEERS);
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
	struct agent *ag = ctx;

	if (ag->rp)
		ks_playback__status(ag->rp, status);
	json_object_set_new(status, "sources", ks_live__status(ag->live));
	json_object_set_new(status, "state", ag->state ?
			    ks_state__status(ag->state) : json_null());
	json_object_set_new(status, "peers", peers_json(ag->o));
	json_object_set_new(status, "memory", memory_json(ag->e));
}

/* The second boundary: advances the engine (reaping idle
 * instrumentations, which the state forgets too), reads the live sources
 * if this is an aligned tick, and asks for a checkpoint when due (the
 * state's thread writes it, outside the lock). */
static void tick(struct agent *ag, int64_t now, bool aligned)
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

/* Ticks, reads sources and replays until a signal. */
static void run(struct agent *ag, const sigset_t *set)
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

/* Checks --sources: every item is a source, "all" or "none". */
static int check_sources(const char *list)
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

/* Options whose combinations are checked after parsing. */
struct given {
	bool speed, no_state, checkpoint;
};

static int parse_interval(const char *arg, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < 1 ||
	    v > KS_STATE_CHECKPOINT_MAX_S) {
		fprintf(stderr, PROG ": --checkpoint-interval must be a whole "
			"number of seconds from 1 to %d, not '%s'\n",
			KS_STATE_CHECKPOINT_MAX_S, arg);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* Checks what only makes sense together, and picks the state file. */
static int check_opts(struct opts *o, const struct given *g)
{
	if ((g->speed || o->loop) && !o->replay) {
		fprintf(stderr, PROG ": --replay-speed and --replay-loop need "
			"--replay FILE\n");
		return 2;
	}
	if (o->vm_prefix && (!o->replay || !*o->vm_prefix ||
			     strlen(o->vm_prefix) > 64)) {
		fprintf(stderr, PROG ": --replay-vm-prefix needs --replay FILE "
			"and 1 to 64 characters\n");
		return 2;
	}
	if (o->sources && check_sources(o->sources))
		return 2;
	if (o->sources && o->replay) {
		fprintf(stderr, PROG ": --sources chooses live sources; it does "
			"not go with --replay\n");
		return 2;
	}
	if (o->state && g->no_state) {
		fprintf(stderr, PROG ": --state and --no-state contradict each "
			"other\n");
		return 2;
	}
	o->no_state = g->no_state;
	if (!o->state && !g->no_state && (o->state = ks_state_default_path()))
		o->state_default = true;
	if (g->checkpoint && !o->state) {
		fprintf(stderr, PROG ": --checkpoint-interval needs a state "
			"file (--state FILE)\n");
		return 2;
	}
	if (!g->checkpoint)
		o->checkpoint_s = KS_STATE_CHECKPOINT_DEFAULT_S;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "replay", required_argument, NULL, 'r' },
		{ "replay-speed", required_argument, NULL, 's' },
		{ "replay-loop", no_argument, NULL, 'L' },
		{ "web-root", required_argument, NULL, 'w' },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "no-state", no_argument, NULL, OPT_NO_STATE },
		{ "checkpoint-interval", required_argument, NULL,
		  OPT_CHECKPOINT },
		{ "sources", required_argument, NULL, OPT_SOURCES },
		{ "guest-rip", no_argument, NULL, OPT_GUEST_RIP },
		{ "replay-vm-prefix", required_argument, NULL, OPT_VM_PREFIX },
		KS_SETUP_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct given g = { false, false, false };
	char *end;
	int c;

	/* listen stays NULL unless given: the config file may set it. */
	*o = (struct opts){ .speed = 1 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:r:s:Lw:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case 'r':
			o->replay = optarg;
			break;
		case 's':
			errno = 0;
			o->speed = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(o->speed) ||
			    o->speed < 0.01 || o->speed > SPEED_MAX) {
				fprintf(stderr, PROG ": --replay-speed must be a "
					"number from 0.01 to 1000000, not '%s'\n",
					optarg);
				return 2;
			}
			g.speed = true;
			break;
		case 'L':
			o->loop = true;
			break;
		case 'w':
			o->web_root = optarg;
			break;
		case OPT_STATE:
			o->state = optarg;
			break;
		case OPT_NO_STATE:
			g.no_state = true;
			break;
		case OPT_CHECKPOINT:
			if (parse_interval(optarg, &o->checkpoint_s))
				return 2;
			g.checkpoint = true;
			break;
		case OPT_SOURCES:
			o->sources = optarg;
			break;
		case OPT_GUEST_RIP:
			o->guest_rip = true;
			break;
		case OPT_VM_PREFIX:
			o->vm_prefix = optarg;
			break;
		case KS_SETUP_OPT_CONFIG:
		case KS_SETUP_OPT_TLS_CERT:
		case KS_SETUP_OPT_TLS_KEY:
		case KS_SETUP_OPT_TOKENS:
		case KS_SETUP_OPT_KEEP_CAPS:
		case KS_SETUP_OPT_CHECK:
		case KS_SETUP_OPT_PEERS:
		case KS_SETUP_OPT_TLS_PRIO:
		case KS_SETUP_OPT_HOSTNAME:
		case KS_SETUP_OPT_SERIES_GRACE:
		case KS_SETUP_OPT_TENANT_LABEL:
			if (ks_serve_setup_option(&o->setup, c, optarg))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if ((c = ks_serve_setup__load(&o->setup, &o->listen, &o->web_root,
				      &o->state, g.no_state)))
		return c;
	o->ropts = (struct ks_playback_opts){ o->replay, o->speed, o->loop,
					      o->vm_prefix };
	return check_opts(o, &g);
}

/* Finds the web UI's files: --web-root must hold them; without it, the
 * agent serves the API alone when none are found. */
static int set_web_root(const struct opts *o, struct ks_api *api)
{
	char root[PATH_MAX];
	struct ks_err err;

	if (o->web_root) {
		if (ks_static_check_root(o->web_root, "--web-root", root,
					 sizeof(root), &err)) {
			fprintf(stderr, PROG ": %s: %s\n", err.param, err.msg);
			return -EINVAL;
		}
	} else if (ks_static_default_root(root, sizeof(root))) {
		fprintf(stderr, PROG ": no web UI files found (use --web-root "
			"DIR): serving the API only\n");
		return 0;
	}
	return ks_api__set_web_root(api, root);
}

static struct ks_http_server *start_server(struct opts *o,
					   struct ks_api *api)
{
	struct ks_http_listen l;
	struct ks_http_server_conf c = { .listen = &l,
					 .handler = ks_api__handle,
					 .ctx = api };
	struct ks_err err;
	struct ks_http_server *s;
	bool v6;

	if (ks_http_listen_parse(o->listen, &l, &err)) {
		fprintf(stderr, PROG ": %s: %s\n", err.param, err.msg);
		return NULL;
	}
	if (ks_serve_setup__server(&o->setup, &l, &c))
		return NULL;
	if (!(s = ks_http_server__start(&c, &err))) {
		fprintf(stderr, PROG ": --listen %s: %s\n", o->listen, err.msg);
		return NULL;
	}
	v6 = l.addr.ss_family == AF_INET6;
	fprintf(stderr, "kvmscope: listening on http%s://%s%s%s:%u/\n",
		o->setup.is_tls ? "s" : "", v6 ? "[" : "", l.host,
		v6 ? "]" : "",
		(unsigned int)ks_http_server__port(s));
	return s;
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
static void start_sources(struct agent *ag)
{
	struct ks_source_opts so;
	char why[PATH_MAX + 32];
	size_t n;

	if (ag->rp) {
		snprintf(why, sizeof(why), "replaying %s (--replay)",
			 ag->o->replay);
		for (size_t i = 0; i < ks_source_count(); i++)
			ks_live__off(ag->live, i, why);
		return;
	}
	choose_sources(ag->live, ag->o->sources);
	ks_source_opts_init(&so);
	so.guest_rip = ag->o->guest_rip;
	/* Exits start timed only if a restored instrumentation wants it;
	 * each tick switches as instrumentations come and go. */
	ks_api__lock(ag->api);
	so.exits_count_only = !ks_feed_exit_latency_wanted(ag->e);
	ks_api__unlock(ag->api);
	n = ks_live__start(ag->live, &so);
	if (!n)
		fprintf(stderr, PROG ": no live sources %s: serving an engine "
			"without data; use --replay FILE to feed a trace\n",
			ag->o->sources ? "chosen (--sources)" :
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
static int open_state(struct agent *ag)
{
	struct ks_store_owners ow;
	struct ks_err err;

	if (!ag->o->state) {
		if (!ag->o->no_state)
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
	ag->state = ks_state__open(ag->o->state, ag->o->state_default,
				   ag->o->checkpoint_s, ag->e,
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

/* Starts the thread that writes the state, once the server narrowed the
 * capabilities (which must happen while the agent has one thread);
 * changes made before it are pending and written then. */
static int start_saver(struct agent *ag)
{
	int rc;

	if (!ag->state)
		return 0;
	if ((rc = ks_state__start(ag->state, api_lock, api_unlock, ag->api)))
		fprintf(stderr, PROG ": cannot start the thread that saves "
			"the state: %s\n", strerror(-rc));
	return rc;
}

/* Everything but the server; on failure, what was made stays in ag for
 * agent_close(). */
static int agent_open(struct agent *ag, const struct opts *o)
{
	const struct ks_source_ops *ops[64];
	size_t nops = ks_source_count();

	ag->o = o;
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
	ks_serve_setup__apply(&o->setup, ag->e, ag->api);
	/* One name for CA's hostname field and /metrics' hostname label. */
	ks_prom__set_hostname(ag->prom, ks_engine__hostname(ag->e));
	ks_serve_setup__prom(&o->setup, ag->prom);
	ks_prom__set_grace(ag->prom, ks_config_num(&o->setup.cfg,
						   KS_CFG_SERIES_GRACE,
						   KS_PROM_GRACE_DEFAULT_S));
	if (set_web_root(o, ag->api) || open_state(ag))
		return -EINVAL;
	if (o->replay && !(ag->rp = ks_playback__open(&o->ropts, PROG,
						     wall_ns())))
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
static int agent_close(struct agent *ag, bool clean)
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
		fprintf(stderr, PROG ": state saved to %s\n", ag->o->state);
	ks_state__close(ag->state);
	ks_live__free(ag->live);
	ks_playback__free(ag->rp);
	ks_api__free(ag->api);
	ks_prom__free(ag->prom);
	ks_engine__free(ag->e);
	ks_sym_reset();
	return clean ? rc : 0;
}

int cmd_serve(int argc, char **argv)
{
	struct ks_http_server *srv = NULL;
	struct agent ag = { 0 };
	struct opts o;
	sigset_t set;
	int rc = parse_opts(argc, argv, &o);

	if (rc) {
		ks_serve_setup__fini(&o.setup);
		return rc == 1 ? 0 : rc;
	}
	/* Blocked before any thread starts, so every thread inherits the
	 * mask and the signals wait for sigtimedwait() in run(). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	/* A taken port is said at once, before the probes take seconds. */
	if (ks_serve_setup_try_listen(o.listen))
		goto out;
	if (agent_open(&ag, &o))
		goto out;
	/* After the sources attached, before the server's thread. */
	ks_serve_setup__plan_caps(&o.setup, ag.live);
	if (!(srv = start_server(&o, ag.api)) || start_saver(&ag))
		goto out;
	run(&ag, &set);
	fprintf(stderr, PROG ": stopping\n");
	rc = 0;
out:
	ks_http_server__stop(srv);
	if (agent_close(&ag, rc == 0))
		rc = 1;
	ks_serve_setup__fini(&o.setup);
	return rc;
}
