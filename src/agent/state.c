/* state.c - the agent's persistence: path checks, load, saves, checkpoints.
 *
 * The store (src/store/) knows how to write instrumentations and datasets;
 * this module decides when.  It also keeps the ids it has saved, because
 * the engine reaps idle instrumentations on its own and the store must
 * forget those too, or they would come back at the next start.
 *
 * Saves never run under the engine lock: the API's change hook records
 * the row to write (a create, clone or modify: the parameters as JSON;
 * a delete: the key) in a pending set, one entry per instrumentation, and
 * the saver thread writes the set in one transaction.  A save that fails
 * (a locked or full file) does not fail the API request that caused it;
 * its entries go back into the set, unless a newer change of the same
 * instrumentation came meanwhile, and are retried every second until
 * they are written.  Failing and working again are logged once each,
 * counted, and shown in the status.  A checkpoint takes the engine lock
 * once per persist-data instrumentation to serialise its dataset, and
 * writes it outside.  A tenant's instrumentation is saved with its owner
 * and the predicate the tenant wrote (through the store owners' shown
 * hook), so after a restart it is the tenant's again; an instrumentation
 * is known by the engine's key, (owner, id), since each namespace numbers
 * its own.
 */
#include "agent/state.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

#define PARAM "--state"
#define NS 1000000000ULL

/* An instrumentation's engine key. */
struct key {
	char owner[KS_INSTN_OWNER_MAX + 1];
	char id[sizeof(((struct ks_instn *)0)->id)];
};

/* A change not yet written: the row to save (params non-NULL) or a
 * delete.  fresh: a save of an instrumentation the file does not hold, so
 * that a delete before it is written just drops it. */
struct change {
	struct key k;
	char *params, *shown;
	int64_t crtime_ms;
	bool persist, fresh;
};

struct ks_state {
	struct ks_store *st;
	struct ks_engine *e;
	struct ks_store_owners ow;
	bool have_ow;
	char path[PATH_MAX];
	uint64_t interval_ns;
	uint64_t next_ns;	/* next checkpoint, wall clock */
	struct key *ids;	/* saved or pending instrumentations */
	size_t nids, capids;
	size_t loaded, skipped;
	bool set_aside;

	/* Shared with the saver thread, under mu (taken after the engine
	 * lock, never before it). */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_cond_t saved_cv;	/* after each write of the changes */
	uint64_t seq;		/* changes recorded */
	uint64_t done_seq;	/* changes up to it written */
	uint64_t tried_seq;	/* changes up to it tried at least once */
	struct change *pend;
	size_t npend, cappend, inflight;
	uint64_t ck_want_ns;	/* checkpoint requested at; 0: none */
	uint64_t saves, checkpoints, errors;
	uint64_t last_checkpoint_ns;
	bool failing;
	char last_error[256];
	bool quit;

	/* The saver thread and the engine lock it takes. */
	pthread_t thread;
	bool running;
	void (*lock)(void *);
	void (*unlock)(void *);
	void *lock_ctx;
};

const char *ks_state_default_path(void)
{
	if (geteuid() == 0 && getenv("INVOCATION_ID"))
		return KS_STATE_DEFAULT_PATH;
	return NULL;
}


/* The directory part of path, into dir. */
static void dir_of(const char *path, char *dir, size_t len)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(dir, len, "%s", dirname(copy));
}

static int check_dir(const char *dir, struct ks_err *err)
{
	struct stat sb;

	if (stat(dir, &sb))
		return ks_err_set(err, EINVAL, PARAM,
				  "the directory '%.100s' %s", dir,
				  errno == ENOENT ? "does not exist" :
				  strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return ks_err_set(err, EINVAL, PARAM,
				  "'%.100s' is not a directory", dir);
	/* Whoever can write the directory can swap the file under us. */
	if ((sb.st_uid != geteuid() && sb.st_uid != 0) ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH)))
		return ks_err_set(err, EINVAL, PARAM, "other users can write "
				  "in '%.100s'; keep the state file in a "
				  "directory only the agent's user (or root) "
				  "can write, such as /var/lib/kvmscope", dir);
	/* sqlite also creates FILE-wal and FILE-shm beside the file. */
	if (access(dir, W_OK | X_OK))
		return ks_err_set(err, EINVAL, PARAM, "cannot create files in "
				  "'%.100s': %s", dir, strerror(errno));
	return 0;
}

