/* test_store.c - persistence: instrumentations and data survive a reopen;
 * corrupt and foreign files are set aside; damaged data starts empty; a
 * tenant's instrumentation keeps its owner, id and predicate, and one
 * whose tenant is gone becomes the operator's for good; version-1 and
 * version-2 databases are migrated, not set aside, keeping their ids;
 * a newer, a locked, a symbolic-linked or an already-opened file is
 * refused and kept; setting aside never overwrites a file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/predicate.h"
#include "engine/symtab.h"
#include "store/store.h"

#define NS KS_NSEC_PER_SEC

static char dir[] = "/tmp/kvmscope-store-XXXXXX";
static char path[256];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ks_sym_reset();
	return system(cmd);
}

/* Creates in owner's namespace. */
static struct ks_instn *create_in(struct ks_engine *e, const char *owner,
				  const char *params)
{
	json_t *p = json_loads(params, 0, NULL);
	struct ks_instn_conf c;
	struct ks_instn *in = NULL;
	struct ks_err err;

	assert_int_equal(ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c, &err), 0);
	assert_int_equal(ks_engine__create_in(e, owner, &c, &in, &err), 0);
	json_decref(p);
	return in;
}

static struct ks_instn *create(struct ks_engine *e, const char *params)
{
	return create_in(e, "", params);
}

static void feed(struct ks_engine *e)
{
	const char *reasons[] = { "io", "hlt", "npf" };

	for (int s = 0; s < 30; s++)
		for (int k = 0; k < 10; k++) {
			struct ks_record r;

			ks_record_init(&r, KS_M_VM_EXITS, (uint64_t)(1000 + s) * NS, 1);
			ks_record_set(&r, KS_F_VLEAVEREASON,
				      ks_sym_intern(reasons[k % 3]));
			ks_record_set(&r, KS_F_LATENCY, 1000 + (uint64_t)k * 333);
			ks_engine__feed(e, &r, 1);
		}
}

/* Saves in as the agent's saver does (store/store.h's row). */
static int put(struct ks_store *st, const struct ks_instn *in,
	       const json_t *shown)
{
	char *params = ks_store_params(in);
	char *sh = shown ? json_dumps(shown, JSON_COMPACT | JSON_SORT_KEYS |
				      JSON_ENCODE_ANY) : NULL;
	struct ks_store_row r = { in->owner, in->id, params, sh,
				  in->crtime_ms, in->conf.persist_data };
	int rc;

	assert_non_null(params);
	rc = ks_store__put_instn(st, &r);
	free(params);
	free(sh);
	return rc;
}

/* Saves the data of every persist-data instrumentation of e. */
static int checkpoint(struct ks_store *st, struct ks_engine *e)
{
	int rc = ks_store__begin(st);

	for (struct ks_instn *in = ks_engine__next(e, NULL); in && !rc;
	     in = ks_engine__next(e, in)) {
		uint8_t *blob;
		size_t len;

		if (!in->conf.persist_data)
			continue;
		assert_int_equal(ks_dataset__save(in->ds, &blob, &len), 0);
		rc = ks_store__put_data(st, in->owner, in->id, 1, blob, len);
		free(blob);
	}
	return rc ? rc : ks_store__commit(st);
}

static char *value_json(struct ks_instn *in)
{
	struct ks_value v;
	json_t *j;
	char *s;

	assert_int_equal(ks_dataset__value(in->ds, 0, 3600, &v), 0);
	j = ks_value__to_json(&v);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(j);
	ks_value_fini(&v);
	return s;
}

