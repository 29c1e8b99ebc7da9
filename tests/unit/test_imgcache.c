/* test_imgcache.c - the cache of finished heatmap answers: the module on
 * its own (epochs, replacement, bounds), then through CA's API over a real
 * engine, where it must never answer with another second's, another
 * parameter set's, another data generation's or another tenant's picture.
 * Every API check compares the bytes a hit returns with a fresh drawing
 * and reads the X-Kvmscope-Cache header to know which one it got.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "apifx.h"

#include "engine/engine.h"
#include "engine/symtab.h"
#include "http/api.h"
#include "http/handlers.h"
#include "http/imgcache.h"
#include "http/message.h"
#include "http/params.h"
#include "http/tokens.h"
#include "util/workq.h"

/* ---- the module ------------------------------------------------------ */

static void expect_body(struct ks_imgcache *c, const char *key, int64_t ep,
			const char *want)
{
	char *b;
	size_t n;

	assert_int_equal(ks_imgcache__get(c, key, ep, &b, &n), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(b, want, n);
	assert_int_equal(b[n], '\0');
	free(b);
}

static void expect_none(struct ks_imgcache *c, const char *key, int64_t ep)
{
	char *b = (char *)1;
	size_t n = 1;

	assert_int_equal(ks_imgcache__get(c, key, ep, &b, &n), -ENOENT);
	assert_null(b);
	assert_int_equal(n, 0);
}

static void test_get_put(void **state)
{
	struct ks_imgcache *c = ks_imgcache__new(0, 0);
	struct ks_imgcache_stats st;

	(void)state;
	assert_non_null(c);
	expect_none(c, "a", 10);
	assert_int_equal(ks_imgcache__put(c, "a", 10, "one", 3), 0);
	assert_int_equal(ks_imgcache__put(c, "b", 10, "two", 3), 0);
	expect_body(c, "a", 10, "one");
	expect_body(c, "b", 10, "two");
	expect_none(c, "c", 10);
	/* A key that is a prefix of another is another key. */
	expect_none(c, "", 10);
	/* The same key replaces. */
	assert_int_equal(ks_imgcache__put(c, "a", 10, "uno", 3), 0);
	expect_body(c, "a", 10, "uno");
	ks_imgcache__stats(c, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.bytes, 6);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.misses, 3);
	ks_imgcache__free(c);
}

static void test_epochs(void **state)
{
	struct ks_imgcache *c = ks_imgcache__new(0, 0);
	struct ks_imgcache_stats st;

	(void)state;
	assert_int_equal(ks_imgcache__put(c, "a", 10, "ten", 3), 0);
	/* Asked in another second, the entry is not served. */
	expect_none(c, "a", 11);
	expect_none(c, "a", 9);
	expect_body(c, "a", 10, "ten");
	/* A put in a newer second keeps the second before it (to stand in
	 * for its views, see test_stale_view, and for requests that read
	 * the clock before it moved), older ones go... */
	assert_int_equal(ks_imgcache__put(c, "b", 11, "eleven", 6), 0);
	expect_body(c, "a", 10, "ten");
	expect_none(c, "a", 11);
	ks_imgcache__stats(c, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.flushes, 0);
	/* ...and one finishing just after its second is still kept, for
	 * the requests that read the clock before it moved, but one for
	 * an older second is not. */
	assert_int_equal(ks_imgcache__put(c, "a2", 10, "ten", 3), 0);
	expect_body(c, "a2", 10, "ten");
	expect_none(c, "a2", 11);
	assert_int_equal(ks_imgcache__put(c, "a", 9, "nine", 4), -ESTALE);
	expect_none(c, "a", 9);
	expect_body(c, "b", 11, "eleven");
	/* Two seconds on, the first second's entries go too. */
	assert_int_equal(ks_imgcache__put(c, "c", 12, "twelve", 6), 0);
	expect_none(c, "a2", 10);
	ks_imgcache__stats(c, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.flushes, 1);
	ks_imgcache__flush(c);
	expect_none(c, "c", 12);
	ks_imgcache__stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	ks_imgcache__free(c);
}

static void test_bounds(void **state)
{
	struct ks_imgcache *c = ks_imgcache__new(2, 10);
	struct ks_imgcache_stats st;
	static char big[KS_IMGCACHE_MAX_BODY + 1];

	(void)state;
	assert_int_equal(ks_imgcache__put(c, "a", 1, "aaa", 3), 0);
	assert_int_equal(ks_imgcache__put(c, "b", 1, "bbb", 3), 0);
	expect_body(c, "a", 1, "aaa");	/* a is now the most recent */
	assert_int_equal(ks_imgcache__put(c, "c", 1, "ccc", 3), 0);
	expect_none(c, "b", 1);		/* the least recently used went */
	expect_body(c, "a", 1, "aaa");
	expect_body(c, "c", 1, "ccc");
	/* Bytes: 6 held, 8 more need both out. */
	assert_int_equal(ks_imgcache__put(c, "d", 1, "dddddddd", 8), 0);
	expect_none(c, "a", 1);
	expect_none(c, "c", 1);
	expect_body(c, "d", 1, "dddddddd");
	ks_imgcache__stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.bytes, 8);
	assert_int_equal(ks_imgcache__put(c, "e", 1, "eeeeeeeeeee", 11), -EFBIG);
	ks_imgcache__free(c);

	c = ks_imgcache__new(0, 0);
	assert_int_equal(ks_imgcache__put(c, "big", 1, big, sizeof(big)),
			 -EFBIG);
	expect_none(c, "big", 1);
	/* An empty body is a body. */
	assert_int_equal(ks_imgcache__put(c, "empty", 1, "", 0), 0);
	expect_body(c, "empty", 1, "");
	ks_imgcache__free(c);
	ks_imgcache__free(NULL);
}

