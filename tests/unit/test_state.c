/* test_state.c - the agent's persistence: which paths are refused and why,
 * saves through the API's change hook, reaped instrumentations forgotten,
 * checkpoints on schedule, a damaged file set aside, and a reopen that
 * gives back the same ids and the same persisted data, and a tenant's
 * instrumentations to that tenant. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/state.h"
#include "engine/predicate.h"
#include "engine/symtab.h"
#include "http/access.h"
#include "http/owners.h"
#include "http/tenancy.h"
#include "http/tokens.h"

#define NS KS_NSEC_PER_SEC

static char dir[] = "/tmp/kvmscope-state-XXXXXX";
static char path[300];

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
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ks_sym_reset();
	return system(cmd);
}

/* Removes the database and sqlite's files beside it. */
static void remove_db(void)
{
	char p[320];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static uint64_t wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Expects path to be refused with a message containing what. */
static void refused(const char *p, const char *what)
{
	struct ks_err err;

	ks_err_clear(&err);
	assert_int_equal(ks_state_check_path(p, &err), -EINVAL);
	assert_string_equal(err.param, "--state");
	if (!strstr(err.msg, what))
		fail_msg("'%s': \"%s\" does not say '%s'", p ? p : "(null)",
			 err.msg, what);
}

static void test_paths(void **state)
{
	char p[400];
	struct ks_err err;
	FILE *f;

	(void)state;
	refused(NULL, "needs a file name");
	refused("", "needs a file name");
	refused(dir, "is a directory");
	snprintf(p, sizeof(p), "%s/", dir);
	refused(p, "names a directory");
	snprintf(p, sizeof(p), "%s/missing/state.db", dir);
	refused(p, "does not exist");
	snprintf(p, sizeof(p), "%s/file", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/file/state.db", dir);
	refused(p, "is not a directory");
	refused("/dev/null", "not a regular file");
	/* A new file in a writable directory, and an existing one, are fine. */
	assert_int_equal(ks_state_check_path(path, &err), 0);
	snprintf(p, sizeof(p), "%s/file", dir);
	assert_int_equal(ks_state_check_path(p, &err), 0);
	/* Permissions mean nothing to root. */
	if (geteuid() != 0) {
		chmod(p, 0400);
		refused(p, "cannot read and write");
	}
	unlink(p);
}

static struct ks_instn *create(struct ks_engine *e, const char *params)
{
	json_t *p = json_loads(params, 0, NULL);
	struct ks_instn_conf c;
	struct ks_instn *in = NULL;
	struct ks_err err;

	assert_int_equal(ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c, &err), 0);
	assert_int_equal(ks_engine__create(e, &c, &in, &err), 0);
	json_decref(p);
	return in;
}

static void feed(struct ks_engine *e, int64_t t0, int secs)
{
	for (int s = 0; s < secs; s++)
		for (int k = 0; k <= s; k++) {
			struct ks_record r;

			ks_record_init(&r, KS_M_VM_EXITS,
				       (uint64_t)(t0 + s) * NS + 1000, 1);
			ks_record_set(&r, KS_F_VLEAVEREASON,
				      ks_sym_intern(k % 2 ? "io" : "hlt"));
			ks_engine__feed(e, &r, 1);
		}
}

static char *values(struct ks_instn *in, int64_t t0, int secs)
{
	json_t *arr = json_array();
	char *s;

	for (int i = 0; i < secs; i++) {
		struct ks_value v;

		assert_int_equal(ks_dataset__value(in->ds, t0 + i, 1, &v), 0);
		json_array_append_new(arr, ks_value__to_json(&v));
		ks_value_fini(&v);
	}
	s = json_dumps(arr, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(arr);
	return s;
}

static json_int_t status_int(struct ks_state *s, const char *k)
{
	json_t *o = ks_state__status(s);
	json_int_t v = json_integer_value(json_object_get(o, k));

	json_decref(o);
	return v;
}

/* Creates, modifies and deletes as the API would, checkpoints, reopens. */
static void test_save_and_restore(void **state)
{
	struct ks_engine *e = ks_engine__new(), *e2 = ks_engine__new();
	uint64_t now = wall();
	int64_t t0 = (int64_t)(now / NS) - 20;
	struct ks_instn *a, *b, *c, *a2, *b2;
	struct ks_state *s;
	struct ks_err err;
	char *va, *va2, *vb2;

	(void)state;
	ks_engine__tick(e, now);
	s = ks_state__open(path, false, 3, e, NULL, &err);
	assert_non_null(s);
	assert_int_equal(status_int(s, "loaded"), 0);
	assert_int_equal(status_int(s, "checkpoint_interval"), 3);
	a = create(e, "{\"module\":\"vm\",\"stat\":\"exits\",\"persist-data\":true,"
		      "\"decomposition\":[\"vleavereason\"]}");
	b = create(e, "{\"module\":\"vm\",\"stat\":\"exits\"}");
	c = create(e, "{\"module\":\"vm\",\"stat\":\"irqs\"}");
	ks_state__changed(s, a->owner, a->id, a);
	ks_state__changed(s, b->owner, b->id, b);
	ks_state__changed(s, c->owner, c->id, c);
	ks_engine__delete(e, "3");
	ks_state__changed(s, "", "3", NULL);
	/* Nothing is written until the saver (here, flush) writes it; 3,
	 * made and deleted before that, is never written at all. */
	assert_int_equal(status_int(s, "saves"), 0);
	assert_int_equal(status_int(s, "pending"), 2);
	assert_int_equal(ks_state__flush(s), 0);
	assert_int_equal(status_int(s, "saves"), 2);
	assert_int_equal(status_int(s, "pending"), 0);
	feed(e, t0, 10);
	/* Not due until the interval has passed since the open. */
	assert_false(ks_state__due(s, now));
	assert_true(ks_state__due(s, now + 4 * NS));
	ks_state__checkpoint(s, e, now + 4 * NS);
	assert_int_equal(ks_state__flush(s), 0);
	assert_false(ks_state__due(s, now + 5 * NS));
	assert_true(ks_state__due(s, now + 7 * NS));
	assert_int_equal(status_int(s, "checkpoints"), 1);
	assert_int_equal(status_int(s, "last_checkpoint_ms"),
			 (json_int_t)((now + 4 * NS) / 1000000));
	assert_int_equal(status_int(s, "errors"), 0);
	/* Data after the checkpoint is not saved. */
	va = values(a, t0, 10);
	assert_non_null(strstr(va, "{\"hlt\":5,\"io\":5}]"));
	feed(e, t0 + 10, 3);
	ks_state__close(s);

	ks_engine__tick(e2, wall());
	s = ks_state__open(path, false, 0, e2, NULL, &err);
	assert_non_null(s);
	assert_int_equal(status_int(s, "loaded"), 2);
	assert_int_equal(status_int(s, "checkpoint_interval"),
			 KS_STATE_CHECKPOINT_DEFAULT_S);
	assert_int_equal(ks_engine__count(e2), 2);
	a2 = ks_engine__get(e2, "1");
	b2 = ks_engine__get(e2, "2");
	assert_non_null(a2);
	assert_non_null(b2);
	assert_null(ks_engine__get(e2, "3"));
	assert_true(a2->conf.persist_data);
	va2 = values(a2, t0, 10);
	assert_string_equal(va, va2);
	vb2 = values(b2, t0, 10);
	assert_string_equal(vb2, "[0,0,0,0,0,0,0,0,0,0]");
	free(va2);
	va2 = values(a2, t0 + 10, 3);
	assert_string_equal(va2, "[{},{},{}]");
	/* The restored ones are not idle: a tick now reaps nothing. */
	assert_int_equal(ks_engine__tick(e2, wall()), 0);
	free(va);
	free(va2);
	free(vb2);
	ks_state__close(s);
	ks_engine__free(e);
	ks_engine__free(e2);
}

/* An instrumentation the engine reaps for idleness is forgotten. */
static void test_reaped_are_forgotten(void **state)
{
	struct ks_engine *e = ks_engine__new(), *e2 = ks_engine__new();
	uint64_t now = wall();
	struct ks_instn *in;
	struct ks_state *s;
	struct ks_err err;

	(void)state;
	remove_db();
	ks_engine__tick(e, now);
	s = ks_state__open(path, false, 10, e, NULL, &err);
	assert_non_null(s);
	in = create(e, "{\"module\":\"vm\",\"stat\":\"exits\",\"idle-max\":5}");
	ks_state__changed(s, in->owner, in->id, in);
	in = create(e, "{\"module\":\"vm\",\"stat\":\"exits\",\"idle-max\":0}");
	ks_state__changed(s, in->owner, in->id, in);
	assert_int_equal(ks_state__flush(s), 0);
	assert_int_equal(ks_engine__tick(e, now + 10 * NS), 1);
	ks_state__sync(s, e);
	assert_int_equal(status_int(s, "pending"), 1);
	assert_int_equal(ks_state__finish(s, 0), 0);
	ks_state__close(s);

	ks_engine__tick(e2, wall());
	s = ks_state__open(path, false, 10, e2, NULL, &err);
	assert_non_null(s);
	assert_int_equal(ks_engine__count(e2), 1);
	assert_null(ks_engine__get(e2, "1"));
	assert_non_null(ks_engine__get(e2, "2"));
	ks_state__close(s);
	ks_engine__free(e);
	ks_engine__free(e2);
}

/* Garbage where the database should be: set aside, and a clean start. */
static void test_garbage_set_aside(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_state *s;
	struct ks_err err;
	json_t *st;
	FILE *f;
	char glob[400];

	(void)state;
	remove_db();
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 5000; i++)
		fputc((i * 7919) & 0xff, f);
	fclose(f);
	ks_engine__tick(e, wall());
	s = ks_state__open(path, false, 10, e, NULL, &err);
	assert_non_null(s);
	st = ks_state__status(s);
	assert_true(json_is_true(json_object_get(st, "set_aside")));
	assert_int_equal(json_integer_value(json_object_get(st, "loaded")), 0);
	json_decref(st);
	snprintf(glob, sizeof(glob), "ls %s/state.db.bad-* >/dev/null", dir);
	assert_int_equal(system(glob), 0);
	ks_state__close(s);
	ks_engine__free(e);
}

/* A tenant's instrumentation, made as the API makes it, comes back to
 * the same tenant under the same id, with its predicate and the
 * restriction re-applied; the operator's instrumentation of the same id
 * is another one, and deleting one leaves the other saved. */
static void test_tenant_owner_restored(void **state)
{
	struct ks_engine *e = ks_engine__new(), *e2 = ks_engine__new();
	struct ks_tenancy *t = ks_tenancy__new(e), *t2 = ks_tenancy__new(e2);
	struct ks_tenant_owners o1 = { t, NULL }, o2 = { t2, NULL };
	struct ks_store_owners ow1, ow2;
	struct ks_tokens *tok;
	struct ks_scope acme, beta, op = { KS_SCOPE_OPERATOR, NULL };
	struct ks_instn_conf c;
	struct ks_instn *in, *in2, *mine;
	json_t *p, *shown, *o;
	struct ks_state *s;
	struct ks_err err;
	char *pred, *pred2, *txt;

	(void)state;
	remove_db();
	tok = ks_tokens__parse("op-0123456789abcdef operator\n"
			       "ta-0123456789abcdef tenant acme web1\n"
			       "tb-0123456789abcdef tenant beta db2\n",
			       "tokens", &err);
	assert_non_null(tok);
	o1.tokens = o2.tokens = tok;
	acme = (struct ks_scope){ KS_SCOPE_TENANT, ks_tokens__tenant(tok, "acme") };
	beta = (struct ks_scope){ KS_SCOPE_TENANT, ks_tokens__tenant(tok, "beta") };
	ks_engine__tick(e, wall());
	s = ks_state__open(path, false, 10, e, ks_tenant_owners__hooks(&o1, &ow1), &err);
	assert_non_null(s);
	p = json_loads("{\"module\":\"vm\",\"stat\":\"exits\",\"predicate\":"
		       "{\"ne\":[\"vleavereason\",\"npf\"]}}", 0, NULL);
	assert_int_equal(ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c, &err), 0);
	json_decref(p);
	assert_int_equal(ks_tenancy__restrict(t, &acme, &c, &shown, &err), 0);
	assert_int_equal(ks_engine__create_in(e, "acme", &c, &in, &err), 0);
	assert_int_equal(ks_tenancy__adopt(t, &acme, in, shown), 0);
	ks_state__changed(s, in->owner, in->id, in);
	mine = create(e, "{\"module\":\"vm\",\"stat\":\"irqs\"}");
	ks_state__changed(s, mine->owner, mine->id, mine);
	assert_string_equal(mine->id, in->id);
	in2 = create(e, "{\"module\":\"vm\",\"stat\":\"irqs\"}");
	ks_state__changed(s, in2->owner, in2->id, in2);
	ks_engine__delete(e, in2->id);
	ks_state__sync(s, e);
	assert_int_equal(ks_state__finish(s, 0), 0);
	o = ks_pred__to_json(in->conf.pred);
	pred = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	ks_state__close(s);

	ks_engine__tick(e2, wall());
	s = ks_state__open(path, false, 10, e2, ks_tenant_owners__hooks(&o2, &ow2), &err);
	assert_non_null(s);
	assert_int_equal(status_int(s, "loaded"), 2);
	in2 = ks_engine__find(e2, "acme", in->id);
	assert_non_null(in2);
	assert_int_equal(ks_engine__get(e2, in->id)->conf.metric, KS_M_VM_IRQS);
	assert_null(ks_engine__get(e2, "2"));
	assert_false(ks_tenancy__visible(t2, &acme, ks_engine__get(e2, "1")));
	assert_true(ks_tenancy__visible(t2, &acme, in2));
	assert_false(ks_tenancy__visible(t2, &beta, in2));
	assert_false(ks_tenancy__visible(t2, &op, in2));
	/* The engine evaluates the restricted predicate, the tenant sees its
	 * own. */
	o = ks_pred__to_json(in2->conf.pred);
	pred2 = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	assert_string_equal(pred, pred2);
	assert_non_null(strstr(pred2, "web1"));
	o = ks_tenancy__instn_json(t2, in2, "/ca/customers/acme/instrumentations");
	txt = json_dumps(json_object_get(o, "predicate"), JSON_COMPACT);
	assert_string_equal(txt, "{\"ne\":[\"vleavereason\",\"npf\"]}");
	free(txt);
	json_decref(o);
	free(pred);
	free(pred2);
	ks_state__close(s);
	ks_tenancy__free(t);
	ks_tenancy__free(t2);
	ks_tokens__free(tok);
	ks_engine__free(e);
	ks_engine__free(e2);
}

