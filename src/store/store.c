/* store.c - instrumentations and persisted data in one sqlite file.
 *
 * Two tables: instn (id, the creation parameters as JSON, crtime, the
 * owning tenant's name - '' for the operator - and the predicate as that
 * tenant wrote it) and data (id, checkpoint time, the dataset blob).  The
 * params keep the predicate the engine evaluated, restriction included,
 * so a row whose tenant is gone still restores hidden from every tenant.
 * Version 1 databases (no owner) are migrated in place: their rows are
 * the operator's, which is what they were restored as before.  The database is marked
 * with an application_id, so a foreign sqlite file is told apart from ours
 * and set aside rather than written into.  WAL with synchronous=NORMAL: a
 * checkpoint is durable against process death (kill -9) without an fsync
 * per write.
 */
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APP_ID 0x6b766d73	/* "kvms" */
#define SCHEMA_VERSION 2

struct ks_store {
	sqlite3 *db;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS instn (id TEXT PRIMARY KEY, "
	"  params TEXT NOT NULL, crtime INTEGER NOT NULL, "
	"  owner TEXT NOT NULL DEFAULT '', shown TEXT);"
	"CREATE TABLE IF NOT EXISTS data (id TEXT PRIMARY KEY, "
	"  saved INTEGER NOT NULL, blob BLOB NOT NULL);";

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *st;
	int rc = -EIO;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Version 1 had no owner: every row was the operator's. */
static int migrate_v1(sqlite3 *db)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "BEGIN; ALTER TABLE instn ADD COLUMN owner TEXT NOT NULL "
		 "DEFAULT ''; ALTER TABLE instn ADD COLUMN shown TEXT; "
		 "PRAGMA user_version=%d; COMMIT;", SCHEMA_VERSION);
	if (exec(db, sql)) {
		exec(db, "ROLLBACK");
		return -EBADF;
	}
	return 0;
}

/* 0 if db is ours or empty (and now initialised), -EBADF if foreign or
 * damaged. */
static int adopt(sqlite3 *db)
{
	int app = 0, ver = 0, ntables = 0;
	char sql[96];

	if (pragma_int(db, "PRAGMA application_id", &app) ||
	    pragma_int(db, "PRAGMA user_version", &ver) ||
	    pragma_int(db, "SELECT count(*) FROM sqlite_master", &ntables))
		return -EBADF;
	if (app == 0 && ntables == 0) {
		snprintf(sql, sizeof(sql),
			 "PRAGMA application_id=%d; PRAGMA user_version=%d;",
			 APP_ID, SCHEMA_VERSION);
		if (exec(db, sql))
			return -EBADF;
	} else if (app == APP_ID && ver == 1) {
		if (migrate_v1(db))
			return -EBADF;
	} else if (app != APP_ID || ver != SCHEMA_VERSION) {
		return -EBADF;
	}
	if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") ||
	    exec(db, schema))
		return -EBADF;
	return 0;
}

static int quick_check_ok(sqlite3 *db)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);

		ok = s && !strcmp((const char *)s, "ok");
	}
	sqlite3_finalize(st);
	return ok;
}

static sqlite3 *try_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 2000);
	if (!quick_check_ok(db) || adopt(db)) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static void set_aside(const char *path)
{
	static const char *sfx[] = { "", "-wal", "-shm" };
	long now = (long)time(NULL);

	for (size_t i = 0; i < 3; i++) {
		char from[4096], to[4200];

		snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		snprintf(to, sizeof(to), "%s.bad-%ld%s", path, now, sfx[i]);
		if (rename(from, to) == 0 && i == 0)
			fprintf(stderr, "kvmscope: %s is not a usable kvmscope "
					"database; moved it to %s and started "
					"a new one\n", path, to);
	}
}

struct ks_store *ks_store__open(const char *path, int *aside,
				struct ks_err *err)
{
	struct ks_store *st;
	sqlite3 *db;

	if (aside)
		*aside = 0;
	db = try_open(path);
	if (!db) {
		set_aside(path);
		if (aside)
			*aside = 1;
		db = try_open(path);
	}
	if (!db) {
		ks_err_set(err, EIO, "state", "cannot create database %s", path);
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		sqlite3_close(db);
		ks_err_set(err, ENOMEM, "", "out of memory");
		return NULL;
	}
	st->db = db;
	return st;
}

void ks_store__close(struct ks_store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

/* The creation parameters that re-create the instrumentation. */
static char *params_of(const struct ks_instn *in)
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

int ks_store__put_instn(struct ks_store *st, const struct ks_instn *in,
			const char *owner, const json_t *shown)
{
	sqlite3_stmt *s;
	char *params = params_of(in), *sh = NULL;
	int rc = -EIO;

	if (shown && !(sh = json_dumps(shown, JSON_COMPACT | JSON_SORT_KEYS |
					      JSON_ENCODE_ANY))) {
		free(params);
		return -ENOMEM;
	}
	if (!params) {
		free(sh);
		return -ENOMEM;
	}
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO instn "
				       "(id, params, crtime, owner, shown) "
				       "VALUES (?, ?, ?, ?, ?)",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, in->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, params, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, in->crtime_ms);
		sqlite3_bind_text(s, 4, owner ? owner : "", -1, SQLITE_STATIC);
		if (sh)
			sqlite3_bind_text(s, 5, sh, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 5);
		if (sqlite3_step(s) == SQLITE_DONE)
			rc = 0;
		sqlite3_finalize(s);
	}
	free(params);
	free(sh);
	return rc;
}

