/* owners.c - the store's owner hooks over the tenancy and the tokens.
 *
 * A tenant's saved instrumentation is limited as the tenant's own create
 * would be (its scope from the token file, then the tenancy's
 * restriction) and adopted by the tenant; a tenant no longer in the token
 * file cannot have it back, and the store gives it to the operator.
 */
#include "http/owners.h"

#include <errno.h>
#include <stddef.h>

#include "http/access.h"
#include "http/tenancy.h"
#include "http/tokens.h"

/* The scope of the tenant named owner, as its own requests get. */
static int tenant_scope(const struct ks_tenant_owners *o, const char *owner,
			struct ks_scope *scope, struct ks_err *err)
{
	const struct ks_tenant *tn = ks_tokens__tenant(o->tokens, owner);

	if (!tn)
		return ks_err_set(err, ENOENT, "", "no such tenant in the "
				  "token file");
	*scope = (struct ks_scope){ KS_SCOPE_TENANT, tn };
	return 0;
}

static int owner_limit(void *ctx, const char *owner,
		       struct ks_instn_conf *conf, json_t **shown,
		       struct ks_err *err)
{
	struct ks_tenant_owners *o = ctx;
	struct ks_scope scope;
	int rc;

	*shown = NULL;
	if ((rc = tenant_scope(o, owner, &scope, err)))
		return rc;
	return ks_tenancy__restrict(o->tenancy, &scope, conf, shown, err);
}

static int owner_adopt(void *ctx, const char *owner,
		       const struct ks_instn *in, json_t *shown)
{
	struct ks_tenant_owners *o = ctx;
	struct ks_scope scope;
	struct ks_err err;

	if (tenant_scope(o, owner, &scope, &err)) {
		json_decref(shown);
		return -ENOENT;
	}
	return ks_tenancy__adopt(o->tenancy, &scope, in, shown);
}

static const json_t *owner_shown(void *ctx, const struct ks_instn *in)
{
	struct ks_tenant_owners *o = ctx;

	return ks_tenancy__shown(o->tenancy, in);
}

const struct ks_store_owners *ks_tenant_owners__hooks(
	struct ks_tenant_owners *o, struct ks_store_owners *ow)
{
	if (!o->tenancy)
		return NULL;
	*ow = (struct ks_store_owners){
		.limit = o->tokens ? owner_limit : NULL,
		.adopt = o->tokens ? owner_adopt : NULL,
		.shown = owner_shown,
		.ctx = o,
	};
	return ow;
}
