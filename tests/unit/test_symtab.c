/* test_symtab.c - nothing a guest or a client sends grows the agent for good.
 *
 * The index (util/dict) against a reference under random inserts and
 * deletes; counted symbols freed by the second sweep after their last use,
 * pinned ones never; predicate constants freed with what used them, even
 * when the create is refused; a flood of new guest RIPs, cr3s and MMIO
 * addresses through the sources' record builders and the engine stays
 * within the per-VM, per-slot and memory caps, with every refusal counted;
 * raw answers and creates are checked against their budgets.
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

#include "engine/engine.h"
#include "engine/query.h"
#include "engine/symtab.h"
#include "source/bpfrec.h"
#include "source/samplerec.h"
#include "util/dict.h"

#define NS KS_NSEC_PER_SEC

/* ---- util/dict against a reference ---- */

#define NKEYS 4096
static uint64_t keyof[NKEYS + 1];	/* id -> key */

static uint64_t h_id(void *ctx, uint32_t id)
{
	(void)ctx;
	/* A poor hash on purpose: long probe runs test deletion. */
	return keyof[id] % 97;
}

static bool eq_id(void *ctx, uint32_t id, const void *k)
{
	(void)ctx;
	return keyof[id] == *(const uint64_t *)k;
}

static void test_dict_random(void **state)
{
	struct ks_dict d = KS_DICT_INIT;
	bool in[NKEYS + 1] = { false };
	uint32_t seed = 12345;

	(void)state;
	for (uint32_t id = 1; id <= NKEYS; id++)
		keyof[id] = (uint64_t)id * 7919;
	for (int step = 0; step < 200000; step++) {
		uint32_t id, *s;

		seed = seed * 1103515245u + 12345u;
		id = 1 + (seed >> 8) % NKEYS;
		assert_int_equal(ks_dict__reserve(&d, d.n + 1, h_id, NULL), 0);
		s = ks_dict__slot(&d, h_id(NULL, id), eq_id, NULL, &keyof[id]);
		assert_int_equal(*s != 0, in[id]);
		if (*s)
			ks_dict__del(&d, id, h_id(NULL, id), h_id, NULL);
		else
			ks_dict__set(&d, s, id);
		in[id] = !in[id];
		if (step % 10000)
			continue;
		for (uint32_t k = 1; k <= NKEYS; k++)
			assert_int_equal(ks_dict__find(&d, h_id(NULL, k), eq_id,
						       NULL, &keyof[k]),
					 in[k] ? k : 0);
	}
	ks_dict__fini(&d);
}

/* ---- symbols ---- */

static void test_sweep_lifetimes(void **state)
{
	uint32_t pin, tr, held, both, id2;

	(void)state;
	ks_sym_reset();
	pin = ks_sym_intern("hlt");
	tr = ks_sym_transient("ffffffff81000000");
	held = ks_sym_get("web1");
	assert_true(pin && tr && held);
	assert_int_equal(ks_sym_refs(held), 1);
	/* A transient survives the first sweep (a record in flight), not
	 * the second. */
	ks_sym_sweep();
	assert_string_equal(ks_sym_str(tr), "ffffffff81000000");
	ks_sym_sweep();
	assert_string_equal(ks_sym_str(tr), "");
	assert_int_equal(ks_sym_find("ffffffff81000000"), 0);
	/* Held and pinned ones stay; one only ever held (a constant) goes
	 * with its last reference, one also put in records two sweeps on. */
	assert_string_equal(ks_sym_str(held), "web1");
	assert_string_equal(ks_sym_str(pin), "hlt");
	ks_sym_put(held);
	assert_string_equal(ks_sym_str(held), "");
	both = ks_sym_get("web2");
	assert_int_equal(ks_sym_transient("web2"), both);
	ks_sym_put(both);
	ks_sym_sweep();
	assert_string_equal(ks_sym_str(both), "web2");
	ks_sym_sweep();
	assert_string_equal(ks_sym_str(both), "");
	/* A freed id waits two sweeps before it is handed out again: tr's
	 * and held's are due, both's (freed by the last sweep) is not. */
	id2 = ks_sym_transient("new");
	assert_int_equal(id2, tr);
	assert_int_equal(ks_sym_transient("newer"), held);
	assert_int_not_equal(ks_sym_transient("newest"), both);
	/* Interning a counted string pinned pins it. */
	assert_int_equal(ks_sym_intern("new"), id2);
	ks_sym_sweep();
	ks_sym_sweep();
	assert_string_equal(ks_sym_str(id2), "new");
	assert_int_equal(ks_sym_count(), 2);	/* "hlt" and "new" */
	ks_sym_reset();
}

