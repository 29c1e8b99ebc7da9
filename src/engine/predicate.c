/* predicate.c - CA predicates: validation, compilation, evaluation.
 *
 * A predicate is parsed once, when an instrumentation is created, and then
 * evaluated for every record of its metric, so the work is split that way:
 * parsing checks everything (structure, fields, operator/field types,
 * constants, depth, size) and names the failing node by its path, e.g.
 * "and[1].eq"; the compiled form is a flat array of 16-byte nodes in
 * prefix order, where an and/or node knows where its subtree ends, so
 * evaluation is a short walk with no pointers to chase.  Discrete constants
 * are interned only after the whole predicate validated (a rejected
 * predicate leaves the symbol table alone) and compare as symtab ids;
 * numeric constants compare exactly against record->f[], never bucket
 * edges.
 *
 * Numeric constants: integers from INT64_MIN to INT64_MAX are accepted
 * (integral JSON reals such as 1e6 too; fractions are rejected).  Fields
 * are unsigned, so a negative constant makes a leaf constant, with exact
 * semantics: gt/ge/ne with a negative constant are true, eq/lt/le false.
 * The constant is kept as written so to_json round-trips it.
 *
 * A leaf on a field the record lacks is false.  The engine never evaluates
 * such records (it checks ks_pred__fields() first); this keeps eval defined
 * for any record anyway.
 */
#include "engine/predicate.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonname.h"
#include "engine/symtab.h"

/* Operators as written (CA's names); indexes into op_names. */
enum pred_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_AND, OP_OR,
	       OP__COUNT };

static const char *const op_names[OP__COUNT] = {
	"eq", "ne", "lt", "le", "gt", "ge", "and", "or",
};

/* Operators as evaluated: the written ones, plus the two a leaf with a
 * negative constant becomes (true if the field is present, false). */
enum eval_op { E_EQ, E_NE, E_LT, E_LE, E_GT, E_GE, E_AND, E_OR, E_ALL,
	       E_NONE };

#define NODE_NEG 1u	/* numeric constant was negative: val is an int64 */
#define NODE_SYM 2u	/* val is a symtab id the predicate holds */
#define NODE_ANYEQ 4u	/* an or of eq leaves on one field: field set */

struct pnode {
	uint8_t op;	/* enum eval_op */
	uint8_t jop;	/* enum pred_op, as written */
	uint8_t field;	/* leaves: enum ks_field */
	uint8_t flags;
	uint32_t end;	/* index just past this node's subtree */
	uint64_t val;	/* leaves: symtab id or exact number */
};

struct ks_pred {
	enum ks_metric metric;
	uint32_t fields;	/* mask of fields read */
	uint32_t n;		/* 0: the trivial predicate */
	struct pnode node[];
};

/* Parse state: the nodes built so far, and the path of the node being
 * looked at, for error messages. */
struct builder {
	enum ks_metric metric;
	struct ks_err *err;
	uint32_t n;
	uint32_t fields;
	char path[192];
	struct pnode node[KS_PRED_MAXNODES];
	/* discrete leaves: the string to intern once all is valid */
	const char *str[KS_PRED_MAXNODES];
};