/* ---- single flight ----------------------------------------------------- */

/* One request of a thread: what it asked and what it got. */
struct asker {
	struct ks_imgcache *c;
	struct ks_imgcache_ask q;
	int got;
	char *body;
	size_t len;
};

static void *ask_waiting(void *arg)
{
	struct asker *k = arg;

	k->got = ks_imgcache__fetch(k->c, &k->q, true, &k->body, &k->len);
	return NULL;
}

/* Waits (untimed) until n requests wait in c. */
static void until_waiting(struct ks_imgcache *c, size_t n)
{
	struct ks_imgcache_stats st;

	for (;;) {
		ks_imgcache__stats(c, &st);
		if (st.waiters == n)
			return;
		sched_yield();
	}
}

#define NASKERS 8

/* The first miss claims its key; the requests for it while it is drawn
 * wait and get the claimant's bytes: one draw, not NASKERS + 1. */
static void test_single_flight(void **state)
{
	struct ks_imgcache *c = ks_imgcache__new(0, 0);
	struct ks_imgcache_ask q = { .key = "k", .epoch = 10 };
	struct asker k[NASKERS];
	pthread_t th[NASKERS];
	struct ks_imgcache_stats st;
	char *b;
	size_t n;

	(void)state;
	assert_int_equal(ks_imgcache__fetch(c, &q, false, &b, &n),
			 KS_IMGCACHE_DRAW);
	assert_null(b);
	/* Not waiting: told another draws it. */
	assert_int_equal(ks_imgcache__fetch(c, &q, false, &b, &n),
			 KS_IMGCACHE_BUSY);
	for (int i = 0; i < NASKERS; i++) {
		k[i] = (struct asker){ .c = c, .q = q, .got = -1 };
		assert_int_equal(pthread_create(&th[i], NULL, ask_waiting,
						&k[i]), 0);
	}
	until_waiting(c, NASKERS);
	assert_int_equal(ks_imgcache__put(c, "k", 10, "drawn", 5), 0);
	for (int i = 0; i < NASKERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(k[i].got, KS_IMGCACHE_HIT);
		assert_int_equal(k[i].len, 5);
		assert_memory_equal(k[i].body, "drawn", 5);
		free(k[i].body);
	}
	ks_imgcache__stats(c, &st);
	assert_int_equal(st.puts, 1);
	assert_int_equal(st.claims, 1);
	assert_int_equal(st.shared, NASKERS);
	assert_int_equal(st.flights, 0);
	assert_int_equal(st.waiters, 0);
	/* The claim ended: the next miss of another key claims again. */
	q.key = "other";
	assert_int_equal(ks_imgcache__fetch(c, &q, false, &b, &n),
			 KS_IMGCACHE_DRAW);
	ks_imgcache__abandon(c, "other");
	ks_imgcache__free(c);
}

/* A claimant that gives up (its draw failed) wakes its waiters, which
 * then draw on their own; a failed put (too big) ends the claim too. */
static void test_abandon(void **state)
{
	struct ks_imgcache *c = ks_imgcache__new(0, 10);
	struct ks_imgcache_ask q = { .key = "k", .epoch = 10 };
	struct ks_imgcache_stats st;
	struct asker k = { .c = c, .q = q, .got = -1 };
	pthread_t th;
	char *b;
	size_t n;

	(void)state;
	assert_int_equal(ks_imgcache__fetch(c, &q, false, &b, &n),
			 KS_IMGCACHE_DRAW);
	assert_int_equal(pthread_create(&th, NULL, ask_waiting, &k), 0);
	until_waiting(c, 1);
	ks_imgcache__abandon(c, "k");
	pthread_join(th, NULL);
	assert_int_equal(k.got, KS_IMGCACHE_DRAW_ALONE);
	assert_null(k.body);
	assert_int_equal(ks_imgcache__fetch(c, &q, false, &b, &n),
			 KS_IMGCACHE_DRAW);
	assert_int_equal(ks_imgcache__put(c, "k", 10, "elevenbytes", 11),
			 -EFBIG);
	ks_imgcache__stats(c, &st);
	assert_int_equal(st.flights, 0);
	assert_int_equal(ks_imgcache__fetch(c, &q, false, &b, &n),
			 KS_IMGCACHE_DRAW);
	ks_imgcache__free(c);	/* with a claim held: freed with it */
}