static void test_caps(void **state)
{
	struct ks_sym_stats st;
	char s[32];

	(void)state;
	ks_sym_reset();
	ks_sym_set_limits(1024, 100);
	/* 100 new guest keys per VM and epoch. */
	for (int i = 0; i < 500; i++) {
		snprintf(s, sizeof(s), "%x", 0x1000 + i);
		if (i < 100)
			assert_int_not_equal(ks_sym_guest_n(7, s, strlen(s)), 0);
		else
			assert_int_equal(ks_sym_guest_n(7, s, strlen(s)), 0);
	}
	/* Another VM has its own cap; a known key is no new one. */
	assert_int_not_equal(ks_sym_guest_n(8, "abc", 3), 0);
	assert_int_not_equal(ks_sym_guest_n(7, "1000", 4), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(s, sizeof(s), "c%d", i);
		ks_sym_transient(s);
	}
	ks_sym_stats(&st);
	assert_int_equal(st.scope_dropped, 400);
	assert_int_equal(st.count, 1024);
	assert_int_equal(st.dropped, 2000 - (1024 - 101));
	/* Pinned ones are bounded by the code, not the cap. */
	assert_int_not_equal(ks_sym_intern("pinned"), 0);
	/* The next epoch the VM may make new keys again (once the
	 * transients are gone, there is room in all too). */
	ks_sym_sweep();
	ks_sym_sweep();
	assert_int_not_equal(ks_sym_guest_n(7, "fresh", 5), 0);
	ks_sym_set_limits(0, 0);
	ks_sym_reset();
}

/* ---- predicate constants ---- */

static json_t *params_with_constants(int base, int n)
{
	json_t *or = json_array();
	char s[64];

	for (int i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "constant-%d-%d", base, i);
		json_array_append_new(or, json_pack("{s:[s,s]}", "eq",
						    "vleavereason", s));
	}
	return json_pack("{s:s,s:s,s:{s:o}}", "module", "vm", "stat", "exits",
			 "predicate", "or", or);
}

static int create(struct ks_engine *e, const char *owner, json_t *p,
		  struct ks_err *err)
{
	struct ks_instn_conf c;
	int rc = ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c, err);

	json_decref(p);
	if (rc)
		return rc;
	rc = ks_engine__create_in(e, owner, &c, NULL, err);
	if (rc)
		ks_instn_conf_fini(&c);
	return rc;
}

static void test_refused_creates_keep_nothing(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_err err;
	size_t before;

	(void)state;
	ks_sym_reset();
	ks_engine__set_max(e, 1);
	assert_int_equal(create(e, "acme", params_with_constants(0, 10), &err),
			 0);
	before = ks_sym_count();
	for (int i = 1; i <= 500; i++)
		assert_int_equal(create(e, "acme", params_with_constants(i, 100),
					&err), -ENOSPC);
	ks_sym_sweep();
	ks_sym_sweep();
	assert_int_equal(ks_sym_count(), before);
	ks_engine__free(e);
	ks_sym_reset();
}

static void test_delete_returns_symbols(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *in;
	struct ks_err err;
	size_t before;

	(void)state;
	ks_sym_reset();
	before = ks_sym_count();
	for (int i = 0; i < 50; i++)
		assert_int_equal(create(e, "", params_with_constants(i, 100),
					&err), 0);
	assert_int_equal(ks_sym_count(), before + 5000);
	/* Clone-like copies hold their own references. */
	in = ks_engine__get(e, "1");
	{
		struct ks_instn_conf copy;

		assert_int_equal(ks_instn_conf_copy(&copy, &in->conf), 0);
		for (int i = 1; i <= 50; i++) {
			char id[16];

			snprintf(id, sizeof(id), "%d", i);
			assert_int_equal(ks_engine__delete(e, id), 0);
		}
		ks_sym_sweep();
		ks_sym_sweep();
		assert_int_equal(ks_sym_count(), before + 100);
		ks_instn_conf_fini(&copy);
	}
	ks_sym_sweep();
	ks_sym_sweep();
	assert_int_equal(ks_sym_count(), before);
	ks_engine__free(e);
	ks_sym_reset();
}

/* ---- guest floods through the record builders and the engine ---- */