/* A create saved while another process holds the file locked is not
 * dropped: it stays pending, is written once the lock goes, and only
 * then does saving count as working again. */
static void test_locked_save_retried(void **state)
{
	struct ks_engine *e = ks_engine__new(), *e2 = ks_engine__new();
	struct ks_instn *in;
	struct ks_state *s;
	struct ks_err err;
	sqlite3 *db;
	json_t *st;

	(void)state;
	remove_db();
	ks_engine__tick(e, wall());
	s = ks_state__open(path, false, 10, e, NULL, &err);
	assert_non_null(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
			 SQLITE_OK);
	in = create(e, "{\"module\":\"vm\",\"stat\":\"exits\"}");
	ks_state__changed(s, in->owner, in->id, in);
	assert_int_equal(ks_state__flush(s), -EBUSY);
	st = ks_state__status(s);
	assert_int_equal(json_integer_value(json_object_get(st, "pending")), 1);
	assert_true(json_is_true(json_object_get(st, "failing")));
	assert_non_null(strstr(json_string_value(json_object_get(st,
				"last_error")), "instrumentation 1"));
	json_decref(st);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(ks_state__flush(s), 0);
	assert_int_equal(status_int(s, "pending"), 0);
	st = ks_state__status(s);
	assert_true(json_is_false(json_object_get(st, "failing")));
	json_decref(st);
	ks_state__close(s);

	ks_engine__tick(e2, wall());
	s = ks_state__open(path, false, 10, e2, NULL, &err);
	assert_non_null(s);
	assert_int_equal(status_int(s, "loaded"), 1);
	ks_state__close(s);
	ks_engine__free(e);
	ks_engine__free(e2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_save_and_restore),
		cmocka_unit_test(test_reaped_are_forgotten),
		cmocka_unit_test(test_garbage_set_aside),
		cmocka_unit_test(test_tenant_owner_restored),
		cmocka_unit_test(test_locked_save_retried),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
