/* params.c - decoding and merging request parameters (see params.h).
 *
 * Hand-written decoding of a few well-known formats; every input byte is
 * checked, lengths are explicit (no reliance on NUL termination), and any
 * failure leaves a named error.  Forms and bodies are parsed into a fresh
 * object first and merged only when all of it parsed, so a bad body never
 * leaves half its parameters behind.
 */
#include "http/params.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Length of the UTF-8 sequence starting at s (n bytes left), or 0 if it is
 * malformed, overlong, a surrogate or beyond U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

bool ks_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t l;

		if (p[i] < 0x20 && p[i] != '\t')
			return false;
		if (p[i] == 0x7f)
			return false;
		l = utf8_seq(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

long ks_pct_decode(const char *s, size_t n, bool plus, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && s[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return (long)o;
}

static int check_key(const char *key, size_t klen, struct ks_err *err)
{
	if (!klen)
		return ks_err_set(err, EINVAL, "", "a parameter has an empty name");
	if (klen > KS_PARAM_KEY_MAX || !ks_utf8_valid(key, klen))
		return ks_err_set(err, EINVAL, "",
				  "a parameter name is longer than %d bytes or "
				  "not printable UTF-8", KS_PARAM_KEY_MAX);
	return 0;
}

/* Appends v (stolen) to the array under key, turning a lone value into an
 * array first. */
static int add_value(json_t *params, const char *key, json_t *v,
		     bool as_array, struct ks_err *err)
{
	json_t *old = json_object_get(params, key);
	json_t *a;

	if (!old) {
		if (json_object_size(params) >= KS_PARAM_MAX) {
			json_decref(v);
			return ks_err_set(err, E2BIG, key,
					  "more than %d parameters",
					  KS_PARAM_MAX);
		}
		if (!as_array)
			return json_object_set_new(params, key, v) ?
				ks_err_set(err, ENOMEM, key, "out of memory") : 0;
		a = json_array();
	} else if (json_is_array(old)) {
		a = json_incref(old);
	} else {
		a = json_array();
		if (a && json_array_append(a, old)) {
			json_decref(a);
			a = NULL;
		}
	}
	if (a && json_array_size(a) >= KS_PARAM_VALUES_MAX) {
		json_decref(a);
		json_decref(v);
		return ks_err_set(err, E2BIG, key, "%s is given more than %d "
				  "times", key, KS_PARAM_VALUES_MAX);
	}
	if (!a || json_array_append_new(a, v) ||
	    json_object_set_new(params, key, a)) {
		if (!a)
			json_decref(v);
		return ks_err_set(err, ENOMEM, key, "out of memory");
	}
	return 0;
}

int ks_params_add(json_t *params, const char *key, size_t klen,
		  const char *val, size_t vlen, struct ks_err *err)
{
	char name[KS_PARAM_KEY_MAX + 1];
	bool as_array = false;
	json_t *v;
	int rc;

	if ((rc = check_key(key, klen, err)))
		return rc;
	if (klen > 2 && !memcmp(key + klen - 2, "[]", 2)) {
		klen -= 2;
		as_array = true;
	}
	memcpy(name, key, klen);
	name[klen] = '\0';
	if (!ks_utf8_valid(val, vlen))
		return ks_err_set(err, EINVAL, name,
				  "%s is not printable UTF-8 text", name);
	v = json_stringn(val, vlen);
	if (!v)
		return ks_err_set(err, ENOMEM, name, "out of memory");
	return add_value(params, name, v, as_array, err);
}

/* One "key=value" pair of a form (n bytes at s). */
static int form_pair(json_t *params, const char *s, size_t n,
		     struct ks_err *err)
{
	const char *eq = memchr(s, '=', n);
	size_t kn = eq ? (size_t)(eq - s) : n;
	size_t vn = eq ? n - kn - 1 : 0;
	char *buf = malloc(n + 2);
	long kl, vl;
	int rc;

	if (!buf)
		return ks_err_set(err, ENOMEM, "", "out of memory");
	kl = ks_pct_decode(s, kn, true, buf);
	vl = kl < 0 ? -1 : ks_pct_decode(eq ? eq + 1 : "", vn, true,
					 buf + kl + 1);
	if (kl < 0 || vl < 0) {
		free(buf);
		return ks_err_set(err, EINVAL, "",
				  "a form or query field has a malformed "
				  "%%-escape");
	}
	rc = ks_params_add(params, buf, (size_t)kl, buf + kl + 1, (size_t)vl,
			   err);
	free(buf);
	return rc;
}

int ks_params_parse_form(json_t *params, const char *s, size_t len,
			 struct ks_err *err)
{
	size_t i = 0;

	while (i < len) {
		const char *amp = memchr(s + i, '&', len - i);
		size_t n = amp ? (size_t)(amp - (s + i)) : len - i;
		int rc;

		/* Empty pairs ("a=1&&b=2", a trailing '&') carry nothing. */
		if (n && (rc = form_pair(params, s + i, n, err)))
			return rc;
		i += n + 1;
	}
	return 0;
}

/* The media type of a Content-Type value, lowercased, without parameters. */
static void media_type(const char *ctype, char *out, size_t outlen)
{
	size_t o = 0;

	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	for (; *ctype && *ctype != ';' && *ctype != ' ' && o + 1 < outlen;
	     ctype++)
		out[o++] = (char)tolower((unsigned char)*ctype);
	out[o] = '\0';
}

static int parse_json(json_t *into, const char *body, size_t len,
		      struct ks_err *err)
{
	json_error_t je;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);

	if (!o)
		return ks_err_set(err, EINVAL, "body",
				  "failed to parse JSON: %s (at byte %d)",
				  je.text, je.position);
	if (!json_is_object(o)) {
		json_decref(o);
		return ks_err_set(err, EINVAL, "body",
				  "the body must be a JSON object of parameters");
	}
	if (json_object_size(o) > KS_PARAM_MAX) {
		json_decref(o);
		return ks_err_set(err, E2BIG, "body",
				  "the body has more than %d members",
				  KS_PARAM_MAX);
	}
	json_object_update(into, o);
	json_decref(o);
	return 0;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

int ks_params_parse_body(json_t *params, const char *ctype, const char *body,
			 size_t len, struct ks_err *err)
{
	char mt[64];
	json_t *b;
	int rc;

	if (!len || blank(body, len))
		return 0;
	if (ctype) {
		media_type(ctype, mt, sizeof(mt));
	} else {
		size_t i = 0;

		while (i < len && isspace((unsigned char)body[i]))
			i++;
		strcpy(mt, body[i] == '{' ? "application/json"
					  : "application/x-www-form-urlencoded");
	}
	/* CA's rules: only multipart is refused (415); a body of another
	 * media type is not parameters and is ignored. */
	if (!strcmp(mt, "multipart/form-data"))
		return ks_err_set(err, ENOTSUP, "Content-Type",
				  "multipart form data is not supported");
	if (strcmp(mt, "application/json") &&
	    strcmp(mt, "application/x-www-form-urlencoded"))
		return 0;
	if (!(b = json_object()))
		return ks_err_set(err, ENOMEM, "", "out of memory");
	if (!strcmp(mt, "application/json"))
		rc = parse_json(b, body, len, err);
	else
		rc = ks_params_parse_form(b, body, len, err);
	if (!rc && json_object_update(params, b))
		rc = ks_err_set(err, ENOMEM, "", "out of memory");
	if (!rc && json_object_size(params) > KS_PARAM_MAX)
		rc = ks_err_set(err, E2BIG, "body", "more than %d parameters",
				KS_PARAM_MAX);
	json_decref(b);
	return rc;
}

int ks_params_from_target(json_t *params, const char *target, char *path,
			  size_t pathlen, const char *ctype, const char *body,
			  size_t len, struct ks_err *err)
{
	const char *q = strchr(target, '?');
	size_t plen = q ? (size_t)(q - target) : strlen(target);
	long n;
	int rc;

	if (plen >= pathlen)
		return ks_err_set(err, EBADMSG, "path", "the path is too long");
	n = ks_pct_decode(target, plen, false, path);
	if (n < 0 || strlen(path) != (size_t)n)
		return ks_err_set(err, EBADMSG, "path",
				  "the path has a malformed %%-escape or a "
				  "NUL byte");
	if (q && (rc = ks_params_parse_form(params, q + 1, strlen(q + 1), err)))
		return rc;
	return ks_params_parse_body(params, ctype, body, len, err);
}
