/* playback.c - a recorded trace fed as if it were live (see playback.h).
 *
 * A source reads the trace one record at a time whatever its format: a
 * record file is read whole by recfile.h's reader; tracefs text goes
 * through the tracefs reader and kvmtrace's translation, whose records
 * queue until taken.  The replay maps the source's clock onto the wall's
 * and hands out what is due.
 *
 * The file is opened O_NONBLOCK, so a FIFO without a writer does not
 * block the open, and stays so when it is not a regular file: a read with
 * nothing to give answers -EAGAIN (tracefs.h keeps any partial line), the
 * source says "nothing yet", and the loop looks again KS_PLAYBACK_POLL_NS
 * later.  A FIFO whose writers all closed reads as the end.
 */
#include "agent/playback.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "replay/input.h"
#include "replay/kvmtrace.h"
#include "replay/tracefs.h"
#include "util/clock.h"

#define BATCH 512
#define RENAMES 256	/* VM names and UUIDs renamed, remembered */
#define NS KS_NS_PER_S

/* A trace read one record at a time, whatever its format. */
struct source {
	const char *path;
	struct ks_input_file in;	/* a record file (in.rd), or: */
	bool open;
	struct ks_tfs_reader *tr;	/* tracefs text ... */
	struct ks_kvmtrace *kt;		/* ... through the kvm translation */
	struct ks_record *q;		/* records kvmtrace emitted, not taken */
	size_t qhead, qn, qcap;
	bool done;
	bool quiet;			/* it had nothing at the last read */
	int error;
	char errmsg[320];
};

/* The replay: a source, and the mapping of its clock onto the wall's. */
struct ks_playback {
	struct source src;
	const struct ks_playback_opts *o;
	const char *prog;
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
	struct {		/* --replay-vm-prefix: renamed symbols */
		uint32_t from, to;
	} ren[RENAMES];
	size_t nren;
};


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
	struct ks_err err = { { 0 }, { 0 } };

	ks_tfs_reader__free(s->tr);
	ks_kvmtrace__free(s->kt);
	if (s->open)
		ks_input_close(&s->in, &err);	/* perf stopped early: ours */
	free(s->q);
	s->open = false;
	s->tr = NULL;
	s->kt = NULL;
	s->q = NULL;
	s->qhead = s->qn = s->qcap = 0;
}

static int source_fail(struct source *s, int rc, const char *msg)
{
	snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg);
	s->error = rc < 0 ? rc : -EINVAL;
	return s->error;
}

/* Opens (or reopens, for a loop) the file, whatever its format
 * (replay/input.h): a record file, perf.data through perf script, or
 * text, which a pipe or device gives without blocking. */
static int source_open(struct source *s)
{
	struct ks_err err = { { 0 }, { 0 } };
	int rc;

	s->done = false;
	/* Read on the agent's loop, which a quiet stdin would block. */
	if (!strcmp(s->path, "-"))
		return source_fail(s, -EINVAL, "--replay takes a file, a FIFO "
				   "or trace_pipe, not standard input ('-')");
	rc = ks_input_open(&s->in, s->path, KS_INPUT_PERF | KS_INPUT_STREAM,
			   &err);
	if (rc)
		return source_fail(s, rc, err.msg);
	s->open = true;
	if (s->in.kind == KS_INPUT_RECFILE)
		return 0;
	s->tr = ks_tfs_reader__new_fd(s->in.fd);
	s->kt = ks_kvmtrace__new(queue_record, s);
	if (!s->tr || !s->kt)
		return source_fail(s, -ENOMEM, "out of memory");
	return 0;
}

/* At the end of perf script's text, whether perf itself failed (a
 * perf.data it cannot read ends its text early, or gives none). */
static int perf_end(struct source *s)
{
	struct ks_err err = { { 0 }, { 0 } };
	int rc;

	if (!s->open || s->in.kind != KS_INPUT_PERFDATA)
		return 0;
	s->open = false;
	if ((rc = ks_input_close(&s->in, &err)))
		return source_fail(s, rc, err.msg);
	return 0;
}

