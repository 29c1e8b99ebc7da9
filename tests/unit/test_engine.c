/* test_engine.c - instrumentations fed with records, end to end in memory.
 *
 * Predicates filter exact values (two latencies in one bucket are told
 * apart); records lacking a needed field, from the future or past the
 * retention are counted, never silently lost; idle instrumentations are
 * reaped; the instrumentation object and value points have CA's shape;
 * each namespace numbers its own instrumentations.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/engine.h"
#include "engine/query.h"
#include "engine/symtab.h"

#define NS KS_NSEC_PER_SEC

static struct ks_instn_conf parse(const char *params)
{
	json_t *p = json_loads(params, 0, NULL);
	struct ks_instn_conf c;
	struct ks_err err;

	assert_non_null(p);
	assert_int_equal(ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c, &err), 0);
	json_decref(p);
	return c;
}

static struct ks_instn *create(struct ks_engine *e, const char *params)
{
	struct ks_instn_conf c = parse(params);
	struct ks_instn *in = NULL;
	struct ks_err err;

	assert_int_equal(ks_engine__create(e, &c, &in, &err), 0);
	return in;
}

/* The id owner's next instrumentation gets. */
static const char *create_in(struct ks_engine *e, const char *owner)
{
	struct ks_instn_conf c = parse("{\"module\":\"vm\",\"stat\":\"exits\"}");
	struct ks_instn *in = NULL;
	struct ks_err err;

	assert_int_equal(ks_engine__create_in(e, owner, &c, &in, &err), 0);
	assert_string_equal(in->owner, owner);
	return in->id;
}

static struct ks_record exitrec(uint64_t ts, const char *reason, uint64_t lat)
{
	struct ks_record r;

	ks_record_init(&r, KS_M_VM_EXITS, ts, 1);
	ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern(reason));
	ks_record_set(&r, KS_F_VCPU, ks_sym_intern("0"));
	if (lat)
		ks_record_set(&r, KS_F_LATENCY, lat);
	return r;
}

static uint64_t total(struct ks_instn *in, int64_t start, uint32_t dur)
{
	struct ks_value v;
	uint64_t t;

	assert_int_equal(ks_dataset__value(in->ds, start, dur, &v), 0);
	t = v.total;
	ks_value_fini(&v);
	return t;
}

static void test_predicate_exact(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *all, *gt, *io;
	struct ks_record r[3];

	(void)state;
	all = create(e, "{\"module\":\"vm\",\"stat\":\"exits\"}");
	/* 1000 and 1001 share a log-linear bucket: only exact values split. */
	assert_int_equal(ks_ll_index(1000), ks_ll_index(1001));
	gt = create(e, "{\"module\":\"vm\",\"stat\":\"exits\","
		       "\"predicate\":{\"gt\":[\"latency\",1000]}}");
	io = create(e, "{\"module\":\"vm\",\"stat\":\"exits\",\"predicate\":"
		       "\"{\\\"eq\\\":[\\\"vleavereason\\\",\\\"io\\\"]}\"}");
	r[0] = exitrec(5 * NS, "io", 1000);
	r[1] = exitrec(5 * NS, "hlt", 1001);
	r[2] = exitrec(5 * NS, "io", 0);	/* latency unknown */
	ks_engine__feed(e, r, 3);
	assert_int_equal(total(all, 5, 1), 3);
	assert_int_equal(total(gt, 5, 1), 1);
	assert_int_equal(total(io, 5, 1), 2);
	assert_int_equal(ks_engine__stats(e)->lacking, 1);
	assert_int_equal(ks_engine__stats(e)->filtered, 1 + 1);
	assert_int_equal(ks_engine__stats(e)->added, 3 + 1 + 2);
	ks_engine__free(e);
}

static void test_lifecycle(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *a, *b;
	json_t *p, *o;
	struct ks_instn_conf c;
	struct ks_err err;

	(void)state;
	a = create(e, "{\"module\":\"vm\",\"stat\":\"exits\","
		      "\"decomposition\":[\"vleavereason\",\"latency\"]}");
	b = create(e, "{\"module\":\"vm\",\"stat\":\"irqs\"}");
	assert_string_not_equal(a->id, b->id);
	assert_ptr_equal(ks_engine__get(e, a->id), a);
	assert_int_equal(ks_engine__count(e), 2);
	assert_ptr_equal(ks_engine__next(e, NULL), a);
	assert_ptr_equal(ks_engine__next(e, a), b);
	assert_null(ks_engine__next(e, b));

	o = ks_instn__to_json(a, "/ca/instrumentations");
	assert_string_equal(json_string_value(json_object_get(o, "value-arity")),
			    "numeric-decomposition");
	assert_int_equal(json_integer_value(json_object_get(o, "value-dimension")), 3);
	assert_string_equal(json_string_value(json_object_get(o, "uri")),
			    "/ca/instrumentations/1");
	assert_int_equal(json_array_size(json_object_get(o, "uris")), 3);
	json_decref(o);

	/* Modify retention: data kept, dataset resized. */
	p = json_pack("{s:s}", "retention-time", "20");
	assert_int_equal(ks_instn_conf_parse(p, &a->conf, KS_INSTN_MODIFY, &c, &err), 0);
	assert_int_equal(ks_engine__modify(e, a, &c, &err), 0);
	assert_int_equal(a->conf.retention_time, 20);
	json_decref(p);

	assert_int_equal(ks_engine__delete(e, a->id), 0);
	assert_int_equal(ks_engine__delete(e, "nope"), -ENOENT);
	assert_int_equal(ks_engine__count(e), 1);
	ks_engine__free(e);
}

