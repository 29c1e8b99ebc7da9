/* instn.c - CA's instrumentation parameters, parsed and validated.
 *
 * Parameters come from a query string or a form (every value a string:
 * "60", "true", "vleavereason,latency", a predicate as JSON text) or from
 * a JSON body (numbers, booleans, arrays, a predicate object); both land
 * here as one jansson object, and both spellings are accepted for every
 * parameter.  Parsing builds a private copy and only hands it to the caller
 * when every check passed, so a failed create, clone or modify changes
 * nothing and leaks nothing.
 *
 * Decisions beyond CA's code (ca-svc-config.js), all in the open:
 *  - Unknown parameters are ignored, as CA ignored them (its own tests
 *    send profile=none); on modify, properties that cannot change are
 *    ignored too, as CA's PUT did.
 *  - Numbers are read with CA's parseInt() (engine/jsnum.h): "10.5" is 10,
 *    "60s" is 60, and only a value without digits is not a number.
 *  - retention-time must be at least the granularity (a shorter retention
 *    would keep no complete interval).  When retention-time is not given,
 *    the default (600, or the cloned instrumentation's) is raised to the
 *    granularity or lowered to 3600 data points if needed, so that a
 *    granularity alone is always enough.
 *  - A clone that changes the metric re-validates the inherited predicate
 *    and decomposition against the new metric.
 */
#include "engine/instn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsnum.h"
#include "engine/jsonname.h"

enum param {
	P_MODULE, P_STAT, P_PREDICATE, P_DECOMPOSITION, P_GRANULARITY,
	P_RETENTION, P_IDLE_MAX, P_PERSIST, P_ENABLED, P__COUNT
};

static const struct {
	const char *name;
	bool mutable;
} params[P__COUNT] = {
	[P_MODULE] = { "module", false },
	[P_STAT] = { "stat", false },
	[P_PREDICATE] = { "predicate", false },
	[P_DECOMPOSITION] = { "decomposition", false },
	[P_GRANULARITY] = { "granularity", false },
	[P_RETENTION] = { "retention-time", true },
	[P_IDLE_MAX] = { "idle-max", true },
	[P_PERSIST] = { "persist-data", true },
	[P_ENABLED] = { "enabled", true },
};


static int param_lookup(const char *name)
{
	for (int i = 0; i < P__COUNT; i++)
		if (!strcmp(params[i].name, name))
			return i;
	return -1;
}

/* Sorts the parameters this operation reads into v[]: unknown names
 * and, on modify, immutable ones are skipped, as CA skipped them. */
static int collect(const json_t *in, enum ks_instn_op op, const json_t **v,
		   struct ks_err *err)
{
	const char *key;
	json_t *val;

	if (in && !json_is_object(in))
		return ks_err_set(err, EINVAL, "", "parameters must be a JSON "
				  "object (got %s)", ks_json_type_name(in));
	json_object_foreach((json_t *)in, key, val) {
		int p = param_lookup(key);

		if (p >= 0 && (op != KS_INSTN_MODIFY || params[p].mutable))
			v[p] = val;
	}
	return 0;
}

/* A non-negative integer read with CA's parseInt. */
static int get_uint(const json_t *v, const char *name, uint64_t *out,
		    struct ks_err *err)
{
	int64_t n;

	if (!ks_js_int(v, &n)) {
		if (json_is_string(v))
			return ks_err_set(err, EINVAL, name, "value \"%.32s\" "
					  "for %s not valid: not a number",
					  json_string_value(v), name);
		return ks_err_set(err, EINVAL, name, "%s is not a number "
				  "(got %s)", name, ks_json_type_name(v));
	}
	if (n < 0)
		return ks_err_set(err, EINVAL, name, "%s must not be negative "
				  "(got %lld)", name, (long long)n);
	*out = (uint64_t)n;
	return 0;
}

