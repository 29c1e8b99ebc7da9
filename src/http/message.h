/* message.h - HTTP requests and responses, independent of the server library.
 *
 * The server adapter (server.c, the only user of libmicrohttpd) turns each
 * request into a struct ks_http_req: the method, the decoded path, and one
 * JSON object of parameters merged from the query string and the form or
 * JSON body.  Handlers answer by filling a struct ks_http_resp: a status, a
 * content type, a body and a few extra headers.  Keeping both plain structs
 * lets unit tests and the fuzzer drive the router and handlers directly,
 * and lets the server library be replaced without touching them.
 *
 * Every error answer has CA's JSON shape, {"error": {"code", "message",
 * "param"}}: code is one of CA's (ECA_INVAL for anything the client got
 * wrong, ECA_NOENT for what does not exist, ECA_EXISTS, ECA_NORESOURCE,
 * ECA_UNKNOWN), and param, our addition inside CA's shape, names the
 * offending parameter ("" when none applies), so a client can point at the
 * field it got wrong.  Validation errors are 409 as in CA (see
 * ks_http_status_of); docs/ca-compat.md lists the codes.
 */
#ifndef KS_HTTP_MESSAGE_H
#define KS_HTTP_MESSAGE_H

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"

#define KS_HTTP_MAXHEADERS 12

struct ks_http_req {
	const char *method;	/* as received: "GET", "POST", ... */
	const char *path;	/* percent-decoded, without the query string */
	json_t *params;		/* object: query, form and JSON body members */
	const char *api_version;	/* X-API-Version header, or NULL */
	const char *authorization;	/* Authorization header, or NULL */
	const char *accept;	/* Accept header, or NULL */
};

struct ks_http_header {
	char *name;
	char *value;
};

struct ks_http_resp {
	int status;
	const char *content_type;	/* a static string, or NULL */
	char *body;		/* malloc'd, or NULL for no body */
	size_t len;
	size_t nheaders;
	struct ks_http_header headers[KS_HTTP_MAXHEADERS];
};

#define KS_HTTP_JSON "application/json"

/* CA's CORS headers, on every answer (ks_http_resp__cors). */
#define KS_HTTP_CORS_METHODS "POST, GET, DELETE, PUT"
#define KS_HTTP_CORS_HEADERS "Content-type"

void ks_http_resp_init(struct ks_http_resp *r);
void ks_http_resp_fini(struct ks_http_resp *r);
/* Drops any previous body and headers (the status is reset to 0). */
void ks_http_resp__reset(struct ks_http_resp *r);

/* Sets a JSON body (any JSON value) and the status; takes the reference to
 * body, even on error.  A NULL body (a failed allocation upstream) becomes
 * a 500 error.  0 or -ENOMEM (then r holds a bodiless 500). */
int ks_http_resp__json(struct ks_http_resp *r, int status, json_t *body);
/* Sets a body copied from s. */
int ks_http_resp__data(struct ks_http_resp *r, int status,
		       const char *content_type, const char *s, size_t len);
/* Adds a header (both strings copied).  0, -E2BIG or -ENOMEM. */
int ks_http_resp__header(struct ks_http_resp *r, const char *name,
			 const char *value);
/* The value of an extra header, or NULL. */
const char *ks_http_resp__get_header(const struct ks_http_resp *r,
				     const char *name);

/* An error answer: {"error": {"code", "message", "param"}}.  code is one
 * of CA's ("ECA_INVAL", ...), or NULL for the one that goes with status;
 * the former names ("InvalidArgument", "ResourceNotFound", ...) are still
 * understood and answered as CA's. */
int ks_http_resp__error(struct ks_http_resp *r, int status, const char *code,
			const char *param, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* An error answer for a negative errno from a validating function, with
 * the parameter and message of err; the status follows the errno (see
 * ks_http_status_of). */
int ks_http_resp__from_err(struct ks_http_resp *r, int rc,
			   const struct ks_err *err);
/* Adds CA's Access-Control-Allow-{Origin,Methods,Headers} headers unless
 * present.  0, -E2BIG or -ENOMEM. */
int ks_http_resp__cors(struct ks_http_resp *r);

/* The HTTP status for a negative errno, as CA answers: EINVAL, ERANGE,
 * ENOSPC, EEXIST 409 (CA's ECA_INVAL conflict); ENOENT 404; E2BIG 413;
 * ENOTSUP 415; EBADMSG (a request that is not HTTP we can read, such as a
 * malformed path) 400; anything else 500. */
int ks_http_status_of(int rc);
/* CA's error code for an HTTP status: ECA_NOENT for 404, ECA_NORESOURCE
 * for 503, ECA_UNKNOWN for other 5xx, else ECA_INVAL. */
const char *ks_http_code_of(int status);

#endif /* KS_HTTP_MESSAGE_H */
