/* router.c - path splitting and route matching (see router.h).
 *
 * Paths are split into at most KS_ROUTE_MAXSEGS segments on the stack;
 * patterns are split the same way on each match.  The route tables are a
 * few dozen entries, so a linear scan is both simplest and fast enough
 * (well under a microsecond per request).
 */
#include "http/router.h"

#include <stdio.h>
#include <string.h>

#include "http/params.h"

struct segs {
	size_t n;
	const char *s[KS_ROUTE_MAXSEGS];
	size_t len[KS_ROUTE_MAXSEGS];
};

/* Splits "/a/b/c" into segments; false for a relative path, an empty
 * segment or too many segments.  One trailing slash is ignored. */
static bool split(const char *path, struct segs *sg)
{
	size_t len = strlen(path);
	const char *p = path, *end;

	sg->n = 0;
	if (len && path[0] != '/')
		return false;
	if (len > 1 && path[len - 1] == '/')
		len--;
	end = path + len;
	if (len <= 1)
		return true;	/* "/" or "": no segments */
	while (p < end) {
		const char *q;

		p++;	/* the '/' */
		q = memchr(p, '/', (size_t)(end - p));
		if (!q)
			q = end;
		if (q == p || sg->n == KS_ROUTE_MAXSEGS)
			return false;
		sg->s[sg->n] = p;
		sg->len[sg->n++] = (size_t)(q - p);
		p = q;
	}
	return true;
}

static bool seg_is(const struct segs *sg, size_t i, const char *lit)
{
	return sg->len[i] == strlen(lit) && !memcmp(sg->s[i], lit, sg->len[i]);
}

static bool add_cap(struct ks_route_match *m, const char *name,
		    size_t nlen, const char *v, size_t vlen)
{
	struct ks_route_cap *c;

	if (m->ncaps == KS_ROUTE_MAXCAPS || nlen >= sizeof(c->name) ||
	    vlen > KS_ROUTE_MAXSEG)
		return false;
	c = &m->caps[m->ncaps++];
	memcpy(c->name, name, nlen);
	c->name[nlen] = '\0';
	memcpy(c->value, v, vlen);
	c->value[vlen] = '\0';
	return true;
}

/* Matches path segments [first, sg->n) against pattern; fills captures
 * after the first ncaps0 (the custid). */
static bool match_pattern(const char *pattern, const struct segs *sg,
			  size_t first, struct ks_route_match *m,
			  size_t ncaps0)
{
	struct segs ps;

	m->ncaps = ncaps0;
	if (!split(pattern, &ps) || ps.n != sg->n - first)
		return false;
	for (size_t i = 0; i < ps.n; i++) {
		const char *v = sg->s[first + i];
		size_t vlen = sg->len[first + i];

		if (ps.s[i][0] == ':') {
			if (!add_cap(m, ps.s[i] + 1, ps.len[i] - 1, v, vlen))
				return false;
		} else if (ps.len[i] != vlen || memcmp(ps.s[i], v, vlen)) {
			return false;
		}
	}
	return true;
}

/* Works out the base (/ca or /ca/customers/:custid): *first is set to the
 * first segment after it.  False if the path is not under /ca. */
static bool find_base(const struct segs *sg, struct ks_route_match *m,
		      size_t *first)
{
	m->ncaps = 0;
	m->customer = false;
	if (!sg->n || !seg_is(sg, 0, "ca"))
		return false;
	if (sg->n >= 3 && seg_is(sg, 1, "customers")) {
		if (!add_cap(m, "custid", 6, sg->s[2], sg->len[2]))
			return false;
		m->customer = true;
		snprintf(m->base, sizeof(m->base), "%s/customers/%s",
			 KS_ROUTE_BASE, m->caps[0].value);
		*first = 3;
		return true;
	}
	snprintf(m->base, sizeof(m->base), "%s", KS_ROUTE_BASE);
	*first = 1;
	return true;
}

static bool method_is(const char *method, const char *want)
{
	return !strcmp(method, want) ||
	       (!strcmp(want, "GET") && !strcmp(method, "HEAD"));
}

static void allow_add(char *allow, size_t allowlen, const char *method)
{
	size_t len = strlen(allow), mlen = strlen(method);
	const char *p = allow;

	/* Skip methods already listed. */
	while ((p = strstr(p, method))) {
		if ((p == allow || p[-1] == ' ') &&
		    (p[mlen] == ',' || p[mlen] == '\0'))
			return;
		p += mlen;
	}
	snprintf(allow + len, allowlen - len, "%s%s", len ? ", " : "", method);
}

enum ks_route_result ks_router_match(const struct ks_route *routes, size_t n,
				     const char *method, const char *path,
				     struct ks_route_match *m, char *allow,
				     size_t allowlen)
{
	struct ks_route_match abs;
	struct segs sg;
	size_t first = 0, ncaps0 = 0;
	bool under_base;

	if (allowlen)
		allow[0] = '\0';
	memset(m, 0, sizeof(*m));
	memset(&abs, 0, sizeof(abs));
	if (!split(path, &sg))
		return KS_ROUTE_NOT_FOUND;
	under_base = find_base(&sg, m, &first);
	ncaps0 = m->ncaps;
	for (size_t i = 0; i < n; i++) {
		const struct ks_route *r = &routes[i];
		bool hit;

		/* Absolute routes capture into a scratch match so that a miss
		 * cannot clobber the custid captured for relative ones. */
		if (r->absolute)
			hit = match_pattern(r->pattern, &sg, 0, &abs, 0);
		else
			hit = under_base &&
			      match_pattern(r->pattern, &sg, first, m, ncaps0);
		if (!hit)
			continue;
		if (method_is(method, r->method)) {
			if (r->absolute)
				*m = abs;
			m->route = r;
			return KS_ROUTE_FOUND;
		}
		if (allowlen) {
			allow_add(allow, allowlen, r->method);
			if (!strcmp(r->method, "GET"))
				allow_add(allow, allowlen, "HEAD");
		}
	}
	return allowlen && allow[0] ? KS_ROUTE_BAD_METHOD : KS_ROUTE_NOT_FOUND;
}

const char *ks_route_match__get(const struct ks_route_match *m,
				const char *name)
{
	for (size_t i = 0; i < m->ncaps; i++)
		if (!strcmp(m->caps[i].name, name))
			return m->caps[i].value;
	return NULL;
}

void ks_router_dispatch(const struct ks_route *routes, size_t n, void *ctx,
			const struct ks_http_req *req,
			struct ks_http_resp *resp)
{
	struct ks_route_match m;
	char allow[128];
	const char *path = req->path ? req->path : "";

	if (!req->method || !ks_utf8_valid(path, strlen(path)) ||
	    path[0] != '/') {
		ks_http_resp__error(resp, 400, NULL, "path",
				    "the path must be absolute, printable "
				    "UTF-8");
		return;
	}
	switch (ks_router_match(routes, n, req->method, path, &m, allow,
				sizeof(allow))) {
	case KS_ROUTE_FOUND:
		m.route->fn(ctx, req, &m, resp);
		return;
	case KS_ROUTE_BAD_METHOD:
		/* CA answered 404 for a method a resource does not take
		 * (PUT on a collection included); Allow still says which. */
		ks_http_resp__error(resp, 404, NULL, "method",
				    "no resource at %.200s for %.16s; allowed: "
				    "%s", path, req->method, allow);
		ks_http_resp__header(resp, "Allow", allow);
		return;
	case KS_ROUTE_NOT_FOUND:
	default:
		ks_http_resp__error(resp, 404, NULL, "",
				    "no resource at %.200s", path);
		return;
	}
}
