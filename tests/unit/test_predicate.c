/* test_predicate.c - CA predicates: validation, evaluation, round trips.
 *
 * Every validation rule is checked to fail with param "predicate" and a
 * message naming the problem and where it is.  Evaluation is checked on
 * crafted records at the edges of each comparison, and on random
 * predicates and records against a reference evaluator written here
 * independently (it walks the JSON and compares strings, not symtab ids).
 * The random predicates also check that to_json -> parse -> to_json is a
 * fixed point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/predicate.h"
#include "engine/symtab.h"

static struct ks_pred *parse_ok(const char *text, enum ks_metric m)
{
	struct ks_err err = { "", "" };
	struct ks_pred *p = ks_pred__parse_str(text, m, &err);

	if (!p)
		fail_msg("%s: unexpected error: %s", text, err.msg);
	return p;
}

/* Fails unless text is rejected with a message containing want. */
static void parse_bad(const char *text, enum ks_metric m, const char *want)
{
	struct ks_err err = { "", "" };
	struct ks_pred *p = ks_pred__parse_str(text, m, &err);

	if (p) {
		ks_pred__free(p);
		fail_msg("%s: accepted, expected \"%s\"", text, want);
	}
	assert_string_equal(err.param, "predicate");
	if (!strstr(err.msg, want))
		fail_msg("%s: message \"%s\" lacks \"%s\"", text, err.msg, want);
}

static void rec_init(struct ks_record *r, enum ks_metric m)
{
	memset(r, 0xa5, sizeof(*r));	/* garbage in absent fields */
	ks_record_init(r, m, 0, 1);
}

static bool eval_str(const char *text, enum ks_metric m,
		     const struct ks_record *r)
{
	struct ks_pred *p = parse_ok(text, m);
	bool v = ks_pred__eval(p, r);

	ks_pred__free(p);
	return v;
}

static void test_trivial(void **state)
{
	struct ks_pred *p = parse_ok("{}", KS_M_VM_EXITS);
	struct ks_record r;
	json_t *j;

	(void)state;
	rec_init(&r, KS_M_VM_EXITS);
	assert_true(ks_pred__trivial(p));
	assert_true(ks_pred__eval(p, &r));
	assert_int_equal(ks_pred__fields(p), 0);
	j = ks_pred__to_json(p);
	assert_true(json_is_object(j));
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
	ks_pred__free(p);
	p = parse_ok("{\"eq\":[\"vm\",\"a\"]}", KS_M_VM_EXITS);
	assert_false(ks_pred__trivial(p));
	ks_pred__free(p);
}

static void test_discrete_eq_ne(void **state)
{
	const char *eq = "{\"eq\":[\"vleavereason\",\"io\"]}";
	const char *ne = "{\"ne\":[\"vleavereason\",\"io\"]}";
	struct ks_record r;

	(void)state;
	rec_init(&r, KS_M_VM_EXITS);
	ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern("io"));
	assert_true(eval_str(eq, KS_M_VM_EXITS, &r));
	assert_false(eval_str(ne, KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern("hlt"));
	assert_false(eval_str(eq, KS_M_VM_EXITS, &r));
	assert_true(eval_str(ne, KS_M_VM_EXITS, &r));
	/* a constant interned before or after the record's value matches */
	ks_record_set(&r, KS_F_VM, ks_sym_intern("web1"));
	assert_true(eval_str("{\"eq\":[\"vm\",\"web1\"]}", KS_M_VM_EXITS, &r));
	assert_true(eval_str("{\"ne\":[\"vm\",\"never-seen\"]}",
			     KS_M_VM_EXITS, &r));
	/* the empty string is a value like any other */
	assert_false(eval_str("{\"eq\":[\"vm\",\"\"]}", KS_M_VM_EXITS, &r));
}

