/* store.c - instrumentations and persisted data in one sqlite file.
 *
 * Two tables, both keyed by the engine's key (owner, id) - the owning
 * tenant's name, '' for the operator, and the id within that namespace:
 * instn (the creation parameters as JSON, crtime, and the predicate as
 * the tenant wrote it) and data (checkpoint time, the dataset blob).  The
 * params keep the predicate the engine evaluated, restriction included,
 * so a row whose tenant is gone still restores hidden from every tenant.
 * Older databases are migrated in place, in one transaction each step:
 * version 1 (no owner) rows become the operator's, which is what they were
 * restored as before; version 2 (ids from one counter, id alone the key)
 * keeps every row's owner and id, which were unique, so ids stay the same
 * across the upgrade.  The database is marked with an application_id, so
 * a foreign sqlite file is told apart from ours and set aside rather than
 * written into.  WAL with synchronous=NORMAL: a checkpoint is durable
 * against process death (kill -9) without an fsync per write.
 *
 * Every sqlite failure is sorted by why(): only SQLITE_CORRUPT and
 * SQLITE_NOTADB, a failing quick_check or a foreign application_id prove
 * damage; busy, full, read-only and I/O errors are the host's and never
 * cost the file.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define APP_ID 0x6b766d73	/* "kvms" */
#define SCHEMA_VERSION 3

struct ks_store {
	sqlite3 *db;
	int lock;		/* fd of path.lock, flocked */
};

#define INSTN_COLUMNS \
	"(owner TEXT NOT NULL DEFAULT '', id TEXT NOT NULL, " \
	" params TEXT NOT NULL, crtime INTEGER NOT NULL, shown TEXT, " \
	" PRIMARY KEY (owner, id))"
#define DATA_COLUMNS \
	"(owner TEXT NOT NULL DEFAULT '', id TEXT NOT NULL, " \
	" saved INTEGER NOT NULL, blob BLOB NOT NULL, PRIMARY KEY (owner, id))"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS instn " INSTN_COLUMNS ";"
	"CREATE TABLE IF NOT EXISTS data " DATA_COLUMNS ";";

/* Version 2 to 3: the key becomes (owner, id); sqlite cannot change a
 * primary key, so the tables are copied.  A data row takes its owner from
 * its instn row. */
static const char migrate_v2_sql[] =
	"CREATE TABLE instn3 " INSTN_COLUMNS ";"
	"INSERT INTO instn3 (owner, id, params, crtime, shown) "
	"  SELECT owner, id, params, crtime, shown FROM instn;"
	"CREATE TABLE data3 " DATA_COLUMNS ";"
	"INSERT INTO data3 (owner, id, saved, blob) "
	"  SELECT coalesce((SELECT owner FROM instn WHERE instn.id = data.id),"
	"  ''), id, saved, blob FROM data;"
	"DROP TABLE instn; DROP TABLE data;"
	"ALTER TABLE instn3 RENAME TO instn; ALTER TABLE data3 RENAME TO data;"
	"PRAGMA user_version=3;";

/* What a failed sqlite call means for the file, as a negative errno:
 * -EBADF is damage (the only reason to set the file aside); the others
 * are conditions of the moment or of the host, never of the file. */
static int why(sqlite3 *db, int rc)
{
	if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = sqlite3_errcode(db);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:
		return -EACCES;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADF;
	default:
		return -EIO;
	}
}

static int exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : why(db, rc);
}

