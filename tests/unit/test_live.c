/* test_live.c - the agent's live sources and its one feeding path.
 *
 * Fake sources behind the real ops table: one that runs, one that cannot
 * be opened (as without root), one whose attach fails, one whose reads
 * fail for a while, and one that emits more records per tick than a
 * batch.  Checks that every record reaches the feed with its stamp, that
 * unavailable and failing sources are reported with their reasons, that
 * the counters the sources keep reach the status and the Prometheus text,
 * and that ks_feed puts the same records into the engine and /metrics.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/feed.h"
#include "agent/live.h"
#include "engine/symtab.h"

#define MANY 2500	/* more than one batch */

/* What a fake source does, by name. */
struct fake {
	int reads;
};

static const enum ks_metric exits_only[] = { KS_M_VM_EXITS };

static int fake_open(struct ks_source *s, const struct ks_source_opts *o,
		     struct ks_err *err)
{
	(void)o;
	if (!strcmp(s->ops->name, "noperm"))
		return ks_err_set(err, EPERM, "noperm", "cannot load the BPF "
				  "probe: live data needs root");
	s->priv = calloc(1, sizeof(struct fake));
	return s->priv ? 0 : -ENOMEM;
}

static int fake_attach(struct ks_source *s, struct ks_err *err)
{
	if (!strcmp(s->ops->name, "noattach"))
		return ks_err_set(err, ENOENT, "noattach", "a kvm tracepoint "
				  "is missing");
	return 0;
}

static int emit(struct ks_source *s, uint64_t ts,
		const struct ks_source_sink *sink, int n, const char *reason)
{
	for (int i = 0; i < n; i++) {
		struct ks_record r;
		int rc;

		ks_record_init(&r, KS_M_VM_EXITS, ts, 2);
		ks_record_set(&r, KS_F_VM, ks_sym_intern("web"));
		ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern(reason));
		if ((rc = sink->record(sink->ctx, &r)))
			return rc;
		s->st.records++;
		s->st.events += 2;
	}
	return 0;
}

static int fake_read(struct ks_source *s, uint64_t ts,
		     const struct ks_source_sink *sink)
{
	struct fake *f = s->priv;

	f->reads++;
	if (!strcmp(s->ops->name, "many"))
		return emit(s, ts, sink, MANY, "io");
	if (!strcmp(s->ops->name, "flaky")) {
		/* Second read: one record, then the failure. */
		if (f->reads == 2) {
			emit(s, ts, sink, 1, "hlt");
			return -EIO;
		}
		return emit(s, ts, sink, 1, "hlt");
	}
	s->st.drops += 3;
	s->st.bad += 1;
	return emit(s, ts, sink, 5, "npf");
}

static void fake_close(struct ks_source *s)
{
	free(s->priv);
}

#define FAKE(id, nm) \
	static const struct ks_source_ops id = { \
		.name = nm, .summary = "fake " nm, .metrics = exits_only, \
		.nmetrics = 1, .open = fake_open, .attach = fake_attach, \
		.read = fake_read, .close = fake_close }
FAKE(good, "good");
FAKE(noperm, "noperm");
FAKE(noattach, "noattach");
FAKE(flaky, "flaky");
FAKE(many, "many");
FAKE(unwanted, "unwanted");

static const struct ks_source_ops *const all[] = {
	&good, &noperm, &noattach, &flaky, &many, &unwanted,
};
#define NALL (sizeof(all) / sizeof(all[0]))

/* The feed: counts records and batches, checks stamps. */
struct sinkst {
	size_t records, batches, maxbatch;
	uint64_t value, want_ts;
	bool bad_ts;
};

static void count_feed(void *ctx, const struct ks_record *r, size_t n)
{
	struct sinkst *k = ctx;

	k->batches++;
	if (n > k->maxbatch)
		k->maxbatch = n;
	for (size_t i = 0; i < n; i++) {
		k->records++;
		k->value += r[i].value;
		k->bad_ts |= r[i].ts != k->want_ts;
	}
}