static void test_numeric_edges(void **state)
{
	static const struct {
		const char *op;
		uint64_t c;
		uint64_t v;
		bool want;
	} t[] = {
		{ "eq", 1000, 1000, true }, { "eq", 1000, 1001, false },
		{ "ne", 1000, 1000, false }, { "ne", 1000, 999, true },
		{ "lt", 1000, 999, true }, { "lt", 1000, 1000, false },
		{ "le", 1000, 1000, true }, { "le", 1000, 1001, false },
		{ "gt", 1000, 1001, true }, { "gt", 1000, 1000, false },
		{ "ge", 1000, 1000, true }, { "ge", 1000, 999, false },
		{ "gt", 0, 0, false }, { "ge", 0, 0, true },
		{ "lt", 0, 0, false },
		/* exact beyond 2^53 (no rounding through doubles) */
		{ "eq", 9007199254740993ULL, 9007199254740993ULL, true },
		{ "eq", 9007199254740993ULL, 9007199254740992ULL, false },
		{ "gt", 9007199254740992ULL, 9007199254740993ULL, true },
		/* field values beyond INT64_MAX compare as unsigned */
		{ "gt", INT64_MAX, (uint64_t)INT64_MAX + 1, true },
		{ "lt", INT64_MAX, UINT64_MAX, false },
	};
	struct ks_record r;
	char text[128];

	(void)state;
	rec_init(&r, KS_M_VM_EXITS);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "{\"%s\":[\"latency\",%llu]}",
			 t[i].op, (unsigned long long)t[i].c);
		ks_record_set(&r, KS_F_LATENCY, t[i].v);
		if (eval_str(text, KS_M_VM_EXITS, &r) != t[i].want)
			fail_msg("%s with latency %llu: want %d", text,
				 (unsigned long long)t[i].v, t[i].want);
	}
}

/* Negative constants are accepted with exact semantics for unsigned
 * fields, and kept as written. */
static void test_negative_constants(void **state)
{
	static const struct {
		const char *op;
		bool want;
	} t[] = {
		{ "eq", false }, { "ne", true }, { "lt", false },
		{ "le", false }, { "gt", true }, { "ge", true },
	};
	uint64_t values[] = { 0, 1, (uint64_t)INT64_MAX + 1, UINT64_MAX };
	struct ks_record r;
	char text[128];
	json_t *j;

	(void)state;
	rec_init(&r, KS_M_VM_EXITS);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ks_pred *p;

		snprintf(text, sizeof(text), "{\"%s\":[\"latency\",-1]}",
			 t[i].op);
		p = parse_ok(text, KS_M_VM_EXITS);
		for (size_t k = 0; k < 4; k++) {
			ks_record_set(&r, KS_F_LATENCY, values[k]);
			assert_int_equal(ks_pred__eval(p, &r), t[i].want);
		}
		j = ks_pred__to_json(p);
		assert_int_equal(json_integer_value(json_array_get(
			json_object_get(j, t[i].op), 1)), -1);
		json_decref(j);
		ks_pred__free(p);
	}
	ks_record_set(&r, KS_F_LATENCY, 0);
	assert_true(eval_str("{\"gt\":[\"latency\",-9223372036854775808]}",
			     KS_M_VM_EXITS, &r));
}

static void test_integral_reals(void **state)
{
	struct ks_pred *p = parse_ok("{\"ge\":[\"latency\",1e3]}",
				     KS_M_VM_EXITS);
	struct ks_record r;
	json_t *j;

	(void)state;
	rec_init(&r, KS_M_VM_EXITS);
	ks_record_set(&r, KS_F_LATENCY, 1000);
	assert_true(ks_pred__eval(p, &r));
	ks_record_set(&r, KS_F_LATENCY, 999);
	assert_false(ks_pred__eval(p, &r));
	j = ks_pred__to_json(p);
	assert_true(json_is_integer(json_array_get(json_object_get(j, "ge"),
						   1)));
	assert_int_equal(json_integer_value(json_array_get(
		json_object_get(j, "ge"), 1)), 1000);
	json_decref(j);
	ks_pred__free(p);
	parse_bad("{\"ge\":[\"latency\",1.5]}", KS_M_VM_EXITS,
		  "ge: value 1.5 for field \"latency\" must be an integer");
	parse_bad("{\"ge\":[\"latency\",1e30]}", KS_M_VM_EXITS,
		  "is out of range");
	parse_bad("{\"ge\":[\"latency\",9.3e18]}", KS_M_VM_EXITS,
		  "is out of range");
}

