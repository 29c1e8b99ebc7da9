/* tenancy.c - namespaces, VM restriction, profile and caps (see tenancy.h).
 *
 * The engine keys each instrumentation by (owner, id), the owner being
 * the namespace: "" for the operator's, the tenant's name for a tenant's.
 * This module maps a scope to its owner and keeps, in a small table keyed
 * the same way, the predicate each tenant wrote (what it is shown).  The
 * state database saves each instrumentation's owner and shown predicate
 * and on restart restricts and adopts it again as a create does; one
 * whose tenant is gone comes back as the operator's (store.h), its stored
 * predicate still carrying the restriction, because that is part of what
 * the engine evaluates.  Entries whose instrumentation is gone (deleted,
 * reaped) are pruned when the table is grown; a namespace's ids are never
 * reused while the agent runs, so a stale entry never names a new one.
 *
 * The restriction is the predicate the tenant wrote ANDed with "vm is one
 * of the tenant's VMs" (vmuuid for entries written as UUIDs).  A record
 * lacking the field is not counted, so data of unknown ownership never
 * reaches a tenant.
 */
#include "http/tenancy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/catalog.h"
#include "engine/predicate.h"
#include "http/tokens.h"

_Static_assert(KS_TENANT_NAME_MAX <= KS_INSTN_OWNER_MAX,
	       "a tenant's name must fit an engine owner");

struct owner {
	char ns[KS_INSTN_OWNER_MAX + 1];	/* the tenant's name */
	char id[sizeof(((struct ks_instn *)0)->id)];
	json_t *shown;		/* the predicate as the tenant wrote it */
};

struct ks_tenancy {
	struct ks_engine *e;
	size_t cap;		/* per tenant */
	size_t n, alloc;
	struct owner *own;
};

/* Host-side fields a tenant does not get. */
static const enum ks_field operator_fields[] = { KS_F_PID, KS_F_HOSTNAME };

bool ks_tenancy_field_ok(enum ks_field f)
{
	for (size_t i = 0; i < sizeof(operator_fields) /
			       sizeof(operator_fields[0]); i++)
		if (operator_fields[i] == f)
			return false;
	return true;
}

/* Copies the comma-separated list [p, end) into out without the fields a
 * tenant does not get; returns the end of what was written. */
static char *scrub_list(const char *p, const char *end, char *out)
{
	char *o = out;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		char name[64];
		int f;

		snprintf(name, sizeof(name), "%.*s", (int)(stop - p), p);
		f = ks_field_lookup(name);
		if (f < 0 || ks_tenancy_field_ok((enum ks_field)f)) {
			if (o != out)
				o += sprintf(o, ", ");
			memcpy(o, p, (size_t)(stop - p));
			o += stop - p;
		}
		p = comma ? comma + 1 : end;
		while (p < end && *p == ' ')
			p++;
	}
	return o;
}

void ks_tenancy__scrub_err(const struct ks_scope *s, struct ks_err *err)
{
	static const char key[] = "its fields: ";
	char out[2 * sizeof(err->msg)], *o = out;
	const char *p = err->msg, *at, *end;

	if (s->kind != KS_SCOPE_TENANT)
		return;
	while ((at = strstr(p, key)) && (end = strchr(at, ')'))) {
		at += sizeof(key) - 1;
		memcpy(o, p, (size_t)(at - p));
		o = scrub_list(at, end, o + (at - p));
		p = end;
	}
	/* Only names are removed (and ", " put between the rest): the copy
	 * fits twice the message, and is cut to the message's size. */
	memcpy(o, p, strlen(p) + 1);
	out[sizeof(err->msg) - 1] = '\0';
	memcpy(err->msg, out, sizeof(err->msg));
}

/* Only a metric that carries the VM can be narrowed to a tenant's VMs. */
bool ks_tenancy_metric_ok(enum ks_metric m)
{
	return ks_metric_has_field(m, KS_F_VM);
}

