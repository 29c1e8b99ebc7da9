/* cmd_serve.c - `kvmscope serve`: the agent, serving CA's HTTP API.
 *
 * The options and the server; the agent itself (the engine, the live
 * sources or a replayed trace, the state file, the once-a-second tick) is
 * src/agent/agent.c, and the configuration file, tokens, TLS and
 * capabilities src/cli/serve_setup.c.  Data come from the live sources
 * (every source of the registry that can run here), or, with --replay
 * FILE, from a recorded trace (tracefs or perf script text, a kvmscope
 * record file, perf.data through perf script) standing in for them.  With a state file (--state) instrumentations
 * survive restarts, and the data of persist-data ones is checkpointed
 * every --checkpoint-interval seconds and at a clean stop.
 *
 * SIGINT and SIGTERM are blocked before any thread starts, so every
 * thread inherits the mask and the agent's loop takes them: the server
 * is stopped first, a last checkpoint saved, then everything is freed.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "cli/commands.h"
#include "cli/serve_setup.h"
#include "http/api.h"
#include "http/server.h"
#include "http/static.h"
#include "source/source.h"

#define PROG "kvmscope serve"
#define SPEED_MAX 1e6

struct opts {
	const char *listen;
	const char *web_root;
	struct ks_agent_conf ac;	/* state, sources, --replay and its
					 * options, peers */
	struct ks_serve_setup setup;	/* config, tokens, TLS, caps */
};

/* Long options without a short form. */
enum { OPT_STATE = 256, OPT_NO_STATE, OPT_CHECKPOINT, OPT_SOURCES,
       OPT_GUEST_RIP, OPT_VM_PREFIX };

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
		"  -r, --replay FILE       feed a recorded trace (tracefs or "
		"perf script text,\n"
		"                          a kvmscope record file, perf.data) "
		"as if it were\n"
		"                          live, paced to real time\n"
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

static int parse_speed(const char *arg, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(*out) || *out < 0.01 ||
	    *out > SPEED_MAX) {
		fprintf(stderr, PROG ": --replay-speed must be a number from "
			"0.01 to 1000000, not '%s'\n", arg);
		return -EINVAL;
	}
	return 0;
}

/* Checks what only makes sense together, and picks the state file. */
static int check_opts(struct opts *o, const struct given *g)
{
	if ((g->speed || o->ac.replay.loop) && !o->ac.replay.path) {
		fprintf(stderr, PROG ": --replay-speed and --replay-loop need "
			"--replay FILE\n");
		return 2;
	}
	if (o->ac.replay.vm_prefix && (!o->ac.replay.path || !*o->ac.replay.vm_prefix ||
			     strlen(o->ac.replay.vm_prefix) > 64)) {
		fprintf(stderr, PROG ": --replay-vm-prefix needs --replay FILE "
			"and 1 to 64 characters\n");
		return 2;
	}
	if (o->ac.sources && ks_agent_check_sources(o->ac.sources))
		return 2;
	if (o->ac.sources && o->ac.replay.path) {
		fprintf(stderr, PROG ": --sources chooses live sources; it does "
			"not go with --replay\n");
		return 2;
	}
	if (o->ac.state && g->no_state) {
		fprintf(stderr, PROG ": --state and --no-state contradict each "
			"other\n");
		return 2;
	}
	o->ac.no_state = g->no_state;
	if (!o->ac.state && !g->no_state && (o->ac.state = ks_state_default_path()))
		o->ac.state_default = true;
	if (g->checkpoint && !o->ac.state) {
		fprintf(stderr, PROG ": --checkpoint-interval needs a state "
			"file (--state FILE)\n");
		return 2;
	}
	if (!g->checkpoint)
		o->ac.checkpoint_s = KS_STATE_CHECKPOINT_DEFAULT_S;
	return 0;
}