static json_t *entry(json_t *status, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(status, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			return e;
	fail_msg("no source %s in the status", name);
	return NULL;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_int_t num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* The value of the line starting with prefix, or -1. */
static double value_of(const char *text, const char *prefix)
{
	const char *p = text;

	while ((p = strstr(p, prefix))) {
		if (p == text || p[-1] == '\n')
			return strtod(p + strlen(prefix), NULL);
		p++;
	}
	return -1;
}

static void test_start_and_status(void **state)
{
	struct sinkst k = { 0 };
	struct ks_live *l = ks_live__new(all, NALL, count_feed, &k);
	json_t *st;

	(void)state;
	assert_non_null(l);
	ks_live__off(l, 5, "not chosen (--sources)");
	assert_int_equal(ks_live__start(l, NULL), 3);
	st = ks_live__status(l);
	assert_int_equal(json_array_size(st), NALL);
	assert_string_equal(str(entry(st, "good"), "status"), "running");
	assert_string_equal(str(entry(st, "noperm"), "status"), "unavailable");
	assert_non_null(strstr(str(entry(st, "noperm"), "reason"), "needs root"));
	assert_string_equal(str(entry(st, "noattach"), "status"), "unavailable");
	assert_non_null(strstr(str(entry(st, "noattach"), "reason"),
			       "tracepoint"));
	assert_string_equal(str(entry(st, "unwanted"), "status"), "off");
	assert_string_equal(str(entry(st, "unwanted"), "reason"),
			    "not chosen (--sources)");
	assert_null(json_object_get(entry(st, "good"), "reason"));
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(entry(st, "good"), "metrics"), 0)), "vm.exits");
	json_decref(st);
	ks_live__free(l);
}

static void test_ticks_feed_everything(void **state)
{
	struct sinkst k = { 0 };
	struct ks_live *l = ks_live__new(all, NALL, count_feed, &k);
	json_t *st;

	(void)state;
	ks_live__off(l, 5, "not chosen");
	ks_live__start(l, NULL);
	k.want_ts = 41 * KS_NSEC_PER_SEC - 1;
	assert_int_equal(ks_live__tick(l, k.want_ts), 0);
	/* good 5 + flaky 1 + many MANY, in batches of at most 1024. */
	assert_int_equal(k.records, 5 + 1 + MANY);
	assert_int_equal(k.value, 2 * (5 + 1 + MANY));
	assert_false(k.bad_ts);
	assert_true(k.maxbatch <= 1024);
	assert_true(k.batches >= 3);

	/* flaky fails once: what it read before failing is still fed. */
	k.records = 0;
	k.want_ts += KS_NSEC_PER_SEC;
	assert_int_equal(ks_live__tick(l, k.want_ts), 1);
	assert_int_equal(k.records, 5 + 1 + MANY);
	st = ks_live__status(l);
	assert_string_equal(str(entry(st, "flaky"), "status"), "failing");
	assert_non_null(strstr(str(entry(st, "flaky"), "reason"),
			       "Input/output error"));
	assert_int_equal(num(entry(st, "flaky"), "read_errors"), 1);
	json_decref(st);

	/* ... and recovers. */
	k.want_ts += KS_NSEC_PER_SEC;
	assert_int_equal(ks_live__tick(l, k.want_ts), 0);
	st = ks_live__status(l);
	assert_string_equal(str(entry(st, "flaky"), "status"), "running");
	assert_null(json_object_get(entry(st, "flaky"), "reason"));
	assert_int_equal(num(entry(st, "flaky"), "read_errors"), 1);
	assert_int_equal(num(entry(st, "good"), "ticks"), 3);
	assert_int_equal(num(entry(st, "good"), "records"), 15);
	assert_int_equal(num(entry(st, "good"), "events"), 30);
	assert_int_equal(num(entry(st, "good"), "drops"), 9);
	assert_int_equal(num(entry(st, "good"), "last_read_ms"),
			 (json_int_t)(k.want_ts / 1000000));
	assert_int_equal(num(entry(st, "noperm"), "ticks"), 0);
	json_decref(st);
	ks_live__free(l);
}