struct ks_tenancy *ks_tenancy__new(struct ks_engine *e)
{
	struct ks_tenancy *t = calloc(1, sizeof(*t));

	if (t) {
		t->e = e;
		t->cap = KS_TENANT_INSTNS_DEFAULT;
	}
	return t;
}

void ks_tenancy__free(struct ks_tenancy *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		json_decref(t->own[i].shown);
	free(t->own);
	free(t);
}

void ks_tenancy__set_cap(struct ks_tenancy *t, size_t per_tenant)
{
	t->cap = per_tenant;
}

static struct owner *owner_of(struct ks_tenancy *t, const struct ks_instn *in)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->own[i].id, in->id) &&
		    !strcmp(t->own[i].ns, in->owner))
			return &t->own[i];
	return NULL;
}

/* Drops entries of instrumentations the engine no longer has. */
static void prune(struct ks_tenancy *t)
{
	size_t j = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (ks_engine__find(t->e, t->own[i].ns, t->own[i].id))
			t->own[j++] = t->own[i];
		else
			json_decref(t->own[i].shown);
	}
	t->n = j;
}

const char *ks_tenancy_ns(const struct ks_scope *s)
{
	switch (s->kind) {
	case KS_SCOPE_ALL:
	case KS_SCOPE_OPERATOR:
		return "";
	case KS_SCOPE_TENANT:
		return s->tenant->name;
	case KS_SCOPE_ANON:
	default:
		return NULL;
	}
}

struct ks_instn *ks_tenancy__find(struct ks_tenancy *t,
				  const struct ks_scope *s, const char *id)
{
	const char *ns = ks_tenancy_ns(s);

	return ns && id ? ks_engine__find(t->e, ns, id) : NULL;
}

bool ks_tenancy__visible(struct ks_tenancy *t, const struct ks_scope *s,
			 const struct ks_instn *in)
{
	const char *ns = ks_tenancy_ns(s);

	(void)t;
	return ns && !strcmp(in->owner, ns);
}

size_t ks_tenancy__count(struct ks_tenancy *t, const struct ks_scope *s)
{
	size_t n = 0;

	for (struct ks_instn *in = ks_engine__next(t->e, NULL); in;
	     in = ks_engine__next(t->e, in))
		n += ks_tenancy__visible(t, s, in);
	return n;
}

int ks_tenancy__prepare(struct ks_tenancy *t, const struct ks_scope *s,
			const struct ks_instn *src, json_t *params)
{
	const struct owner *o;

	if (s->kind != KS_SCOPE_TENANT || !src ||
	    json_object_get(params, "predicate"))
		return 0;
	o = owner_of(t, src);
	if (!o || !o->shown)
		return 0;
	return json_object_set(params, "predicate", o->shown) ? -ENOMEM : 0;
}

/* {"eq":["vm",NAME]} or {"eq":["vmuuid",UUID]}. */
static json_t *vm_leaf(const char *vm)
{
	return json_pack("{s:[s,s]}", "eq",
			 ks_tokens_is_uuid(vm) ? "vmuuid" : "vm", vm);
}

/* "vm is one of the tenant's": a leaf, or an "or" of leaves. */
static json_t *vm_pred(const struct ks_tenant *tn)
{
	json_t *or, *leaves = json_array();

	for (size_t i = 0; leaves && i < tn->nvms; i++)
		if (json_array_append_new(leaves, vm_leaf(tn->vms[i]))) {
			json_decref(leaves);
			return NULL;
		}
	if (!leaves || json_array_size(leaves) == 1) {
		json_t *one = json_incref(json_array_get(leaves, 0));

		json_decref(leaves);
		return one;
	}
	or = json_object();
	if (!or || json_object_set_new(or, "or", leaves)) {
		json_decref(or);
		return NULL;
	}
	return or;
}