/* The first column of sql's first row: 0, or a negative errno (why()). */
static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return why(db, rc);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = 0;
	} else {
		rc = why(db, rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Runs one migration step as a transaction. */
static int migrate_step(sqlite3 *db, const char *sql)
{
	int rc;

	if ((rc = exec(db, "BEGIN IMMEDIATE")))
		return rc;
	if ((rc = exec(db, sql)) || (rc = exec(db, "COMMIT")))
		exec(db, "ROLLBACK");
	/* A step that fails on a file we wrote means it is not what its
	 * version says: damage.  Busy, full, read-only stay what they are. */
	return rc == -EIO ? -EBADF : rc;
}

/* Version 1 had no owner: every row was the operator's. */
static int migrate_v1(sqlite3 *db)
{
	return migrate_step(db, "ALTER TABLE instn ADD COLUMN owner TEXT NOT "
			    "NULL DEFAULT ''; ALTER TABLE instn ADD COLUMN "
			    "shown TEXT; PRAGMA user_version=2;");
}

/* Brings a version 1 or 2 database to SCHEMA_VERSION. */
static int migrate(sqlite3 *db, int ver)
{
	int rc;

	if (ver == 1 && (rc = migrate_v1(db)))
		return rc;
	return migrate_step(db, migrate_v2_sql);
}

/* Makes an empty database ours, or checks (migrating) that it is: 0,
 * -EBADF (foreign; err says so), -EPROTONOSUPPORT (a newer kvmscope's),
 * or another negative errno from why(). */
static int adopt(sqlite3 *db, struct ks_err *err)
{
	int app = 0, ver = 0, ntables = 0, rc;
	char sql[96];

	if ((rc = pragma_int(db, "PRAGMA application_id", &app)) ||
	    (rc = pragma_int(db, "PRAGMA user_version", &ver)) ||
	    (rc = pragma_int(db, "SELECT count(*) FROM sqlite_master",
			     &ntables)))
		return rc;
	if (app == 0 && ntables == 0) {
		snprintf(sql, sizeof(sql),
			 "PRAGMA application_id=%d; PRAGMA user_version=%d;",
			 APP_ID, SCHEMA_VERSION);
		if ((rc = exec(db, sql)))
			return rc;
	} else if (app == APP_ID && ver > SCHEMA_VERSION) {
		return ks_err_set(err, EPROTONOSUPPORT, "", "it was written by "
				  "a newer kvmscope (schema %d; this one knows "
				  "up to %d)", ver, SCHEMA_VERSION);
	} else if (app == APP_ID && (ver == 1 || ver == 2)) {
		if ((rc = migrate(db, ver)))
			return rc;
	} else if (app != APP_ID || ver != SCHEMA_VERSION) {
		return ks_err_set(err, EBADF, "", "it is not a kvmscope state "
				  "database");
	}
	if ((rc = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")) ||
	    (rc = exec(db, schema)))
		return rc;
	return 0;
}

/* 0 if sqlite's quick check passes, -EBADF if it finds damage. */
static int quick_check(sqlite3 *db, struct ks_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st,
				     NULL)) != SQLITE_OK)
		return why(db, rc);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);

		rc = s && !strcmp((const char *)s, "ok") ? 0 :
			ks_err_set(err, EBADF, "", "its integrity check fails "
				   "(%.80s)", s ? (const char *)s : "?");
	} else {
		rc = why(db, rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* How long, at most, the open waits for another process's lock. */
struct wait {
	unsigned ms, waited;
	const char *path;
};

static int busy_wait(void *ctx, int n)
{
	struct wait *w = ctx;

	if (n == 0 && !w->waited)
		fprintf(stderr, "kvmscope: state %s is locked by another "
			"process (an sqlite3 session?); waiting up to %u s\n",
			w->path, w->ms / 1000);
	if (w->waited >= w->ms)
		return 0;
	usleep(50 * 1000);
	w->waited += 50;
	return 1;
}

/* A sentence for a refusal that is not damage. */
static int refusal(int rc, struct ks_err *err)
{
	switch (rc) {
	case -EBUSY:
		return ks_err_set(err, EBUSY, "", "it stayed locked by another "
				  "process (an sqlite3 session?)");
	case -ENOSPC:
		return ks_err_set(err, ENOSPC, "", "its file system is full");
	case -EROFS:
		return ks_err_set(err, EROFS, "", "it is read-only");
	case -EACCES:
		return ks_err_set(err, EACCES, "", "it cannot be opened for "
				  "reading and writing");
	case -ENOMEM:
		return ks_err_set(err, ENOMEM, "", "out of memory");
	default:
		return ks_err_set(err, -rc, "", "reading it fails (%s)",
				  strerror(-rc));
	}
}

/* Whether the file system holding path has no space left. */
static bool full(const char *path)
{
	struct statvfs sv;

	return !statvfs(path, &sv) && sv.f_bavail == 0;
}

/* Opens path as our database: 0 with *out, -EBADF when it is proven
 * damaged or foreign, or another negative errno (busy, full, read-only,
 * newer) that leaves the file alone; err says why. */
static int try_open(const char *path, struct wait *w, sqlite3 **out,
		    struct ks_err *err)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
				 SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
				 NULL);

	ks_err_clear(err);
	if (rc != SQLITE_OK) {
		rc = why(db, rc);
		sqlite3_close(db);
		return refusal(rc == -EBADF ? -EIO : rc, err);
	}
	sqlite3_busy_handler(db, busy_wait, w);
	if (!(rc = quick_check(db, err)))
		rc = adopt(db, err);
	/* sqlite reports a full disk met while making its -wal or -shm file
	 * as an I/O error. */
	if (rc == -EIO && full(path))
		rc = -ENOSPC;
	if (rc && !err->msg[0])
		rc = rc == -EBADF ? ks_err_set(err, EBADF, "", "sqlite finds "
					       "it damaged (%.80s)",
					       sqlite3_errmsg(db)) :
			refusal(rc, err);
	if (rc) {
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

/* Renames from to to unless to exists (-EEXIST): with RENAME_NOREPLACE,
 * or, where the file system lacks it, a hard link then an unlink. */
static int rename_new(const char *from, const char *to)
{
	if (!renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (link(from, to))
		return -errno;
	return unlink(from) ? -errno : 0;
}

/* Renames path (and its -wal, -shm) to path.bad-TIME[.N], never onto a
 * file that exists: 0 with the new name in to, or a negative errno. */
static int set_aside(const char *path, char *to, size_t len)
{
	static const char *sfx[] = { "-wal", "-shm" };
	long now = (long)time(NULL);
	int rc = -EEXIST;

	for (int n = 0; n < 1000 && rc == -EEXIST; n++) {
		if (n)
			snprintf(to, len, "%s.bad-%ld.%d", path, now, n);
		else
			snprintf(to, len, "%s.bad-%ld", path, now);
		rc = rename_new(path, to);
	}
	if (rc)
		return rc;
	for (size_t i = 0; i < 2; i++) {
		char from[PATH_MAX + 8], dst[PATH_MAX + 40];

		snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		snprintf(dst, sizeof(dst), "%s%s", to, sfx[i]);
		rename_new(from, dst);
	}
	return 0;
}

int ks_store_check_file(const char *path, struct ks_err *err)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
		      O_CLOEXEC), rc = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return ks_err_set(err, ELOOP, "", "'%.100s' is a "
					  "symbolic link; name the file itself",
					  path);
		return ks_err_set(err, errno, "", "cannot open '%.100s': %s",
				  path, strerror(errno));
	}
	if (fstat(fd, &sb))
		rc = ks_err_set(err, errno, "", "cannot stat '%.100s': %s",
				path, strerror(errno));
	else if (S_ISDIR(sb.st_mode))
		rc = ks_err_set(err, EISDIR, "", "'%.100s' is a directory; "
				"name the database file, such as "
				"%.100s/state.db", path, path);
	else if (!S_ISREG(sb.st_mode))
		rc = ks_err_set(err, EINVAL, "", "'%.100s' is not a regular "
				"file", path);
	else if (sb.st_uid != geteuid())
		rc = ks_err_set(err, EPERM, "", "'%.100s' belongs to uid %u, "
				"not to the agent's user (uid %u)", path,
				(unsigned)sb.st_uid, (unsigned)geteuid());
	else if (sb.st_nlink != 1)
		rc = ks_err_set(err, EPERM, "", "'%.100s' has other hard "
				"links", path);
	else if (sb.st_mode & (S_IWGRP | S_IWOTH))
		rc = ks_err_set(err, EPERM, "", "'%.100s' is writable by other "
				"users", path);
	close(fd);
	return rc;
}

