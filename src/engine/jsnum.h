/* jsnum.h - numbers read the way CA's JavaScript read them.
 *
 * CA passed every numeric parameter through parseInt(x, 10) or
 * parseFloat(x): leading blanks are skipped, an optional sign and the
 * longest numeric prefix are taken, and the rest is ignored ("10.5" is 10
 * to parseInt, "60s" is 60).  Only a value with no numeric prefix at all
 * ("foo", "", true, null) is not a number.  Clients written for CA send
 * such values, so kvmscope reads them the same way; the bounds are then
 * checked on the number read, as CA checked them.
 *
 * A JSON number is read as JavaScript would after String(): an integer as
 * itself, a real truncated toward zero by parseInt.  A one-or-more element
 * array (a key repeated in a query string) reads its first element, as
 * String() of an array starts with it.
 */
#ifndef KS_ENGINE_JSNUM_H
#define KS_ENGINE_JSNUM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* parseInt(s, 10) on n bytes: true and *out set, or false for NaN.
 * Values beyond +-2^62 are clamped there (every bound is far smaller). */
bool ks_js_parse_int(const char *s, size_t n, int64_t *out);
/* parseFloat(s) on n bytes: true and *out set (possibly infinite, for
 * "Infinity"), or false for NaN. */
bool ks_js_parse_float(const char *s, size_t n, double *out);

/* The same on a JSON value (string, number or array as above). */
bool ks_js_int(const json_t *v, int64_t *out);
bool ks_js_float(const json_t *v, double *out);

#endif /* KS_ENGINE_JSNUM_H */