/* A bound on top of get_uint, with a message naming the bound. */
static int get_uint_range(const json_t *v, const char *name, uint64_t lo,
			  uint64_t hi, uint64_t *out, struct ks_err *err)
{
	uint64_t n;
	int rc = get_uint(v, name, &n, err);

	if (rc)
		return rc;
	if (n < lo)
		return ks_err_set(err, ERANGE, name, "%s must be at least %llu "
				  "(got %llu)", name, (unsigned long long)lo,
				  (unsigned long long)n);
	if (n > hi)
		return ks_err_set(err, ERANGE, name, "%s must be at most %llu "
				  "(got %llu)", name, (unsigned long long)hi,
				  (unsigned long long)n);
	*out = n;
	return 0;
}

static int get_bool(const json_t *v, const char *name, bool *out,
		    struct ks_err *err)
{
	const char *s = json_string_value(v);

	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (s && strlen(s) == json_string_length(v) &&
	    (!strcmp(s, "true") || !strcmp(s, "false"))) {
		*out = s[0] == 't';
		return 0;
	}
	if (s)
		return ks_err_set(err, EINVAL, name, "%s must be true or false "
				  "(got \"%.32s\")", name, s);
	return ks_err_set(err, EINVAL, name, "%s must be true or false (got "
			  "%s)", name, ks_json_type_name(v));
}

static int get_name(const json_t *v, const char *name, const char **out,
		    struct ks_err *err)
{
	const char *s = json_string_value(v);

	if (!s)
		return ks_err_set(err, EINVAL, name, "%s must be a string (got "
				  "%s)", name, ks_json_type_name(v));
	if (!s[0] || strlen(s) != json_string_length(v))
		return ks_err_set(err, EINVAL, name, "%s must not be empty",
				  name);
	*out = s;
	return 0;
}

static bool module_exists(const char *name)
{
	for (size_t i = 0; i < ks_module_count(); i++)
		if (!strcmp(ks_module_info(i)->name, name))
			return true;
	return false;
}

/* "a, b, c" into buf: the modules, or the stats of a module. */
static void list_names(const char *module, char *buf, size_t size)
{
	size_t len = 0;
	int n;

	buf[0] = '\0';
	if (!module) {
		for (size_t i = 0; i < ks_module_count() && len < size; i++)
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						i ? ", " : "",
						ks_module_info(i)->name);
		return;
	}
	for (int m = 0; m < KS_M__COUNT && len < size; m++) {
		const struct ks_metricinfo *mi = ks_metric_info(m);

		if (strcmp(mi->module, module))
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
			     mi->stat);
		len += (size_t)n;
	}
}

static int parse_metric(const json_t **v, const struct ks_instn_conf *base,
			enum ks_metric *out, struct ks_err *err)
{
	const char *module = NULL, *stat = NULL;
	char list[160];
	int rc, m;

	if (base) {
		module = ks_metric_info(base->metric)->module;
		stat = ks_metric_info(base->metric)->stat;
	}
	if (v[P_MODULE] && (rc = get_name(v[P_MODULE], "module", &module, err)))
		return rc;
	if (v[P_STAT] && (rc = get_name(v[P_STAT], "stat", &stat, err)))
		return rc;
	if (!module)
		return ks_err_set(err, EINVAL, "module", "module is required");
	if (!module_exists(module)) {
		list_names(NULL, list, sizeof(list));
		return ks_err_set(err, ENOENT, "module", "module \"%.40s\" does "
				  "not exist (modules: %s)", module, list);
	}
	if (!stat)
		return ks_err_set(err, EINVAL, "stat", "stat is required");
	m = ks_metric_lookup(module, stat);
	if (m < 0) {
		list_names(module, list, sizeof(list));
		return ks_err_set(err, ENOENT, "stat", "stat \"%.40s\" does not "
				  "exist in module %s (stats: %s)", stat, module,
				  list);
	}
	*out = (enum ks_metric)m;
	return 0;
}