/* Takes the lock that makes one agent per state file: an flock on
 * path.lock, which holds the holder's pid.  The fd, or a negative errno
 * (-EBUSY: another agent holds it) with err. */
static int lock_file(const char *path, struct ks_err *err)
{
	char lp[PATH_MAX + 8], buf[24];
	struct stat sb;
	int fd, n;

	snprintf(lp, sizeof(lp), "%s.lock", path);
	fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return ks_err_set(err, errno, "", "cannot open the lock file "
				  "'%.100s': %s", lp, strerror(errno));
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
		close(fd);
		return ks_err_set(err, EPERM, "", "the lock file '%.100s' is "
				  "not a regular file of the agent's user", lp);
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		n = (int)pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
		if (e != EWOULDBLOCK)
			return ks_err_set(err, e, "", "cannot lock '%.100s': "
					  "%s", lp, strerror(e));
		return ks_err_set(err, EBUSY, "", "another kvmscope agent%s%s%s "
				  "is using it (one agent per state file)",
				  *buf ? " (pid " : "", buf, *buf ? ")" : "");
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n)
		fprintf(stderr, "kvmscope: cannot write the pid into %s: %s\n",
			lp, strerror(errno));
	return fd;
}

/* Creates path, if it does not exist, readable and writable by the
 * agent's user only, whatever the umask (sqlite would make it 0644 less
 * the umask; its -wal and -shm files take the file's mode).  An empty
 * file is an empty database.  Failures are sqlite's to report. */