/* One option into o (and g): 0, 1 after --help, or 2 after an error. */
static int take_opt(struct opts *o, struct given *g, int c)
{
	switch (c) {
	case 'l': o->listen = optarg; return 0;
	case 'w': o->web_root = optarg; return 0;
	case 'r': o->ac.replay.path = optarg; return 0;
	case 'L': o->ac.replay.loop = true; return 0;
	case OPT_VM_PREFIX: o->ac.replay.vm_prefix = optarg; return 0;
	case OPT_STATE: o->ac.state = optarg; return 0;
	case OPT_NO_STATE: g->no_state = true; return 0;
	case OPT_SOURCES: o->ac.sources = optarg; return 0;
	case OPT_GUEST_RIP: o->ac.guest_rip = true; return 0;
	case 's':
		g->speed = true;
		return parse_speed(optarg, &o->ac.replay.speed) ? 2 : 0;
	case OPT_CHECKPOINT:
		g->checkpoint = true;
		return parse_interval(optarg, &o->ac.checkpoint_s) ? 2 : 0;
	case KS_SETUP_OPT_CONFIG:
	case KS_SETUP_OPT_TLS_CERT:
	case KS_SETUP_OPT_TLS_KEY:
	case KS_FRONT_OPT_TOKENS:
	case KS_SETUP_OPT_KEEP_CAPS:
	case KS_SETUP_OPT_CHECK:
	case KS_SETUP_OPT_PEERS:
	case KS_SETUP_OPT_TLS_PRIO:
	case KS_SETUP_OPT_HOSTNAME:
	case KS_SETUP_OPT_SERIES_GRACE:
	case KS_FRONT_OPT_TENANT_LABEL:
		return ks_serve_setup_option(&o->setup, c, optarg) ? 2 : 0;
	case 'h':
		usage(stdout);
		return 1;
	default:
		usage(stderr);
		return 2;
	}
}

/* 0, 1 for --help or --check-config, or an exit status. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "replay", required_argument, NULL, 'r' },
		{ "replay-speed", required_argument, NULL, 's' },
		{ "replay-loop", no_argument, NULL, 'L' },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "no-state", no_argument, NULL, OPT_NO_STATE },
		{ "checkpoint-interval", required_argument, NULL,
		  OPT_CHECKPOINT },
		{ "sources", required_argument, NULL, OPT_SOURCES },
		{ "guest-rip", no_argument, NULL, OPT_GUEST_RIP },
		{ "replay-vm-prefix", required_argument, NULL, OPT_VM_PREFIX },
		KS_FRONT_LONGOPTS,
		KS_SETUP_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct given g = { false, false, false };
	int c, rc;

	/* listen stays NULL unless given: the config file may set it. */
	*o = (struct opts){ .ac.replay.speed = 1 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:r:s:Lw:h", lopts, NULL)) != -1)
		if ((rc = take_opt(o, &g, c)))
			return rc;
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if ((rc = ks_serve_setup__load(&o->setup, &o->listen, &o->web_root,
				       &o->ac.state, g.no_state)))
		return rc;
	o->ac.peers = ks_config_str(&o->setup.cfg, KS_CFG_PEERS);
	return check_opts(o, &g);
}

/* The server's configuration from the settings (access, TLS, limits). */
static int prepare_server(void *setup, const struct ks_http_listen *l,
			  struct ks_http_server_conf *c)
{
	return ks_serve_setup__server(setup, l, c);
}

/* The command's settings onto the agent's engine, API and aggregator,
 * and the web UI's files. */
static int configure(struct ks_agent *ag, const struct opts *o)
{
	ks_serve_setup__apply(&o->setup, ag->e, ag->api);
	/* One name for CA's hostname field and /metrics' hostname label. */
	ks_prom__set_hostname(ag->prom, ks_engine__hostname(ag->e));
	ks_serve_setup__prom(&o->setup, ag->prom);
	ks_prom__set_grace(ag->prom, ks_config_num(&o->setup.cfg,
						   KS_CFG_SERIES_GRACE,
						   KS_PROM_GRACE_DEFAULT_S));
	return ks_front_web_root(PROG, o->web_root, true, ag->api);
}

int cmd_serve(int argc, char **argv)
{
	struct ks_http_server *srv = NULL;
	struct ks_agent ag = { 0 };
	struct opts o;
	sigset_t set;
	int rc = parse_opts(argc, argv, &o);

	if (rc) {
		ks_serve_setup__fini(&o.setup);
		return rc == 1 ? 0 : rc;
	}
	/* Blocked before any thread starts, so every thread inherits the
	 * mask and the signals wait for sigtimedwait() in the agent's loop. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	/* A taken port is said at once, before the probes take seconds. */
	if (ks_serve_setup_try_listen(o.listen))
		goto out;
	if (ks_agent__open(&ag, &o.ac) || configure(&ag, &o) ||
	    ks_agent__start(&ag))
		goto out;
	/* After the sources attached, before the server's thread. */
	ks_serve_setup__plan_caps(&o.setup, ag.live);
	srv = ks_front_start(PROG, o.listen, ag.api, o.setup.is_tls,
			     prepare_server, &o.setup);
	if (!srv || ks_agent__start_saver(&ag))
		goto out;
	ks_agent__run(&ag, &set);
	fprintf(stderr, PROG ": stopping\n");
	rc = 0;
out:
	ks_http_server__stop(srv);
	if (ks_agent__close(&ag, rc == 0))
		rc = 1;
	ks_serve_setup__fini(&o.setup);
	return rc;
}
