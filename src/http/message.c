/* message.c - building HTTP responses: JSON bodies, errors, headers.
 *
 * Bodies are encoded here once, compact, with a trailing newline so that
 * curl output ends cleanly.  When memory runs out the response degrades to
 * a bodiless 500 rather than failing the connection: a response always
 * exists.
 */
#include "http/message.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ks_http_resp_init(struct ks_http_resp *r)
{
	memset(r, 0, sizeof(*r));
}

static void drop_body(struct ks_http_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
	r->content_type = NULL;
}

void ks_http_resp__reset(struct ks_http_resp *r)
{
	drop_body(r);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->nheaders = 0;
	r->status = 0;
}

void ks_http_resp_fini(struct ks_http_resp *r)
{
	ks_http_resp__reset(r);
}

static int fail_500(struct ks_http_resp *r)
{
	drop_body(r);
	r->status = 500;
	return -ENOMEM;
}

int ks_http_resp__json(struct ks_http_resp *r, int status, json_t *body)
{
	char *s;
	size_t n;

	if (!body)
		return fail_500(r);
	s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY |
			  JSON_REAL_PRECISION(12));
	json_decref(body);
	if (!s)
		return fail_500(r);
	n = strlen(s);
	drop_body(r);
	r->body = realloc(s, n + 2);
	if (!r->body) {
		free(s);
		return fail_500(r);
	}
	r->body[n] = '\n';
	r->body[n + 1] = '\0';
	r->len = n + 1;
	r->status = status;
	r->content_type = KS_HTTP_JSON;
	return 0;
}

int ks_http_resp__data(struct ks_http_resp *r, int status,
		       const char *content_type, const char *s, size_t len)
{
	drop_body(r);
	r->body = malloc(len + 1);
	if (!r->body)
		return fail_500(r);
	memcpy(r->body, s, len);
	r->body[len] = '\0';
	r->len = len;
	r->status = status;
	r->content_type = content_type;
	return 0;
}

int ks_http_resp__header(struct ks_http_resp *r, const char *name,
			 const char *value)
{
	struct ks_http_header *h;

	if (r->nheaders >= KS_HTTP_MAXHEADERS)
		return -E2BIG;
	h = &r->headers[r->nheaders];
	h->name = strdup(name);
	h->value = strdup(value);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		return -ENOMEM;
	}
	r->nheaders++;
	return 0;
}

const char *ks_http_resp__get_header(const struct ks_http_resp *r,
				     const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

/* Replaces bytes outside printable ASCII by '?'. */
static void ascii_only(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* Our former code names, still passed by some callers, and CA's. */
static const struct {
	const char *name, *ca;
} code_names[] = {
	{ "InvalidArgument", "ECA_INVAL" },
	{ "BadRequest", "ECA_INVAL" },
	{ "ResourceNotFound", "ECA_NOENT" },
	{ "MethodNotAllowed", "ECA_NOENT" },
	{ "Conflict", "ECA_EXISTS" },
	{ "RequestEntityTooLarge", "ECA_INVAL" },
	{ "UnsupportedMediaType", "ECA_INVAL" },
	{ "NotAuthorized", "ECA_INVAL" },
	{ "Forbidden", "ECA_INVAL" },
	{ "ServiceUnavailable", "ECA_NORESOURCE" },
	{ "InternalError", "ECA_UNKNOWN" },
};

/* CA's code for code (one of CA's, or a former name), or from status. */
static const char *ca_code(int status, const char *code)
{
	if (code && !strncmp(code, "ECA_", 4))
		return code;
	for (size_t i = 0; code && i < sizeof(code_names) /
				      sizeof(code_names[0]); i++)
		if (!strcmp(code, code_names[i].name))
			return code_names[i].ca;
	return ks_http_code_of(status);
}

int ks_http_resp__error(struct ks_http_resp *r, int status, const char *code,
			const char *param, const char *fmt, ...)
{
	char msg[512], pbuf[128];
	va_list ap;
	json_t *o, *m, *p;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote client input, which may be invalid UTF-8 (jansson
	 * refuses it): fall back to escaping every byte that is not ASCII. */
	m = json_string(msg);
	if (!m) {
		ascii_only(msg);
		m = json_string(msg);
	}
	p = json_string(param ? param : "");
	if (!p) {
		snprintf(pbuf, sizeof(pbuf), "%s", param);
		ascii_only(pbuf);
		p = json_string(pbuf);
	}
	o = json_pack("{s:{s:s,s:o,s:o}}", "error", "code",
		      ca_code(status, code), "message", m, "param", p);
	return ks_http_resp__json(r, status, o);
}

int ks_http_status_of(int rc)
{
	switch (-rc) {
	case EBADMSG:
		return 400;
	case EINVAL:
	case ERANGE:
	case ENOSPC:
	case EEXIST:
		return 409;
	case ENOENT:
		return 404;
	case E2BIG:
		return 413;
	case ENOTSUP:
		return 415;
	default:
		return 500;
	}
}

const char *ks_http_code_of(int status)
{
	switch (status) {
	case 404:
	case 405:
		return "ECA_NOENT";
	case 503:
		return "ECA_NORESOURCE";
	default:
		return status >= 500 ? "ECA_UNKNOWN" : "ECA_INVAL";
	}
}

int ks_http_resp__from_err(struct ks_http_resp *r, int rc,
			   const struct ks_err *err)
{
	int status = ks_http_status_of(rc);
	const char *msg = err && err->msg[0] ? err->msg : strerror(-rc);

	return ks_http_resp__error(r, status,
				   rc == -EEXIST ? "ECA_EXISTS" : NULL,
				   err ? err->param : "", "%s", msg);
}

int ks_http_resp__cors(struct ks_http_resp *r)
{
	int rc = 0;

	if (!ks_http_resp__get_header(r, "Access-Control-Allow-Origin"))
		rc = ks_http_resp__header(r, "Access-Control-Allow-Origin",
					  "*");
	if (!rc && !ks_http_resp__get_header(r,
					     "Access-Control-Allow-Methods"))
		rc = ks_http_resp__header(r, "Access-Control-Allow-Methods",
					  KS_HTTP_CORS_METHODS);
	if (!rc && !ks_http_resp__get_header(r,
					     "Access-Control-Allow-Headers"))
		rc = ks_http_resp__header(r, "Access-Control-Allow-Headers",
					  KS_HTTP_CORS_HEADERS);
	return rc;
}
