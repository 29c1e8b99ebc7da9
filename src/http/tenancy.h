/* tenancy.h - what a scope may see and do in the shared engine.
 *
 * All tenants and the operator share one engine; this module keeps them
 * apart (DESIGN.md decision 9: a tenant cannot see, instrument or infer
 * another tenant's VMs):
 *
 *  - Namespaces.  Each instrumentation belongs to the namespace it was
 *    created in: the operator's (/ca/...) or one tenant's, which is its
 *    owner in the engine.  Ids are numbered per namespace (CA's
 *    /ca/customers/:custid/instrumentations/:id), so a tenant's ids say
 *    nothing of what others create.  Lists show only the scope's own, and
 *    an id is looked up in the scope's namespace only, so another
 *    namespace's id answers 404 exactly as an id that never existed.
 *  - Restriction.  An instrumentation made in a tenant's namespace gets
 *    the tenant's VMs ANDed into its predicate, so the engine never
 *    counts another VM's records into it: values, decompositions (by vm,
 *    vcpu, anything), heatmap keys and details hold only the tenant's
 *    VMs, and a predicate naming someone else's VM just matches nothing.
 *    The instrumentation object shows the tenant the predicate it wrote.
 *  - Profile.  As CA hid `hostname` from customers, tenants do not get
 *    host-side fields (the QEMU pid) nor metrics that cannot be narrowed
 *    to a VM (those without a vm field); GET /ca and the legacy
 *    /ca/metrics omit them and creating with them is refused.
 *  - Caps.  At most `tenant-instrumentations` per tenant (CA: 10 per
 *    customer).
 *  - Status.  A tenant's /admin/status shows only the service, the clock
 *    and its own instrumentation count, not the host's record counters.
 *
 * In KS_SCOPE_ALL (no token file) none of this applies: one namespace,
 * no restriction, as the agent behaved before access control.
 */
#ifndef KS_HTTP_TENANCY_H
#define KS_HTTP_TENANCY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"
#include "http/access.h"
#include "util/err.h"

#define KS_TENANT_INSTNS_DEFAULT 10	/* CA's per-customer cap */

struct ks_tenancy;

/* Over engine e, which must outlive it. */
struct ks_tenancy *ks_tenancy__new(struct ks_engine *e);
void ks_tenancy__free(struct ks_tenancy *t);
void ks_tenancy__set_cap(struct ks_tenancy *t, size_t per_tenant);

/* The engine owner of the scope's namespace: "" for the operator's (and
 * for KS_SCOPE_ALL's single one), the tenant's name, NULL for none. */
const char *ks_tenancy_ns(const struct ks_scope *s);
/* The instrumentation id in the scope's namespace, or NULL. */
struct ks_instn *ks_tenancy__find(struct ks_tenancy *t,
				  const struct ks_scope *s, const char *id);

/* True if in belongs to the scope's namespace. */
bool ks_tenancy__visible(struct ks_tenancy *t, const struct ks_scope *s,
			 const struct ks_instn *in);
/* The number of instrumentations the scope sees. */
size_t ks_tenancy__count(struct ks_tenancy *t, const struct ks_scope *s);

/* Before a create or clone is parsed: a tenant's clone that gives no
 * predicate inherits the source's predicate as the tenant wrote it (not
 * the restricted one).  0 or -ENOMEM. */
int ks_tenancy__prepare(struct ks_tenancy *t, const struct ks_scope *s,
			const struct ks_instn *src, json_t *params);
/* Removes the fields a tenant does not get from the "(its fields: ...)"
 * lists of an engine's error message, when s is a tenant's scope. */
void ks_tenancy__scrub_err(const struct ks_scope *s, struct ks_err *err);
/* After parsing: checks the profile and the cap and restricts conf's
 * predicate to the tenant's VMs.  *shown receives the predicate to show
 * the scope (new reference, or NULL when nothing changes); pass it to
 * ks_tenancy__adopt once the engine created the instrumentation, or
 * json_decref it.  0, or a negative errno with err (nothing changed). */
int ks_tenancy__restrict(struct ks_tenancy *t, const struct ks_scope *s,
			 struct ks_instn_conf *conf, json_t **shown,
			 struct ks_err *err);
/* Records that in belongs to the scope; takes shown.  0 or -ENOMEM. */
int ks_tenancy__adopt(struct ks_tenancy *t, const struct ks_scope *s,
		      const struct ks_instn *in, json_t *shown);

/* For persistence: the predicate in's tenant wrote (borrowed; NULL for
 * the operator's and for none).  Its owner is in->owner. */
const json_t *ks_tenancy__shown(struct ks_tenancy *t,
				const struct ks_instn *in);

/* CA's instrumentation object as the scope sees it. */
json_t *ks_tenancy__instn_json(struct ks_tenancy *t,
			       const struct ks_instn *in,
			       const char *uri_base);

/* Narrow GET /ca's description, or the legacy /ca/metrics object, to the
 * scope's profile (in place; NULL passes through). */
json_t *ks_tenancy__catalog(const struct ks_scope *s, json_t *desc);
json_t *ks_tenancy__legacy_metrics(const struct ks_scope *s, json_t *mods);
/* The /admin/status object for the scope (takes status, may replace it). */
json_t *ks_tenancy__status(struct ks_tenancy *t, const struct ks_scope *s,
			   json_t *status);

/* True if field f is offered to tenants; true if metric m is. */
bool ks_tenancy_field_ok(enum ks_field f);
bool ks_tenancy_metric_ok(enum ks_metric m);

#endif /* KS_HTTP_TENANCY_H */
