/* cmd_fleet.c - `kvmscope fleet`: Cloud Analytics over every host, from
 * Prometheus.
 *
 * The command is thin: it parses its options, builds the engine and the
 * HTTP API exactly as the agent does (same routes under /ca, same value
 * objects, same web UI), makes the fleet source (fleet/fleet.h) the API's
 * create check and status member, and polls it once a second until
 * SIGINT or SIGTERM.  Its access control is the agent's: without a token
 * file (--tokens, http/tokens.h) it listens only on loopback; with one,
 * tokens decide each request's scope, and tenants get fleet
 * instrumentations only when --tenant-label names the label the agents
 * put on their VMs' series (fleet/fleet.h).  The first poll runs before
 * the API serves, so a create is checked against a known Prometheus.
 */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/httpfront.h"
#include "engine/engine.h"
#include "engine/symtab.h"
#include "fleet/fleet.h"
#include "http/access.h"
#include "http/api.h"
#include "http/server.h"
#include "expo/prom.h"
#include "http/tenancy.h"
#include "http/tokens.h"
#include "util/clock.h"

#define PROG "kvmscope fleet"
#define NS 1000000000LL

struct opts {
	const char *listen;
	const char *web_root;
	const char *tokens;	/* the token file, or NULL */
	struct ks_fleet_conf fc;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmscope fleet --prometheus URL [OPTIONS]\n\n"
		"Serve Cloud Analytics' HTTP API and web UI over every host "
		"whose agent\nPrometheus scrapes, answered with PromQL range "
		"queries.\n\n"
		"  -p, --prometheus URL    the query API's base URL: "
		"http://HOST:9090\n"
		"                          (Prometheus), http://HOST:8428 "
		"(VictoriaMetrics)\n"
		"  -l, --listen HOST:PORT  loopback address to serve on "
		"(default 127.0.0.1:23181)\n"
		"  -s, --scrape-interval S the agents' scrape interval, the "
		"finest\n"
		"                          granularity (default 15)\n"
		"      --lag S             fetch a window once it ended this "
		"long ago\n"
		"                          (default 2 scrape intervals + 1)\n"
		"      --timeout MS        per Prometheus request (default "
		"5000)\n"
		"      --agents MAP        HOSTNAME=URL[,...]: the host agents' "
		"URLs\n"
		"                          (default http://INSTANCE of the "
		"scrape target)\n"
		"      --web-root DIR      the web UI's files\n"
		"      --tokens FILE       bearer tokens, as kvmscope serve's "
		"(\"TOKEN operator\",\n"
		"                          \"TOKEN tenant NAME VM[,VM...]\"); "
		"needed to listen\n"
		"                          on anything but loopback\n"
		"      --tenant-label L    the label the agents put on tenants' "
		"series\n"
		"                          (serve --tenant-label L): tenants' "
		"instrumentations\n"
		"                          see only series with L=\"TENANT\"; "
		"without it,\n"
		"                          tenants get 403\n"
		"  -h, --help              this help\n");
}