static void test_compound(void **state)
{
	const char *both = "{\"and\":[{\"eq\":[\"vleavereason\",\"io\"]},"
			   "{\"gt\":[\"latency\",1000]}]}";
	const char *either = "{\"or\":[{\"eq\":[\"vleavereason\",\"io\"]},"
			     "{\"eq\":[\"vleavereason\",\"hlt\"]},"
			     "{\"gt\":[\"latency\",1000]}]}";
	struct ks_record r;
	struct ks_pred *p;

	(void)state;
	rec_init(&r, KS_M_VM_EXITS);
	ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern("io"));
	ks_record_set(&r, KS_F_LATENCY, 1001);
	assert_true(eval_str(both, KS_M_VM_EXITS, &r));
	assert_true(eval_str(either, KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_LATENCY, 1000);
	assert_false(eval_str(both, KS_M_VM_EXITS, &r));
	assert_true(eval_str(either, KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern("hlt"));
	assert_true(eval_str(either, KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_VLEAVEREASON, ks_sym_intern("msr"));
	assert_false(eval_str(either, KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_LATENCY, 5000);
	assert_true(eval_str(either, KS_M_VM_EXITS, &r));

	/* nested: the last child of an and being an or (subtree skipping) */
	p = parse_ok("{\"and\":[{\"or\":[{\"eq\":[\"vm\",\"a\"]},"
		     "{\"eq\":[\"vm\",\"b\"]}]},{\"or\":[{\"lt\":[\"latency\",10]},"
		     "{\"gt\":[\"latency\",100]}]},{\"ne\":[\"vcpu\",\"0\"]}]}",
		     KS_M_VM_EXITS);
	assert_int_equal(ks_pred__fields(p), (1u << KS_F_VM) |
			 (1u << KS_F_LATENCY) | (1u << KS_F_VCPU));
	ks_record_set(&r, KS_F_VM, ks_sym_intern("b"));
	ks_record_set(&r, KS_F_VCPU, ks_sym_intern("1"));
	ks_record_set(&r, KS_F_LATENCY, 5);
	assert_true(ks_pred__eval(p, &r));
	ks_record_set(&r, KS_F_LATENCY, 50);
	assert_false(ks_pred__eval(p, &r));
	ks_record_set(&r, KS_F_LATENCY, 500);
	assert_true(ks_pred__eval(p, &r));
	ks_record_set(&r, KS_F_VCPU, ks_sym_intern("0"));
	assert_false(ks_pred__eval(p, &r));
	ks_record_set(&r, KS_F_VCPU, ks_sym_intern("1"));
	ks_record_set(&r, KS_F_VM, ks_sym_intern("c"));
	assert_false(ks_pred__eval(p, &r));
	ks_pred__free(p);
}

/* An or of eq leaves on one field is evaluated as a set: same answers as
 * leaf by leaf, an absent field false, and an or that mixes fields, or
 * holds a constant leaf (a negative eq), still walked leaf by leaf. */
static void test_anyeq_set(void **state)
{
	const char *set = "{\"or\":[{\"eq\":[\"vm\",\"a\"]},"
			  "{\"eq\":[\"vm\",\"b\"]},{\"eq\":[\"vm\",\"c\"]}]}";
	const char *mixed = "{\"or\":[{\"eq\":[\"vm\",\"a\"]},"
			    "{\"eq\":[\"vcpu\",\"1\"]}]}";
	const char *neg = "{\"or\":[{\"eq\":[\"latency\",-1]},"
			  "{\"eq\":[\"latency\",7]}]}";
	struct ks_record r;

	(void)state;
	rec_init(&r, KS_M_VM_EXITS);
	assert_false(eval_str(set, KS_M_VM_EXITS, &r));	/* no vm */
	ks_record_set(&r, KS_F_VM, ks_sym_intern("c"));
	assert_true(eval_str(set, KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_VM, ks_sym_intern("a"));
	assert_true(eval_str(set, KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_VM, ks_sym_intern("d"));
	assert_false(eval_str(set, KS_M_VM_EXITS, &r));
	assert_false(eval_str(mixed, KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_VCPU, ks_sym_intern("1"));
	assert_true(eval_str(mixed, KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_LATENCY, 7);
	assert_true(eval_str(neg, KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_LATENCY, UINT64_MAX);
	assert_false(eval_str(neg, KS_M_VM_EXITS, &r));
	/* to_json still gives the predicate as written */
	{
		struct ks_pred *p = parse_ok(set, KS_M_VM_EXITS);
		json_t *j = ks_pred__to_json(p);
		char *txt = json_dumps(j, JSON_COMPACT);

		assert_string_equal(txt, set);
		free(txt);
		json_decref(j);
		ks_pred__free(p);
	}
}

/* A record lacking a field the predicate reads: never a crash, and a leaf
 * on the missing field is false (even ne). */
static void test_absent_field(void **state)
{
	struct ks_record r;

	(void)state;
	rec_init(&r, KS_M_VM_EXITS);
	assert_false(eval_str("{\"ne\":[\"vm\",\"a\"]}", KS_M_VM_EXITS, &r));
	assert_false(eval_str("{\"ge\":[\"latency\",0]}", KS_M_VM_EXITS, &r));
	assert_false(eval_str("{\"gt\":[\"latency\",-1]}", KS_M_VM_EXITS, &r));
	ks_record_set(&r, KS_F_VM, ks_sym_intern("a"));
	assert_true(eval_str("{\"or\":[{\"ge\":[\"latency\",0]},"
			     "{\"eq\":[\"vm\",\"a\"]}]}", KS_M_VM_EXITS, &r));
	assert_true(ks_pred__eval(NULL, &r));
}

static void test_fields_mask(void **state)
{
	struct ks_pred *p = parse_ok("{\"or\":[{\"eq\":[\"irqvector\",\"fb\"]},"
				     "{\"ge\":[\"subsecond\",500]}]}",
				     KS_M_VM_IRQS);

	(void)state;
	assert_int_equal(ks_pred__fields(p), (1u << KS_F_IRQVECTOR) |
			 (1u << KS_F_SUBSECOND));
	ks_pred__free(p);
}

static void test_errors(void **state)
{
	enum ks_metric x = KS_M_VM_EXITS;

	(void)state;
	parse_bad("{\"and\":[{\"eq\":[\"vm\",\"a\"]},{\"eq\":[\"latncy\",1]}]}",
		  x, "and[1].eq: field \"latncy\" is not a field of vm.exits");
	parse_bad("{\"eq\":[\"irqvector\",\"fb\"]}", x,
		  "eq: field \"irqvector\" is not a field of vm.exits");
	parse_bad("{\"lt\":[\"vm\",3]}", x,
		  "lt: field \"vm\" is discrete; lt needs a numeric field");
	parse_bad("{\"gt\":[\"vleavereason\",\"io\"]}", x,
		  "gt: field \"vleavereason\" is discrete");
	parse_bad("{\"eq\":[\"vcpu\",0]}", x,
		  "eq: field \"vcpu\" is discrete, so its value must be a string"
		  " (got an integer)");
	parse_bad("{\"eq\":[\"latency\",\"10\"]}", x,
		  "eq: field \"latency\" is numeric, so its value must be a "
		  "number (got a string)");
	parse_bad("{\"eq\":[\"latency\",true]}", x, "(got a boolean)");
	parse_bad("{\"eq\":[\"latency\",null]}", x, "(got null)");
	parse_bad("{\"eq\":[\"latency\"]}", x,
		  "eq: must be an array [field, value]");
	parse_bad("{\"eq\":[\"latency\",1,2]}", x,
		  "eq: must be an array [field, value]");
	parse_bad("{\"eq\":\"latency\"}", x, "eq: must be an array");
	parse_bad("{\"eq\":[5,1]}", x, "eq: the field name must be a string");
	parse_bad("{\"like\":[\"vm\",\"a\"]}", x, "unknown operator \"like\"");
	parse_bad("{\"eq\":[\"vm\",\"a\"],\"ne\":[\"vm\",\"b\"]}", x,
		  "must have exactly one operator key (got 2)");
	parse_bad("{\"and\":[{},{\"eq\":[\"vm\",\"a\"]}]}", x,
		  "and[0]: an empty predicate {} is only allowed as the whole");
	parse_bad("{\"and\":[{\"eq\":[\"vm\",\"a\"]}]}", x,
		  "and: needs at least 2 predicates (got 1)");
	parse_bad("{\"or\":[]}", x, "or: needs at least 2 predicates (got 0)");
	parse_bad("{\"or\":{\"eq\":[\"vm\",\"a\"]}}", x,
		  "or: must be an array of at least 2 predicates");
	parse_bad("{\"or\":[{\"eq\":[\"vm\",\"a\"]},[1]]}", x,
		  "or[1]: must be an object");
	parse_bad("[]", x, "must be an object");
	parse_bad("\"eq\"", x, "must be an object");
	parse_bad("{\"or\":[{\"eq\":[\"vm\",\"x\"]},{\"and\":["
		  "{\"gt\":[\"latency\",5]},{\"lt\":[\"vm\",3]}]}]}", x,
		  "or[1].and[1].lt: field \"vm\" is discrete");
	/* malformed JSON text */
	parse_bad("{\"eq\":[\"vm\",\"a\"]", x, "invalid JSON");
	parse_bad("", x, "invalid JSON");
	parse_bad("{\"eq\":[\"vm\",\"a\"]} x", x, "invalid JSON");
	parse_bad("{\"eq\":[\"vm\",\"a\"],\"eq\":[\"vm\",\"b\"]}", x,
		  "invalid JSON");
}

static void test_error_api_edges(void **state)
{
	struct ks_err err = { "", "" };
	char big[400];
	json_t *j;

	(void)state;
	assert_null(ks_pred__parse(NULL, KS_M_VM_EXITS, &err));
	assert_string_equal(err.param, "predicate");
	assert_null(ks_pred__parse_str(NULL, KS_M_VM_EXITS, &err));
	assert_null(ks_pred__parse_str("{}", KS_M__COUNT, &err));
	assert_null(ks_pred__parse_str("{}", (enum ks_metric)-1, NULL));
	/* values the symbol table cannot hold */
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	j = json_pack("{s:[s,s]}", "eq", "vm", big);
	assert_null(ks_pred__parse(j, KS_M_VM_EXITS, &err));
	assert_non_null(strstr(err.msg, "eq: value for field \"vm\" is longer "
				"than 255 bytes"));
	json_decref(j);
	j = json_pack("{s:[s,s#]}", "eq", "vm", "a\0b", (size_t)3);
	assert_null(ks_pred__parse(j, KS_M_VM_EXITS, &err));
	assert_non_null(strstr(err.msg, "NUL"));
	json_decref(j);
	j = json_pack("{s:[s#,i]}", "eq", "latency\0x", (size_t)9, 1);
	assert_null(ks_pred__parse(j, KS_M_VM_EXITS, &err));
	assert_non_null(strstr(err.msg, "is not a field of vm.exits"));
	json_decref(j);
}

/* {"and":[<depth-1 levels>, leaf]}: the leaf sits at the given depth. */
static json_t *nested(int depth)
{
	json_t *j = json_pack("{s:[s,s]}", "eq", "vm", "a");

	for (int d = 1; d < depth; d++)
		j = json_pack("{s:[o,{s:[s,i]}]}", "and", j, "gt", "latency", d);
	return j;
}

static void test_depth_limit(void **state)
{
	struct ks_err err = { "", "" };
	struct ks_pred *p;
	json_t *j;

	(void)state;
	j = nested(KS_PRED_MAXDEPTH);
	p = ks_pred__parse(j, KS_M_VM_EXITS, &err);
	assert_non_null(p);
	ks_pred__free(p);
	json_decref(j);
	j = nested(KS_PRED_MAXDEPTH + 1);
	assert_null(ks_pred__parse(j, KS_M_VM_EXITS, &err));
	assert_string_equal(err.param, "predicate");
	assert_non_null(strstr(err.msg, "nested deeper than 16 levels"));
	assert_non_null(strstr(err.msg, "and[0].and[0]"));
	json_decref(j);
	/* far beyond: still a clean error (no recursion on the input) */
	j = nested(5000);
	assert_null(ks_pred__parse(j, KS_M_VM_EXITS, &err));
	json_decref(j);
}

static json_t *wide(int nleaves)
{
	json_t *a = json_array();

	for (int i = 0; i < nleaves; i++)
		json_array_append_new(a, json_pack("{s:[s,i]}", "ne",
						   "latency", i));
	return json_pack("{s:o}", "or", a);
}

static void test_size_limit(void **state)
{
	struct ks_err err = { "", "" };
	struct ks_record r;
	struct ks_pred *p;
	json_t *j, *back;

	(void)state;
	j = wide(KS_PRED_MAXNODES - 1);	/* plus the or: exactly the limit */
	p = ks_pred__parse(j, KS_M_VM_EXITS, &err);
	assert_non_null(p);
	back = ks_pred__to_json(p);
	assert_true(json_equal(j, back));
	rec_init(&r, KS_M_VM_EXITS);
	ks_record_set(&r, KS_F_LATENCY, 7);
	assert_true(ks_pred__eval(p, &r));
	json_decref(back);
	ks_pred__free(p);
	json_decref(j);
	j = wide(KS_PRED_MAXNODES);
	assert_null(ks_pred__parse(j, KS_M_VM_EXITS, &err));
	assert_non_null(strstr(err.msg, "more than 256 nodes"));
	json_decref(j);
}

/* A rejected predicate interns nothing. */
static void test_rejected_interns_nothing(void **state)
{
	size_t before = ks_sym_count();

	(void)state;
	parse_bad("{\"and\":[{\"eq\":[\"vm\",\"fresh-name-1\"]},"
		  "{\"eq\":[\"latncy\",1]}]}", KS_M_VM_EXITS, "latncy");
	assert_int_equal(ks_sym_count(), before);
	assert_int_equal(ks_sym_find("fresh-name-1"), 0);
}

static void test_dup(void **state)
{
	struct ks_pred *p = parse_ok("{\"and\":[{\"eq\":[\"vm\",\"a\"]},"
				     "{\"le\":[\"latency\",9]}]}", KS_M_VM_EXITS);
	struct ks_pred *q = ks_pred__dup(p);
	json_t *a, *b;

	(void)state;
	assert_non_null(q);
	a = ks_pred__to_json(p);
	ks_pred__free(p);
	b = ks_pred__to_json(q);
	assert_true(json_equal(a, b));
	assert_int_equal(ks_pred__fields(q), (1u << KS_F_VM) |
			 (1u << KS_F_LATENCY));
	assert_null(ks_pred__dup(NULL));
	json_decref(a);
	json_decref(b);
	ks_pred__free(q);
}

/* --- random predicates against a reference evaluator --- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const char *const pool[] = { "io", "hlt", "msr", "", "web1", "a b" };
#define NPOOL (sizeof(pool) / sizeof(pool[0]))
static const int64_t consts[] = { 0, 1, 999, 1000, 1001, -1, -5,
				  INT64_MAX, INT64_MIN, 1000000 };
#define NCONSTS (sizeof(consts) / sizeof(consts[0]))

static json_t *gen_leaf(enum ks_metric m)
{
	const struct ks_metricinfo *mi = ks_metric_info(m);
	enum ks_field f = mi->fields[rnd() % mi->nfields];
	static const char *const ops[] = { "eq", "ne", "lt", "le", "gt", "ge" };
	const char *name = ks_field_info(f)->name;

	if (!ks_field_numeric(f))
		return json_pack("{s:[s,s]}", ops[rnd() % 2], name,
				 pool[rnd() % NPOOL]);
	return json_pack("{s:[s,I]}", ops[rnd() % 6], name,
			 (json_int_t)consts[rnd() % NCONSTS]);
}

static json_t *gen(enum ks_metric m, int depth, int *budget)
{
	json_t *kids;
	int n;

	n = 2 + (int)(rnd() % 3);
	if (depth >= KS_PRED_MAXDEPTH || *budget < n + 1 || rnd() % 3) {
		--*budget;
		return gen_leaf(m);
	}
	/* one node for this and one reserved per child, handed over to the
	 * child as it is generated: the total never exceeds the budget */
	*budget -= n + 1;
	kids = json_array();
	for (int i = 0; i < n; i++) {
		++*budget;
		json_array_append_new(kids, gen(m, depth + 1, budget));
	}
	return json_pack("{s:o}", rnd() % 2 ? "and" : "or", kids);
}

/* The spec, directly: strings compared as strings, numbers as signed
 * constants against unsigned values. */
static bool ref_eval(const json_t *j, const struct ks_record *r)
{
	const char *op;
	json_t *arg, *c;
	size_t i;
	enum ks_field f;
	uint64_t v;
	int cmp;

	if (!json_object_size(j))
		return true;
	op = json_object_iter_key(json_object_iter((json_t *)j));
	arg = json_object_iter_value(json_object_iter((json_t *)j));
	if (!strcmp(op, "and") || !strcmp(op, "or")) {
		bool is_and = !strcmp(op, "and");

		json_array_foreach(arg, i, c)
			if (ref_eval(c, r) != is_and)
				return !is_and;
		return is_and;
	}
	f = (enum ks_field)ks_field_lookup(json_string_value(
		json_array_get(arg, 0)));
	c = json_array_get(arg, 1);
	if (!ks_record_has(r, f))
		return false;
	v = r->f[f];
	if (json_is_string(c)) {
		cmp = strcmp(ks_sym_str((uint32_t)v), json_string_value(c));
	} else {
		json_int_t k = json_integer_value(c);

		cmp = k < 0 || v > (uint64_t)k ? 1 : v == (uint64_t)k ? 0 : -1;
	}
	if (!strcmp(op, "eq")) return cmp == 0;
	if (!strcmp(op, "ne")) return cmp != 0;
	if (!strcmp(op, "lt")) return cmp < 0;
	if (!strcmp(op, "le")) return cmp <= 0;
	if (!strcmp(op, "gt")) return cmp > 0;
	return cmp >= 0;
}

static void gen_record(struct ks_record *r, enum ks_metric m)
{
	const struct ks_metricinfo *mi = ks_metric_info(m);

	rec_init(r, m);
	for (size_t i = 0; i < mi->nfields; i++) {
		enum ks_field f = mi->fields[i];

		if (rnd() % 10 == 0)
			continue;	/* absent */
		if (!ks_field_numeric(f))
			ks_record_set(r, f, ks_sym_intern(pool[rnd() % NPOOL]));
		else if (rnd() % 4 == 0)
			ks_record_set(r, f, rnd());
		else
			ks_record_set(r, f, (uint64_t)consts[rnd() % NCONSTS] +
				      rnd() % 3 - 1);
	}
}

static void test_random_roundtrip(void **state)
{
	int checked_true = 0, checked_false = 0;

	(void)state;
	for (int iter = 0; iter < 3000; iter++) {
		enum ks_metric m = (enum ks_metric)(rnd() % KS_M__COUNT);
		int budget = KS_PRED_MAXNODES;
		json_t *j = gen(m, 1, &budget), *j2, *j3;
		struct ks_pred *p, *p2;
		struct ks_err err = { "", "" };
		struct ks_record rs[20];
		const struct ks_record *rp[20];
		uint8_t pass[20];

		p = ks_pred__parse(j, m, &err);
		if (!p)
			fail_msg("iteration %d: %s", iter, err.msg);
		j2 = ks_pred__to_json(p);
		/* generated predicates are canonical: same JSON back */
		assert_true(json_equal(j, j2));
		p2 = ks_pred__parse(j2, m, &err);
		assert_non_null(p2);
		j3 = ks_pred__to_json(p2);
		assert_true(json_equal(j2, j3));
		for (int k = 0; k < 20; k++) {
			gen_record(&rs[k], m);
			rp[k] = &rs[k];
		}
		/* the batch form answers as eval does, record by record */
		ks_pred__eval_batch(p, rp, 20, pass);
		for (int k = 0; k < 20; k++) {
			bool want = ref_eval(j, &rs[k]);

			assert_int_equal(ks_pred__eval(p, &rs[k]), want);
			assert_int_equal(ks_pred__eval(p2, &rs[k]), want);
			assert_int_equal(pass[k], want);
			want ? checked_true++ : checked_false++;
		}
		json_decref(j);
		json_decref(j2);
		json_decref(j3);
		ks_pred__free(p);
		ks_pred__free(p2);
	}
	/* the generator exercised both outcomes a fair amount */
	assert_true(checked_true > 5000 && checked_false > 5000);
}

static int teardown(void **state)
{
	(void)state;
	ks_sym_reset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trivial),
		cmocka_unit_test(test_discrete_eq_ne),
		cmocka_unit_test(test_anyeq_set),
		cmocka_unit_test(test_numeric_edges),
		cmocka_unit_test(test_negative_constants),
		cmocka_unit_test(test_integral_reals),
		cmocka_unit_test(test_compound),
		cmocka_unit_test(test_absent_field),
		cmocka_unit_test(test_fields_mask),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_api_edges),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_rejected_interns_nothing),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_random_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