static void test_roundtrip(void **state)
{
	struct ks_engine *e = ks_engine__new(), *e2 = ks_engine__new();
	struct ks_instn *a, *b, *a2, *b2;
	struct ks_store *st;
	struct ks_err err;
	size_t loaded, skipped;
	int aside;
	char *va, *va2, *vb2;

	(void)state;
	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	assert_int_equal(aside, 0);
	a = create(e, "{\"module\":\"vm\",\"stat\":\"exits\",\"persist-data\":true,"
		      "\"decomposition\":[\"vleavereason\",\"latency\"],"
		      "\"predicate\":{\"ne\":[\"vleavereason\",\"npf\"]}}");
	b = create(e, "{\"module\":\"vm\",\"stat\":\"exits\",\"granularity\":5}");
	assert_int_equal(put(st, a, NULL), 0);
	assert_int_equal(put(st, b, NULL), 0);
	feed(e);
	assert_int_equal(checkpoint(st, e), 0);
	ks_store__close(st);

	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	assert_int_equal(ks_store__load(st, e2, NULL, &loaded, &skipped), 0);
	assert_int_equal(loaded, 2);
	assert_int_equal(skipped, 0);
	a2 = ks_engine__get(e2, a->id);
	b2 = ks_engine__get(e2, b->id);
	assert_non_null(a2);
	assert_non_null(b2);
	assert_int_equal(b2->conf.granularity, 5);
	assert_true(a2->conf.persist_data);
	assert_int_equal(a2->crtime_ms, a->crtime_ms);
	va = value_json(a);
	va2 = value_json(a2);
	vb2 = value_json(b2);
	assert_string_equal(va, va2);	/* persisted: identical data */
	assert_string_equal(vb2, "0");	/* not persisted: empty */
	free(va);
	free(va2);
	free(vb2);
	/* New ids continue after the restored ones. */
	assert_int_equal(atoi(create(e2, "{\"module\":\"vm\",\"stat\":\"irqs\"}")->id), 3);
	/* Deleting removes both rows. */
	assert_int_equal(ks_store__del_instn(st, "", a->id), 0);
	ks_store__close(st);
	ks_engine__free(e2);
	e2 = ks_engine__new();
	st = ks_store__open(path, 0, &aside, &err);
	assert_int_equal(ks_store__load(st, e2, NULL, &loaded, &skipped), 0);
	assert_int_equal(loaded, 1);
	ks_store__close(st);
	ks_engine__free(e);
	ks_engine__free(e2);
}

/* A fake tenancy: records what the store hands back, restricts like the
 * real one by ANDing a marker leaf the test can see. */
struct fake_owners {
	int limits, adopts;
	int refuse;
	char owner[64];
	char *shown_in, *shown_out;
	char id[16];
};

static int fake_limit(void *ctx, const char *owner, struct ks_instn_conf *c,
		      json_t **shown, struct ks_err *err)
{
	struct fake_owners *f = ctx;
	json_t *user = ks_pred__to_json(c->pred), *all;

	f->limits++;
	if (f->refuse) {
		json_decref(user);
		return ks_err_set(err, ENOENT, "", "no such tenant");
	}
	snprintf(f->owner, sizeof(f->owner), "%s", owner);
	f->shown_in = json_dumps(user, JSON_COMPACT | JSON_SORT_KEYS);
	all = json_pack("{s:[O,{s:[s,s]}]}", "and", user, "eq", "vm", "web1");
	ks_pred__free(c->pred);
	c->pred = ks_pred__parse(all, c->metric, err);
	json_decref(all);
	assert_non_null(c->pred);
	*shown = user;
	return 0;
}