__attribute__((format(printf, 2, 3)))
static int fail(struct builder *b, const char *fmt, ...)
{
	char msg[sizeof(b->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b->path[0])
		ks_err_set(b->err, EINVAL, "predicate", "%s: %s", b->path, msg);
	else
		ks_err_set(b->err, EINVAL, "predicate", "%s", msg);
	return -EINVAL;
}

/* Appends ".key" (or "key" at the root) or "[i]" to the path; returns the
 * old length so the caller can pop it. */
static size_t path_push(struct builder *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static size_t path_push(struct builder *b, const char *fmt, ...)
{
	size_t len = strlen(b->path);
	va_list ap;

	va_start(ap, fmt);
	if (len < sizeof(b->path))
		vsnprintf(b->path + len, sizeof(b->path) - len, fmt, ap);
	va_end(ap);
	return len;
}

static void path_pop(struct builder *b, size_t len)
{
	b->path[len] = '\0';
}

static int parse_node(struct builder *b, const json_t *j, int depth);

static int parse_field(struct builder *b, const json_t *jf, int *field)
{
	const struct ks_metricinfo *mi = ks_metric_info(b->metric);
	const char *name;
	char list[128];
	int f;

	if (!json_is_string(jf))
		return fail(b, "the field name must be a string (got %s)",
			    ks_json_type_name(jf));
	name = json_string_value(jf);
	f = ks_field_lookup(name);
	if (f < 0 || strlen(name) != json_string_length(jf) ||
	    !ks_metric_has_field(b->metric, (enum ks_field)f)) {
		ks_metric_field_list(b->metric, list, sizeof(list));
		return fail(b, "field \"%.40s\" is not a field of %s.%s "
			    "(its fields: %s)", name, mi->module, mi->stat,
			    list);
	}
	*field = f;
	return 0;
}

/* A JSON number as an exact int64: integers, and reals without a
 * fraction inside the int64 range. */
static int parse_number(struct builder *b, const json_t *jv, const char *fname,
			int64_t *out)
{
	double d;

	if (json_is_integer(jv)) {
		*out = json_integer_value(jv);
		return 0;
	}
	d = json_real_value(jv);
	if (!isfinite(d) || d != floor(d))
		return fail(b, "value %g for field \"%s\" must be an integer",
			    d, fname);
	/* -2^63 and 2^63 are exact doubles; the range is [-2^63, 2^63) */
	if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
		return fail(b, "value %g for field \"%s\" is out of range "
			    "(%lld to %lld)", d, fname, (long long)INT64_MIN,
			    (long long)INT64_MAX);
	*out = (int64_t)d;
	return 0;
}

/* Negative constant against an unsigned field: the leaf is constant. */
static enum eval_op negative_op(enum pred_op op)
{
	switch (op) {
	case OP_NE: case OP_GT: case OP_GE:
		return E_ALL;
	default:
		return E_NONE;
	}
}

static int parse_numeric_leaf(struct builder *b, struct pnode *nd,
			      const json_t *jv, const char *fname)
{
	int64_t v = 0;
	int rc;

	if (!json_is_number(jv))
		return fail(b, "field \"%s\" is numeric, so its value must be "
			    "a number (got %s)", fname, ks_json_type_name(jv));
	if ((rc = parse_number(b, jv, fname, &v)))
		return rc;
	nd->val = (uint64_t)v;
	if (v < 0) {
		nd->flags |= NODE_NEG;
		nd->op = (uint8_t)negative_op((enum pred_op)nd->jop);
	}
	return 0;
}

static int parse_discrete_leaf(struct builder *b, struct pnode *nd,
			       const json_t *jv, const char *fname)
{
	const char *s;

	if (nd->jop != OP_EQ && nd->jop != OP_NE)
		return fail(b, "field \"%s\" is discrete; %s needs a numeric "
			    "field (use eq or ne)", fname, op_names[nd->jop]);
	if (!json_is_string(jv))
		return fail(b, "field \"%s\" is discrete, so its value must be "
			    "a string (got %s)", fname, ks_json_type_name(jv));
	s = json_string_value(jv);
	if (strlen(s) != json_string_length(jv))
		return fail(b, "value for field \"%s\" contains a NUL byte",
			    fname);
	if (strlen(s) > KS_SYM_MAXLEN)
		return fail(b, "value for field \"%s\" is longer than %d bytes",
			    fname, KS_SYM_MAXLEN);
	b->str[nd - b->node] = s;
	return 0;
}

static int parse_leaf(struct builder *b, struct pnode *nd, const json_t *arg)
{
	const char *fname;
	int field = 0, rc;

	if (!json_is_array(arg) || json_array_size(arg) != 2)
		return fail(b, "must be an array [field, value] (got %s%s)",
			    ks_json_type_name(arg), json_is_array(arg) ?
			    " of the wrong length" : "");
	if ((rc = parse_field(b, json_array_get(arg, 0), &field)))
		return rc;
	fname = ks_field_info((enum ks_field)field)->name;
	nd->field = (uint8_t)field;
	nd->op = nd->jop;	/* enum eval_op mirrors pred_op for leaves */
	b->fields |= 1u << field;
	if (ks_field_numeric((enum ks_field)field))
		return parse_numeric_leaf(b, nd, json_array_get(arg, 1), fname);
	return parse_discrete_leaf(b, nd, json_array_get(arg, 1), fname);
}

/* An or whose children are all eq leaves on one field (a VM among a
 * list, say) is marked, so that eval reads the field once and compares
 * it in a tight loop instead of walking leaf by leaf. */
static void mark_anyeq(struct pnode *n, uint32_t i)
{
	struct pnode *nd = &n[i];

	if (nd->op != E_OR)
		return;
	for (uint32_t c = i + 1; c < nd->end; c++)
		if (n[c].op != E_EQ || n[c].end != c + 1 ||
		    n[c].field != n[i + 1].field)
			return;
	nd->field = n[i + 1].field;
	nd->flags |= NODE_ANYEQ;
}

static int parse_compound(struct builder *b, uint32_t self, const json_t *arg,
			  int depth)
{
	size_t n, len;
	int rc = 0;

	if (!json_is_array(arg))
		return fail(b, "must be an array of at least 2 predicates "
			    "(got %s)", ks_json_type_name(arg));
	n = json_array_size(arg);
	if (n < 2)
		return fail(b, "needs at least 2 predicates (got %zu)", n);
	for (size_t i = 0; i < n && !rc; i++) {
		len = path_push(b, "[%zu]", i);
		rc = parse_node(b, json_array_get(arg, i), depth + 1);
		path_pop(b, len);
	}
	b->node[self].end = b->n;
	if (!rc)
		mark_anyeq(b->node, self);
	return rc;
}

static int op_lookup(const char *key)
{
	for (int op = 0; op < OP__COUNT; op++)
		if (!strcmp(op_names[op], key))
			return op;
	return -1;
}

static int parse_node(struct builder *b, const json_t *j, int depth)
{
	const char *key;
	const json_t *arg;
	struct pnode *nd;
	uint32_t self;
	size_t len;
	int op, rc;

	if (depth > KS_PRED_MAXDEPTH)
		return fail(b, "nested deeper than %d levels", KS_PRED_MAXDEPTH);
	if (!json_is_object(j))
		return fail(b, "must be an object such as {\"eq\":[field,value]}"
			    " (got %s)", ks_json_type_name(j));
	if (json_object_size(j) == 0)
		return fail(b, "an empty predicate {} is only allowed as the "
			    "whole predicate");
	if (json_object_size(j) > 1)
		return fail(b, "must have exactly one operator key (got %zu)",
			    json_object_size(j));
	key = json_object_iter_key(json_object_iter((json_t *)j));
	arg = json_object_iter_value(json_object_iter((json_t *)j));
	op = op_lookup(key);
	if (op < 0)
		return fail(b, "unknown operator \"%.32s\" (expected eq, ne, lt,"
			    " le, gt, ge, and or or)", key);
	if (b->n >= KS_PRED_MAXNODES)
		return fail(b, "more than %d nodes", KS_PRED_MAXNODES);
	self = b->n++;
	nd = &b->node[self];
	memset(nd, 0, sizeof(*nd));
	nd->jop = (uint8_t)op;
	nd->end = b->n;
	len = path_push(b, "%s%s", b->path[0] ? "." : "", key);
	if (op == OP_AND || op == OP_OR) {
		nd->op = op == OP_AND ? E_AND : E_OR;
		rc = parse_compound(b, self, arg, depth);
	} else {
		rc = parse_leaf(b, nd, arg);
	}
	path_pop(b, len);
	return rc;
}

/* Releases the constants nodes hold. */
static void put_all(const struct pnode *node, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (node[i].flags & NODE_SYM)
			ks_sym_put((uint32_t)node[i].val);
}

/* Interns the discrete constants, now that everything is valid, each with
 * a reference the predicate holds until it is freed: a constant no
 * instrumentation uses any more leaves the symbol table. */
static int intern_all(struct builder *b)
{
	for (uint32_t i = 0; i < b->n; i++) {
		uint32_t id;

		if (!b->str[i])
			continue;
		id = ks_sym_get(b->str[i]);
		if (id == KS_SYM_NONE) {
			put_all(b->node, i);
			return ks_err_set(b->err, errno == ENOSPC ? ENOSPC :
					  ENOMEM, "predicate", "%s",
					  errno == ENOSPC ?
					  "the symbol table is full (see "
					  "symbols in the configuration)" :
					  "out of memory");
		}
		b->node[i].val = id;
		b->node[i].flags |= NODE_SYM;
	}
	return 0;
}

static struct ks_pred *pred_alloc(enum ks_metric m, uint32_t n)
{
	struct ks_pred *p = malloc(sizeof(*p) + n * sizeof(p->node[0]));

	if (!p)
		return NULL;
	p->metric = m;
	p->fields = 0;
	p->n = n;
	return p;
}

/* Builds the nodes of j into b; the empty object is the trivial predicate
 * (no nodes), and only at the root, as in CA. */
static int build(struct builder *b, const json_t *j)
{
	if (!j)
		return fail(b, "missing");
	if (json_is_object(j) && json_object_size(j) == 0)
		return 0;
	return parse_node(b, j, 1) ?: intern_all(b);
}

struct ks_pred *ks_pred__parse(const json_t *j, enum ks_metric m,
			       struct ks_err *err)
{
	struct builder *b;
	struct ks_pred *p = NULL;

	if ((unsigned)m >= KS_M__COUNT) {
		ks_err_set(err, EINVAL, "predicate", "unknown metric");
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		ks_err_set(err, ENOMEM, "predicate", "out of memory");
		return NULL;
	}
	b->metric = m;
	b->err = err;
	if (!build(b, j)) {
		p = pred_alloc(m, b->n);
		if (p) {
			p->fields = b->fields;
			memcpy(p->node, b->node, b->n * sizeof(p->node[0]));
		} else {
			put_all(b->node, b->n);
			ks_err_set(err, ENOMEM, "predicate", "out of memory");
		}
	}
	free(b);
	return p;
}

struct ks_pred *ks_pred__parse_str(const char *s, enum ks_metric m,
				   struct ks_err *err)
{
	struct ks_pred *p;
	json_error_t je;
	json_t *j;

	if (!s) {
		ks_err_set(err, EINVAL, "predicate", "missing");
		return NULL;
	}
	j = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		ks_err_set(err, EINVAL, "predicate",
			   "invalid JSON at column %d: %s", je.column, je.text);
		return NULL;
	}
	p = ks_pred__parse(j, m, err);
	json_decref(j);
	return p;
}

void ks_pred__free(struct ks_pred *p)
{
	if (p)
		put_all(p->node, p->n);
	free(p);
}

struct ks_pred *ks_pred__dup(const struct ks_pred *p)
{
	struct ks_pred *q;

	if (!p)
		return NULL;
	q = pred_alloc(p->metric, p->n);
	if (!q)
		return NULL;
	q->fields = p->fields;
	memcpy(q->node, p->node, p->n * sizeof(p->node[0]));
	for (uint32_t i = 0; i < q->n; i++)
		if (q->node[i].flags & NODE_SYM)
			ks_sym_hold((uint32_t)q->node[i].val);
	return q;
}

/* The leaf test; hot, so it stays small enough to inline. */
static inline bool eval_leaf(const struct pnode *nd, const struct ks_record *r)
{
	uint64_t v;

	if (!((r->present >> nd->field) & 1u))
		return false;
	v = r->f[nd->field];
	switch (nd->op) {
	case E_EQ: return v == nd->val;
	case E_NE: return v != nd->val;
	case E_LT: return v < nd->val;
	case E_LE: return v <= nd->val;
	case E_GT: return v > nd->val;
	case E_GE: return v >= nd->val;
	case E_ALL: return true;
	default: return false;
	}
}

/* An or of eq leaves on one field (NODE_ANYEQ): one read, a tight loop. */
static inline bool eval_anyeq(const struct pnode *n, uint32_t i,
			      const struct ks_record *r)
{
	const struct pnode *nd = &n[i];
	uint64_t v = r->f[nd->field];

	if (!((r->present >> nd->field) & 1u))
		return false;
	for (uint32_t c = i + 1; c < nd->end; c++)
		if (n[c].val == v)
			return true;
	return false;
}

static bool eval_at(const struct pnode *n, uint32_t i,
		    const struct ks_record *r);

/* Node i of any kind; leaves and field sets inline, and/or by a call. */
static inline bool eval_node(const struct pnode *n, uint32_t i,
			     const struct ks_record *r)
{
	const struct pnode *nd = &n[i];

	if (nd->op != E_AND && nd->op != E_OR)
		return eval_leaf(nd, r);
	if (nd->flags & NODE_ANYEQ)
		return eval_anyeq(n, i, r);
	return eval_at(n, i, r);
}

/* Children of and/or node i run from i + 1 to its end, each child's own
 * end giving the next sibling; depth is bounded by KS_PRED_MAXDEPTH. */
static bool eval_at(const struct pnode *n, uint32_t i,
		    const struct ks_record *r)
{
	const struct pnode *nd = &n[i];
	/* and stops at the first false child, or at the first true one */
	bool want = nd->op == E_OR;

	for (uint32_t c = i + 1; c < nd->end; c = n[c].end)
		if (eval_node(n, c, r) == want)
			return want;
	return !want;
}

/* Batch evaluation: node by node over all the records, not record by
 * record over the nodes.  A node's operator is chosen once per batch and
 * each inner loop is a straight compare of every record, with no branch on
 * the records' values (a predicate's outcome is as random as the data, and
 * every mispredicted short-circuit cost more than the compares it saved). */
#define LEAF_LOOP(expr) \
	for (size_t k = 0; k < n; k++) { \
		uint64_t v = r[k]->f[f]; \
		(void)v; \
		out[k] = (uint8_t)(((r[k]->present >> f) & 1u) & (expr)); \
	} \
	break

static void leaf_batch(const struct pnode *nd, const struct ks_record *const *r,
		       size_t n, uint8_t *out)
{
	const unsigned f = nd->field;
	const uint64_t c = nd->val;

	switch (nd->op) {
	case E_EQ: LEAF_LOOP(v == c);
	case E_NE: LEAF_LOOP(v != c);
	case E_LT: LEAF_LOOP(v < c);
	case E_LE: LEAF_LOOP(v <= c);
	case E_GT: LEAF_LOOP(v > c);
	case E_GE: LEAF_LOOP(v >= c);
	case E_ALL: LEAF_LOOP(1);
	default: memset(out, 0, n); break;
	}
}

#undef LEAF_LOOP

static void anyeq_batch(const struct pnode *n, uint32_t i,
			const struct ks_record *const *r, size_t cnt,
			uint8_t *out)
{
	const unsigned f = n[i].field;

	for (size_t k = 0; k < cnt; k++) {
		uint64_t v = r[k]->f[f];
		unsigned hit = 0;

		for (uint32_t c = i + 1; c < n[i].end; c++)
			hit |= n[c].val == v;
		out[k] = (uint8_t)(((r[k]->present >> f) & 1u) & hit);
	}
}

/* out[k] = node i on r[k]; cnt <= KS_PRED_BATCH.  An and/or node folds
 * its children in with & or |; the recursion is bounded by the depth. */
static void node_batch(const struct pnode *n, uint32_t i,
		       const struct ks_record *const *r, size_t cnt,
		       uint8_t *out)
{
	uint8_t tmp[KS_PRED_BATCH];
	uint32_t c = i + 1;

	if (n[i].op != E_AND && n[i].op != E_OR) {
		leaf_batch(&n[i], r, cnt, out);
		return;
	}
	if (n[i].flags & NODE_ANYEQ) {
		anyeq_batch(n, i, r, cnt, out);
		return;
	}
	node_batch(n, c, r, cnt, out);
	for (c = n[c].end; c < n[i].end; c = n[c].end) {
		node_batch(n, c, r, cnt, tmp);
		if (n[i].op == E_AND)
			for (size_t k = 0; k < cnt; k++)
				out[k] &= tmp[k];
		else
			for (size_t k = 0; k < cnt; k++)
				out[k] |= tmp[k];
	}
}

void ks_pred__eval_batch(const struct ks_pred *p,
			 const struct ks_record *const *r, size_t n,
			 uint8_t *pass)
{
	if (!p || !p->n) {
		memset(pass, 1, n);
		return;
	}
	for (size_t off = 0; off < n; off += KS_PRED_BATCH)
		node_batch(p->node, 0, r + off, n - off < KS_PRED_BATCH ?
			   n - off : KS_PRED_BATCH, pass + off);
}

bool ks_pred__eval(const struct ks_pred *p, const struct ks_record *r)
{
	if (!p || !p->n)
		return true;
	return eval_node(p->node, 0, r);
}

bool ks_pred__trivial(const struct ks_pred *p)
{
	return !p || !p->n;
}

uint32_t ks_pred__fields(const struct ks_pred *p)
{
	return p ? p->fields : 0;
}

static size_t put_edge(uint64_t *out, size_t max, size_t n, uint64_t v)
{
	if (n < max)
		out[n] = v;
	return n + 1;
}

size_t ks_pred__edges(const struct ks_pred *p, enum ks_field f,
		      uint64_t *out, size_t max)
{
	size_t n = 0;

	/* Discrete leaves compare symbols: there is no side to keep. */
	if (!p || !ks_type_info(ks_field_info(f)->type)->numeric)
		return 0;
	for (uint32_t k = 0; k < p->n; k++) {
		const struct pnode *nd = &p->node[k];
		/* A constant at UINT64_MAX has no value above it to cut at. */
		bool top = nd->val == UINT64_MAX;

		if (nd->field != f || nd->op > E_GE ||
		    (nd->flags & NODE_NEG))
			continue;
		if (nd->op == E_GE || nd->op == E_LT || nd->op == E_EQ ||
		    nd->op == E_NE)
			n = put_edge(out, max, n, nd->val);
		if (!top && nd->op != E_GE && nd->op != E_LT)
			n = put_edge(out, max, n, nd->val + 1);
	}
	return n;
}

static json_t *leaf_json(const struct pnode *nd)
{
	enum ks_field f = (enum ks_field)nd->field;
	json_t *v;

	if (!ks_field_numeric(f))
		v = json_string(ks_sym_str((uint32_t)nd->val));
	else
		v = json_integer((json_int_t)(int64_t)nd->val);
	return json_pack("{s:[s,o]}", op_names[nd->jop],
			 ks_field_info(f)->name, v);
}

static json_t *node_json(const struct pnode *n, uint32_t i)
{
	const struct pnode *nd = &n[i];
	json_t *kids;

	if (nd->jop != OP_AND && nd->jop != OP_OR)
		return leaf_json(nd);
	kids = json_array();
	for (uint32_t c = i + 1; kids && c < nd->end; c = n[c].end) {
		if (json_array_append_new(kids, node_json(n, c))) {
			json_decref(kids);
			return NULL;
		}
	}
	return kids ? json_pack("{s:o}", op_names[nd->jop], kids) : NULL;
}

json_t *ks_pred__to_json(const struct ks_pred *p)
{
	if (!p || !p->n)
		return json_object();
	return node_json(p->node, 0);
}