/* The sources' families, as text (labelled with the hostname when one is
 * given) and as protobuf, through the same writer. */
static void test_prom_lines(void **state)
{
	struct sinkst k = { 0 };
	struct ks_live *l = ks_live__new(all, NALL, count_feed, &k);
	struct ks_emit *m = ks_emit__new(NULL);
	struct ks_pb b = KS_PB_INIT;
	size_t len = 0;
	char *buf;

	(void)state;
	ks_live__start(l, NULL);
	ks_live__tick(l, 1);
	ks_live__tick(l, 2);	/* flaky fails */
	ks_live__emit(l, m, NULL);
	buf = ks_emit__take_text(m, &len);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	assert_true(value_of(buf, "kvmscope_source_up{source=\"good\"} ") == 1);
	assert_true(value_of(buf, "kvmscope_source_up{source=\"noperm\"} ") == 0);
	assert_true(value_of(buf, "kvmscope_source_up{source=\"flaky\"} ") == 0);
	assert_true(value_of(buf, "kvmscope_source_read_errors_total"
				  "{source=\"flaky\"} ") == 1);
	assert_true(value_of(buf, "kvmscope_source_lost_total{source=\"good\","
				  "reason=\"kernel_full\"} ") == 6);
	assert_true(value_of(buf, "kvmscope_source_lost_total{source=\"good\","
				  "reason=\"bad\"} ") == 2);
	assert_true(value_of(buf, "kvmscope_source_records_total"
				  "{source=\"many\"} ") == 2 * MANY);
	assert_non_null(strstr(buf, "# TYPE kvmscope_source_up gauge\n"));
	free(buf);
	ks_live__emit(l, m, "h");
	buf = ks_emit__take_text(m, &len);
	assert_non_null(buf);
	assert_true(value_of(buf, "kvmscope_source_lost_total{hostname=\"h\","
				  "source=\"good\",reason=\"bad\"} ") == 2);
	free(buf);
	ks_emit__free(m);
	/* The same families in protobuf: every name, with the hostname. */
	m = ks_emit__new(&b);
	ks_live__emit(l, m, "h");
	assert_int_equal(ks_emit__err(m), 0);
	ks_emit__free(m);
	assert_non_null(memmem(b.buf, b.len, "kvmscope_source_lost_total", 26));
	assert_non_null(memmem(b.buf, b.len, "kernel_full", 11));
	assert_non_null(memmem(b.buf, b.len, "\x0a\x08hostname\x12\x01h", 13));
	ks_pb_fini(&b);
	ks_live__free(l);
}