static int fake_adopt(void *ctx, const char *owner, const struct ks_instn *in,
		      json_t *shown)
{
	struct fake_owners *f = ctx;

	f->adopts++;
	assert_string_equal(owner, f->owner);
	snprintf(f->id, sizeof(f->id), "%s", in->id);
	f->shown_out = json_dumps(shown, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(shown);
	return 0;
}

static char *pred_of(const struct ks_instn *in)
{
	json_t *j = ks_pred__to_json(in->conf.pred);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(j);
	return s;
}

static int count_rows(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int n;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static void test_owner_roundtrip(void **state)
{
	struct ks_engine *e = ks_engine__new(), *e2 = ks_engine__new();
	struct fake_owners f = { 0 };
	struct ks_store_owners ow = { fake_limit, fake_adopt, NULL, &f };
	struct ks_instn *a, *b, *a2, *b2;
	struct ks_store *st;
	struct ks_err err;
	size_t loaded, skipped;
	json_t *shown = json_loads("{\"ne\":[\"vleavereason\",\"npf\"]}", 0,
				   NULL);
	char *p, *saved;
	int aside;

	(void)state;
	unlink(path);
	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	/* As the API leaves it: the engine holds the restricted predicate.
	 * Each namespace numbers its own: both are instrumentation 1. */
	a = create_in(e, "acme", "{\"module\":\"vm\",\"stat\":\"exits\","
		      "\"predicate\":{\"and\":[{\"ne\":[\"vleavereason\","
		      "\"npf\"]},{\"eq\":[\"vm\",\"web1\"]}]}}");
	b = create(e, "{\"module\":\"vm\",\"stat\":\"exits\"}");
	assert_string_equal(a->id, "1");
	assert_string_equal(b->id, "1");
	saved = pred_of(a);
	assert_int_equal(put(st, a, shown), 0);
	assert_int_equal(put(st, b, NULL), 0);
	ks_store__close(st);

	st = ks_store__open(path, 0, &aside, &err);
	assert_int_equal(ks_store__load(st, e2, &ow, &loaded, &skipped), 0);
	assert_int_equal(loaded, 2);
	assert_int_equal(skipped, 0);
	/* Only the tenant's row went through the tenancy, with its own
	 * predicate, and came back under its owner and id with the
	 * restriction. */
	assert_int_equal(f.limits, 1);
	assert_int_equal(f.adopts, 1);
	assert_string_equal(f.owner, "acme");
	assert_string_equal(f.id, "1");
	assert_string_equal(f.shown_in, "{\"ne\":[\"vleavereason\",\"npf\"]}");
	assert_string_equal(f.shown_out, f.shown_in);
	a2 = ks_engine__find(e2, "acme", "1");
	b2 = ks_engine__get(e2, "1");
	assert_non_null(a2);
	assert_non_null(b2);
	assert_ptr_not_equal(a2, b2);
	p = pred_of(a2);
	assert_string_equal(p, saved);
	free(p);
	free(f.shown_in);
	free(f.shown_out);
	/* A restart goes on with each namespace's own sequence. */
	assert_string_equal(create_in(e2, "acme", "{\"module\":\"vm\","
				      "\"stat\":\"exits\"}")->id, "2");
	assert_string_equal(create_in(e2, "beta", "{\"module\":\"vm\","
				      "\"stat\":\"exits\"}")->id, "1");
	ks_engine__free(e2);

	/* A tenant that cannot have it back: the operator's, still
	 * restricted as saved, under the operator's next id since 1 is the
	 * operator's own, and saved so from then on. */
	f = (struct fake_owners){ .refuse = 1 };
	e2 = ks_engine__new();
	assert_int_equal(ks_store__load(st, e2, &ow, &loaded, &skipped), 0);
	assert_int_equal(loaded, 2);
	assert_int_equal(f.adopts, 0);
	assert_null(ks_engine__find(e2, "acme", "1"));
	p = pred_of(ks_engine__get(e2, "2"));
	assert_string_equal(p, saved);
	free(p);
	assert_int_equal(count_rows("SELECT count(*) FROM instn WHERE "
				    "owner = '' AND id = '2' AND shown IS NULL"),
			 1);
	assert_int_equal(count_rows("SELECT count(*) FROM instn WHERE "
				    "owner != ''"), 0);
	ks_engine__free(e2);
	f = (struct fake_owners){ 0 };
	e2 = ks_engine__new();
	assert_int_equal(ks_store__load(st, e2, &ow, &loaded, &skipped), 0);
	assert_int_equal(loaded, 2);
	assert_int_equal(f.limits, 0);	/* no longer a tenant's */
	assert_non_null(ks_engine__get(e2, "2"));
	free(saved);
	ks_store__close(st);
	json_decref(shown);
	ks_engine__free(e);
	ks_engine__free(e2);
}

/* Without tenancy (no token file) a tenant's row whose id the operator
 * does not have keeps it. */
static void test_orphan_keeps_free_id(void **state)
{
	struct ks_engine *e = ks_engine__new(), *e2 = ks_engine__new();
	struct ks_store *st;
	struct ks_err err;
	size_t loaded, skipped;
	int aside;

	(void)state;
	unlink(path);
	st = ks_store__open(path, 0, &aside, &err);
	create(e, "{\"module\":\"vm\",\"stat\":\"exits\"}");
	create_in(e, "acme", "{\"module\":\"vm\",\"stat\":\"exits\"}");
	assert_int_equal(put(st, create_in(e, "acme",
			 "{\"module\":\"vm\",\"stat\":\"irqs\"}"), NULL), 0);
	assert_int_equal(ks_store__load(st, e2, NULL, &loaded, &skipped), 0);
	assert_int_equal(loaded, 1);
	assert_int_equal(ks_engine__get(e2, "2")->conf.metric, KS_M_VM_IRQS);
	assert_int_equal(atoi(create(e2, "{\"module\":\"vm\",\"stat\":"
				     "\"exits\"}")->id), 3);
	ks_store__close(st);
	ks_engine__free(e);
	ks_engine__free(e2);
}

static int user_version(void)
{
	return count_rows("PRAGMA user_version");
}

/* A database written by the first schema (no owner column). */
static void test_v1_migrated(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_store *st;
	struct ks_err err;
	size_t loaded, skipped;
	sqlite3 *db;
	int aside;

	(void)state;
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"PRAGMA application_id=1802923379; PRAGMA user_version=1;"
		"CREATE TABLE instn (id TEXT PRIMARY KEY, params TEXT NOT NULL,"
		" crtime INTEGER NOT NULL);"
		"CREATE TABLE data (id TEXT PRIMARY KEY, saved INTEGER NOT NULL,"
		" blob BLOB NOT NULL);"
		"INSERT INTO instn VALUES ('7', '{\"module\":\"vm\","
		"\"stat\":\"exits\"}', 1234);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	assert_int_equal(aside, 0);
	assert_int_equal(ks_store__load(st, e, NULL, &loaded, &skipped), 0);
	assert_int_equal(loaded, 1);
	assert_int_equal(ks_engine__get(e, "7")->crtime_ms, 1234);
	/* And it saves owners now. */
	assert_int_equal(put(st, create_in(e, "acme",
			 "{\"module\":\"vm\",\"stat\":\"exits\"}"), NULL), 0);
	ks_store__close(st);
	assert_int_equal(user_version(), 3);
	assert_int_equal(count_rows("SELECT count(*) FROM instn WHERE "
				    "owner = 'acme' AND id = '1'"), 1);
	assert_int_equal(count_rows("SELECT count(*) FROM instn WHERE "
				    "owner = '' AND id = '7'"), 1);
	ks_engine__free(e);
}

/* A database written by schema 2: ids from one counter, id the key, an
 * owner column.  Every row keeps its owner and id, data included, and
 * each namespace's sequence goes on after its own highest id. */
static void test_v2_migrated(void **state)
{
	struct ks_engine *e = ks_engine__new(), *e2 = ks_engine__new();
	struct fake_owners f = { 0 };
	struct ks_store_owners ow = { fake_limit, fake_adopt, NULL, &f };
	struct ks_instn *a = create(e, "{\"module\":\"vm\",\"stat\":\"exits\","
				       "\"decomposition\":\"latency\"}"), *a2;
	struct ks_store *st;
	struct ks_err err;
	size_t loaded, skipped, len;
	sqlite3 *db;
	sqlite3_stmt *q;
	uint8_t *blob;
	char *va, *va2;
	int aside;

	(void)state;
	unlink(path);
	feed(e);
	assert_int_equal(ks_dataset__save(a->ds, &blob, &len), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"PRAGMA application_id=1802923379; PRAGMA user_version=2;"
		"CREATE TABLE instn (id TEXT PRIMARY KEY, params TEXT NOT NULL,"
		" crtime INTEGER NOT NULL, owner TEXT NOT NULL DEFAULT '',"
		" shown TEXT);"
		"CREATE TABLE data (id TEXT PRIMARY KEY, saved INTEGER NOT NULL,"
		" blob BLOB NOT NULL);"
		"INSERT INTO instn VALUES ('1', '{\"module\":\"vm\","
		"\"stat\":\"exits\"}', 11, '', NULL);"
		"INSERT INTO instn VALUES ('2', '{\"module\":\"vm\","
		"\"stat\":\"exits\",\"persist-data\":true,"
		"\"decomposition\":[\"latency\"]}', 22, 'acme',"
		" '{\"ne\":[\"vleavereason\",\"npf\"]}');"
		"INSERT INTO instn VALUES ('3', '{\"module\":\"vm\","
		"\"stat\":\"irqs\"}', 33, '', NULL);",
		NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO data VALUES "
					    "('2', 5, ?)", -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(q, 1, blob, (int)len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	sqlite3_close(db);
	free(blob);

	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	assert_int_equal(aside, 0);
	assert_int_equal(user_version(), 3);
	assert_int_equal(ks_store__load(st, e2, &ow, &loaded, &skipped), 0);
	assert_int_equal(loaded, 3);
	assert_int_equal(skipped, 0);
	assert_int_equal(f.adopts, 1);
	assert_string_equal(f.id, "2");
	a2 = ks_engine__find(e2, "acme", "2");
	assert_non_null(a2);
	assert_int_equal(a2->crtime_ms, 22);
	assert_null(ks_engine__get(e2, "2"));
	assert_int_equal(ks_engine__get(e2, "3")->crtime_ms, 33);
	va = value_json(a);
	va2 = value_json(a2);
	assert_string_equal(va, va2);	/* its data followed it */
	free(va);
	free(va2);
	free(f.shown_in);
	free(f.shown_out);
	assert_string_equal(create(e2, "{\"module\":\"vm\",\"stat\":"
				   "\"exits\"}")->id, "4");
	assert_string_equal(create_in(e2, "acme", "{\"module\":\"vm\","
				      "\"stat\":\"exits\"}")->id, "3");
	ks_store__close(st);
	assert_int_equal(count_rows("SELECT count(*) FROM data WHERE "
				    "owner = 'acme' AND id = '2'"), 1);
	ks_engine__free(e);
	ks_engine__free(e2);
}

static void test_corrupt_set_aside(void **state)
{
	struct ks_store *st;
	struct ks_err err;
	int aside;
	FILE *f;

	(void)state;
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a database, it is a text file of some length....",
	      f);
	fclose(f);
	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	assert_int_equal(aside, 1);
	ks_store__close(st);
	/* Now it is ours: reopening keeps it. */
	st = ks_store__open(path, 0, &aside, &err);
	assert_int_equal(aside, 0);
	ks_store__close(st);
}

static void test_foreign_set_aside(void **state)
{
	struct ks_store *st;
	struct ks_err err;
	sqlite3 *db;
	int aside;

	(void)state;
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	assert_int_equal(aside, 1);
	ks_store__close(st);
}

static void test_dataset_blob_damage(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *a = create(e, "{\"module\":\"vm\",\"stat\":\"exits\","
				       "\"decomposition\":\"latency\"}");
	struct ks_value v;
	uint8_t *blob;
	size_t len;

	(void)state;
	feed(e);
	assert_int_equal(ks_dataset__save(a->ds, &blob, &len), 0);
	/* Every truncation is refused whole, leaving the dataset empty. */
	for (size_t cut = 0; cut < len; cut += 7) {
		assert_int_equal(ks_dataset__load(a->ds, blob, cut), -EINVAL);
		assert_int_equal(ks_dataset__newest(a->ds), -1);
	}
	/* A bucket index out of range is refused. */
	blob[24 + 8 + 8 + 8] = 0xff;
	blob[24 + 8 + 8 + 8 + 1] = 0xff;
	assert_int_equal(ks_dataset__load(a->ds, blob, len), -EINVAL);
	assert_int_equal(ks_dataset__value(a->ds, 0, 3600, &v), 0);
	assert_int_equal(v.total, 0);
	ks_value_fini(&v);
	free(blob);
	ks_engine__free(e);
}

/* The number of files in dir whose name starts with "state.db.bad-". */
static int n_aside(void)
{
	char cmd[400];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^state\\.db\\.bad-'", dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	return n;
}

static void clean_dir(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -f %s/state.db*", dir);
	assert_int_equal(system(cmd), 0);
}

/* Expects the open of path to be refused, saying what, and nothing set
 * aside. */
static void refused(const char *what)
{
	struct ks_err err;
	int aside = 7;

	ks_err_clear(&err);
	assert_null(ks_store__open(path, 300, &aside, &err));
	assert_int_equal(aside, 0);
	if (!strstr(err.msg, what))
		fail_msg("\"%s\" does not say '%s'", err.msg, what);
	assert_int_equal(n_aside(), 0);
}

/* A file a newer kvmscope wrote (a rollback after an upgrade) is
 * refused, not set aside, and left as it was. */
static void test_newer_refused(void **state)
{
	sqlite3 *db;

	(void)state;
	clean_dir();
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA application_id=1802923379;"
				      "PRAGMA user_version=9;"
				      "CREATE TABLE future (x);",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	refused("written by a newer kvmscope (schema 9");
	assert_int_equal(user_version(), 9);
	assert_int_equal(count_rows("SELECT count(*) FROM future"), 0);
}

/* A healthy file that another process keeps locked (an administrator's
 * sqlite3 session) is waited for, then refused, never set aside; once
 * the lock goes, it opens with its rows. */
static void test_busy_refused(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_store *st;
	struct ks_err err;
	size_t loaded, skipped;
	sqlite3 *db;
	int aside;

	(void)state;
	clean_dir();
	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	assert_int_equal(put(st, create(e, "{\"module\":\"vm\",\"stat\":"
					"\"exits\"}"), NULL), 0);
	ks_store__close(st);
	/* A rollback journal, as an older file or an administrator's
	 * sqlite3 can leave it: its readers block writers. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=DELETE; "
				      "BEGIN EXCLUSIVE; SELECT * FROM instn;",
				      NULL, NULL, NULL), SQLITE_OK);
	refused("locked by another process");
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ks_engine__free(e);
	e = ks_engine__new();
	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	assert_int_equal(aside, 0);
	assert_int_equal(ks_store__load(st, e, NULL, &loaded, &skipped), 0);
	assert_int_equal(loaded, 1);
	ks_store__close(st);
	ks_engine__free(e);
}

/* One agent per file: a second open is refused while the first holds
 * it, naming the holder's pid, and works once it is closed. */
static void test_second_open_refused(void **state)
{
	struct ks_store *st, *st2;
	struct ks_err err;
	char pid[40];
	int aside;

	(void)state;
	clean_dir();
	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	snprintf(pid, sizeof(pid), "(pid %ld)", (long)getpid());
	refused("another kvmscope agent");
	refused(pid);
	ks_store__close(st);
	st2 = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st2);
	ks_store__close(st2);
}

/* Setting aside never overwrites: with path.bad-NOW taken, a damaged
 * file goes to path.bad-NOW.1 and both are kept. */
static void test_aside_never_overwrites(void **state)
{
	char p[400], glob[400];
	struct ks_store *st;
	struct ks_err err;
	long now = (long)time(NULL);
	int aside;
	FILE *f;

	(void)state;
	clean_dir();
	for (long t = now; t < now + 3; t++) {
		snprintf(p, sizeof(p), "%s.bad-%ld", path, t);
		f = fopen(p, "w");
		assert_non_null(f);
		fputs("the only copy", f);
		fclose(f);
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a database, it is a text file of some length....",
	      f);
	fclose(f);
	st = ks_store__open(path, 0, &aside, &err);
	assert_non_null(st);
	assert_int_equal(aside, 1);
	ks_store__close(st);
	assert_int_equal(n_aside(), 4);
	snprintf(glob, sizeof(glob), "grep -l 'the only copy' %s.bad-* | "
		 "wc -l | grep -qx 3", path);
	assert_int_equal(system(glob), 0);
	snprintf(glob, sizeof(glob), "grep -l 'not a database' %s.bad-*.1 "
		 ">/dev/null", path);
	assert_int_equal(system(glob), 0);
}

/* The file is opened without following a symbolic link: a link to a
 * good database is refused, and the target is left alone. */
static void test_symlink_refused(void **state)
{
	char target[320];
	struct ks_store *st;
	struct ks_err err;
	int aside;

	(void)state;
	clean_dir();
	snprintf(target, sizeof(target), "%s/real.db", dir);
	unlink(target);
	assert_int_equal(symlink(target, path), 0);
	refused("symbolic link");
	assert_int_equal(access(target, F_OK), -1);
	unlink(path);
	st = ks_store__open(target, 0, &aside, &err);
	assert_non_null(st);
	ks_store__close(st);
	assert_int_equal(symlink(target, path), 0);
	refused("symbolic link");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_owner_roundtrip),
		cmocka_unit_test(test_orphan_keeps_free_id),
		cmocka_unit_test(test_v1_migrated),
		cmocka_unit_test(test_v2_migrated),
		cmocka_unit_test(test_corrupt_set_aside),
		cmocka_unit_test(test_foreign_set_aside),
		cmocka_unit_test(test_dataset_blob_damage),
		cmocka_unit_test(test_newer_refused),
		cmocka_unit_test(test_busy_refused),
		cmocka_unit_test(test_second_open_refused),
		cmocka_unit_test(test_aside_never_overwrites),
		cmocka_unit_test(test_symlink_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
