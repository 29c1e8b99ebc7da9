/* access.h - who is asking: bearer tokens to scopes, per request.
 *
 * Without a token file the agent is open to whoever can reach it, so it
 * may then listen only on loopback (ks_access_check_listen); every request
 * gets KS_SCOPE_ALL, the whole engine in one namespace, and customer
 * routes are aliases of the global ones.
 *
 * With a token file (http/tokens.h) every request except the web UI's
 * static files must carry `Authorization: Bearer TOKEN`.  The route's
 * namespace and the token decide the scope:
 *
 *   route                     operator token        tenant token T
 *   /ca/...                   OPERATOR              403
 *   /ca/customers/T/...       TENANT(T)             TENANT(T)
 *   /ca/customers/U/...       TENANT(U) if U is a   404, the same answer
 *                             tenant, else 404      as for no such tenant
 *   anything else (/metrics)  OPERATOR              403
 *
 * A tenant's token on another tenant's routes gets exactly the 404 that a
 * path naming no tenant gets, so tenants cannot learn each other's names;
 * on the operator's routes it gets 403, since those exist for everyone.
 * A missing or unknown token gets 401 before anything else is looked at.
 */
#ifndef KS_HTTP_ACCESS_H
#define KS_HTTP_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "http/message.h"
#include "http/router.h"
#include "http/tokens.h"
#include "util/err.h"

enum ks_scope_kind {
	KS_SCOPE_ALL,		/* no token file: everything, one namespace */
	KS_SCOPE_OPERATOR,	/* the operator's namespace, /ca/... */
	KS_SCOPE_TENANT,	/* one tenant's namespace and VMs */
	KS_SCOPE_ANON,		/* a static file: sees no data at all */
};

struct ks_scope {
	enum ks_scope_kind kind;
	const struct ks_tenant *tenant;	/* for KS_SCOPE_TENANT */
};

#define KS_ACCESS_REALM "kvmscope"

/* Decides the scope of req against routes[0..n) (to learn the route's
 * namespace and whether it is anonymous).  tokens NULL: KS_SCOPE_ALL.
 * 0 to serve the request in *scope; a negative errno when resp already
 * holds the refusal (401 with WWW-Authenticate, 403 or 404). */
int ks_access_authorize(const struct ks_tokens *tokens,
			const struct ks_route *routes, size_t n,
			const struct ks_http_req *req, struct ks_scope *scope,
			struct ks_http_resp *resp);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool ks_access_is_loopback(const struct sockaddr *sa);

/* Refuses to serve a non-loopback address without tokens.  0 or -EPERM
 * with err (param "--listen"). */
int ks_access_check_listen(const struct sockaddr *sa, const char *host,
			   bool have_tokens, struct ks_err *err);

#endif /* KS_HTTP_ACCESS_H */