static void create_private(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		      O_CLOEXEC, 0600);

	if (fd >= 0)
		close(fd);
}

/* Fills err with "cannot use PATH: REASON; WHAT". */
static void explain(struct ks_err *err, const char *path, const char *what)
{
	char why_[sizeof(err->msg)];

	snprintf(why_, sizeof(why_), "%s", err->msg);
	snprintf(err->msg, sizeof(err->msg), "cannot use '%.60s': %.104s; "
		 "%.74s", path, why_, what);
}

#define KEPT "not starting; the file is kept as it is"

struct ks_store *ks_store__open(const char *path, unsigned wait_ms,
				int *aside, struct ks_err *err)
{
	struct wait w = { wait_ms, 0, path };
	struct ks_store *st;
	sqlite3 *db = NULL;
	char to[PATH_MAX + 32];
	int rc, lock;

	if (aside)
		*aside = 0;
	if ((rc = ks_store_check_file(path, err)))
		return NULL;
	if ((lock = lock_file(path, err)) < 0) {
		explain(err, path, "not starting");
		return NULL;
	}
	create_private(path);
	rc = try_open(path, &w, &db, err);
	if (rc == -EBADF) {
		fprintf(stderr, "kvmscope: state %s: %s\n", path, err->msg);
		if ((rc = set_aside(path, to, sizeof(to)))) {
			ks_err_set(err, -rc, "", "it is damaged and cannot be "
				   "moved aside: %s", strerror(-rc));
		} else {
			fprintf(stderr, "kvmscope: %s is not a usable kvmscope "
				"database; moved it to %s and started a new "
				"one\n", path, to);
			if (aside)
				*aside = 1;
			create_private(path);
			rc = try_open(path, &w, &db, err);
		}
	}
	if (rc) {
		explain(err, path, rc == -EPROTONOSUPPORT ? KEPT " (run that "
			"kvmscope, or move the file away)" : KEPT);
		close(lock);
		return NULL;
	}
	sqlite3_busy_timeout(db, KS_STORE_BUSY_MS);
	if (!(st = calloc(1, sizeof(*st)))) {
		sqlite3_close(db);
		close(lock);
		ks_err_set(err, ENOMEM, "", "out of memory");
		return NULL;
	}
	st->db = db;
	st->lock = lock;
	return st;
}

void ks_store__close(struct ks_store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	close(st->lock);
	free(st);
}

char *ks_store_params(const struct ks_instn *in)
{
	json_t *o = ks_instn_conf_to_json(&in->conf), *p;
	static const char *keep[] = { "module", "stat", "predicate",
				      "decomposition", "granularity",
				      "retention-time", "idle-max",
				      "persist-data" };
	char *s;

	if (!o)
		return NULL;
	p = json_object();
	for (size_t i = 0; p && i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(o, keep[i]);

		if (v)
			json_object_set(p, keep[i], v);
	}
	s = p ? json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(p);
	json_decref(o);
	return s;
}

int ks_store__begin(struct ks_store *st)
{
	return exec(st->db, "BEGIN IMMEDIATE");
}

int ks_store__commit(struct ks_store *st)
{
	int rc = exec(st->db, "COMMIT");

	if (rc)
		exec(st->db, "ROLLBACK");
	return rc;
}

