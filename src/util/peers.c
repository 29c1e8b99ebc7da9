/* peers.c - parsing the list of peer agents (see peers.h).
 *
 * The list is split on commas and each item on its first '='; a label is
 * letters, digits and ".-_:", a URL is http:// or https:// followed by
 * the characters a URL may hold unescaped, minus quotes and angle
 * brackets, so a peer can never inject markup into the UI.
 */
#include "util/peers.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static int label_ok(const char *s, size_t n)
{
	if (!n || n >= KS_PEER_LABEL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-_:", s[i]))
			return 0;
	return 1;
}

static int url_ok(const char *s, size_t n)
{
	size_t skip;

	if (n >= KS_PEER_URL_MAX)
		return 0;
	if (n > 7 && !strncmp(s, "http://", 7))
		skip = 7;
	else if (n > 8 && !strncmp(s, "https://", 8))
		skip = 8;
	else
		return 0;
	for (size_t i = skip; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    !strchr("-._~:/?#[]@!$&()*+;=%", s[i]))
			return 0;
	return 1;
}

static int one(const char *item, size_t len, const char *param,
	       struct ks_peer *p, struct ks_err *err)
{
	const char *eq = memchr(item, '=', len);
	size_t ln = eq ? (size_t)(eq - item) : 0;

	if (!eq || !label_ok(item, ln))
		return ks_err_set(err, EINVAL, param, "peer \"%.*s\" must be "
				  "LABEL=URL with a label of up to %d letters, "
				  "digits or .-_:", (int)(len > 80 ? 80 : len),
				  item, KS_PEER_LABEL_MAX - 1);
	if (!url_ok(eq + 1, len - ln - 1))
		return ks_err_set(err, EINVAL, param, "peer \"%.*s\": the URL "
				  "must be http:// or https://, under %d "
				  "characters, without quotes, spaces or <>",
				  (int)ln, item, KS_PEER_URL_MAX);
	if (p) {
		memcpy(p->label, item, ln);
		p->label[ln] = '\0';
		memcpy(p->url, eq + 1, len - ln - 1);
		p->url[len - ln - 1] = '\0';
	}
	return 0;
}

int ks_peers_parse(const char *list, const char *param, struct ks_peer *out,
		   size_t max, size_t *n, struct ks_err *err)
{
	size_t count = 0;
	const char *p = list;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int rc;

		if (count == KS_PEERS_MAX || (out && count == max))
			return ks_err_set(err, EINVAL, param, "at most %d peers",
					  out && max < KS_PEERS_MAX ? (int)max :
					  KS_PEERS_MAX);
		rc = one(p, len, param, out ? &out[count] : NULL, err);
		if (rc)
			return rc;
		count++;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (n)
		*n = count;
	return 0;
}
