/* jsnum.c - parseInt and parseFloat, as CA's JavaScript had them.
 *
 * Written from ECMAScript's definition (section "parseInt" and
 * "parseFloat"), restricted to radix 10: skip white space, take a sign,
 * take the longest prefix that is a decimal literal, ignore the rest.
 * Only ASCII white space is skipped; request text arrives as UTF-8 and the
 * Unicode spaces JavaScript also skips are not worth a table here.
 */
#include "engine/jsnum.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JS_INT_CLAMP (INT64_C(1) << 62)

static size_t skip_blanks(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
		i++;
	return i;
}

bool ks_js_parse_int(const char *s, size_t n, int64_t *out)
{
	size_t i = skip_blanks(s, n), digits = 0;
	bool neg = false;
	int64_t v = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (; i < n && isdigit((unsigned char)s[i]); i++, digits++)
		v = v <= (JS_INT_CLAMP - 9) / 10 ? v * 10 + (s[i] - '0')
						   : JS_INT_CLAMP;
	if (!digits)
		return false;
	*out = neg ? -v : v;
	return true;
}

/* Length of the decimal literal at s (digits, fraction, exponent), 0 if
 * there is none. */
static size_t decimal_len(const char *s, size_t n)
{
	size_t i = 0, mant = 0, e;

	while (i < n && isdigit((unsigned char)s[i]))
		i++, mant++;
	if (i < n && s[i] == '.') {
		size_t f = i + 1;

		while (f < n && isdigit((unsigned char)s[f]))
			f++, mant++;
		if (mant)
			i = f;
	}
	if (!mant)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		e = i + 1;
		if (e < n && (s[e] == '+' || s[e] == '-'))
			e++;
		if (e < n && isdigit((unsigned char)s[e])) {
			while (e < n && isdigit((unsigned char)s[e]))
				e++;
			i = e;
		}
	}
	return i;
}

bool ks_js_parse_float(const char *s, size_t n, double *out)
{
	size_t i = skip_blanks(s, n), len;
	bool neg = false;
	char buf[64];

	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (n - i >= 8 && !memcmp(s + i, "Infinity", 8)) {
		*out = neg ? -INFINITY : INFINITY;
		return true;
	}
	len = decimal_len(s + i, n - i);
	if (!len)
		return false;
	if (len >= sizeof(buf)) {
		/* A literal this long: its value is set by its first digits
		 * and its exponent; keep it exact by allocating. */
		char *big = strndup(s + i, len);

		if (!big)
			return false;
		*out = strtod(big, NULL);
		free(big);
	} else {
		memcpy(buf, s + i, len);
		buf[len] = '\0';
		*out = strtod(buf, NULL);
	}
	if (neg)
		*out = -*out;
	return true;
}

/* The scalar a JSON value stands for (an array's first element). */
static const json_t *js_scalar(const json_t *v)
{
	return json_is_array(v) ? json_array_get(v, 0) : v;
}

bool ks_js_int(const json_t *v, int64_t *out)
{
	v = js_scalar(v);
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = trunc(json_real_value(v));

		if (!isfinite(d))
			return false;	/* parseInt("Infinity") is NaN */
		*out = d > (double)JS_INT_CLAMP ? JS_INT_CLAMP :
		       d < -(double)JS_INT_CLAMP ? -JS_INT_CLAMP : (int64_t)d;
		return true;
	}
	if (json_is_string(v))
		return ks_js_parse_int(json_string_value(v),
				       json_string_length(v), out);
	return false;
}

bool ks_js_float(const json_t *v, double *out)
{
	v = js_scalar(v);
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	if (json_is_string(v))
		return ks_js_parse_float(json_string_value(v),
					 json_string_length(v), out);
	return false;
}