void ks_store__rollback(struct ks_store *st)
{
	exec(st->db, "ROLLBACK");
}

/* Runs sql, whose parameters are an owner and an id. */
static int by_key(struct ks_store *st, const char *sql, const char *owner,
		  const char *id)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return why(st->db, rc);
	sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : why(st->db, rc);
	sqlite3_finalize(s);
	return rc;
}

#define DEL_INSTN "DELETE FROM instn WHERE owner = ? AND id = ?"
#define DEL_DATA "DELETE FROM data WHERE owner = ? AND id = ?"

int ks_store__put_instn(struct ks_store *st, const struct ks_store_row *r)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO instn "
				     "(owner, id, params, crtime, shown) "
				     "VALUES (?, ?, ?, ?, ?)", -1, &s,
				     NULL)) != SQLITE_OK)
		return why(st->db, rc);
	sqlite3_bind_text(s, 1, r->owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->params, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, r->crtime_ms);
	if (r->shown)
		sqlite3_bind_text(s, 5, r->shown, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : why(st->db, rc);
	sqlite3_finalize(s);
	if (!rc && !r->persist_data)
		rc = by_key(st, DEL_DATA, r->owner, r->id);
	return rc;
}

int ks_store__del_instn(struct ks_store *st, const char *owner,
			const char *id)
{
	int rc = by_key(st, DEL_INSTN, owner, id);

	return rc ? rc : by_key(st, DEL_DATA, owner, id);
}

int ks_store__put_data(struct ks_store *st, const char *owner,
		       const char *id, int64_t saved_s, const void *blob,
		       size_t len)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO data "
				     "(owner, id, saved, blob) SELECT ?1, ?2, "
				     "?3, ?4 WHERE EXISTS (SELECT 1 FROM instn "
				     "WHERE owner = ?1 AND id = ?2)", -1, &s,
				     NULL)) != SQLITE_OK)
		return why(st->db, rc);
	sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, saved_s);
	sqlite3_bind_blob64(s, 4, blob, len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : why(st->db, rc);
	sqlite3_finalize(s);
	return rc;
}

static void load_data(struct ks_store *st, struct ks_instn *in)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(st->db, "SELECT blob FROM data WHERE owner = ? "
				       "AND id = ?", -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(s, 1, in->owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, in->id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW &&
	    ks_dataset__load(in->ds, sqlite3_column_blob(s, 0),
			     (size_t)sqlite3_column_bytes(s, 0)))
		fprintf(stderr, "kvmscope: saved data of instrumentation %s "
				"is damaged; starting it empty\n", in->id);
	sqlite3_finalize(s);
}

/* One saved row, as read. */
struct row {
	const char *id, *params, *owner, *shown;
	int64_t crtime;
};

/* Parses the row's params; for a tenant's row, with the predicate the
 * tenant wrote, restricted again by ow as a create would. */
static int parse_row(const struct row *r, const struct ks_store_owners *ow,
		     bool as_tenant, struct ks_instn_conf *c, json_t **shown,
		     struct ks_err *err)
{
	json_t *p = json_loads(r->params, 0, NULL), *sp = NULL;
	int rc;

	*shown = NULL;
	if (!p)
		return ks_err_set(err, EINVAL, "params", "not JSON");
	if (as_tenant) {
		json_object_del(p, "predicate");
		if (r->shown && (sp = json_loads(r->shown, JSON_DECODE_ANY,
						  NULL)))
			json_object_set_new(p, "predicate", sp);
	}
	rc = ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, c, err);
	json_decref(p);
	if (rc || !as_tenant)
		return rc;
	if ((rc = ow->limit(ow->ctx, r->owner, c, shown, err)))
		ks_instn_conf_fini(c);
	return rc;
}

/* Restores r under its id: a tenant's row into the tenant's namespace
 * (as_tenant), any other into the operator's, where, if its id is taken
 * there (a tenant's row whose tenant is gone), it gets the operator's
 * next id. */
static int restore_row(struct ks_engine *e, const struct row *r,
		       const struct ks_store_owners *ow, bool as_tenant,
		       struct ks_instn **in, struct ks_err *err)
{
	const char *ns = as_tenant ? r->owner : "";
	struct ks_instn_conf c;
	json_t *shown;
	int rc;