static struct ks_pred *trivial_pred(enum ks_metric m, struct ks_err *err)
{
	json_t *empty = json_object();
	struct ks_pred *p = empty ? ks_pred__parse(empty, m, err) : NULL;

	json_decref(empty);
	if (!p && !empty)
		ks_err_set(err, ENOMEM, "predicate", "out of memory");
	return p;
}

/* The cloned instrumentation's predicate for a (maybe different) metric. */
static struct ks_pred *inherit_pred(const struct ks_instn_conf *base,
				    enum ks_metric m, struct ks_err *err)
{
	const struct ks_metricinfo *mi = ks_metric_info(base->metric);
	struct ks_err e = { "", "" };
	struct ks_pred *p;
	json_t *j;

	if (m == base->metric || ks_pred__trivial(base->pred)) {
		p = ks_pred__trivial(base->pred) ? trivial_pred(m, err) :
		    ks_pred__dup(base->pred);
		if (!p)
			ks_err_set(err, ENOMEM, "predicate", "out of memory");
		return p;
	}
	j = ks_pred__to_json(base->pred);
	if (!j) {
		ks_err_set(err, ENOMEM, "predicate", "out of memory");
		return NULL;
	}
	p = ks_pred__parse(j, m, &e);
	json_decref(j);
	if (!p)
		ks_err_set(err, EINVAL, "predicate", "%s (inherited from the "
			   "cloned %s.%s instrumentation)", e.msg, mi->module,
			   mi->stat);
	return p;
}

static int parse_pred(const json_t *v, const struct ks_instn_conf *base,
		      enum ks_metric m, struct ks_pred **out,
		      struct ks_err *err)
{
	const char *s = json_string_value(v);

	if (!v)
		*out = base ? inherit_pred(base, m, err) : trivial_pred(m, err);
	else if (s && !s[0])
		*out = trivial_pred(m, err);	/* "predicate=" */
	else if (s)
		*out = ks_pred__parse_str(s, m, err);
	else if (json_is_object(v))
		*out = ks_pred__parse(v, m, err);
	else
		return ks_err_set(err, EINVAL, "predicate", "predicate must be "
				  "an object or its JSON text (got %s)",
				  ks_json_type_name(v));
	return *out ? 0 : -EINVAL;
}

struct decomp {
	enum ks_metric metric;
	int discrete, numeric;
	const char *from;	/* "" or " (inherited ...)" for messages */
};

/* Adds field name[0..len) to the decomposition. */
static int decomp_add(struct decomp *d, const char *name, size_t len,
		      struct ks_err *err)
{
	const struct ks_metricinfo *mi = ks_metric_info(d->metric);
	char buf[64], list[160];
	int f, *slot;

	if (!len)
		return ks_err_set(err, EINVAL, "decomposition", "decomposition "
				  "has an empty field name");
	snprintf(buf, sizeof(buf), "%.*s", (int)(len < 63 ? len : 63), name);
	f = len < 63 && !memchr(name, '\0', len) ? ks_field_lookup(buf) : -1;
	if (f < 0 || !ks_metric_has_field(d->metric, (enum ks_field)f)) {
		ks_metric_field_list(d->metric, list, sizeof(list));
		return ks_err_set(err, EINVAL, "decomposition", "decomposition: "
				  "\"%.40s\"%s is not a field of %s.%s (its "
				  "fields: %s)", buf, d->from, mi->module,
				  mi->stat, list);
	}
	if (f == d->discrete || f == d->numeric)
		return ks_err_set(err, EINVAL, "decomposition", "decomposition: "
				  "\"%s\" is given twice", buf);
	slot = ks_field_numeric((enum ks_field)f) ? &d->numeric : &d->discrete;
	if (*slot >= 0)
		return ks_err_set(err, EINVAL, "decomposition", "decomposition: "
				  "at most one %s field, but \"%s\" and \"%s\" "
				  "are both %s", slot == &d->numeric ?
				  "numeric" : "discrete",
				  ks_field_info((enum ks_field)*slot)->name, buf,
				  slot == &d->numeric ? "numeric" : "discrete");
	*slot = f;
	return 0;
}

