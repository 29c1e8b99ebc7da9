/* router.h - matching request paths to handlers, CA style.
 *
 * A route is a method and a pattern of '/'-separated segments, where a
 * segment ":name" captures any one non-empty segment.  CA served each
 * resource twice, at /ca/... (global) and at /ca/customers/:custid/...
 * (one tenant), so patterns are written relative to that base: a relative
 * pattern "/instrumentations/:id" matches both /ca/instrumentations/7 and
 * /ca/customers/acme/instrumentations/7, and the match records which base
 * was used so handlers can build URIs in the client's own namespace.
 * Routes marked absolute (the web page at "/") match the whole path.
 *
 * Matching distinguishes "no such resource" from "resource exists but not
 * with this method" (the Allow list); both are answered 404 as CA did,
 * the second with an Allow header.  HEAD matches GET.
 * One trailing slash is ignored; empty segments ("//") match nothing.
 */
#ifndef KS_HTTP_ROUTER_H
#define KS_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "http/message.h"

#define KS_ROUTE_BASE "/ca"
#define KS_ROUTE_MAXCAPS 3
#define KS_ROUTE_MAXSEG 128	/* longest segment a capture accepts */
#define KS_ROUTE_MAXSEGS 16

struct ks_route_match;

typedef void (*ks_route_fn)(void *ctx, const struct ks_http_req *req,
			    const struct ks_route_match *m,
			    struct ks_http_resp *resp);

struct ks_route {
	const char *method;
	const char *pattern;	/* "" is the base itself */
	ks_route_fn fn;
	bool absolute;		/* pattern is the whole path, not under /ca */
	bool anonymous;		/* served without a token (http/access.h) */
};

struct ks_route_cap {
	char name[16];
	char value[KS_ROUTE_MAXSEG + 1];
};

struct ks_route_match {
	const struct ks_route *route;
	/* "/ca" or "/ca/customers/<custid>", as in the request. */
	char base[sizeof(KS_ROUTE_BASE) + sizeof("/customers/") +
		  KS_ROUTE_MAXSEG];
	bool customer;
	size_t ncaps;
	struct ks_route_cap caps[KS_ROUTE_MAXCAPS];
};

enum ks_route_result {
	KS_ROUTE_FOUND,
	KS_ROUTE_NOT_FOUND,	/* 404 */
	KS_ROUTE_BAD_METHOD,	/* 404 too (CA), allow lists the methods */
};

/* Matches method and path against routes[0..n).  For BAD_METHOD, allow
 * (allowlen bytes) receives the methods the path supports, ", "-separated. */
enum ks_route_result ks_router_match(const struct ks_route *routes, size_t n,
				     const char *method, const char *path,
				     struct ks_route_match *m, char *allow,
				     size_t allowlen);

/* The value captured for ":name" (custid included), or NULL. */
const char *ks_route_match__get(const struct ks_route_match *m,
				const char *name);

/* Matches and calls the handler; answers 404 itself (with an Allow
 * header when the path exists with other methods), as JSON errors. */
void ks_router_dispatch(const struct ks_route *routes, size_t n, void *ctx,
			const struct ks_http_req *req,
			struct ks_http_resp *resp);

#endif /* KS_HTTP_ROUTER_H */