	ks_err_clear(err);
	if ((rc = parse_row(r, ow, as_tenant, &c, &shown, err)))
		return rc;
	rc = ks_engine__restore(e, ns, r->id, &c, r->crtime, in, err);
	if (rc == -EEXIST && *r->owner && !as_tenant) {
		ks_err_clear(err);
		if (!(rc = ks_engine__create_in(e, "", &c, in, err)))
			(*in)->crtime_ms = r->crtime;
	}
	if (rc) {
		ks_instn_conf_fini(&c);
		json_decref(shown);
		return rc;
	}
	if (as_tenant && (rc = ow->adopt(ow->ctx, r->owner, *in, shown))) {
		ks_engine__delete_in(e, ns, r->id);
		return ks_err_set(err, -rc, "", "out of memory");
	}
	return 0;
}

/* Saves under its new key a tenant's row restored as the operator's, so
 * that it stays the operator's, with the id the operator was shown. */
static void rekey(struct ks_store *st, const struct row *r,
		  const struct ks_instn *in)
{
	static const char *const sql[] = {
		"UPDATE instn SET owner = '', id = ?3, shown = NULL "
		"WHERE owner = ?1 AND id = ?2",
		"UPDATE data SET owner = '', id = ?3 "
		"WHERE owner = ?1 AND id = ?2",
	};
	int rc = exec(st->db, "BEGIN");

	for (size_t i = 0; !rc && i < 2; i++) {
		sqlite3_stmt *s;

		if (sqlite3_prepare_v2(st->db, sql[i], -1, &s, NULL) !=
		    SQLITE_OK) {
			rc = -EIO;
			break;
		}
		sqlite3_bind_text(s, 1, r->owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, in->id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -EIO;
		sqlite3_finalize(s);
	}
	if (rc || exec(st->db, "COMMIT")) {
		exec(st->db, "ROLLBACK");
		fprintf(stderr, "kvmscope: cannot save tenant %s's "
			"instrumentation %s as the operator's %s; it is "
			"restored again at the next start\n", r->owner, r->id,
			in->id);
	}
}

static void skip_message(const struct row *r, const struct ks_err *err)
{
	fprintf(stderr, "kvmscope: skipping saved instrumentation %s%s%s: "
			"%s%s%s\n", r->id, *r->owner ? " of tenant " : "",
		r->owner, err->param, *err->param ? ": " : "", err->msg);
}

/* A row of the operator's, or a tenant's given back to it.  0 when
 * restored; -EAGAIN when it is a tenant's that must wait for the second
 * pass (the tenant is gone or may no longer have it). */
static int load_own(struct ks_store *st, struct ks_engine *e,
		    const struct row *r, const struct ks_store_owners *ow)
{
	struct ks_instn *in;
	struct ks_err err;
	int rc;

	if (*r->owner && !ow)
		return -EAGAIN;
	if ((rc = restore_row(e, r, ow, *r->owner != '\0', &in, &err))) {
		if (!*r->owner) {
			skip_message(r, &err);
			return rc;
		}
		fprintf(stderr, "kvmscope: saved instrumentation %s cannot "
			"return to tenant %s (%s%s%s); restoring it for the "
			"operator\n", r->id, r->owner, err.param,
			*err.param ? ": " : "", err.msg);
		return -EAGAIN;
	}
	if (in->conf.persist_data)
		load_data(st, in);
	return 0;
}

/* A tenant's row that does not return to its tenant: as saved,
 * restricted, in the operator's namespace, for good. */
static int load_orphan(struct ks_store *st, struct ks_engine *e,
		       const struct row *r)
{
	struct ks_instn *in;
	struct ks_err err;
	int rc;

	if ((rc = restore_row(e, r, NULL, false, &in, &err))) {
		skip_message(r, &err);
		return rc;
	}
	if (in->conf.persist_data)
		load_data(st, in);
	rekey(st, r, in);
	fprintf(stderr, "kvmscope: tenant %s's instrumentation %s is now the "
		"operator's instrumentation %s\n", r->owner, r->id, in->id);
	return 0;
}

#define SELECT_ROWS "SELECT id, params, crtime, owner, shown FROM instn "

static struct row row_of(sqlite3_stmt *s)
{
	struct row r = {
		.id = (const char *)sqlite3_column_text(s, 0),
		.params = (const char *)sqlite3_column_text(s, 1),
		.crtime = sqlite3_column_int64(s, 2),
		.owner = (const char *)sqlite3_column_text(s, 3),
		.shown = (const char *)sqlite3_column_text(s, 4),
	};

	if (!r.owner)
		r.owner = "";
	return r;
}

/* Pass 1: every row that goes back to its own namespace, in id order.
 * The others are counted in *deferred. */
static int load_first(struct ks_store *st, struct ks_engine *e,
		      const struct ks_store_owners *ow, size_t *loaded,
		      size_t *skipped, size_t *deferred)
{
	sqlite3_stmt *s;
	int rc, step;

	if (sqlite3_prepare_v2(st->db, SELECT_ROWS "ORDER BY owner, "
				       "CAST(id AS INTEGER)", -1, &s,
			       NULL) != SQLITE_OK)
		return -EIO;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct row r = row_of(s);

		if (!r.id || !r.params)
			(*skipped)++;
		else if (!(rc = load_own(st, e, &r, ow)))
			(*loaded)++;
		else if (rc == -EAGAIN)
			(*deferred)++;
		else
			(*skipped)++;
	}
	/* Stopping short (busy, I/O) must not pass for the end: a row not
	 * restored would be overwritten by the next create of its id. */
	rc = step == SQLITE_DONE ? 0 : why(st->db, step);
	sqlite3_finalize(s);
	return rc;
}

