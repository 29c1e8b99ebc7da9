/* cmd_serve.c - `kvmscope serve`: the agent, serving CA's HTTP API.
 *
 * Starts the HTTP server (src/http/) over one engine and keeps the engine
 * ticking once a second, which advances its clock and reaps idle
 * instrumentations.  Live sources (the BPF probes) do not exist yet; with
 * --replay FILE a recorded trace (tracefs text or a kvmscope record file)
 * stands in for them: its records are fed to the engine paced to real
 * time, with their timestamps moved onto the wall clock, so CA's
 * "latest complete second" defaults and a browser polling the API see the
 * trace as live data.  The shift is a whole number of seconds at normal
 * speed, so subsecond offsets (timer phases) survive it; --replay-speed
 * compresses or stretches time, and --replay-loop starts the trace again,
 * one second after its end, for as long as the agent runs.
 *
 * The main thread owns the replay and the ticker and waits in
 * sigtimedwait(), so SIGINT and SIGTERM (blocked in every thread, the
 * server's included) end the agent cleanly: the server is stopped first,
 * then everything is freed.
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

#include "cli/commands.h"
#include "engine/engine.h"
#include "engine/symtab.h"
#include "http/api.h"
#include "http/server.h"
#include "http/static.h"
#include "replay/kvmtrace.h"
#include "replay/recfile.h"
#include "replay/tracefs.h"

#define PROG "kvmscope serve"
#define BATCH 512
#define NS 1000000000LL
#define SPEED_MAX 1e6

struct opts {
	const char *listen;
	const char *replay;
	const char *web_root;
	double speed;
	bool loop;
};

/* A trace read one record at a time, whatever its format. */
struct source {
	const char *path;
	int fd;
	struct ks_recfile_reader *rd;	/* record file, or: */
	struct ks_tfs_reader *tr;	/* tracefs text ... */
	struct ks_kvmtrace *kt;		/* ... through the kvm translation */
	struct ks_record *q;		/* records kvmtrace emitted, not taken */
	size_t qhead, qn, qcap;
	bool done;
	int error;
	char errmsg[320];
};

