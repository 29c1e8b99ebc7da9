/* params.h - request parameters: query strings, forms and JSON bodies.
 *
 * CA accepted parameters three ways: in the query string, in a url-encoded
 * form body, or as a JSON object body, and so does kvmscope.  They are
 * merged into one JSON object that the handlers and the engine's parsers
 * read without caring where a value came from:
 *   - query-string and form values are strings ("60", "true", "a,b");
 *   - a key given several times, or written "key[]", becomes an array of
 *     strings (repeated keys are CA's other way to send an array);
 *   - JSON body members are kept as they are (numbers, arrays, objects);
 *   - a key in the body replaces the same key from the query string, as
 *     CA's server did.
 * Keys and values must be valid UTF-8 without NUL bytes; anything else is
 * refused with the offending key named, never passed on half-decoded.
 */
#ifndef KS_HTTP_PARAMS_H
#define KS_HTTP_PARAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define KS_PARAM_KEY_MAX 64
#define KS_PARAM_MAX 128	/* distinct keys in one request */
#define KS_PARAM_VALUES_MAX 256	/* values of one repeated key */

/* True if s[0..n) is valid UTF-8 with no NUL and no other C0 control
 * character but tab. */
bool ks_utf8_valid(const char *s, size_t n);

/* Percent-decodes s[0..n) (and '+' to space when plus is set) into out,
 * which must hold n + 1 bytes; returns the decoded length, or -EINVAL for
 * a malformed escape. */
long ks_pct_decode(const char *s, size_t n, bool plus, char *out);

/* Adds one string value under key (both decoded, NUL-free): a first value
 * is a string, later ones turn it into an array; "key[]" always gives an
 * array.  0, -EINVAL (err names the key) or -ENOMEM. */
int ks_params_add(json_t *params, const char *key, size_t klen,
		  const char *val, size_t vlen, struct ks_err *err);

/* Parses an application/x-www-form-urlencoded string ("a=1&b=x%20y") into
 * params. */
int ks_params_parse_form(json_t *params, const char *s, size_t len,
			 struct ks_err *err);

/* Merges a request body into params according to its Content-Type
 * (ctype may be NULL: the body is then sniffed, '{' meaning JSON).  As in
 * CA, a body of another media type is ignored, and multipart/form-data is
 * refused.  Returns 0; -EINVAL for a malformed body (param "body");
 * -ENOTSUP for multipart (param "Content-Type"); -ENOMEM. */
int ks_params_parse_body(json_t *params, const char *ctype, const char *body,
			 size_t len, struct ks_err *err);

/* What the server (server.c), the unit tests and the fuzzer all build from
 * a request, with this one parser: decodes the path of the raw request
 * target ("/a/b?x=1") into path (pathlen bytes, NUL-terminated), adds its
 * query string, then merges the body.  Same returns as
 * ks_params_parse_body; a path that does not decode, holds a NUL or does
 * not fit gives -EBADMSG (param "path", answered 400). */
int ks_params_from_target(json_t *params, const char *target, char *path,
			  size_t pathlen, const char *ctype, const char *body,
			  size_t len, struct ks_err *err);

#endif /* KS_HTTP_PARAMS_H */