/* Pass 2: tenants' rows not restored by pass 1, once the operator's own
 * ids are all taken, so that a renumbered one never takes an id that a
 * saved operator row has.  Their keys are read first, because each is
 * rewritten as it is restored. */
static int load_orphans(struct ks_store *st, struct ks_engine *e,
			size_t *loaded, size_t *skipped)
{
	sqlite3_stmt *s, *one;
	json_t *keys = json_array();

	if (!keys || sqlite3_prepare_v2(st->db, "SELECT owner, id FROM instn "
					"WHERE owner != '' AND params NOT NULL "
					"ORDER BY owner, "
					"CAST(id AS INTEGER)", -1, &s,
					NULL) != SQLITE_OK) {
		json_decref(keys);
		return -EIO;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(s, 0);
		const char *id = (const char *)sqlite3_column_text(s, 1);

		if (!o || !id || ks_engine__find(e, o, id))
			continue;
		if (json_array_append_new(keys, json_pack("[s,s]", o, id))) {
			fprintf(stderr, "kvmscope: skipping saved "
				"instrumentation %.16s of tenant %.64s: its "
				"key is not text\n", id, o);
			(*skipped)++;
		}
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(st->db, SELECT_ROWS "WHERE owner = ? AND id = ?",
			       -1, &one, NULL) != SQLITE_OK) {
		json_decref(keys);
		return -EIO;
	}
	for (size_t i = 0; i < json_array_size(keys); i++) {
		json_t *k = json_array_get(keys, i);
		const char *o = json_string_value(json_array_get(k, 0));
		const char *id = json_string_value(json_array_get(k, 1));
		struct row r;

		sqlite3_reset(one);
		sqlite3_bind_text(one, 1, o, -1, SQLITE_STATIC);
		sqlite3_bind_text(one, 2, id, -1, SQLITE_STATIC);
		if (sqlite3_step(one) != SQLITE_ROW)
			continue;
		r = row_of(one);
		if (r.params && !load_orphan(st, e, &r))
			(*loaded)++;
		else
			(*skipped)++;
	}
	sqlite3_finalize(one);
	json_decref(keys);
	return 0;
}

int ks_store__load(struct ks_store *st, struct ks_engine *e,
		   const struct ks_store_owners *ow, size_t *loaded,
		   size_t *skipped)
{
	size_t deferred = 0;
	int rc;

	*loaded = *skipped = 0;
	if ((rc = load_first(st, e, ow, loaded, skipped, &deferred)))
		return rc;
	return deferred ? load_orphans(st, e, loaded, skipped) : 0;
}