/* The tenant's profile: the metric and every field used must be offered. */
static int check_profile(const struct ks_instn_conf *conf,
			 struct ks_err *err)
{
	const struct ks_metricinfo *mi = ks_metric_info(conf->metric);
	uint32_t used = ks_instn_conf_fields(conf);

	if (!ks_tenancy_metric_ok(conf->metric))
		return ks_err_set(err, EINVAL, "stat", "metric %s.%s is not "
				  "available to tenants", mi->module, mi->stat);
	/* CA: never expiring is for the operator. */
	if (!conf->idle_max)
		return ks_err_set(err, EINVAL, "idle-max", "idle-max 0 (never "
				  "expire) is not available to tenants");
	for (int f = 0; f < KS_F__COUNT; f++) {
		if (!((used >> f) & 1u) || ks_tenancy_field_ok(f))
			continue;
		return ks_err_set(err, EINVAL,
				  conf->discrete == f || conf->numeric == f ?
				  "decomposition" : "predicate",
				  "field \"%s\" describes the host and is not "
				  "available to tenants",
				  ks_field_info(f)->name);
	}
	return 0;
}

/* The user's predicate ANDed with the tenant's VMs, compiled into *out. */
static int restricted(const struct ks_instn_conf *conf, const json_t *user,
		      const struct ks_tenant *tn, struct ks_pred **out,
		      struct ks_err *err)
{
	json_t *vms = vm_pred(tn), *all;
	struct ks_err perr;

	if (!vms)
		return ks_err_set(err, ENOMEM, "", "out of memory");
	if (ks_pred__trivial(conf->pred))
		all = vms;
	else
		all = json_pack("{s:[O,o]}", "and", user, vms);
	if (!all)
		return ks_err_set(err, ENOMEM, "", "out of memory");
	*out = ks_pred__parse(all, conf->metric, &perr);
	json_decref(all);
	/* The only way the sum fails where the user's part passed is size:
	 * say so without quoting the VM list. */
	if (!*out)
		return ks_err_set(err, EINVAL, "predicate", "the predicate is "
				  "too large or too deep once limited to this "
				  "tenant's VMs: simplify it");
	return 0;
}

int ks_tenancy__restrict(struct ks_tenancy *t, const struct ks_scope *s,
			 struct ks_instn_conf *conf, json_t **shown,
			 struct ks_err *err)
{
	struct ks_pred *p;
	json_t *user;
	int rc;

	*shown = NULL;
	if (s->kind == KS_SCOPE_ANON)
		return ks_err_set(err, EPERM, "", "not allowed");
	if (s->kind != KS_SCOPE_TENANT)
		return 0;
	if ((rc = check_profile(conf, err)))
		return rc;
	if (ks_tenancy__count(t, s) >= t->cap)
		return ks_err_set(err, ENOSPC, "", "at most %zu "
				  "instrumentations may exist per tenant: "
				  "delete one first", t->cap);
	if (!(user = ks_pred__to_json(conf->pred)))
		return ks_err_set(err, ENOMEM, "", "out of memory");
	if ((rc = restricted(conf, user, s->tenant, &p, err))) {
		json_decref(user);
		return rc;
	}
	ks_pred__free(conf->pred);
	conf->pred = p;
	*shown = user;
	return 0;
}

int ks_tenancy__adopt(struct ks_tenancy *t, const struct ks_scope *s,
		      const struct ks_instn *in, json_t *shown)
{
	struct owner *o;

	if (s->kind != KS_SCOPE_TENANT) {
		json_decref(shown);
		return 0;
	}
	prune(t);
	if (t->n == t->alloc) {
		size_t alloc = t->alloc ? t->alloc * 2 : 16;

		o = realloc(t->own, alloc * sizeof(*o));
		if (!o) {
			json_decref(shown);
			return -ENOMEM;
		}
		t->own = o;
		t->alloc = alloc;
	}
	o = &t->own[t->n++];
	memset(o, 0, sizeof(*o));
	snprintf(o->ns, sizeof(o->ns), "%s", in->owner);
	memcpy(o->id, in->id, sizeof(o->id));
	o->shown = shown;
	return 0;
}