/* While a live view's new second is drawn, the previous second's answer
 * of the same view stands in; never an older one, never another view's,
 * and never to the claimant itself or to an ask without a view. */
static void test_stale_view(void **state)
{
	struct ks_imgcache *c = ks_imgcache__new(0, 0);
	struct ks_imgcache_ask q10 = { .key = "v@10", .view = "v", .epoch = 10 };
	struct ks_imgcache_ask q11 = { .key = "v@11", .view = "v", .epoch = 11 };
	struct ks_imgcache_ask w11 = { .key = "w@11", .view = "w", .epoch = 11 };
	struct ks_imgcache_ask x11 = { .key = "v@11", .epoch = 11 };
	struct ks_imgcache_ask q12 = { .key = "v@12", .view = "v", .epoch = 12 };
	struct ks_imgcache_stats st;
	char *b;
	size_t n;

	(void)state;
	assert_int_equal(ks_imgcache__put_view(c, &q10, "ten", 3), 0);
	assert_int_equal(ks_imgcache__fetch(c, &q11, false, &b, &n),
			 KS_IMGCACHE_DRAW);
	assert_null(b);
	assert_int_equal(ks_imgcache__fetch(c, &q11, false, &b, &n),
			 KS_IMGCACHE_STALE);
	assert_int_equal(n, 3);
	assert_memory_equal(b, "ten", 3);
	free(b);
	assert_int_equal(ks_imgcache__fetch(c, &x11, false, &b, &n),
			 KS_IMGCACHE_BUSY);
	assert_int_equal(ks_imgcache__fetch(c, &w11, false, &b, &n),
			 KS_IMGCACHE_DRAW);
	ks_imgcache__abandon(c, "w@11");
	assert_int_equal(ks_imgcache__put_view(c, &q11, "eleven", 6), 0);
	assert_int_equal(ks_imgcache__fetch(c, &q11, false, &b, &n),
			 KS_IMGCACHE_HIT);
	assert_memory_equal(b, "eleven", 6);
	free(b);
	/* Two seconds on, with eleven gone by a put of 13, nothing stands
	 * in for twelve. */
	assert_int_equal(ks_imgcache__put(c, "y", 13, "y", 1), 0);
	assert_int_equal(ks_imgcache__fetch(c, &q12, false, &b, &n),
			 KS_IMGCACHE_DRAW);
	assert_int_equal(ks_imgcache__fetch(c, &q12, false, &b, &n),
			 KS_IMGCACHE_BUSY);
	ks_imgcache__abandon(c, "v@12");
	ks_imgcache__stats(c, &st);
	assert_int_equal(st.stale, 1);
	ks_imgcache__free(c);
}

/* Handoff: a claim of a live view whose previous answer is here comes
 * with that answer (the claimer has the key drawn elsewhere); __await
 * gets that draw's answer, or nothing once the claim ends without one or
 * the wait is over. */