/* The replay: a source, and the mapping of its clock onto the wall's. */
struct replay {
	struct source src;
	const struct opts *o;
	bool started, have_next, finished;
	struct ks_record next;
	int64_t t0;		/* trace second of the first record, ns */
	int64_t wall0;		/* wall second the cycle maps it to, ns */
	int64_t last_ts;	/* latest trace ts seen */
	uint64_t loops, records, cycle_records;
	struct {		/* copies for the status, under the lock */
		uint64_t records, loops;
		bool finished;
	} shown;
	struct ks_record batch[BATCH];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmscope serve [--listen HOST:PORT] [--replay FILE "
		"[--replay-speed X] [--replay-loop]]\n\n"
		"Serves Joyent Cloud Analytics' HTTP API (GET /ca, "
		"/ca/instrumentations,\n"
		"values and heatmaps) at http://HOST:PORT/.\n\n"
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
		"  -w, --web-root DIR      serve the web UI from DIR (default: "
		"web/ next to the\n"
		"                          build tree, or "
		KS_STATIC_SYSTEM_ROOT ")\n"
		"  -h, --help              this help\n\n"
		"SIGINT or SIGTERM stops the agent.\n");
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* ---- sources --------------------------------------------------------- */

static int queue_record(void *ctx, const struct ks_record *r)
{
	struct source *s = ctx;

	if (s->qn == s->qcap) {
		size_t cap = s->qcap ? s->qcap * 2 : 64;
		struct ks_record *p = realloc(s->q, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->q = p;
		s->qcap = cap;
	}
	s->q[s->qn++] = *r;
	return 0;
}

static void source_close(struct source *s)
{
	ks_recfile_reader__free(s->rd);
	ks_tfs_reader__free(s->tr);
	ks_kvmtrace__free(s->kt);
	if (s->fd >= 0)
		close(s->fd);
	free(s->q);
	s->rd = NULL;
	s->tr = NULL;
	s->kt = NULL;
	s->q = NULL;
	s->fd = -1;
	s->qhead = s->qn = s->qcap = 0;
}

static int source_fail(struct source *s, int rc, const char *msg)
{
	snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg);
	s->error = rc < 0 ? rc : -EINVAL;
	return s->error;
}

/* Opens (or reopens, for a loop) the file, telling the formats apart by
 * the record file's magic. */
static int source_open(struct source *s)
{
	unsigned char head[KS_RECFILE_MAGIC_LEN];
	struct ks_err err = { { 0 }, { 0 } };
	char msg[300];

	s->done = false;
	s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		snprintf(msg, sizeof(msg), "cannot open '%s': %s", s->path,
			 strerror(errno));
		return source_fail(s, -errno, msg);
	}
	if (pread(s->fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	    ks_recfile_sniff(head, sizeof(head))) {
		close(s->fd);
		s->fd = -1;
		if (!(s->rd = ks_recfile_reader__open(s->path, &err)))
			return source_fail(s, -EINVAL, err.msg);
		return 0;
	}
	s->tr = ks_tfs_reader__new_fd(s->fd);
	s->kt = ks_kvmtrace__new(queue_record, s);
	if (!s->tr || !s->kt)
		return source_fail(s, -ENOMEM, "out of memory");
	return 0;
}

/* Reads tracefs events until kvmtrace has emitted something, or the end. */
static int fill_from_trace(struct source *s)
{
	struct ks_err err = { { 0 }, { 0 } };
	struct ks_tfs_event ev;
	int rc;

	s->qhead = s->qn = 0;
	while (!s->qn && !s->done) {
		rc = ks_tfs_reader__next(s->tr, &ev, &err);
		if (rc < 0)
			return source_fail(s, rc, err.msg);
		if (rc == 0) {
			s->done = true;
			rc = ks_kvmtrace__finish(s->kt);
		} else {
			rc = ks_kvmtrace__event(s->kt, &ev);
		}
		if (rc < 0)
			return source_fail(s, rc, "out of memory");
	}
	return 0;
}

/* The next record: 1, 0 at the end, or a negative errno. */
static int source_next(struct source *s, struct ks_record *r)
{
	int rc;

	if (s->error)
		return s->error;
	if (s->rd) {
		rc = ks_recfile_reader__next(s->rd, r);
		return rc < 0 ? source_fail(s, rc, "read error") : rc;
	}
	if (s->qhead == s->qn && (rc = fill_from_trace(s)))
		return rc;
	if (s->qhead == s->qn)
		return 0;
	*r = s->q[s->qhead++];
	return 1;
}

/* ---- pacing ---------------------------------------------------------- */

/* The wall-clock time of a trace timestamp in the current cycle. */
static int64_t wall_of(const struct replay *rp, uint64_t ts)
{
	double d = ((double)(int64_t)ts - (double)rp->t0) / rp->o->speed;

	return rp->wall0 + (int64_t)d;
}

/* Starts the trace again, a whole second after this cycle's end, so that
 * subsecond phases line up again.  False if it cannot. */
static bool next_cycle(struct replay *rp)
{
	rp->wall0 = (wall_of(rp, (uint64_t)rp->last_ts) / NS + 1) * NS;
	rp->loops++;
	rp->cycle_records = 0;
	source_close(&rp->src);
	if (source_open(&rp->src) < 0) {
		fprintf(stderr, PROG ": cannot loop '%s': %s\n", rp->src.path,
			rp->src.errmsg);
		return false;
	}
	return true;
}

/* Reads the next record into rp->next; at the end of the trace, loops or
 * finishes. */
static void advance(struct replay *rp, int64_t now)
{
	for (;;) {
		int rc = source_next(&rp->src, &rp->next);

		if (rc > 0) {
			if (!rp->started) {
				rp->t0 = (int64_t)rp->next.ts / NS * NS;
				rp->wall0 = now / NS * NS;
				rp->started = true;
			}
			if ((int64_t)rp->next.ts > rp->last_ts)
				rp->last_ts = (int64_t)rp->next.ts;
			rp->cycle_records++;
			rp->have_next = true;
			return;
		}
		rp->have_next = false;
		if (rc < 0) {
			fprintf(stderr, PROG ": replay of '%s' stopped: %s\n",
				rp->src.path, rp->src.errmsg);
			break;
		}
		if (!rp->o->loop || !rp->cycle_records) {
			fprintf(stderr, PROG ": replay of '%s' finished: %llu "
				"records\n", rp->src.path,
				(unsigned long long)rp->records);
			break;
		}
		if (!next_cycle(rp))
			break;
	}
	rp->finished = true;
}

/* Feeds up to one batch of the records that are due; true if more are. */
static bool feed_due(struct replay *rp, struct ks_api *api,
		     struct ks_engine *e, int64_t now)
{
	size_t n = 0;