/* Reads tracefs events until kvmtrace has emitted something, or the end. */
static int fill_from_trace(struct source *s)
{
	struct ks_err err = { { 0 }, { 0 } };
	struct ks_tfs_event ev;
	int rc;

	s->qhead = s->qn = 0;
	s->quiet = false;
	while (!s->qn && !s->done) {
		rc = ks_tfs_reader__next(s->tr, &ev, &err);
		if (rc == -EAGAIN && s->in.stream) {
			s->quiet = true;	/* nothing yet: not the end */
			return 0;
		}
		if (rc < 0)
			return source_fail(s, rc, err.msg);
		if (rc == 0) {
			s->done = true;
			if ((rc = perf_end(s)))
				return rc;
			rc = ks_kvmtrace__finish(s->kt);
		} else {
			rc = ks_kvmtrace__event(s->kt, &ev);
		}
		if (rc < 0)
			return source_fail(s, rc, "out of memory");
	}
	return 0;
}

/* The next record: 1, 0 at the end or (s->quiet) when a quiet stream has
 * nothing yet, or a negative errno. */
static int source_next(struct source *s, struct ks_record *r)
{
	int rc;

	if (s->error)
		return s->error;
	if (s->in.kind == KS_INPUT_RECFILE) {
		rc = ks_recfile_reader__next(s->in.rd, r);
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
static int64_t wall_of(const struct ks_playback *rp, uint64_t ts)
{
	double d = ((double)(int64_t)ts - (double)rp->t0) / rp->o->speed;

	return rp->wall0 + (int64_t)d;
}

/* Starts the trace again, a whole second after this cycle's end, so that
 * subsecond phases line up again.  False if it cannot. */
static bool next_cycle(struct ks_playback *rp)
{
	rp->wall0 = (wall_of(rp, (uint64_t)rp->last_ts) / NS + 1) * NS;
	rp->loops++;
	rp->cycle_records = 0;
	source_close(&rp->src);
	if (source_open(&rp->src) < 0) {
		fprintf(stderr, "%s: cannot loop '%s': %s\n", rp->prog,
			rp->src.path, rp->src.errmsg);
		return false;
	}
	return true;
}

/* References on the symbols of r's discrete fields: the record read ahead
 * may wait for its second across sweeps (engine/symtab.h). */
static void hold_fields(const struct ks_record *r, bool hold)
{
	for (int f = 0; f < KS_F__COUNT; f++)
		if (ks_record_has(r, (enum ks_field)f) &&
		    !ks_field_numeric((enum ks_field)f))
			(hold ? ks_sym_hold : ks_sym_put)((uint32_t)r->f[f]);
}

/* Reads the next record into rp->next; at the end of the trace, loops or
 * finishes. */
static void advance(struct ks_playback *rp, int64_t now)
{
	if (rp->have_next)
		hold_fields(&rp->next, false);
	for (;;) {
		int rc = source_next(&rp->src, &rp->next);

		if (rc > 0) {
			hold_fields(&rp->next, true);
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
		if (rc == 0 && rp->src.quiet)
			return;		/* read again later */
		if (rc < 0) {
			fprintf(stderr, "%s: replay of '%s' stopped: %s\n",
				rp->prog, rp->src.path, rp->src.errmsg);
			break;
		}
		if (!rp->o->loop || !rp->cycle_records) {
			fprintf(stderr, "%s: replay of '%s' finished: %llu "
				"records\n", rp->prog, rp->src.path,
				(unsigned long long)rp->records);
			break;
		}
		if (!next_cycle(rp))
			break;
	}
	rp->finished = true;
}

/* The symbol of vm_prefix + the name of symbol id (0 stays 0). */
static uint32_t renamed(struct ks_playback *rp, uint32_t id)
{
	char name[512];
	uint32_t to;

	if (!id)
		return 0;
	for (size_t i = 0; i < rp->nren; i++)
		if (rp->ren[i].from == id)
			return rp->ren[i].to;
	snprintf(name, sizeof(name), "%s%s", rp->o->vm_prefix,
		 ks_sym_str(id));
	to = ks_sym_intern(name);
	if (rp->nren < RENAMES && to)
		rp->ren[rp->nren++].from = id, rp->ren[rp->nren - 1].to = to;
	return to;
}

static void rename_vm(struct ks_playback *rp, struct ks_record *r)
{
	if (ks_record_has(r, KS_F_VM))
		r->f[KS_F_VM] = renamed(rp, (uint32_t)r->f[KS_F_VM]);
	if (ks_record_has(r, KS_F_VMUUID))
		r->f[KS_F_VMUUID] = renamed(rp, (uint32_t)r->f[KS_F_VMUUID]);
}

bool ks_playback__feed_due(struct ks_playback *rp, struct ks_feed *feed,
			 struct ks_api *api, int64_t now)
{
	size_t n = 0;

	/* A quiet stream is read again: its next record may have come. */
	if (!rp->have_next && !rp->finished && rp->src.quiet)
		advance(rp, now);
	while (rp->have_next && n < BATCH &&
	       wall_of(rp, rp->next.ts) <= now) {
		struct ks_record *r = &rp->batch[n++];

		*r = rp->next;
		r->ts = (uint64_t)wall_of(rp, r->ts);
		if (ks_record_has(r, KS_F_SUBSECOND))
			ks_record_set_subsecond(r);
		if (rp->o->vm_prefix)
			rename_vm(rp, r);
		rp->records++;	/* before advance(), which may report it */
		advance(rp, now);
	}
	ks_feed__records(feed, rp->batch, n);
	ks_api__lock(api);
	rp->shown.records = rp->records;
	rp->shown.loops = rp->loops;
	rp->shown.finished = rp->finished;
	ks_api__unlock(api);
	return n == BATCH;
}

int64_t ks_playback__wake(const struct ks_playback *rp, int64_t now, int64_t by)
{
	int64_t t = by;

	if (rp->have_next && wall_of(rp, rp->next.ts) < t)
		t = wall_of(rp, rp->next.ts);
	else if (!rp->have_next && !rp->finished && rp->src.quiet &&
		 now + KS_PLAYBACK_POLL_NS < t)
		t = now + KS_PLAYBACK_POLL_NS;
	return t;
}

void ks_playback__status(const struct ks_playback *rp, json_t *status)
{
	json_object_set_new(status, "replay",
			    json_pack("{s:s,s:f,s:b,s:I,s:I,s:b}",
				      "file", rp->src.path,
				      "speed", rp->o->speed,
				      "loop", rp->o->loop,
				      "records", (json_int_t)rp->shown.records,
				      "loops", (json_int_t)rp->shown.loops,
				      "finished", rp->shown.finished));
}

struct ks_playback *ks_playback__open(const struct ks_playback_opts *o,
				  const char *prog, int64_t now)
{
	struct ks_playback *rp = calloc(1, sizeof(*rp));

	if (!rp) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return NULL;
	}
	rp->o = o;
	rp->prog = prog;
	rp->src.path = o->path;
	if (source_open(&rp->src) < 0) {
		fprintf(stderr, "%s: %s\n", prog, rp->src.errmsg);
		source_close(&rp->src);
		free(rp);
		return NULL;
	}
	advance(rp, now);
	if (!rp->have_next && rp->src.quiet) {
		if (rp->src.in.kind != KS_INPUT_PERFDATA) /* perf starting */
			fprintf(stderr, "%s: '%s' is quiet: its records are "
				"fed as they come\n", prog, o->path);
	} else if (!rp->have_next && !rp->src.error)
		fprintf(stderr, "%s: '%s' holds no kvm records to replay\n",
			prog, o->path);
	return rp;
}

void ks_playback__free(struct ks_playback *rp)
{
	if (!rp)
		return;
	source_close(&rp->src);
	free(rp);
}