/* "a,b" with spaces around names allowed; "" is no decomposition. */
static int decomp_string(struct decomp *d, const char *s, size_t len,
			 struct ks_err *err)
{
	const char *end = s + len, *p = s;
	int rc;

	while (s < end && *s == ' ')
		s++;
	while (end > s && end[-1] == ' ')
		end--;
	if (s == end)
		return 0;
	for (p = s; p <= end; s = ++p) {
		const char *e;

		while (p < end && *p != ',')
			p++;
		e = p;
		while (s < e && *s == ' ')
			s++;
		while (e > s && e[-1] == ' ')
			e--;
		if ((rc = decomp_add(d, s, (size_t)(e - s), err)))
			return rc;
	}
	return 0;
}

static int decomp_inherit(struct decomp *d, const struct ks_instn_conf *base,
			  struct ks_err *err)
{
	const char *name;
	int rc;

	d->from = " (inherited from the cloned instrumentation)";
	if (base->discrete >= 0) {
		name = ks_field_info((enum ks_field)base->discrete)->name;
		if ((rc = decomp_add(d, name, strlen(name), err)))
			return rc;
	}
	if (base->numeric >= 0) {
		name = ks_field_info((enum ks_field)base->numeric)->name;
		if ((rc = decomp_add(d, name, strlen(name), err)))
			return rc;
	}
	return 0;
}

static int parse_decomp(const json_t *v, const struct ks_instn_conf *base,
			struct ks_instn_conf *c, struct ks_err *err)
{
	struct decomp d = { c->metric, -1, -1, "" };
	size_t i;
	json_t *el;
	int rc = 0;

	if (!v && base)
		rc = decomp_inherit(&d, base, err);
	else if (json_is_string(v))
		rc = decomp_string(&d, json_string_value(v),
				   json_string_length(v), err);
	else if (json_is_array(v)) {
		json_array_foreach(v, i, el) {
			if (!json_is_string(el))
				return ks_err_set(err, EINVAL, "decomposition",
						  "decomposition[%zu] must be a "
						  "field name (got %s)", i,
						  ks_json_type_name(el));
			rc = decomp_add(&d, json_string_value(el),
					json_string_length(el), err);
			if (rc)
				break;
		}
	} else if (v)
		return ks_err_set(err, EINVAL, "decomposition", "decomposition "
				  "must be an array of field names or a "
				  "comma-separated string (got %s)",
				  ks_json_type_name(v));
	if (!rc) {
		c->discrete = d.discrete;
		c->numeric = d.numeric;
	}
	return rc;
}

static int parse_granularity(const json_t *v, struct ks_instn_conf *c,
			     struct ks_err *err)
{
	uint64_t g;
	int rc;

	if (!v)
		return 0;
	rc = get_uint_range(v, "granularity", 1, KS_GRANULARITY_MAX, &g, err);
	if (rc)
		return rc;
	if (g != 1 && g % 5)
		return ks_err_set(err, EINVAL, "granularity", "granularity must "
				  "be 1 or a multiple of 5 seconds (got %llu)",
				  (unsigned long long)g);
	c->granularity = (uint32_t)g;
	return 0;
}

/* Bounds: at least KS_RETENTION_MIN and the granularity, at most
 * KS_MAX_DATAPOINTS intervals.  Without v, the default or inherited value
 * is brought inside them. */
static int parse_retention(const json_t *v, struct ks_instn_conf *c,
			   struct ks_err *err)
{
	uint64_t g = c->granularity, max = g * KS_MAX_DATAPOINTS, r;
	int rc;

