/* state.c - the agent's persistence: path checks, load, saves, checkpoints.
 *
 * The store (src/store/) knows how to write instrumentations and datasets;
 * this module decides when.  It also keeps the ids it has saved, because
 * the engine reaps idle instrumentations on its own and the store must
 * forget those too, or they would come back at the next start.  Save
 * errors (a full disk) do not fail the API request that caused them - the
 * instrumentation works, it just will not survive a restart - but they are
 * logged when they start and stop, counted, and shown in the status.
 * A tenant's instrumentation is saved with its owner and the predicate
 * the tenant wrote, so after a restart it is the tenant's again; an
 * instrumentation is known by the engine's key, (owner, id), since each
 * namespace numbers its own.
 */
#include "agent/state.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/access.h"
#include "http/tenancy.h"
#include "http/tokens.h"
#include "store/store.h"

#define PARAM "--state"
#define NS 1000000000ULL

/* An instrumentation's engine key. */
struct key {
	char owner[KS_INSTN_OWNER_MAX + 1];
	char id[sizeof(((struct ks_instn *)0)->id)];
};

struct ks_state {
	struct ks_store *st;
	struct ks_tenancy *tenancy;	/* NULL: no tenants */
	const struct ks_tokens *tokens;
	char path[PATH_MAX];
	uint64_t interval_ns;
	uint64_t next_ns;	/* next checkpoint, wall clock */
	struct key *ids;	/* saved instrumentations */
	size_t nids, capids;
	size_t loaded, skipped;
	bool set_aside;
	uint64_t saves, checkpoints, errors;
	uint64_t last_checkpoint_ns;
	bool failing;
	char last_error[256];
};

const char *ks_state_default_path(void)
{
	if (geteuid() == 0 && getenv("INVOCATION_ID"))
		return KS_STATE_DEFAULT_PATH;
	return NULL;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
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
	/* sqlite also creates FILE-wal and FILE-shm beside the file. */
	if (access(dir, W_OK | X_OK))
		return ks_err_set(err, EINVAL, PARAM, "cannot create files in "
				  "'%.100s': %s", dir, strerror(errno));
	return 0;
}