static struct ks_instn *create_conf(struct ks_engine *e, const char *params)
{
	json_t *p = json_loads(params, 0, NULL);
	struct ks_instn_conf c;
	struct ks_instn *in = NULL;
	struct ks_err err;

	assert_non_null(p);
	assert_int_equal(ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c,
					     &err), 0);
	json_decref(p);
	assert_int_equal(ks_engine__create(e, &c, &in, &err), 0);
	return in;
}

static void test_guest_flood(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *byrip, *bycr3, *bygpa;
	struct ks_sym_stats st;
	uint64_t t0 = 1000 * NS;

	(void)state;
	ks_sym_reset();
	ks_sym_set_limits(20000, 3000);
	ks_engine__set_memory(e, 0, 1000, 0);
	byrip = create_conf(e, "{\"module\":\"vm\",\"stat\":\"thread_samples\","
			    "\"decomposition\":\"guestrip\"}");
	bycr3 = create_conf(e, "{\"module\":\"vm\",\"stat\":\"thread_samples\","
			    "\"decomposition\":\"vmmmuctx\"}");
	bygpa = create_conf(e, "{\"module\":\"vm\",\"stat\":\"mmio_ops\","
			    "\"decomposition\":\"gpa\"}");
	ks_engine__tick(e, t0);
	/* 20 seconds, two VMs, 5000 new RIPs, cr3s and gpas per VM and
	 * second: what a hostile guest running many processes can make. */
	for (int sec = 0; sec < 20; sec++) {
		for (uint32_t vm = 1; vm <= 2; vm++) {
			for (uint64_t i = 0; i < 5000; i++) {
				uint64_t n = (uint64_t)sec * 5000 + i;
				struct ks_sample_key k = {
					.cr3 = 0x100000000ull + n * 4096,
					.rip = 0xffffffff81000000ull + n,
					.tgid = 1000 + vm, .vcpu = 0,
					.mode = KS_SMODE_KERNEL,
					.flags = KS_SMP_CR3 | KS_SMP_RIP,
				};
				struct ks_uexit_key u = {
					.addr = 0xfe000000ull + n * 8,
					.tgid = 1000 + vm, .vcpu = 0,
					.arg = 4, .kind = KS_UXK_MMIO,
					.sub = 2,
				};
				struct ks_ident id = { 0, 0, 0 };
				struct ks_record r[2];
				uint64_t ts = t0 + sec * NS + i;

				assert_int_equal(ks_samplerec(&k, 1, ts, 10000000,
							      &r[0]), 0);
				assert_int_equal(ks_bpfrec_uexit(&u, 1, ts,
								 10000000,
								 &id, &r[1]),
						 0);
				ks_engine__feed(e, r, 2);
			}
		}
		ks_engine__tick(e, t0 + (sec + 1) * NS);
		ks_sym_sweep();
		ks_sym_stats(&st);
		/* Never more than the cap, whatever the guests do: the
		 * slots (1000 keys each) hold what they count, and each VM
		 * makes at most 3000 new keys a second. */
		assert_true(st.count - st.pinned <= 20000);
		assert_true(st.count <= (size_t)(sec + 1) * 3 * 1000 +
					 2 * 2 * 3000 + 100);
	}
	ks_sym_stats(&st);
	assert_true(st.scope_dropped > 0);
	assert_true(st.dropped > 0);
	assert_true(ks_engine__stats(e)->keycap > 0);
	assert_true(st.freed > 0);
	for (int s = 0; s < 20; s++) {
		struct ks_value v;

		assert_int_equal(ks_dataset__value(byrip->ds, 1000 + s, 1, &v), 0);
		assert_true(v.n <= 1000);
		ks_value_fini(&v);
	}
	(void)bycr3;
	(void)bygpa;
	/* Deleting them returns every key. */
	assert_int_equal(ks_engine__delete(e, "1"), 0);
	assert_int_equal(ks_engine__delete(e, "2"), 0);
	assert_int_equal(ks_engine__delete(e, "3"), 0);
	ks_sym_sweep();
	ks_sym_sweep();
	ks_sym_stats(&st);
	assert_true(st.count < 100);
	ks_engine__free(e);
	ks_sym_set_limits(0, 0);
	ks_sym_reset();
}

/* ---- budgets ---- */

