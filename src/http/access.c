/* access.c - deciding each request's scope (see access.h).
 *
 * The gate runs before any handler and before the engine lock, so a
 * refused request costs a route match and a token comparison, and no
 * handler ever runs without a scope.  The default is refusal: only routes
 * marked anonymous (the web UI's files, which hold no data) are served
 * without a token, and a route added later is protected unless marked.
 */
#include "http/access.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CUSTOMERS KS_ROUTE_BASE "/customers/"

enum ns { NS_GLOBAL, NS_CUSTOMER, NS_OTHER };

/* The namespace of a path no route matched, read the way the router
 * reads one: "/ca/customers/<seg>/..." is <seg>'s, the rest of "/ca" is
 * the operator's, anything else is outside the API. */
static enum ns path_ns(const char *path, char *cust, size_t len)
{
	const char *seg, *end;

	if (!strncmp(path, CUSTOMERS, sizeof(CUSTOMERS) - 1)) {
		seg = path + sizeof(CUSTOMERS) - 1;
		end = strchrnul(seg, '/');
		if (end > seg && (size_t)(end - seg) < len) {
			memcpy(cust, seg, (size_t)(end - seg));
			cust[end - seg] = '\0';
			return NS_CUSTOMER;
		}
		return NS_GLOBAL;
	}
	if (!strcmp(path, KS_ROUTE_BASE) ||
	    !strncmp(path, KS_ROUTE_BASE "/", sizeof(KS_ROUTE_BASE)))
		return NS_GLOBAL;
	return NS_OTHER;
}

/* The namespace of the request; *anon is set for anonymous routes. */
static enum ns request_ns(const struct ks_route *routes, size_t n,
			  const struct ks_http_req *req, char *cust,
			  size_t len, bool *anon)
{
	struct ks_route_match m;
	const char *id;

	*anon = false;
	if (!req->path || !req->method)
		return NS_OTHER;
	if (ks_router_match(routes, n, req->method, req->path, &m, NULL, 0) !=
	    KS_ROUTE_FOUND)
		return path_ns(req->path, cust, len);
	if (m.route->anonymous) {
		*anon = true;
		return NS_OTHER;
	}
	if (m.route->absolute)
		return NS_OTHER;
	if (!m.customer || !(id = ks_route_match__get(&m, "custid")))
		return NS_GLOBAL;
	snprintf(cust, len, "%s", id);
	return NS_CUSTOMER;
}

/* The token of an "Authorization: Bearer TOKEN" header, or NULL. */
static const char *bearer(const char *h, size_t *len)
{
	static const char scheme[] = "Bearer";
	const char *t, *e;

	if (!h || strncasecmp(h, scheme, sizeof(scheme) - 1) ||
	    (h[sizeof(scheme) - 1] != ' ' && h[sizeof(scheme) - 1] != '\t'))
		return NULL;
	for (t = h + sizeof(scheme) - 1; *t == ' ' || *t == '\t'; t++)
		;
	for (e = t + strlen(t); e > t && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*len = (size_t)(e - t);
	return *len ? t : NULL;
}

static int refuse_401(struct ks_http_resp *resp, bool had_header)
{
	ks_http_resp__error(resp, 401, "NotAuthorized", "Authorization",
			    had_header ? "the bearer token is not valid" :
			    "this agent needs \"Authorization: Bearer TOKEN\"");
	ks_http_resp__header(resp, "WWW-Authenticate",
			     "Bearer realm=\"" KS_ACCESS_REALM "\"");
	return -EACCES;
}

/* The router's own answer for a path with no resource, so a refusal is
 * indistinguishable from absence. */
static int refuse_404(struct ks_http_resp *resp, const char *path)
{
	ks_http_resp__error(resp, 404, "ResourceNotFound", "",
			    "no resource at %.200s", path);
	return -ENOENT;
}

static int refuse_403(struct ks_http_resp *resp, const struct ks_tenant *t)
{
	ks_http_resp__error(resp, 403, "Forbidden", "Authorization",
			    "this token is tenant %s's: use "
			    KS_ROUTE_BASE "/customers/%s/...", t->name,
			    t->name);
	return -EPERM;
}

int ks_access_authorize(const struct ks_tokens *tokens,
			const struct ks_route *routes, size_t n,
			const struct ks_http_req *req, struct ks_scope *scope,
			struct ks_http_resp *resp)
{
	char cust[KS_ROUTE_MAXSEG + 1] = "";
	const struct ks_token *tok;
	const char *secret;
	size_t len = 0;
	bool anon;
	enum ns ns;

	*scope = (struct ks_scope){ .kind = KS_SCOPE_ALL };
	if (!tokens)
		return 0;
	ns = request_ns(routes, n, req, cust, sizeof(cust), &anon);
	if (anon) {
		scope->kind = KS_SCOPE_ANON;
		return 0;
	}
	secret = bearer(req->authorization, &len);
	if (!secret || !(tok = ks_tokens__find(tokens, secret, len)))
		return refuse_401(resp, req->authorization != NULL);
	if (ns != NS_CUSTOMER) {
		if (tok->tenant)
			return refuse_403(resp, tok->tenant);
		scope->kind = KS_SCOPE_OPERATOR;
		return 0;
	}
	if (tok->tenant && strcmp(tok->tenant->name, cust))
		return refuse_404(resp, req->path);
	scope->tenant = tok->tenant ? tok->tenant :
			ks_tokens__tenant(tokens, cust);
	if (!scope->tenant)
		return refuse_404(resp, req->path);
	scope->kind = KS_SCOPE_TENANT;
	return 0;
}

bool ks_access_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

int ks_access_check_listen(const struct sockaddr *sa, const char *host,
			   bool have_tokens, struct ks_err *err)
{
	if (have_tokens || ks_access_is_loopback(sa))
		return 0;
	return ks_err_set(err, EPERM, "--listen",
			  "%.100s is not a loopback address, and without a "
			  "token file anyone who reaches it could use the API: "
			  "give --tokens FILE (or \"tokens\" in the config "
			  "file), or listen on 127.0.0.1", host);
}
