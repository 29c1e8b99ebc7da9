/* owners.h - how tenants' instrumentations are saved and come back.
 *
 * The store (store/store.h) saves each instrumentation with its owner and
 * restores it through a struct ks_store_owners; this module fills one
 * from the API's tenancy and token file, so that the agent's persistence
 * (agent/state.h) needs nothing of access control: a tenant's saved
 * instrumentation returns to the tenant named in the token file,
 * restricted again to its VMs exactly as a create would, and is saved
 * with the predicate the tenant wrote.
 */
#ifndef KS_HTTP_OWNERS_H
#define KS_HTTP_OWNERS_H

#include "store/store.h"

struct ks_tenancy;
struct ks_tokens;

/* The context of the hooks: must outlive the state that uses them. */
struct ks_tenant_owners {
	struct ks_tenancy *tenancy;
	const struct ks_tokens *tokens;
};

/* Fills ow with hooks over o (with o's tenancy and tokens set; tokens
 * NULL: no access control, ow has no limit/adopt and everything comes
 * back as the operator's).  Returns ow, or NULL when there is no
 * tenancy at all. */
const struct ks_store_owners *ks_tenant_owners__hooks(
	struct ks_tenant_owners *o, struct ks_store_owners *ow);

#endif /* KS_HTTP_OWNERS_H */