int ks_state_check_path(const char *path, struct ks_err *err)
{
	char dir[PATH_MAX];
	size_t len = path ? strlen(path) : 0;
	int rc;

	if (!len)
		return ks_err_set(err, EINVAL, PARAM, "needs a file name");
	if (len >= PATH_MAX - 16)
		return ks_err_set(err, EINVAL, PARAM, "the path is too long");
	if (path[len - 1] == '/')
		return ks_err_set(err, EINVAL, PARAM, "'%.100s' names a "
				  "directory; name the database file, such "
				  "as %.100sstate.db", path, path);
	/* Not a directory on the way: check_dir says which. */
	if ((rc = ks_store_check_file(path, err)) && rc != -ENOTDIR) {
		snprintf(err->param, sizeof(err->param), PARAM);
		return -EINVAL;
	}
	dir_of(path, dir, sizeof(dir));
	return check_dir(dir, err);
}

static bool has_id(const struct ks_state *s, const char *owner,
		   const char *id, size_t *at)
{
	for (size_t i = 0; i < s->nids; i++)
		if (!strcmp(s->ids[i].id, id) &&
		    !strcmp(s->ids[i].owner, owner)) {
			if (at)
				*at = i;
			return true;
		}
	return false;
}

static int add_id(struct ks_state *s, const char *owner, const char *id)
{
	if (has_id(s, owner, id, NULL))
		return 0;
	if (s->nids == s->capids) {
		size_t cap = s->capids ? s->capids * 2 : 16;
		struct key *p = realloc(s->ids, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->ids = p;
		s->capids = cap;
	}
	snprintf(s->ids[s->nids].owner, sizeof(s->ids[0].owner), "%s", owner);
	snprintf(s->ids[s->nids++].id, sizeof(s->ids[0].id), "%s", id);
	return 0;
}

static void drop_id(struct ks_state *s, const char *owner, const char *id)
{
	size_t i;

	if (!has_id(s, owner, id, &i))
		return;
	memmove(&s->ids[i], &s->ids[i + 1], (s->nids - i - 1) * sizeof(*s->ids));
	s->nids--;
}

/* Counts a save's outcome; logs when saving starts and stops failing.
 * Working again means nothing is left to write.  Called under mu. */
static void outcome(struct ks_state *s, int rc, const char *what)
{
	if (!rc) {
		if (s->npend || s->inflight || s->ck_want_ns)
			return;
		if (s->failing)
			fprintf(stderr, "kvmscope: state %s: saving works "
				"again; every change is saved\n", s->path);
		s->failing = false;
		return;
	}
	s->errors++;
	snprintf(s->last_error, sizeof(s->last_error), "%s: %s", what,
		 strerror(-rc));
	if (!s->failing)
		fprintf(stderr, "kvmscope: state %s: %s failed: %s (retried "
			"every second until it is saved)\n", s->path, what,
			strerror(-rc));
	s->failing = true;
}

static int load(struct ks_state *s, struct ks_engine *e, struct ks_err *err)
{
	int rc = ks_store__load(s->st, e, s->have_ow && s->ow.limit ?
				&s->ow : NULL,
				&s->loaded, &s->skipped);

	if (rc)
		return ks_err_set(err, -rc, PARAM, "cannot read the saved "
				  "instrumentations from '%.100s': %s; not "
				  "starting", s->path, strerror(-rc));
	for (struct ks_instn *in = ks_engine__next(e, NULL); in;
	     in = ks_engine__next(e, in))
		if (add_id(s, in->owner, in->id))
			return ks_err_set(err, ENOMEM, "", "out of memory");
	fprintf(stderr, "kvmscope: state %s: %zu instrumentation%s restored%s\n",
		s->path, s->loaded, s->loaded == 1 ? "" : "s",
		s->skipped ? " (some skipped, see above)" : "");
	return 0;
}

struct ks_state *ks_state__open(const char *path, bool make_dir,
				unsigned interval_s, struct ks_engine *e,
				const struct ks_store_owners *ow,
				struct ks_err *err)
{
	struct ks_state *s;
	char dir[PATH_MAX];
	int aside = 0;

	if (make_dir && path && *path) {
		dir_of(path, dir, sizeof(dir));
		if (mkdir(dir, 0700) && errno != EEXIST) {
			ks_err_set(err, errno, PARAM, "cannot create '%.100s': "
				   "%s", dir, strerror(errno));
			return NULL;
		}
	}
	if (ks_state_check_path(path, err))
		return NULL;
	if (!(s = calloc(1, sizeof(*s)))) {
		ks_err_set(err, ENOMEM, "", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->saved_cv, NULL);
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->e = e;
	if (ow) {
		s->ow = *ow;
		s->have_ow = true;
	}
	s->interval_ns = (uint64_t)(interval_s ? interval_s :
				    KS_STATE_CHECKPOINT_DEFAULT_S) * NS;
	s->next_ns = (uint64_t)ks_clock_wall_ns() + s->interval_ns;
	if (!(s->st = ks_store__open(path, KS_STATE_OPEN_WAIT_MS, &aside,
				     err))) {
		snprintf(err->param, sizeof(err->param), PARAM);
		ks_state__close(s);
		return NULL;
	}
	if (load(s, e, err)) {
		ks_state__close(s);
		return NULL;
	}
	s->set_aside = aside;
	return s;
}

static void free_change(struct change *c)
{
	free(c->params);
	free(c->shown);
}

static bool same_key(const struct key *a, const struct key *b)
{
	return !strcmp(a->id, b->id) && !strcmp(a->owner, b->owner);
}

static struct change *pending(struct ks_state *s, const struct key *k)
{
	for (size_t i = 0; i < s->npend; i++)
		if (same_key(&s->pend[i].k, k))
			return &s->pend[i];
	return NULL;
}

static int append(struct ks_state *s, const struct change *c)
{
	if (s->npend == s->cappend) {
		size_t cap = s->cappend ? s->cappend * 2 : 16;
		struct change *p = realloc(s->pend, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->pend = p;
		s->cappend = cap;
	}
	s->pend[s->npend++] = *c;
	return 0;
}

/* Records c (taking its strings) as the latest change of its key, under
 * mu. */
static void enqueue(struct ks_state *s, struct change *c)
{
	struct change *o = pending(s, &c->k);

	s->seq++;
	if (o) {
		bool fresh = o->params && o->fresh;

		free_change(o);
		if (!c->params && fresh) {
			/* Made and deleted before it was ever written. */
			*o = s->pend[--s->npend];
			free_change(c);
			pthread_cond_signal(&s->cv);	/* for the waiters */
			return;
		}
		c->fresh = c->params && fresh;
		*o = *c;
	} else if (append(s, c)) {
		free_change(c);
		outcome(s, -ENOMEM, "recording a change");
		return;
	}
	pthread_cond_signal(&s->cv);
}

/* "instrumentation ID" or "tenant OWNER's instrumentation ID". */
static void describe(char *buf, size_t len, const char *verb,
		     const struct key *k)
{
	snprintf(buf, len, "%s %s%.64s%sinstrumentation %.16s", verb,
		 *k->owner ? "tenant " : "", k->owner,
		 *k->owner ? "'s " : "", k->id);
}

void ks_state__changed(void *state, const char *owner, const char *id,
		       const struct ks_instn *in)
{
	struct ks_state *s = state;
	struct change c = { 0 };
	const json_t *shown;
	int rc = 0;

	snprintf(c.k.owner, sizeof(c.k.owner), "%s", in ? in->owner : owner);
	snprintf(c.k.id, sizeof(c.k.id), "%s", in ? in->id : id);
	if (in) {
		shown = s->have_ow && s->ow.shown ?
			s->ow.shown(s->ow.ctx, in) : NULL;
		c.params = ks_store_params(in);
		c.shown = shown ? json_dumps(shown, JSON_COMPACT |
					     JSON_SORT_KEYS |
					     JSON_ENCODE_ANY) : NULL;
		c.crtime_ms = in->crtime_ms;
		c.persist = in->conf.persist_data;
		c.fresh = !has_id(s, c.k.owner, c.k.id, NULL);
		if (!c.params || (shown && !c.shown) ||
		    add_id(s, c.k.owner, c.k.id))
			rc = -ENOMEM;
	} else {
		drop_id(s, c.k.owner, c.k.id);
	}
	pthread_mutex_lock(&s->mu);
	if (rc) {
		char what[160];

		free_change(&c);
		describe(what, sizeof(what), "saving", &c.k);
		outcome(s, rc, what);
	} else {
		enqueue(s, &c);
	}
	pthread_mutex_unlock(&s->mu);
}

void ks_state__sync(struct ks_state *s, struct ks_engine *e)
{
	for (size_t i = 0; i < s->nids;) {
		struct key k = s->ids[i];

		if (ks_engine__find(e, k.owner, k.id))
			i++;
		else	/* drops it from ids */
			ks_state__changed(s, k.owner, k.id, NULL);
	}
}

bool ks_state__due(const struct ks_state *s, uint64_t now_ns)
{
	return now_ns >= s->next_ns;
}

void ks_state__checkpoint(struct ks_state *s, struct ks_engine *e,
			  uint64_t now_ns)
{
	(void)e;
	s->next_ns = now_ns + s->interval_ns;
	pthread_mutex_lock(&s->mu);
	s->ck_want_ns = now_ns;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void engine_lock(struct ks_state *s)
{
	if (s->lock)
		s->lock(s->lock_ctx);
}

static void engine_unlock(struct ks_state *s)
{
	if (s->unlock)
		s->unlock(s->lock_ctx);
}

/* Writes changes in one transaction; on failure, what describes the
 * change that failed. */
static int write_changes(struct ks_state *s, const struct change *c,
			 size_t n, char *what, size_t len)
{
	int rc = ks_store__begin(s->st);

	if (n == 1)
		describe(what, len, c->params ? "saving" : "deleting", &c->k);
	else
		snprintf(what, len, "saving %zu changes", n);
	for (size_t i = 0; !rc && i < n; i++) {
		if (c[i].params) {
			struct ks_store_row r = {
				c[i].k.owner, c[i].k.id, c[i].params,
				c[i].shown, c[i].crtime_ms, c[i].persist,
			};

			rc = ks_store__put_instn(s->st, &r);
		} else {
			rc = ks_store__del_instn(s->st, c[i].k.owner,
						 c[i].k.id);
		}
		if (rc)
			describe(what, len, c[i].params ? "saving" :
				 "deleting", &c[i].k);
	}
	if (rc) {
		ks_store__rollback(s->st);
		return rc;
	}
	return ks_store__commit(s->st);
}

/* The keys of the persist-data instrumentations, taken under the engine
 * lock.  NULL with *n 0 when there are none (or no memory: -ENOMEM). */
static int persisted(struct ks_state *s, struct key **keys, size_t *n)
{
	size_t cap = 0;
	int rc = 0;

	*keys = NULL;
	*n = 0;
	engine_lock(s);
	for (struct ks_instn *in = ks_engine__next(s->e, NULL); in && !rc;
	     in = ks_engine__next(s->e, in)) {
		if (!in->conf.persist_data)
			continue;
		if (*n == cap) {
			struct key *p;

			cap = cap ? cap * 2 : 16;
			if (!(p = realloc(*keys, cap * sizeof(*p)))) {
				rc = -ENOMEM;
				break;
			}
			*keys = p;
		}
		snprintf((*keys)[*n].owner, sizeof((*keys)[0].owner), "%s",
			 in->owner);
		snprintf((*keys)[(*n)++].id, sizeof((*keys)[0].id), "%s",
			 in->id);
	}
	engine_unlock(s);
	return rc;
}

/* Serialises one instrumentation's dataset under the engine lock; *blob
 * NULL when it is gone or no longer persists. */
static int snapshot(struct ks_state *s, const struct key *k, uint8_t **blob,
		    size_t *len)
{
	struct ks_instn *in;
	int rc = 0;

	*blob = NULL;
	engine_lock(s);
	in = ks_engine__find(s->e, k->owner, k->id);
	if (in && in->conf.persist_data)
		rc = ks_dataset__save(in->ds, blob, len);
	engine_unlock(s);
	return rc;
}

/* Saves the data of every persist-data instrumentation, in one
 * transaction, each dataset serialised under the lock and written
 * outside it. */
static int checkpoint(struct ks_state *s)
{
	struct key *keys;
	size_t n;
	int rc = persisted(s, &keys, &n);

	if (!rc && n)
		rc = ks_store__begin(s->st);
	for (size_t i = 0; !rc && i < n; i++) {
		uint8_t *blob;
		size_t len;

		if (!(rc = snapshot(s, &keys[i], &blob, &len)) && blob)
			rc = ks_store__put_data(s->st, keys[i].owner,
						keys[i].id,
						(int64_t)time(NULL), blob, len);
		free(blob);
		if (rc)
			ks_store__rollback(s->st);
	}
	if (!rc && n)
		rc = ks_store__commit(s->st);
	free(keys);
	return rc;
}

/* Puts back a batch that failed, except changes superseded meanwhile. */
static void requeue(struct ks_state *s, struct change *batch, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pending(s, &batch[i].k) || append(s, &batch[i]))
			free_change(&batch[i]);
}

/* 0 when nothing is left to write; -EAGAIN when all went well but more
 * came meanwhile; else why the write failed. */
int ks_state__flush(struct ks_state *s)
{
	struct change *batch;
	char what[160] = "checkpoint";
	size_t n;
	uint64_t ck, upto;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	upto = s->seq;		/* every change so far is in the batch */
	batch = s->pend;
	n = s->inflight = s->npend;
	s->pend = NULL;
	s->npend = s->cappend = 0;
	ck = s->ck_want_ns;
	pthread_mutex_unlock(&s->mu);
	if (n)
		rc = write_changes(s, batch, n, what, sizeof(what));
	pthread_mutex_lock(&s->mu);
	s->inflight = 0;
	if (rc) {
		requeue(s, batch, n);
	} else {
		for (size_t i = 0; i < n; i++)
			free_change(&batch[i]);
		s->saves += n;
		s->done_seq = upto;
	}
	s->tried_seq = upto;
	pthread_cond_broadcast(&s->saved_cv);
	free(batch);
	pthread_mutex_unlock(&s->mu);
	if (!rc && ck) {
		snprintf(what, sizeof(what), "checkpoint");
		rc = checkpoint(s);
	}
	pthread_mutex_lock(&s->mu);
	if (!rc && ck) {
		s->checkpoints++;
		s->last_checkpoint_ns = ck;
		if (s->ck_want_ns == ck)
			s->ck_want_ns = 0;
	}
	outcome(s, rc, what);
	if (!rc && (s->npend || s->ck_want_ns))
		rc = -EAGAIN;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Waits, under mu, until quit or ns from now; true if quit. */
static bool pause_ns(struct ks_state *s, uint64_t ns)
{
	struct timespec ts = ks_clock_deadline(CLOCK_REALTIME, (int64_t)ns);

	while (!s->quit && pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
		;
	return s->quit;
}

void ks_state__wait_saved(void *state)
{
	struct ks_state *s = state;
	struct timespec ts = ks_clock_deadline(CLOCK_REALTIME,
					       KS_STATE_ACK_WAIT_MS * 1000000LL);
	uint64_t ticket;

	pthread_mutex_lock(&s->mu);
	ticket = s->seq;
	while (s->running && !s->quit && s->tried_seq < ticket &&
	       pthread_cond_timedwait(&s->saved_cv, &s->mu, &ts) == 0)
		;
	pthread_mutex_unlock(&s->mu);
}

/* The saver: writes whatever is pending; after a failure, retries once a
 * second. */
static void *saver(void *arg)
{
	struct ks_state *s = arg;
	int rc;

	pthread_mutex_lock(&s->mu);
	while (!s->quit) {
		if (!s->npend && !s->ck_want_ns && s->tried_seq == s->seq) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		pthread_mutex_unlock(&s->mu);
		rc = ks_state__flush(s);
		pthread_mutex_lock(&s->mu);
		if (rc && rc != -EAGAIN && pause_ns(s, NS))
			break;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int ks_state__start(struct ks_state *s, void (*lock)(void *),
		    void (*unlock)(void *), void *ctx)
{
	int rc;

	s->lock = lock;
	s->unlock = unlock;
	s->lock_ctx = ctx;
	pthread_mutex_lock(&s->mu);
	if ((rc = pthread_create(&s->thread, NULL, saver, s)))
		rc = -rc;
	else
		s->running = true;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void stop(struct ks_state *s)
{
	if (!s->running)
		return;
	pthread_mutex_lock(&s->mu);
	s->quit = true;
	pthread_cond_signal(&s->cv);
	pthread_cond_broadcast(&s->saved_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_mutex_lock(&s->mu);
	s->running = false;
	pthread_mutex_unlock(&s->mu);
}

int ks_state__finish(struct ks_state *s, unsigned wait_ms)
{
	uint64_t end = (uint64_t)ks_clock_wall_ns() +
		       (uint64_t)wait_ms * 1000000;
	int rc;

	stop(s);
	while ((rc = ks_state__flush(s)) && (uint64_t)ks_clock_wall_ns() < end)
		usleep(200 * 1000);
	if (rc) {
		pthread_mutex_lock(&s->mu);
		fprintf(stderr, "kvmscope: state %s: %zu change%s%s could not "
			"be saved: %s\n", s->path, s->npend,
			s->npend == 1 ? "" : "s",
			s->ck_want_ns ? " and the last checkpoint" : "",
			s->last_error);
		pthread_mutex_unlock(&s->mu);
	}
	return rc;
}

void ks_state__close(struct ks_state *s)
{
	if (!s)
		return;
	stop(s);
	ks_store__close(s->st);
	for (size_t i = 0; i < s->npend; i++)
		free_change(&s->pend[i]);
	free(s->pend);
	free(s->ids);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->saved_cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

json_t *ks_state__status(const struct ks_state *s)
{
	struct ks_state *m = (struct ks_state *)s;	/* for the mutex */
	json_t *o;

	pthread_mutex_lock(&m->mu);
	o = json_pack("{s:s,s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:b}",
		      "file", s->path,
		      "checkpoint_interval",
		      (json_int_t)(s->interval_ns / NS),
		      "loaded", (json_int_t)s->loaded,
		      "skipped", (json_int_t)s->skipped,
		      "set_aside", s->set_aside,
		      "saves", (json_int_t)s->saves,
		      "checkpoints", (json_int_t)s->checkpoints,
		      "last_checkpoint_ms",
		      (json_int_t)(s->last_checkpoint_ns / 1000000),
		      "errors", (json_int_t)s->errors,
		      "pending", (json_int_t)(s->npend + s->inflight),
		      "failing", s->failing);
	if (o && s->last_error[0])
		json_object_set_new(o, "last_error",
				    json_string(s->last_error));
	pthread_mutex_unlock(&m->mu);
	return o;
}