int ks_state_check_path(const char *path, struct ks_err *err)
{
	char dir[PATH_MAX];
	struct stat sb;
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
	dir_of(path, dir, sizeof(dir));
	if ((rc = check_dir(dir, err)))
		return rc;
	if (stat(path, &sb)) {
		if (errno == ENOENT)
			return 0;
		return ks_err_set(err, EINVAL, PARAM, "cannot use '%.100s': %s",
				  path, strerror(errno));
	}
	if (S_ISDIR(sb.st_mode))
		return ks_err_set(err, EINVAL, PARAM, "'%.100s' is a directory; "
				  "name the database file, such as "
				  "%.100s/state.db", path, path);
	if (!S_ISREG(sb.st_mode))
		return ks_err_set(err, EINVAL, PARAM, "'%.100s' is not a "
				  "regular file", path);
	if (access(path, R_OK | W_OK))
		return ks_err_set(err, EINVAL, PARAM, "cannot read and write "
				  "'%.100s': %s", path, strerror(errno));
	return 0;
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

/* Counts a save's outcome; logs when saving starts and stops failing. */
static void outcome(struct ks_state *s, int rc, const char *what)
{
	if (!rc) {
		if (s->failing)
			fprintf(stderr, "kvmscope: state %s: saving works "
				"again\n", s->path);
		s->failing = false;
		return;
	}
	s->errors++;
	snprintf(s->last_error, sizeof(s->last_error), "%s: %s", what,
		 strerror(-rc));
	if (!s->failing)
		fprintf(stderr, "kvmscope: state %s: %s failed: %s (changes "
			"will not survive a restart until saving works)\n",
			s->path, what, strerror(-rc));
	s->failing = true;
}

/* The scope of the tenant named owner, as its own requests get. */
static int tenant_scope(struct ks_state *s, const char *owner,
			struct ks_scope *scope, struct ks_err *err)
{
	const struct ks_tenant *tn = ks_tokens__tenant(s->tokens, owner);

	if (!tn)
		return ks_err_set(err, ENOENT, "", "no such tenant in the "
				  "token file");
	*scope = (struct ks_scope){ KS_SCOPE_TENANT, tn };
	return 0;
}

static int owner_limit(void *ctx, const char *owner,
		       struct ks_instn_conf *conf, json_t **shown,
		       struct ks_err *err)
{
	struct ks_state *s = ctx;
	struct ks_scope scope;
	int rc;

	*shown = NULL;
	if ((rc = tenant_scope(s, owner, &scope, err)))
		return rc;
	return ks_tenancy__restrict(s->tenancy, &scope, conf, shown, err);
}

static int owner_adopt(void *ctx, const char *owner,
		       const struct ks_instn *in, json_t *shown)
{
	struct ks_state *s = ctx;
	struct ks_scope scope;
	struct ks_err err;

	if (tenant_scope(s, owner, &scope, &err)) {
		json_decref(shown);
		return -ENOENT;
	}
	return ks_tenancy__adopt(s->tenancy, &scope, in, shown);
}

static int load(struct ks_state *s, struct ks_engine *e, struct ks_err *err)
{
	struct ks_store_owners ow = { owner_limit, owner_adopt, s };
	int rc = ks_store__load(s->st, e, s->tenancy && s->tokens ? &ow : NULL,
				&s->loaded, &s->skipped);

	if (rc)
		return ks_err_set(err, -rc, PARAM, "cannot read the saved "
				  "instrumentations from '%.100s': %s",
				  s->path, strerror(-rc));
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
				struct ks_tenancy *t,
				const struct ks_tokens *tokens,
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
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->tenancy = t;
	s->tokens = tokens;
	s->interval_ns = (uint64_t)(interval_s ? interval_s :
				    KS_STATE_CHECKPOINT_DEFAULT_S) * NS;
	s->next_ns = wall_ns() + s->interval_ns;
	if (!(s->st = ks_store__open(path, &aside, err)) || load(s, e, err)) {
		ks_state__close(s);
		return NULL;
	}
	s->set_aside = aside;
	return s;
}

void ks_state__close(struct ks_state *s)
{
	if (!s)
		return;
	ks_store__close(s->st);
	free(s->ids);
	free(s);
}

/* "instrumentation ID" or "tenant OWNER's instrumentation ID". */
static void describe(char *buf, size_t len, const char *verb,
		     const char *owner, const char *id)
{
	snprintf(buf, len, "%s %s%.64s%sinstrumentation %.16s", verb,
		 *owner ? "tenant " : "", owner, *owner ? "'s " : "", id);
}

void ks_state__changed(void *state, const char *owner, const char *id,
		       const struct ks_instn *in)
{
	struct ks_state *s = state;
	char what[160];
	int rc;

	if (in) {
		describe(what, sizeof(what), "saving", in->owner, in->id);
		rc = ks_store__put_instn(s->st, in, s->tenancy ?
					 ks_tenancy__shown(s->tenancy, in) :
					 NULL);
		if (!rc)
			rc = add_id(s, in->owner, in->id);
	} else {
		describe(what, sizeof(what), "deleting", owner, id);
		rc = ks_store__del_instn(s->st, owner, id);
		if (!rc)
			drop_id(s, owner, id);
	}
	if (!rc)
		s->saves++;
	outcome(s, rc, what);
}

void ks_state__sync(struct ks_state *s, struct ks_engine *e)
{
	for (size_t i = 0; i < s->nids;) {
		struct key k = s->ids[i];

		if (ks_engine__find(e, k.owner, k.id)) {
			i++;
			continue;
		}
		/* changed() drops it from ids, or it stays for next time. */
		ks_state__changed(s, k.owner, k.id, NULL);
		if (has_id(s, k.owner, k.id, NULL))
			return;
	}
}

bool ks_state__due(const struct ks_state *s, uint64_t now_ns)
{
	return now_ns >= s->next_ns;
}

int ks_state__checkpoint(struct ks_state *s, struct ks_engine *e,
			 uint64_t now_ns)
{
	int rc = ks_store__checkpoint(s->st, e);

	s->next_ns = now_ns + s->interval_ns;
	outcome(s, rc, "checkpoint");
	if (!rc) {
		s->checkpoints++;
		s->last_checkpoint_ns = now_ns;
	}
	return rc;
}

json_t *ks_state__status(const struct ks_state *s)
{
	json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:I}",
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
			      "errors", (json_int_t)s->errors);

	if (o && s->last_error[0])
		json_object_set_new(o, "last_error",
				    json_string(s->last_error));
	return o;
}