	if (!v) {
		r = c->retention_time;
		r = r < g ? g : r > max ? max : r;
		c->retention_time = (uint32_t)(r < KS_RETENTION_MIN ?
					       KS_RETENTION_MIN : r);
		return 0;
	}
	if ((rc = get_uint(v, "retention-time", &r, err)))
		return rc;
	if (r < KS_RETENTION_MIN)
		return ks_err_set(err, ERANGE, "retention-time", "retention-time"
				  " must be at least %d seconds (got %llu)",
				  KS_RETENTION_MIN, (unsigned long long)r);
	if (r < g)
		return ks_err_set(err, ERANGE, "retention-time", "retention-time"
				  " must be at least the granularity, %llu "
				  "seconds (got %llu)", (unsigned long long)g,
				  (unsigned long long)r);
	if (r > max)
		return ks_err_set(err, ERANGE, "retention-time", "retention-time"
				  " must be at most %llu seconds for granularity"
				  " %llu (%d data points; got %llu)",
				  (unsigned long long)max, (unsigned long long)g,
				  KS_MAX_DATAPOINTS, (unsigned long long)r);
	c->retention_time = (uint32_t)r;
	return 0;
}

static int parse_mutable(const json_t **v, struct ks_instn_conf *c,
			 struct ks_err *err)
{
	uint64_t idle;
	bool on;
	int rc;

	if ((rc = parse_retention(v[P_RETENTION], c, err)))
		return rc;
	if (v[P_IDLE_MAX]) {
		rc = get_uint_range(v[P_IDLE_MAX], "idle-max", 0,
				    KS_IDLE_MAX_MAX, &idle, err);
		if (rc)
			return rc;
		c->idle_max = (uint32_t)idle;
	}
	if (v[P_PERSIST] && (rc = get_bool(v[P_PERSIST], "persist-data",
					   &c->persist_data, err)))
		return rc;
	if (v[P_ENABLED]) {
		if ((rc = get_bool(v[P_ENABLED], "enabled", &on, err)))
			return rc;
		if (!on)
			return ks_err_set(err, EINVAL, "enabled", "enabled only "
					  "accepts true (instrumentations cannot"
					  " be disabled)");
	}
	c->enabled = true;
	return 0;
}

static void conf_defaults(struct ks_instn_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->discrete = c->numeric = -1;
	c->granularity = KS_GRANULARITY_DEFAULT;
	c->retention_time = KS_RETENTION_DEFAULT;
	c->idle_max = KS_IDLE_MAX_DEFAULT;
	c->persist_data = false;
	c->enabled = true;
}

/* Everything but the metric, predicate and decomposition comes from the
 * base as is; those three are checked again for a clone. */
static int parse_all(const json_t **v, const struct ks_instn_conf *base,
		     enum ks_instn_op op, struct ks_instn_conf *c,
		     struct ks_err *err)
{
	int rc;

	if (op == KS_INSTN_MODIFY) {
		c->pred = ks_pred__dup(base->pred);
		if (base->pred && !c->pred)
			return ks_err_set(err, ENOMEM, "", "out of memory");
		return parse_mutable(v, c, err);
	}
	if ((rc = parse_metric(v, base, &c->metric, err)) ||
	    (rc = parse_pred(v[P_PREDICATE], base, c->metric, &c->pred, err)) ||
	    (rc = parse_decomp(v[P_DECOMPOSITION], base, c, err)) ||
	    (rc = parse_granularity(v[P_GRANULARITY], c, err)))
		return rc;
	return parse_mutable(v, c, err);
}

int ks_instn_conf_parse(const json_t *in, const struct ks_instn_conf *base,
			enum ks_instn_op op, struct ks_instn_conf *out,
			struct ks_err *err)
{
	const json_t *v[P__COUNT] = { NULL };
	struct ks_instn_conf c;
	int rc;