const json_t *ks_tenancy__shown(struct ks_tenancy *t,
				const struct ks_instn *in)
{
	const struct owner *o = owner_of(t, in);

	return o ? o->shown : NULL;
}

json_t *ks_tenancy__instn_json(struct ks_tenancy *t,
			       const struct ks_instn *in,
			       const char *uri_base)
{
	json_t *o = ks_instn__to_json(in, uri_base);
	const struct owner *ow = owner_of(t, in);

	if (o && ow && ow->shown &&
	    json_object_set(o, "predicate", ow->shown)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Removes the names of fields tenants do not get from a JSON array. */
static void drop_fields_array(json_t *arr)
{
	for (size_t i = json_array_size(arr); i-- > 0;) {
		int f = ks_field_lookup(json_string_value(
			json_array_get(arr, i)) ?: "");

		if (f >= 0 && !ks_tenancy_field_ok(f))
			json_array_remove(arr, i);
	}
}

/* Removes them from an object keyed by field name. */
static void drop_fields_object(json_t *obj)
{
	for (int f = 0; f < KS_F__COUNT; f++)
		if (!ks_tenancy_field_ok(f))
			json_object_del(obj, ks_field_info(f)->name);
}

json_t *ks_tenancy__catalog(const struct ks_scope *s, json_t *desc)
{
	json_t *metrics = json_object_get(desc, "metrics");
	json_t *mods = json_object_get(desc, "modules"), *keep;
	const char *name;
	void *tmp;
	json_t *v;

	if (!desc || s->kind != KS_SCOPE_TENANT)
		return desc;
	drop_fields_object(json_object_get(desc, "fields"));
	keep = json_object();
	for (size_t i = json_array_size(metrics); i-- > 0;) {
		json_t *m = json_array_get(metrics, i);
		int id = ks_metric_lookup(
			json_string_value(json_object_get(m, "module")) ?: "",
			json_string_value(json_object_get(m, "stat")) ?: "");

		if (id < 0 || !ks_tenancy_metric_ok(id)) {
			json_array_remove(metrics, i);
			continue;
		}
		drop_fields_array(json_object_get(m, "fields"));
		if (keep)
			json_object_set_new(keep, json_string_value(
				json_object_get(m, "module")), json_true());
	}
	json_object_foreach_safe(mods, tmp, name, v)
		if (keep && !json_object_get(keep, name))
			json_object_del(mods, name);
	json_decref(keep);
	return desc;
}

json_t *ks_tenancy__legacy_metrics(const struct ks_scope *s, json_t *mods)
{
	const char *mname, *sname;
	void *t1, *t2;
	json_t *mod, *st;

	if (!mods || s->kind != KS_SCOPE_TENANT)
		return mods;
	json_object_foreach_safe(mods, t1, mname, mod) {
		json_t *stats = json_object_get(mod, "stats");

		json_object_foreach_safe(stats, t2, sname, st) {
			int id = ks_metric_lookup(mname, sname);

			if (id < 0 || !ks_tenancy_metric_ok(id))
				json_object_del(stats, sname);
			else
				drop_fields_object(json_object_get(st,
								   "fields"));
		}
		if (!json_object_size(stats))
			json_object_del(mods, mname);
	}
	return mods;
}

json_t *ks_tenancy__status(struct ks_tenancy *t, const struct ks_scope *s,
			   json_t *status)
{
	json_t *o;

	if (!status || s->kind != KS_SCOPE_TENANT)
		return status;
	o = json_pack("{s:O?,s:O?,s:O?,s:I}",
		      "service", json_object_get(status, "service"),
		      "api_version", json_object_get(status, "api_version"),
		      "now", json_object_get(status, "now"),
		      "instrumentations", (json_int_t)ks_tenancy__count(t, s));
	json_decref(status);
	return o;
}