/* The feed path: the same records in the engine and in /metrics. */
static void test_feed_engine_and_metrics(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_prom *p = ks_prom__new(0);
	struct ks_feed f = { e, p, NULL, NULL };
	struct ks_live *l = ks_live__new(all, 1, ks_feed__records, &f);
	json_t *params = json_pack("{s:s,s:s,s:[s]}", "module", "vm", "stat",
				   "exits", "decomposition", "vleavereason");
	struct ks_instn_conf c;
	struct ks_instn *in;
	struct ks_value v;
	struct ks_err err;
	size_t len = 0;
	char *text, *js;
	json_t *j;

	(void)state;
	ks_prom__set_hostname(p, "h");
	f.live = l;
	assert_int_equal(ks_instn_conf_parse(params, NULL, KS_INSTN_CREATE, &c,
					     &err), 0);
	assert_int_equal(ks_engine__create(e, &c, &in, &err), 0);
	ks_engine__tick(e, 100 * KS_NSEC_PER_SEC);
	assert_int_equal(ks_live__start(l, NULL), 1);
	ks_live__tick(l, 100 * KS_NSEC_PER_SEC - 1);
	ks_live__tick(l, 101 * KS_NSEC_PER_SEC - 1);
	assert_int_equal(ks_engine__stats(e)->records, 10);
	assert_int_equal(ks_dataset__value(in->ds, 99, 2, &v), 0);
	j = ks_value__to_json(&v);
	js = json_dumps(j, JSON_COMPACT);
	assert_string_equal(js, "{\"npf\":20}");
	free(js);
	json_decref(j);
	ks_value_fini(&v);
	text = ks_feed__metrics(&f, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_true(value_of(text, "kvmscope_vm_exits_total{hostname=\"h\","
				   "vm=\"web\",vmuuid=\"\",vcpu=\"\","
				   "vleavereason=\"npf\"} ") == 20);
	assert_true(value_of(text, "kvmscope_records_total{hostname=\"h\"} ") == 10);
	assert_true(value_of(text, "kvmscope_source_up{hostname=\"h\","
				   "source=\"good\"} ") == 1);
	free(text);
	/* Protobuf: the exporter's families and the sources', in one body. */
	assert_int_equal(ks_feed__metrics_pb(&f, &text, &len, &err), 0);
	assert_non_null(memmem(text, len, "kvmscope_vm_exits_total", 23));
	assert_non_null(memmem(text, len, "kvmscope_source_up", 18));
	free(text);
	json_decref(params);
	ks_live__free(l);
	ks_prom__free(p);
	ks_engine__free(e);
}

/* A batch into many instrumentations goes in parts, the lock let go
 * between them: each record counted once in every instrumentation and in
 * /metrics, whatever the parts' edges (61 instrumentations: 67 records a
 * part, so 1000 records end inside one). */
static void test_feed_parts(void **state)
{
	enum { NINST = 61, NREC = 1000 };
	struct ks_engine *e = ks_engine__new();
	struct ks_prom *p = ks_prom__new(0);
	struct ks_api *a = ks_api__new(e);
	struct ks_feed f = { e, p, a, NULL };
	json_t *params = json_pack("{s:s,s:s}", "module", "vm", "stat",
				   "exits");
	struct ks_instn *in[NINST];
	struct ks_record *r = calloc(NREC, sizeof(*r));
	struct ks_instn_conf c;
	struct ks_value v;
	struct ks_err err;
	char *text;

	(void)state;
	assert_non_null(a);
	assert_non_null(r);
	ks_prom__set_hostname(p, "h");
	for (int i = 0; i < NINST; i++) {
		assert_int_equal(ks_instn_conf_parse(params, NULL,
						     KS_INSTN_CREATE, &c,
						     &err), 0);
		assert_int_equal(ks_engine__create(e, &c, &in[i], &err), 0);
	}
	ks_engine__tick(e, 100 * KS_NSEC_PER_SEC);
	for (int i = 0; i < NREC; i++) {
		ks_record_init(&r[i], KS_M_VM_EXITS, 99 * KS_NSEC_PER_SEC + i,
			       1);
		ks_record_set(&r[i], KS_F_VLEAVEREASON, ks_sym_intern("hlt"));
	}
	ks_feed__records(&f, r, NREC);
	assert_int_equal(ks_engine__stats(e)->records, NREC);
	for (int i = 0; i < NINST; i++) {
		assert_int_equal(ks_dataset__value(in[i]->ds, 99, 1, &v), 0);
		assert_int_equal(v.total, NREC);
		ks_value_fini(&v);
	}
	text = ks_feed__metrics(&f, NULL);
	assert_true(value_of(text, "kvmscope_records_total{hostname=\"h\"} ") ==
		    NREC);
	free(text);
	free(r);
	json_decref(params);
	ks_api__free(a);
	ks_prom__free(p);
	ks_engine__free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_and_status),
		cmocka_unit_test(test_ticks_feed_everything),
		cmocka_unit_test(test_prom_lines),
		cmocka_unit_test(test_feed_engine_and_metrics),
		cmocka_unit_test(test_feed_parts),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	ks_sym_reset();
	return rc;
}