	ks_err_clear(err);
	if (op == KS_INSTN_CREATE)
		base = NULL;
	else if (!base)
		return ks_err_set(err, EINVAL, "", "no instrumentation to %s",
				  op == KS_INSTN_CLONE ? "clone" : "modify");
	if ((rc = collect(in, op, v, err)))
		return rc;
	conf_defaults(&c);
	if (base) {
		c = *base;
		c.pred = NULL;
	}
	rc = parse_all(v, base, op, &c, err);
	if (rc) {
		ks_pred__free(c.pred);
		return rc;
	}
	if (out == base)	/* parsed in place: c holds its own copy */
		ks_pred__free(out->pred);
	*out = c;
	return 0;
}

int ks_instn_conf_copy(struct ks_instn_conf *dst,
		       const struct ks_instn_conf *src)
{
	struct ks_pred *p = ks_pred__dup(src->pred);

	if (src->pred && !p)
		return -ENOMEM;
	*dst = *src;
	dst->pred = p;
	return 0;
}

void ks_instn_conf_fini(struct ks_instn_conf *c)
{
	if (!c)
		return;
	ks_pred__free(c->pred);
	c->pred = NULL;
}

enum ks_arity ks_instn_conf_arity(const struct ks_instn_conf *c)
{
	if (c->discrete >= 0)
		return c->numeric >= 0 ? KS_ARITY_DISCRETE_NUMERIC :
		       KS_ARITY_DISCRETE;
	return c->numeric >= 0 ? KS_ARITY_NUMERIC : KS_ARITY_SCALAR;
}

const char *ks_arity_name(enum ks_arity a)
{
	switch (a) {
	case KS_ARITY_SCALAR:
		return "scalar";
	case KS_ARITY_DISCRETE:
		return "discrete-decomposition";
	case KS_ARITY_NUMERIC:
	case KS_ARITY_DISCRETE_NUMERIC:
		/* CA: any numeric field makes it a heatmap */
		return "numeric-decomposition";
	}
	return "scalar";
}

int ks_instn_conf_dimension(const struct ks_instn_conf *c)
{
	return 1 + (c->discrete >= 0) + (c->numeric >= 0);
}

uint32_t ks_instn_conf_fields(const struct ks_instn_conf *c)
{
	uint32_t f = ks_pred__fields(c->pred);

	if (c->discrete >= 0)
		f |= 1u << c->discrete;
	if (c->numeric >= 0)
		f |= 1u << c->numeric;
	return f;
}

bool ks_instn_conf_uses_field(const struct ks_instn_conf *c, enum ks_field f)
{
	if ((unsigned int)f >= 32)
		return false;
	return ks_instn_conf_fields(c) & (1u << f);
}

static json_t *decomp_json(const struct ks_instn_conf *c)
{
	json_t *a = json_array();

	if (a && c->discrete >= 0 &&
	    json_array_append_new(a, json_string(ks_field_info(
			(enum ks_field)c->discrete)->name)))
		goto fail;
	if (a && c->numeric >= 0 &&
	    json_array_append_new(a, json_string(ks_field_info(
			(enum ks_field)c->numeric)->name)))
		goto fail;
	return a;
fail:
	json_decref(a);
	return NULL;
}

json_t *ks_instn_conf_to_json(const struct ks_instn_conf *c)
{
	const struct ks_metricinfo *mi = ks_metric_info(c->metric);

	return json_pack("{s:s,s:s,s:o,s:o,s:i,s:s,s:b,s:I,s:I,s:b,s:I,s:s}",
			 "module", mi->module,
			 "stat", mi->stat,
			 "predicate", ks_pred__to_json(c->pred),
			 "decomposition", decomp_json(c),
			 "value-dimension", ks_instn_conf_dimension(c),
			 "value-arity", ks_arity_name(ks_instn_conf_arity(c)),
			 "enabled", (int)c->enabled,
			 "retention-time", (json_int_t)c->retention_time,
			 "idle-max", (json_int_t)c->idle_max,
			 "persist-data", (int)c->persist_data,
			 "granularity", (json_int_t)c->granularity,
			 "value-scope", mi->point ? "point" : "interval");
}