/* A namespace's ids depend on nothing done in other namespaces: acme gets
 * 1, 2, 3 whatever the operator and beta do in between; (owner, id) is
 * the key; deleted ids are not handed out again; restore moves only its
 * own namespace's sequence. */
static void test_ids_per_namespace(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn_conf c;
	struct ks_err err;
	char big[80];

	(void)state;
	assert_string_equal(create_in(e, "acme"), "1");
	for (int i = 0; i < 5; i++) {
		create_in(e, "");
		create_in(e, "beta");
	}
	assert_string_equal(create_in(e, "acme"), "2");
	assert_string_equal(create_in(e, ""), "6");
	assert_string_equal(create_in(e, "beta"), "6");
	assert_int_equal(ks_engine__count(e), 14);
	assert_string_equal(ks_engine__find(e, "acme", "2")->owner, "acme");
	assert_null(ks_engine__find(e, "acme", "3"));
	assert_string_equal(ks_engine__get(e, "3")->owner, "");
	/* Deleting acme's 1 leaves the others' 1. */
	assert_int_equal(ks_engine__delete_in(e, "acme", "1"), 0);
	assert_int_equal(ks_engine__delete_in(e, "acme", "1"), -ENOENT);
	assert_non_null(ks_engine__get(e, "1"));
	assert_non_null(ks_engine__find(e, "beta", "1"));
	assert_int_equal(ks_engine__delete_in(e, "acme", "2"), 0);
	assert_string_equal(create_in(e, "acme"), "3");	/* not reused */
	/* Restoring beta's 40 moves beta's sequence only. */
	c = parse("{\"module\":\"vm\",\"stat\":\"irqs\"}");
	assert_int_equal(ks_engine__restore(e, "beta", "40", &c, 5, NULL, &err), 0);
	assert_string_equal(create_in(e, "beta"), "41");
	assert_string_equal(create_in(e, "acme"), "4");
	c = parse("{\"module\":\"vm\",\"stat\":\"irqs\"}");
	assert_int_equal(ks_engine__restore(e, "beta", "40", &c, 5, NULL, &err),
			 -EEXIST);
	assert_int_equal(ks_engine__restore(e, "", "040", &c, 5, NULL, &err),
			 -EINVAL);
	assert_string_equal(err.param, "id");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ks_engine__create_in(e, big, &c, NULL, &err), -EINVAL);
	assert_string_equal(err.param, "owner");
	ks_instn_conf_fini(&c);
	ks_engine__free(e);
}

static void test_future_and_idle(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *in;
	struct ks_record r;

	(void)state;
	ks_engine__tick(e, 1000 * NS);
	in = create(e, "{\"module\":\"vm\",\"stat\":\"exits\",\"idle-max\":30}");
	r = exitrec(1011 * NS, "io", 5);
	ks_engine__feed(e, &r, 1);
	assert_int_equal(ks_engine__stats(e)->future, 1);
	r = exitrec(1009 * NS, "io", 5);
	ks_engine__feed(e, &r, 1);
	assert_int_equal(total(in, 1009, 1), 1);
	assert_int_equal(ks_engine__tick(e, 1020 * NS), 0);
	assert_int_equal(ks_engine__tick(e, 1031 * NS), 1);
	assert_int_equal(ks_engine__count(e), 0);
	ks_engine__free(e);
}

/* The count of key in in's value at second 5, decomposed. */
static uint64_t key_count(struct ks_instn *in, const char *key)
{
	struct ks_value v;
	const struct ks_value_entry *x;
	uint64_t n;

	assert_int_equal(ks_dataset__value(in->ds, 5, 1, &v), 0);
	x = ks_value__find(&v, ks_sym_intern(key));
	n = x ? x->count : 0;
	ks_value_fini(&v);
	return n;
}

/* One feed of more records than the engine works on at once, two metrics
 * interleaved: every instrumentation gets exactly its records, whatever
 * chunk or metric group they were handled in, and the hostname (which no
 * record carries) is filled in for those that need it. */