	while (rp->have_next && n < BATCH &&
	       wall_of(rp, rp->next.ts) <= now) {
		struct ks_record *r = &rp->batch[n++];

		*r = rp->next;
		r->ts = (uint64_t)wall_of(rp, r->ts);
		if (ks_record_has(r, KS_F_SUBSECOND))
			ks_record_set_subsecond(r);
		rp->records++;	/* before advance(), which may report it */
		advance(rp, now);
	}
	ks_api__lock(api);
	if (n)
		ks_engine__feed(e, rp->batch, n);
	rp->shown.records = rp->records;
	rp->shown.loops = rp->loops;
	rp->shown.finished = rp->finished;
	ks_api__unlock(api);
	return n == BATCH;
}

/* GET /ca/admin/status: what the replay has done (called locked). */
static void replay_status(void *ctx, json_t *status)
{
	const struct replay *rp = ctx;

	json_object_set_new(status, "replay",
			    json_pack("{s:s,s:f,s:b,s:I,s:I,s:b}",
				      "file", rp->src.path,
				      "speed", rp->o->speed,
				      "loop", rp->o->loop,
				      "records", (json_int_t)rp->shown.records,
				      "loops", (json_int_t)rp->shown.loops,
				      "finished", rp->shown.finished));
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

/* Ticks and replays until a signal. */
static void run(struct ks_engine *e, struct ks_api *api, struct replay *rp,
		const sigset_t *set)
{
	int64_t next_tick = 0, deadline;

	for (;;) {
		int64_t now = wall_ns();
		bool more = false;

		if (now >= next_tick) {
			ks_api__lock(api);
			ks_engine__tick(e, (uint64_t)now);
			ks_api__unlock(api);
			next_tick = (now / NS + 1) * NS;
		}
		if (rp && rp->have_next)
			more = feed_due(rp, api, e, now);
		deadline = more ? now : next_tick;
		if (!more && rp && rp->have_next &&
		    wall_of(rp, rp->next.ts) < deadline)
			deadline = wall_of(rp, rp->next.ts);
		if (wait_until(set, deadline))
			return;
	}
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "replay", required_argument, NULL, 'r' },
		{ "replay-speed", required_argument, NULL, 's' },
		{ "replay-loop", no_argument, NULL, 'L' },
		{ "web-root", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool speed_given = false;
	char *end;
	int c;

	*o = (struct opts){ .listen = KS_HTTP_DEFAULT_LISTEN, .speed = 1 };
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
			speed_given = true;
			break;
		case 'L':
			o->loop = true;
			break;
		case 'w':
			o->web_root = optarg;
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
	if ((speed_given || o->loop) && !o->replay) {
		fprintf(stderr, PROG ": --replay-speed and --replay-loop need "
			"--replay FILE\n");
		return 2;
	}
	return 0;
}

static struct replay *replay_open(const struct opts *o)
{
	struct replay *rp = calloc(1, sizeof(*rp));

	if (!rp) {
		fprintf(stderr, PROG ": out of memory\n");
		return NULL;
	}
	rp->o = o;
	rp->src.path = o->replay;
	rp->src.fd = -1;
	if (source_open(&rp->src) < 0) {
		fprintf(stderr, PROG ": %s\n", rp->src.errmsg);
		source_close(&rp->src);
		free(rp);
		return NULL;
	}
	advance(rp, wall_ns());
	if (!rp->have_next)
		fprintf(stderr, PROG ": '%s' holds no kvm records to replay\n",
			o->replay);
	return rp;
}

static void replay_close(struct replay *rp)
{
	if (!rp)
		return;
	source_close(&rp->src);
	free(rp);
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

static struct ks_http_server *start_server(const struct opts *o,
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
	if (!(s = ks_http_server__start(&c, &err))) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return NULL;
	}
	v6 = l.addr.ss_family == AF_INET6;
	fprintf(stderr, "kvmscope: listening on http://%s%s%s:%u/\n",
		v6 ? "[" : "", l.host, v6 ? "]" : "",
		(unsigned int)ks_http_server__port(s));
	return s;
}

int cmd_serve(int argc, char **argv)
{
	struct ks_http_server *srv = NULL;
	struct ks_engine *e = NULL;
	struct ks_api *api = NULL;
	struct replay *rp = NULL;
	struct opts o;
	sigset_t set;
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc == 1 ? 0 : rc;
	/* Blocked before any thread starts, so every thread inherits the
	 * mask and the signals wait for sigtimedwait() in run(). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	if (!(e = ks_engine__new()) || !(api = ks_api__new(e))) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	if (set_web_root(&o, api))
		goto out;
	if (o.replay && !(rp = replay_open(&o)))
		goto out;
	if (rp)
		ks_api__set_status_hook(api, replay_status, rp);
	else
		fprintf(stderr, PROG ": no live sources yet (the BPF probes "
			"are not built): serving an engine without data; use "
			"--replay FILE to feed a trace\n");
	if (!(srv = start_server(&o, api)))
		goto out;
	run(e, api, rp, &set);
	fprintf(stderr, PROG ": stopping\n");
	rc = 0;
out:
	ks_http_server__stop(srv);
	replay_close(rp);
	ks_api__free(api);
	ks_engine__free(e);
	ks_sym_reset();
	return rc;
}