static int parse_uint(const char *arg, const char *name, unsigned max,
		      unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v == 0 || v > max) {
		fprintf(stderr, PROG ": --%s: '%s' is not a number from 1 to "
			"%u\n", name, arg, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* Whether u starts as an http:// or https:// URL. */
static bool http_url(const char *u, size_t len)
{
	return (len > 7 && !strncmp(u, "http://", 7)) ||
	       (len > 8 && !strncmp(u, "https://", 8));
}

/* --agents HOSTNAME=URL[,...]: 0, or 2 after saying which entry is bad. */
static int check_agents(const char *map)
{
	for (const char *p = map; p;) {
		const char *end = strchr(p, ','), *eq = strchr(p, '=');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (!eq || eq >= p + len || eq == p ||
		    !http_url(eq + 1, len - (size_t)(eq - p) - 1)) {
			fprintf(stderr, PROG ": --agents: '%.*s' is not "
				"HOSTNAME=http://HOST:PORT\n", (int)len, p);
			return 2;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* --tenant-label: a label name the agents can use, and tenants to
 * answer (--tokens).  0, or 2 after saying why. */
static int check_tenant_label(const struct opts *o)
{
	struct ks_err err;

	if (!o->fc.tenant_label)
		return 0;
	if (ks_prom_label_check(o->fc.tenant_label, "--tenant-label", &err)) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 2;
	}
	if (!o->tokens) {
		fprintf(stderr, PROG ": --tenant-label needs --tokens FILE: "
			"tenants are known by their tokens\n");
		return 2;
	}
	return 0;
}

/* 0, 1 for --help, or an exit status. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "prometheus", required_argument, NULL, 'p' },
		{ "scrape-interval", required_argument, NULL, 's' },
		{ "lag", required_argument, NULL, 'L' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "agents", required_argument, NULL, 'a' },
		KS_FRONT_LONGOPTS,
		{ 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:23181";
	o->fc.scrape_s = 15;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:l:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'p': o->fc.prometheus = optarg; break;
		case 'l': o->listen = optarg; break;
		case 's':
			if (parse_uint(optarg, "scrape-interval", 3600,
				       &o->fc.scrape_s))
				return 2;
			break;
		case 'L':
			if (parse_uint(optarg, "lag", 3600, &o->fc.lag_s))
				return 2;
			break;
		case 'T':
			if (parse_uint(optarg, "timeout", 600000,
				       &o->fc.timeout_ms))
				return 2;
			break;
		case 'a':
			if (check_agents(optarg))
				return 2;
			o->fc.agents = optarg;
			break;
		case 'w': o->web_root = optarg; break;
		case KS_FRONT_OPT_TOKENS: o->tokens = optarg; break;
		case KS_FRONT_OPT_TENANT_LABEL:
			o->fc.tenant_label = optarg;
			break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (!o->fc.prometheus) {
		fprintf(stderr, PROG ": --prometheus URL is required\n");
		return 2;
	}
	if (!http_url(o->fc.prometheus, strlen(o->fc.prometheus))) {
		fprintf(stderr, PROG ": --prometheus: '%s' is not an http:// "
			"or https:// URL\n", o->fc.prometheus);
		return 2;
	}
	return check_tenant_label(o);
}

/* The token file's rule: without one, loopback only. */
static int prepare_server(void *tokens, const struct ks_http_listen *l,
			  struct ks_http_server_conf *c)
{
	struct ks_err err;

	(void)c;
	if (ks_access_check_listen((const struct sockaddr *)&l->addr, l->host,
				   tokens != NULL, &err)) {
		fprintf(stderr, PROG ": %s: %s\n", err.param, err.msg);
		return -EINVAL;
	}
	if (tokens && !ks_access_is_loopback((const struct sockaddr *)&l->addr))
		fprintf(stderr, PROG ": warning: bearer tokens will cross the "
			"network in clear text: put a TLS proxy in front\n");
	return 0;
}

static pthread_t main_thread;

/* After a create (in the server's thread, locked): wake the poller so a
 * new instrumentation's history is fetched now, not on the next second. */
static void on_change(void *ctx, const char *owner, const char *id,
		      const struct ks_instn *in)
{
	(void)ctx;
	(void)owner;
	(void)id;
	if (in)
		pthread_kill(main_thread, SIGUSR1);
}

/* Polls once a second, on the second, and after each create, until
 * SIGINT or SIGTERM. */
static void run(struct ks_fleet *f, struct ks_api *api, struct ks_engine *e,
		const sigset_t *set)
{
	for (;;) {
		int64_t now = ks_clock_wall_ns(), d;
		struct timespec ts;
		int sig;

		ks_api__lock(api);
		ks_engine__tick(e, (uint64_t)now);
		ks_api__unlock(api);
		ks_fleet__poll(f, api, e, now / NS);
		d = (ks_clock_wall_ns() / NS + 1) * NS - ks_clock_wall_ns();
		ts.tv_sec = d / NS;
		ts.tv_nsec = d % NS;
		sig = sigtimedwait(set, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			return;
	}
}

int cmd_fleet(int argc, char **argv)
{
	struct ks_http_server *srv = NULL;
	struct ks_engine *e = NULL;
	struct ks_api *api = NULL;
	struct ks_fleet *f = NULL;
	struct ks_tokens *tokens = NULL;
	struct ks_err err;
	struct opts o;
	sigset_t set;
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc == 1 ? 0 : rc;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	main_thread = pthread_self();
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	if (o.tokens && !(tokens = ks_tokens__load(o.tokens, &err))) {
		fprintf(stderr, PROG ": %s: %s\n", err.param, err.msg);
		goto out;
	}
	if (!(f = ks_fleet__new(&o.fc, &err))) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		goto out;
	}
	if (!(e = ks_engine__new()) || !(api = ks_api__new(e))) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	ks_engine__set_hostname(e, "fleet");
	ks_api__set_check_hook(api, ks_fleet__check, f);
	ks_api__set_status_hook(api, ks_fleet__status, f);
	ks_api__set_change_hook(api, on_change, NULL);
	if (tokens)
		ks_api__set_tokens(api, tokens, KS_TENANT_INSTNS_DEFAULT);
	if (ks_front_web_root(PROG, o.web_root, false, api))
		goto out;
	/* Prometheus' reachability known before the first create. */
	ks_fleet__poll(f, api, e, ks_clock_wall_ns() / NS);
	if (!(srv = ks_front_start(PROG, o.listen, api, false, prepare_server,
				   tokens)))
		goto out;
	fprintf(stderr, "kvmscope: fleet of %s\n", o.fc.prometheus);
	run(f, api, e, &set);
	fprintf(stderr, PROG ": stopping\n");
	rc = 0;
out:
	ks_http_server__stop(srv);
	ks_api__free(api);
	ks_engine__free(e);
	ks_fleet__free(f);
	ks_tokens__free(tokens);
	ks_sym_reset();
	return rc;
}