static int del_from(struct ks_store *st, const char *sql, const char *id)
{
	sqlite3_stmt *s;
	int rc = -EIO;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(s);
	return rc;
}

int ks_store__del_instn(struct ks_store *st, const char *id)
{
	int rc = del_from(st, "DELETE FROM instn WHERE id = ?", id);

	return rc ? rc : del_from(st, "DELETE FROM data WHERE id = ?", id);
}

static int save_data(struct ks_store *st, sqlite3_stmt *s,
		     const struct ks_instn *in)
{
	uint8_t *blob;
	size_t len;
	int rc;

	if ((rc = ks_dataset__save(in->ds, &blob, &len)))
		return rc;
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, in->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_blob(s, 3, blob, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -EIO;
	free(blob);
	(void)st;
	return rc;
}

int ks_store__checkpoint(struct ks_store *st, struct ks_engine *e)
{
	sqlite3_stmt *s;
	int rc = 0;

	if (exec(st->db, "BEGIN"))
		return -EIO;
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO data "
				       "(id, saved, blob) VALUES (?, ?, ?)",
			       -1, &s, NULL) != SQLITE_OK) {
		exec(st->db, "ROLLBACK");
		return -EIO;
	}
	for (struct ks_instn *in = ks_engine__next(e, NULL); in && !rc;
	     in = ks_engine__next(e, in)) {
		if (in->conf.persist_data)
			rc = save_data(st, s, in);
		else
			rc = del_from(st, "DELETE FROM data WHERE id = ?", in->id);
	}
	sqlite3_finalize(s);
	if (rc || exec(st->db, "COMMIT")) {
		exec(st->db, "ROLLBACK");
		return rc ? rc : -EIO;
	}
	return 0;
}

static void load_data(struct ks_store *st, struct ks_instn *in)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(st->db, "SELECT blob FROM data WHERE id = ?", -1,
			       &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(s, 1, in->id, -1, SQLITE_STATIC);
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

static int restore_row(struct ks_engine *e, const struct row *r,
		       const struct ks_store_owners *ow, bool as_tenant,
		       struct ks_instn **in, struct ks_err *err)
{
	struct ks_instn_conf c;
	json_t *shown;
	int rc;

	ks_err_clear(err);
	if ((rc = parse_row(r, ow, as_tenant, &c, &shown, err)))
		return rc;
	if ((rc = ks_engine__restore(e, r->id, &c, r->crtime, in, err))) {
		ks_instn_conf_fini(&c);
		json_decref(shown);
		return rc;
	}
	if (as_tenant && (rc = ow->adopt(ow->ctx, r->owner, *in, shown))) {
		ks_engine__delete(e, r->id);
		return ks_err_set(err, -rc, "", "out of memory");
	}
	return 0;
}

static int load_row(struct ks_store *st, struct ks_engine *e,
		    const struct row *r, const struct ks_store_owners *ow)
{
	struct ks_instn *in;
	struct ks_err err;
	int rc = -EINVAL;

	if (*r->owner && ow) {
		rc = restore_row(e, r, ow, true, &in, &err);
		/* The tenant is gone or may no longer have it: keep it as
		 * saved, restricted, in the operator's namespace. */
		if (rc)
			fprintf(stderr, "kvmscope: saved instrumentation %s "
				"cannot return to tenant %s (%s%s%s); "
				"restoring it for the operator\n", r->id,
				r->owner, err.param, *err.param ? ": " : "",
				err.msg);
	}
	if (rc && (rc = restore_row(e, r, ow, false, &in, &err))) {
		fprintf(stderr, "kvmscope: skipping saved instrumentation %s: "
				"%s%s%s\n", r->id, err.param,
			*err.param ? ": " : "", err.msg);
		return rc;
	}
	if (in->conf.persist_data)
		load_data(st, in);
	return 0;
}

int ks_store__load(struct ks_store *st, struct ks_engine *e,
		   const struct ks_store_owners *ow, size_t *loaded,
		   size_t *skipped)
{
	sqlite3_stmt *s;

	*loaded = *skipped = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT id, params, crtime, owner, "
				       "shown FROM instn "
				       "ORDER BY CAST(id AS INTEGER)",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct row r = {
			.id = (const char *)sqlite3_column_text(s, 0),
			.params = (const char *)sqlite3_column_text(s, 1),
			.crtime = sqlite3_column_int64(s, 2),
			.owner = (const char *)sqlite3_column_text(s, 3),
			.shown = (const char *)sqlite3_column_text(s, 4),
		};

		if (!r.owner)
			r.owner = "";
		if (r.id && r.params && !load_row(st, e, &r, ow))
			(*loaded)++;
		else
			(*skipped)++;
	}
	sqlite3_finalize(s);
	return 0;
}
