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
 * across the upgrade.  The database is marked
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
#define SCHEMA_VERSION 3

struct ks_store {
	sqlite3 *db;
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

/* Runs one migration step as a transaction. */
static int migrate_step(sqlite3 *db, const char *sql)
{
	if (exec(db, "BEGIN") || exec(db, sql) || exec(db, "COMMIT")) {
		exec(db, "ROLLBACK");
		return -EBADF;
	}
	return 0;
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
	if (ver == 1 && migrate_v1(db))
		return -EBADF;
	return migrate_step(db, migrate_v2_sql);
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
	} else if (app == APP_ID && (ver == 1 || ver == 2)) {
		if (migrate(db, ver))
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
			const json_t *shown)
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
				       "(owner, id, params, crtime, shown) "
				       "VALUES (?, ?, ?, ?, ?)",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, in->owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, in->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, params, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, in->crtime_ms);
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

/* Runs sql, whose parameters are an owner and an id. */
static int by_key(struct ks_store *st, const char *sql, const char *owner,
		  const char *id)
{
	sqlite3_stmt *s;
	int rc = -EIO;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(s);
	return rc;
}

#define DEL_INSTN "DELETE FROM instn WHERE owner = ? AND id = ?"
#define DEL_DATA "DELETE FROM data WHERE owner = ? AND id = ?"

int ks_store__del_instn(struct ks_store *st, const char *owner,
			const char *id)
{
	int rc = by_key(st, DEL_INSTN, owner, id);

	return rc ? rc : by_key(st, DEL_DATA, owner, id);
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
	sqlite3_bind_text(s, 1, in->owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, in->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
	sqlite3_bind_blob(s, 4, blob, (int)len, SQLITE_STATIC);
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
				       "(owner, id, saved, blob) "
				       "VALUES (?, ?, ?, ?)",
			       -1, &s, NULL) != SQLITE_OK) {
		exec(st->db, "ROLLBACK");
		return -EIO;
	}
	for (struct ks_instn *in = ks_engine__next(e, NULL); in && !rc;
	     in = ks_engine__next(e, in)) {
		if (in->conf.persist_data)
			rc = save_data(st, s, in);
		else
			rc = by_key(st, DEL_DATA, in->owner, in->id);
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
	int rc;

	if (sqlite3_prepare_v2(st->db, SELECT_ROWS "ORDER BY owner, "
				       "CAST(id AS INTEGER)", -1, &s,
			       NULL) != SQLITE_OK)
		return -EIO;
	while (sqlite3_step(s) == SQLITE_ROW) {
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
	sqlite3_finalize(s);
	return 0;
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