static void test_raw_budget(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn *in;
	struct ks_query q;
	struct ks_err err;
	json_t *params, *v = NULL;
	uint64_t t0 = 5000 * NS;
	char key[16];

	(void)state;
	ks_sym_reset();
	in = create_conf(e, "{\"module\":\"vm\",\"stat\":\"exits\",\"idle-max\":0,"
			 "\"decomposition\":\"vleavereason\"}");
	ks_engine__tick(e, t0);
	for (int s = 0; s < 100; s++)
		for (int k = 0; k < 50; k++) {
			if (!k)
				ks_engine__tick(e, t0 + s * NS);
			struct ks_record r;

			snprintf(key, sizeof(key), "r%d", k);
			ks_record_init(&r, KS_M_VM_EXITS, t0 + s * NS, 1);
			ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern(key));
			ks_engine__feed(e, &r, 1);
		}
	ks_engine__tick(e, t0 + 101 * NS);
	params = json_pack("{s:I,s:i,s:i}", "start_time", (json_int_t)5000,
			   "duration", 1, "ndatapoints", 100);
	assert_int_equal(ks_query_parse(params, 1, 5101, 1, &q, &err), 0);
	json_decref(params);
	/* 100 points of 50 keys: 5000 numbers. */
	assert_int_equal(ks_query_value_max(in, &q, 4999, &v, &err), -EINVAL);
	assert_null(v);
	assert_string_equal(err.param, "ndatapoints");
	assert_non_null(strstr(err.msg, "4999"));
	assert_int_equal(ks_query_value_max(in, &q, 5000, &v, &err), 0);
	assert_int_equal(json_array_size(v), 100);
	json_decref(v);
	/* ndatapoints alone can tell before anything is computed. */
	assert_int_equal(ks_query_value_max(in, &q, 99, &v, &err), -EINVAL);
	ks_engine__free(e);
	ks_sym_reset();
}

static void test_memory_budget(void **state)
{
	struct ks_engine *e = ks_engine__new();
	struct ks_instn_conf c;
	struct ks_engine_memory m;
	struct ks_instn *in;
	struct ks_err err;
	json_t *p;
	uint64_t t0 = 9000 * NS;
	char key[16];

	(void)state;
	ks_sym_reset();
	ks_engine__set_memory(e, 1 << 20, 100000, 0);
	in = create_conf(e, "{\"module\":\"vm\",\"stat\":\"exits\",\"idle-max\":0,"
			 "\"decomposition\":\"vleavereason\","
			 "\"retention-time\":3600}");
	m = ks_engine__memory(e);
	assert_true(m.used > 3600 * 64 && m.used < m.budget);
	p = json_pack("{s:s,s:s,s:i}", "module", "vm", "stat", "exits",
		      "retention-time", 3600);
	assert_int_equal(ks_instn_conf_parse(p, NULL, KS_INSTN_CREATE, &c,
					     &err), 0);
	json_decref(p);
	assert_int_equal(ks_engine__create(e, &c, NULL, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "memory budget"));
	ks_instn_conf_fini(&c);
	assert_int_equal(ks_engine__stats(e)->refused, 1);
	assert_int_equal(ks_engine__count(e), 1);
	/* Data past the budget: keys new to a slot are refused and counted,
	 * known ones still count. */
	ks_engine__tick(e, t0);
	for (int k = 0; k < 20000; k++) {
		struct ks_record r;

		snprintf(key, sizeof(key), "k%d", k);
		ks_record_init(&r, KS_M_VM_EXITS, t0 + (k % 1000) * 1000, 1);
		ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern(key));
		ks_engine__feed(e, &r, 1);
	}
	ks_engine__tick(e, t0 + NS / 2);
	m = ks_engine__memory(e);
	assert_true(m.used > m.budget);
	{
		struct ks_record r;

		ks_record_init(&r, KS_M_VM_EXITS, t0 + 2000, 1);
		ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern("new"));
		ks_engine__feed(e, &r, 1);
		assert_int_equal(ks_engine__stats(e)->overbudget, 1);
		ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern("k1"));
		ks_engine__feed(e, &r, 1);
		assert_int_equal(ks_engine__stats(e)->overbudget, 1);
	}
	/* Deleting gives the budget back. */
	assert_int_equal(ks_engine__delete(e, in->id), 0);
	assert_int_equal(ks_engine__memory(e).used, 0);
	ks_engine__free(e);
	ks_sym_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dict_random),
		cmocka_unit_test(test_sweep_lifetimes),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_refused_creates_keep_nothing),
		cmocka_unit_test(test_delete_returns_symbols),
		cmocka_unit_test(test_guest_flood),
		cmocka_unit_test(test_raw_budget),
		cmocka_unit_test(test_memory_budget),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	ks_sym_reset();
	return rc;
}