static void test_handoff(void **state)
{
	struct ks_imgcache *c = ks_imgcache__new(0, 0);
	struct ks_imgcache_ask q10 = { .key = "v@10", .view = "v", .epoch = 10 };
	struct ks_imgcache_ask h11 = { .key = "v@11", .view = "v", .epoch = 11,
				       .handoff = true };
	struct ks_imgcache_ask h12 = { .key = "v@12", .view = "v", .epoch = 12,
				       .handoff = true };
	struct ks_imgcache_ask w11 = { .key = "w@11", .view = "w", .epoch = 11,
				       .handoff = true };
	struct ks_imgcache_stats st;
	char *b;
	size_t n;

	(void)state;
	assert_int_equal(ks_imgcache__put_view(c, &q10, "ten", 3), 0);
	assert_int_equal(ks_imgcache__fetch(c, &h11, false, &b, &n),
			 KS_IMGCACHE_STALE_DRAW);
	assert_int_equal(n, 3);
	assert_memory_equal(b, "ten", 3);
	free(b);
	/* claimed: the next request gets the stale answer, claims nothing */
	assert_int_equal(ks_imgcache__fetch(c, &h11, false, &b, &n),
			 KS_IMGCACHE_STALE);
	free(b);
	/* no previous answer: the claimer draws */
	assert_int_equal(ks_imgcache__fetch(c, &w11, false, &b, &n),
			 KS_IMGCACHE_DRAW);
	assert_null(b);
	ks_imgcache__abandon(c, "w@11");
	/* the handed-off draw ends: its answer for whoever awaits it */
	assert_int_equal(ks_imgcache__put_view(c, &h11, "eleven", 6), 0);
	assert_int_equal(ks_imgcache__await(c, "v@11", 11, 1000, &b, &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(b, "eleven", 6);
	free(b);
	/* given up: nothing, at once */
	assert_int_equal(ks_imgcache__fetch(c, &h12, false, &b, &n),
			 KS_IMGCACHE_STALE_DRAW);
	assert_memory_equal(b, "eleven", 6);
	free(b);
	ks_imgcache__abandon(c, "v@12");
	assert_int_equal(ks_imgcache__await(c, "v@12", 12, 5000, &b, &n),
			 -ENOENT);
	assert_null(b);
	/* still claimed, never drawn: nothing after the wait */
	assert_int_equal(ks_imgcache__fetch(c, &h12, false, &b, &n),
			 KS_IMGCACHE_STALE_DRAW);
	free(b);
	assert_int_equal(ks_imgcache__await(c, "v@12", 12, 30, &b, &n),
			 -ENOENT);
	ks_imgcache__abandon(c, "v@12");
	ks_imgcache__stats(c, &st);
	assert_int_equal(st.stale, 4);
	assert_int_equal(st.shared, 1);
	assert_int_equal(st.flights, 0);
	ks_imgcache__free(c);
}

/* Claims are bounded: past KS_IMGCACHE_FLIGHTS keys in flight, a miss
 * draws without a claim (and nobody waits for it). */
static void test_claims_bounded(void **state)
{
	struct ks_imgcache *c = ks_imgcache__new(0, 0);
	struct ks_imgcache_ask q = { .epoch = 1 };
	char key[16], *b;
	size_t n;

	(void)state;
	for (int i = 0; i <= KS_IMGCACHE_FLIGHTS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		q.key = key;
		assert_int_equal(ks_imgcache__fetch(c, &q, false, &b, &n),
				 i < KS_IMGCACHE_FLIGHTS
					 ? KS_IMGCACHE_DRAW
					 : KS_IMGCACHE_DRAW_ALONE);
	}
	/* Unclaimed, so a second ask for it is not told to wait. */
	assert_int_equal(ks_imgcache__fetch(c, &q, false, &b, &n),
			 KS_IMGCACHE_DRAW_ALONE);
	ks_imgcache__free(c);
}

/* ---- through the API ------------------------------------------------- */

#define NOW_S 1700000000LL
#define OP "Bearer op-0123456789abcdef"
#define TA "Bearer acme-0123456789abcdef"
#define TB "Bearer beta-0123456789abcdef"

static const char tokens_text[] =
	"op-0123456789abcdef operator\n"
	"acme-0123456789abcdef tenant acme alpha\n"
	"beta-0123456789abcdef tenant beta beta\n";

static int setup(void **state)
{
	return apifx_setup(state, tokens_text, 10, NOW_S);
}

static int teardown(void **state)
{
	return apifx_teardown(state);
}

/* n exits of vm at second sec, latencies from lat up. */
static void feed(struct fx *f, const char *vm, int64_t sec, unsigned int n,
		 unsigned int lat)
{
	struct ks_record r;

	for (unsigned int i = 0; i < n; i++) {
		ks_record_init(&r, KS_M_VM_EXITS,
			       (uint64_t)sec * KS_NSEC_PER_SEC + i * 1000, 1);
		ks_record_set(&r, KS_F_VM, ks_sym_intern(vm));
		ks_record_set(&r, KS_F_PID, ks_sym_intern("100"));
		ks_record_set(&r, KS_F_VCPU, ks_sym_intern("0"));
		ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern("io"));
		ks_record_set(&r, KS_F_LATENCY, lat + i * 37);
		ks_engine__feed(f->e, &r, 1);
	}
}

static void tick(struct fx *f, int64_t sec)
{
	ks_engine__tick(f->e, (uint64_t)sec * KS_NSEC_PER_SEC);
}

/* Creates a vm,latency instrumentation in base; its id (static). */
static const char *create(struct fx *f, const char *auth, const char *base)
{
	static char id[16];
	char target[128];

	snprintf(target, sizeof(target), "%s/instrumentations", base);
	if (apifx_call(f, auth, "POST", target, "{\"module\":\"vm\",\"stat\":"
		 "\"exits\",\"decomposition\":[\"vm\",\"latency\"]}") != 201)
		fail_msg("create in %s: %d", base, f->r.status);
	snprintf(id, sizeof(id), "%s",
		 json_string_value(json_object_get(f->body, "id")));
	return id;
}

/* One heatmap request: its status, its body (malloc'd, NUL terminated),
 * and whether the cache answered it. */
struct answer {
	char *body;
	size_t len;
	bool hit;
	int status;
};

static void answer_fini(struct answer *a)
{
	free(a->body);
	memset(a, 0, sizeof(*a));
}

static struct answer get(struct fx *f, const char *auth, const char *target)
{
	struct answer a = { 0 };
	const char *h;

	a.status = apifx_call(f, auth, "GET", target, NULL);
	h = ks_http_resp__get_header(&f->r, "X-Kvmscope-Cache");
	if (a.status == 200) {
		assert_non_null(h);
		assert_true(!strcmp(h, "hit") || !strcmp(h, "miss"));
	}
	a.hit = h && !strcmp(h, "hit");
	a.body = malloc(f->r.len + 1);
	assert_non_null(a.body);
	if (f->r.len)
		memcpy(a.body, f->r.body, f->r.len);
	a.body[f->r.len] = '\0';	/* for strstr */
	a.len = f->r.len;
	return a;
}

static bool same(const struct answer *a, const struct answer *b)
{
	return a->len == b->len && !memcmp(a->body, b->body, a->len);
}

/* The base64 PNG of an answer (in f->body after get()). */
static const char *image_of(const struct answer *a, char *buf, size_t len)
{
	json_t *o = json_loadb(a->body, a->len, 0, NULL);
	const char *s;

	assert_non_null(o);
	s = json_string_value(json_object_get(o, "image"));
	assert_non_null(s);
	snprintf(buf, len, "%s", s);
	json_decref(o);
	return buf;
}

static void image_uri(char *buf, size_t len, const char *base,
		      const char *id, const char *extra)
{
	snprintf(buf, len, "%s/instrumentations/%s/value/heatmap/image?"
		 "duration=60%s", base, id, extra);
}

/* An instrumentation with a second of data, the clock past it, and the
 * URI of its default (live) image in uri; its id. */
static const char *first_view(struct fx *f, char *uri, size_t len)
{
	const char *id = create(f, OP, "/ca");

	feed(f, "alpha", NOW_S - 3, 50, 1000);
	tick(f, NOW_S + 1);
	image_uri(uri, len, "/ca", id, "");
	return id;
}

static void test_api_hit_and_second(void **state)
{
	struct fx *f = *state;
	struct answer a, b, c, d;
	char uri[256], ia[8192], ib[8192];

	first_view(f, uri, sizeof(uri));
	a = get(f, OP, uri);
	assert_int_equal(a.status, 200);
	assert_false(a.hit);
	b = get(f, OP, uri);
	assert_true(b.hit);
	assert_true(same(&a, &b));
	/* The second advances with new data: drawn again, and different. */
	feed(f, "alpha", NOW_S + 1, 80, 100000);
	tick(f, NOW_S + 2);
	c = get(f, OP, uri);
	assert_int_equal(c.status, 200);
	assert_false(c.hit);
	assert_false(same(&b, &c));
	assert_string_not_equal(image_of(&b, ia, sizeof(ia)),
				image_of(&c, ib, sizeof(ib)));
	/* The second advances with no new data: still not served from the
	 * old second (the default interval moved: start_time differs). */
	tick(f, NOW_S + 3);
	d = get(f, OP, uri);
	assert_false(d.hit);
	assert_false(same(&c, &d));
	answer_fini(&a);
	answer_fini(&b);
	answer_fini(&c);
	answer_fini(&d);
}

static void test_api_data_in_same_second(void **state)
{
	struct fx *f = *state;
	struct answer a, b, c;
	char uri[256], ia[8192], ib[8192];

	first_view(f, uri, sizeof(uri));
	a = get(f, OP, uri);
	b = get(f, OP, uri);
	assert_true(b.hit);
	/* Late records for a second inside the window, the clock unmoved:
	 * the data generation changed, so the picture is drawn again. */
	feed(f, "alpha", NOW_S - 2, 200, 500000);
	c = get(f, OP, uri);
	assert_false(c.hit);
	assert_string_not_equal(image_of(&b, ia, sizeof(ia)),
				image_of(&c, ib, sizeof(ib)));
	answer_fini(&a);
	answer_fini(&b);
	answer_fini(&c);
}

/* Records of the second in progress, which CA's default interval (ending a
 * second before now) does not draw, keep the picture: the live view is
 * drawn once a second, not once per record.  A late record inside the
 * interval still draws it again. */
static void test_api_newest_second_filling(void **state)
{
	struct fx *f = *state;
	struct answer a, b, c, d;
	char uri[256], ia[8192], ib[8192];
	const char *id = first_view(f, uri, sizeof(uri));

	feed(f, "alpha", NOW_S + 1, 10, 2000);
	a = get(f, OP, uri);
	assert_int_equal(a.status, 200);
	assert_false(a.hit);
	feed(f, "alpha", NOW_S + 1, 300, 700000);
	b = get(f, OP, uri);
	assert_true(b.hit);
	assert_true(same(&a, &b));
	feed(f, "alpha", NOW_S - 2, 200, 500000);
	c = get(f, OP, uri);
	assert_false(c.hit);
	assert_string_not_equal(image_of(&b, ia, sizeof(ia)),
				image_of(&c, ib, sizeof(ib)));
	/* An interval that takes in the newest second is drawn again for
	 * every record of it. */
	snprintf(uri, sizeof(uri), "/ca/instrumentations/%s/value/heatmap/"
		 "image?start_time=%lld&duration=60", id, NOW_S - 58);
	answer_fini(&a);
	answer_fini(&b);
	a = get(f, OP, uri);
	assert_int_equal(a.status, 200);
	b = get(f, OP, uri);
	assert_true(b.hit);
	feed(f, "alpha", NOW_S + 1, 300, 900000);
	d = get(f, OP, uri);
	assert_false(d.hit);
	assert_string_not_equal(image_of(&b, ia, sizeof(ia)),
				image_of(&d, ib, sizeof(ib)));
	answer_fini(&d);
	answer_fini(&a);
	answer_fini(&b);
	answer_fini(&c);
}

static void test_api_params(void **state)
{
	struct fx *f = *state;
	struct answer a, b, c, d, e;
	char uri[256], uri2[256], uri3[256];
	const char *id = create(f, OP, "/ca");

	feed(f, "alpha", NOW_S - 3, 50, 1000);
	feed(f, "beta", NOW_S - 2, 50, 9000);
	tick(f, NOW_S + 1);
	image_uri(uri, sizeof(uri), "/ca", id, "");
	image_uri(uri2, sizeof(uri2), "/ca", id, "&width=300&height=100");
	image_uri(uri3, sizeof(uri3), "/ca", id, "&selected=beta");
	a = get(f, OP, uri);
	b = get(f, OP, uri2);
	assert_false(b.hit);
	assert_false(same(&a, &b));
	c = get(f, OP, uri3);
	assert_false(c.hit);
	assert_false(same(&a, &c));
	assert_false(same(&b, &c));
	/* Each view is kept on its own. */
	d = get(f, OP, uri2);
	assert_true(d.hit);
	assert_true(same(&b, &d));
	e = get(f, OP, uri);
	assert_true(e.hit);
	assert_true(same(&a, &e));
	/* Other resources of the same view are other answers. */
	answer_fini(&e);
	snprintf(uri3, sizeof(uri3), "/ca/instrumentations/%s/value/heatmap/"
		 "grid?duration=60", id);
	e = get(f, OP, uri3);
	assert_false(e.hit);
	assert_false(same(&a, &e));
	answer_fini(&a);
	answer_fini(&b);
	answer_fini(&c);
	answer_fini(&d);
	answer_fini(&e);
}

static void test_api_modify_and_delete(void **state)
{
	struct fx *f = *state;
	struct answer a, b;
	char uri[256], inst[128];
	char id[16];

	snprintf(id, sizeof(id), "%s", create(f, OP, "/ca"));
	feed(f, "alpha", NOW_S - 3, 50, 1000);
	tick(f, NOW_S + 1);
	image_uri(uri, sizeof(uri), "/ca", id, "");
	a = get(f, OP, uri);
	answer_fini(&a);
	a = get(f, OP, uri);
	assert_true(a.hit);
	snprintf(inst, sizeof(inst), "/ca/instrumentations/%s", id);
	assert_int_equal(apifx_call(f, OP, "PUT", inst, "{\"retention-time\":120}"),
			 200);
	b = get(f, OP, uri);
	assert_false(b.hit);
	answer_fini(&b);
	/* Deleted: 404, whatever the cache holds. */
	assert_int_equal(apifx_call(f, OP, "DELETE", inst, NULL), 204);
	b = get(f, OP, uri);
	assert_int_equal(b.status, 404);
	assert_false(b.hit);
	answer_fini(&a);
	answer_fini(&b);
}

static void test_api_tenants_apart(void **state)
{
	struct fx *f = *state;
	struct answer a1, b1, a2, b2;
	char ua[256], ub[256], ia[8192], ib[8192];
	char ida[16], idb[16];

	/* Each namespace numbers its own: both get the same id. */
	snprintf(ida, sizeof(ida), "%s", create(f, TA, "/ca/customers/acme"));
	snprintf(idb, sizeof(idb), "%s", create(f, TB, "/ca/customers/beta"));
	feed(f, "alpha", NOW_S - 3, 50, 1000);
	feed(f, "beta", NOW_S - 3, 400, 300000);
	tick(f, NOW_S + 1);
	image_uri(ua, sizeof(ua), "/ca/customers/acme", ida, "");
	image_uri(ub, sizeof(ub), "/ca/customers/beta", idb, "");
	a1 = get(f, TA, ua);
	assert_int_equal(a1.status, 200);
	assert_false(a1.hit);
	b1 = get(f, TB, ub);
	assert_int_equal(b1.status, 200);
	assert_false(b1.hit);
	assert_non_null(strstr(b1.body, "\"beta\""));
	assert_null(strstr(b1.body, "alpha"));
	assert_string_not_equal(image_of(&a1, ia, sizeof(ia)),
				image_of(&b1, ib, sizeof(ib)));
	/* Each tenant's second request is its own picture again. */
	a2 = get(f, TA, ua);
	b2 = get(f, TB, ub);
	assert_true(a2.hit && b2.hit);
	assert_true(same(&a1, &a2));
	assert_true(same(&b1, &b2));
	assert_null(strstr(a2.body, "beta"));
	answer_fini(&b2);
	/* A tenant asking for the other's path is refused, not served. */
	b2 = get(f, TB, ua);
	assert_int_not_equal(b2.status, 200);
	assert_false(b2.hit);
	answer_fini(&a1);
	answer_fini(&b1);
	answer_fini(&a2);
	answer_fini(&b2);
}

/* One request from a thread of its own (apifx_call's, with its own
 * answer). */
struct viewer {
	struct fx *f;
	pthread_barrier_t *go;
	const char *target;
	struct ks_http_resp r;
	char cache[8];
};

static void *view_once(void *arg)
{
	struct viewer *v = arg;
	struct ks_http_req req = { .method = "GET", .authorization = OP };
	char path[512];
	struct ks_err err;
	const char *h;

	req.params = json_object();
	req.path = path;
	if (ks_params_from_target(req.params, v->target, path, sizeof(path),
				  NULL, "", 0, &err)) {
		json_decref(req.params);
		return NULL;
	}
	pthread_barrier_wait(v->go);
	ks_api__handle(v->f->a, &req, &v->r);
	json_decref(req.params);
	h = ks_http_resp__get_header(&v->r, "X-Kvmscope-Cache");
	snprintf(v->cache, sizeof(v->cache), "%s", h ? h : "");
	return NULL;
}

/* Many viewers of one view at once, its first second: one of them draws
 * it, the others wait for and share its bytes (without single flight,
 * each of those that came before the picture was stored drew it again). */
static void test_api_one_draw_for_many(void **state)
{
	struct fx *f = *state;
	struct viewer v[NASKERS];
	pthread_t th[NASKERS];
	pthread_barrier_t go;
	struct ks_imgcache_stats st;
	char uri[256];
	const char *id = create(f, OP, "/ca");
	int misses = 0;

	/* An hour of columns, so that a draw takes a while. */
	for (int64_t s = NOW_S - 600; s < NOW_S; s += 7)
		feed(f, "alpha", s, 3, 1000 + (unsigned int)(s % 5000));
	tick(f, NOW_S + 1);
	snprintf(uri, sizeof(uri), "/ca/instrumentations/%s/value/heatmap/"
		 "image?duration=3600", id);
	assert_int_equal(pthread_barrier_init(&go, NULL, NASKERS), 0);
	for (int i = 0; i < NASKERS; i++) {
		v[i] = (struct viewer){ .f = f, .go = &go, .target = uri };
		ks_http_resp_init(&v[i].r);
		assert_int_equal(pthread_create(&th[i], NULL, view_once, &v[i]),
				 0);
	}
	for (int i = 0; i < NASKERS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NASKERS; i++) {
		assert_int_equal(v[i].r.status, 200);
		assert_true(!strcmp(v[i].cache, "hit") ||
			    !strcmp(v[i].cache, "miss"));
		misses += !strcmp(v[i].cache, "miss");
		assert_int_equal(v[i].r.len, v[0].r.len);
		assert_memory_equal(v[i].r.body, v[0].r.body, v[0].r.len);
	}
	assert_int_equal(misses, 1);
	ks_imgcache__stats(f->a->imgcache, &st);
	assert_int_equal(st.puts, 1);
	assert_int_equal(st.flights, 0);
	for (int i = 0; i < NASKERS; i++)
		ks_http_resp_fini(&v[i].r);
	pthread_barrier_destroy(&go);
}

/* Waits until the drawing thread has nothing left to do. */
static void redraw_idle(struct fx *f, struct ks_workq_stats *ws)
{
	for (int i = 0; i < 5000; i++) {
		ks_workq__stats(f->a->redraw, ws);
		if (!ws->queued)
			return;
		sched_yield();
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	fail_msg("the drawing thread is still busy after 5 s");
}

/* A live view's next second, one viewer: its draw goes to the drawing
 * thread, which starts it at once, so the viewer waits for it and gets
 * this second's picture (a miss), the bytes the next request hits. */
static void test_api_handoff_alone(void **state)
{
	struct fx *f = *state;
	struct ks_workq_stats ws;
	struct answer a, c, d;
	char uri[256];

	/* the wait is a budget; here one that never runs out */
	f->a->redraw_wait_ms = 60000;
	first_view(f, uri, sizeof(uri));
	a = get(f, OP, uri);
	assert_false(a.hit);
	assert_null(f->a->redraw);	/* no previous answer: drawn inline */
	feed(f, "alpha", NOW_S + 1, 80, 100000);
	tick(f, NOW_S + 2);
	c = get(f, OP, uri);
	assert_int_equal(c.status, 200);
	assert_false(c.hit);
	assert_false(same(&a, &c));
	d = get(f, OP, uri);
	assert_true(d.hit);
	assert_true(same(&c, &d));
	assert_non_null(f->a->redraw);
	redraw_idle(f, &ws);
	assert_int_equal(ws.pushed, 1);
	assert_int_equal(ws.done, 1);
	answer_fini(&a);
	answer_fini(&c);
	answer_fini(&d);
}

/* Busy heatmaps (more than KS_REDRAW_BUSY requests in this second and
 * the one before): the claimer of a view's new second does not wait for
 * its draw, even when it starts at once, and answers the second before's
 * picture; the thread's picture is the next request's hit. */
static void test_api_handoff_busy(void **state)
{
	struct fx *f = *state;
	struct ks_workq_stats ws;
	struct answer a, b, d;
	char uri[256];
	const char *h;

	f->a->redraw_wait_ms = 60000;	/* would wait, were it not busy */
	first_view(f, uri, sizeof(uri));
	a = get(f, OP, uri);
	for (int i = 0; i < KS_REDRAW_BUSY; i++) {
		b = get(f, OP, uri);
		assert_true(b.hit);
		answer_fini(&b);
	}
	feed(f, "alpha", NOW_S + 1, 80, 100000);
	tick(f, NOW_S + 2);
	assert_int_equal(apifx_call(f, OP, "GET", uri, NULL), 200);
	h = ks_http_resp__get_header(&f->r, "X-Kvmscope-Cache");
	assert_non_null(h);
	assert_string_equal(h, "stale");
	assert_int_equal(f->r.len, a.len);
	assert_memory_equal(f->r.body, a.body, a.len);
	redraw_idle(f, &ws);
	assert_int_equal(ws.done, 1);
	d = get(f, OP, uri);
	assert_true(d.hit);
	assert_false(same(&a, &d));
	answer_fini(&a);
	answer_fini(&d);
}

#define NVIEWS 8

/* Many views' next second at once: each first request hands its draw
 * off; one queued behind another's answers the previous second's picture
 * at once (stale), one whose draw starts at once waits for it (miss).
 * Either way the bytes are what the header says, and once the thread is
 * done every view's picture of this second is a hit.  Run with the
 * default wait, and with none (then every one is stale). */
static void handoff_many(struct fx *f, int want_stale)
{
	struct viewer v[NVIEWS];
	struct answer prev[NVIEWS], now[NVIEWS];
	char uri[NVIEWS][256], extra[32];
	struct ks_imgcache_stats st;
	struct ks_workq_stats ws;
	pthread_t th[NVIEWS];
	pthread_barrier_t go;
	const char *id = create(f, OP, "/ca");
	int stale = 0;

	for (int64_t s = NOW_S - 600; s < NOW_S; s += 7)
		feed(f, "alpha", s, 3, 1000 + (unsigned int)(s % 5000));
	tick(f, NOW_S + 1);
	for (int i = 0; i < NVIEWS; i++) {
		snprintf(extra, sizeof(extra), "0&height=%d", 100 + i);
		image_uri(uri[i], sizeof(uri[i]), "/ca", id, extra);
		prev[i] = get(f, OP, uri[i]);
		assert_int_equal(prev[i].status, 200);
	}
	feed(f, "alpha", NOW_S + 1, 80, 100000);
	tick(f, NOW_S + 2);
	assert_int_equal(pthread_barrier_init(&go, NULL, NVIEWS), 0);
	for (int i = 0; i < NVIEWS; i++) {
		v[i] = (struct viewer){ .f = f, .go = &go, .target = uri[i] };
		ks_http_resp_init(&v[i].r);
		assert_int_equal(pthread_create(&th[i], NULL, view_once, &v[i]),
				 0);
	}
	for (int i = 0; i < NVIEWS; i++)
		pthread_join(th[i], NULL);
	redraw_idle(f, &ws);
	for (int i = 0; i < NVIEWS; i++) {
		now[i] = get(f, OP, uri[i]);
		assert_true(now[i].hit);
		assert_int_equal(v[i].r.status, 200);
		if (!strcmp(v[i].cache, "stale")) {
			stale++;
			assert_int_equal(v[i].r.len, prev[i].len);
			assert_memory_equal(v[i].r.body, prev[i].body,
					    prev[i].len);
		} else {
			assert_string_equal(v[i].cache, "miss");
			assert_int_equal(v[i].r.len, now[i].len);
			assert_memory_equal(v[i].r.body, now[i].body,
					    now[i].len);
		}
		assert_false(same(&prev[i], &now[i]));
	}
	print_message("%d of %d viewers answered the previous second's\n",
		      stale, NVIEWS);
	if (want_stale >= 0)
		assert_int_equal(stale, want_stale);
	assert_int_equal(ws.pushed, NVIEWS);
	assert_int_equal(ws.done, NVIEWS);
	ks_imgcache__stats(f->a->imgcache, &st);
	assert_int_equal(st.flights, 0);
	for (int i = 0; i < NVIEWS; i++) {
		ks_http_resp_fini(&v[i].r);
		answer_fini(&prev[i]);
		answer_fini(&now[i]);
	}
	pthread_barrier_destroy(&go);
}

static void test_api_handoff_many(void **state)
{
	handoff_many(*state, -1);
}

static void test_api_handoff_no_wait(void **state)
{
	struct fx *f = *state;

	f->a->redraw_wait_ms = 0;
	handoff_many(f, NVIEWS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_put),
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_single_flight),
		cmocka_unit_test(test_abandon),
		cmocka_unit_test(test_stale_view),
		cmocka_unit_test(test_handoff),
		cmocka_unit_test(test_claims_bounded),
		cmocka_unit_test_setup_teardown(test_api_hit_and_second, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_data_in_same_second,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_newest_second_filling,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_params, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_modify_and_delete,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_tenants_apart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_one_draw_for_many,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_handoff_alone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_handoff_many, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_handoff_no_wait, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_handoff_busy, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