static void test_mixed_batch(void **state)
{
	enum { N = 700 };
	static struct ks_record r[N];
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *all, *gt, *host, *irq;
	uint64_t want_all = 0, want_io = 0, want_hlt = 0, want_irq = 0,
		 want_host = 0, lacking = 0, filtered = 0;
	char pred[400];

	(void)state;
	ks_engine__set_hostname(e, "hostA");
	all = create(e, "{\"module\":\"vm\",\"stat\":\"exits\"}");
	gt = create(e, "{\"module\":\"vm\",\"stat\":\"exits\","
		       "\"decomposition\":\"vleavereason\","
		       "\"predicate\":{\"gt\":[\"latency\",300]}}");
	snprintf(pred, sizeof(pred), "{\"module\":\"vm\",\"stat\":\"exits\","
		 "\"decomposition\":\"hostname\",\"predicate\":{\"and\":["
		 "{\"eq\":[\"hostname\",\"hostA\"]},"
		 "{\"ne\":[\"vleavereason\",\"hlt\"]}]}}");
	host = create(e, pred);
	irq = create(e, "{\"module\":\"vm\",\"stat\":\"irqs\"}");
	for (int i = 0; i < N; i++) {
		bool io = i % 2;

		if (i % 3 == 2) {
			ks_record_init(&r[i], KS_M_VM_IRQS, 5 * NS + i, 1);
			ks_record_set(&r[i], KS_F_VCPU, ks_sym_intern("1"));
			want_irq++;
			continue;
		}
		r[i] = exitrec(5 * NS + i, io ? "io" : "hlt",
			       i % 7 ? (uint64_t)i : 0);
		want_all++;
		if (!(i % 7))
			lacking++;
		else if (i > 300)
			io ? want_io++ : want_hlt++;
		else
			filtered++;
		want_host += io;	/* host's predicate */
		filtered += !io;
	}
	ks_engine__feed(e, r, N);
	assert_int_equal(total(all, 5, 1), want_all);
	assert_int_equal(key_count(gt, "io"), want_io);
	assert_int_equal(key_count(gt, "hlt"), want_hlt);
	assert_int_equal(total(gt, 5, 1), want_io + want_hlt);
	assert_int_equal(key_count(host, "hostA"), want_host);
	assert_int_equal(total(irq, 5, 1), want_irq);
	assert_int_equal(ks_engine__stats(e)->records, N);
	assert_int_equal(ks_engine__stats(e)->lacking, lacking);
	assert_int_equal(ks_engine__stats(e)->filtered, filtered);
	assert_int_equal(ks_engine__stats(e)->added, want_all +
			 want_io + want_hlt + want_host + want_irq);
	ks_engine__free(e);
}

/* A record of a metric outside the catalogue is counted, not lost. */
static void test_bad_metric_counted(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_record r;

	(void)state;
	r = exitrec(5 * NS, "io", 1);
	r.metric = KS_M__COUNT;
	ks_engine__feed(e, &r, 1);
	r.metric = 0xffff;
	ks_engine__feed(e, &r, 1);
	assert_int_equal(ks_engine__stats(e)->records, 2);
	assert_int_equal(ks_engine__stats(e)->bad_metric, 2);
	assert_int_equal(ks_engine__stats(e)->added, 0);
	ks_engine__free(e);
}

static void test_limit(void **state)
{
	struct ks_engine *e = ks_engine__new();
	json_t *p = json_pack("{s:s,s:s}", "module", "vm", "stat", "exits");
	struct ks_instn_conf c;
	struct ks_err err;

	(void)state;
	ks_engine__set_max(e, 1);
	create(e, "{\"module\":\"vm\",\"stat\":\"exits\"}");
	assert_int_equal(ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c, &err), 0);
	assert_int_equal(ks_engine__create(e, &c, NULL, &err), -ENOSPC);
	assert_true(strlen(err.msg) > 0);
	ks_instn_conf_fini(&c);
	json_decref(p);
	ks_engine__free(e);
}

static void test_value_points(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *in;
	struct ks_record r[4];
	struct ks_query q;
	struct ks_err err;
	json_t *p, *v;

	(void)state;
	ks_engine__follow_records(e, true);
	in = create(e, "{\"module\":\"vm\",\"stat\":\"exits\","
		       "\"decomposition\":\"vleavereason\"}");
	r[0] = exitrec(100 * NS, "io", 1);
	r[1] = exitrec(100 * NS + 5, "io", 1);
	r[2] = exitrec(101 * NS, "hlt", 1);
	r[3] = exitrec(102 * NS, "io", 1);
	ks_engine__feed(e, r, 4);
	p = json_pack("{s:i,s:i,s:i}", "start_time", 100, "duration", 1,
		      "ndatapoints", 2);
	assert_int_equal(ks_query_parse(p, 1, 102, 1, &q, &err), 0);
	v = ks_query_value(in, &q);
	assert_true(json_is_array(v));
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(json_array_get(v, 0), "value"), "io")), 2);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(json_array_get(v, 1), "value"), "hlt")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(v, 1),
							    "start_time")), 101);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(v, 1),
							    "end_time")), 102);
	json_decref(v);
	json_decref(p);
	ks_engine__free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_predicate_exact),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_ids_per_namespace),
		cmocka_unit_test(test_future_and_idle),
		cmocka_unit_test(test_mixed_batch),
		cmocka_unit_test(test_bad_metric_counted),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_value_points),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	ks_sym_reset();
	return rc;
}
