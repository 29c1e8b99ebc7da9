/* base64.c - the standard base64 alphabet, three bytes to four letters.
 *
 * A heatmap PNG is a few kilobytes to a few hundred, encoded once per
 * request, so the encoder is the plain table walk: every three input
 * bytes give four letters, and the last one or two bytes are padded with
 * '=' so the length is always a multiple of four, as RFC 4648 and
 * browsers' atob() expect.
 */
#include "render/base64.h"

#include <stdint.h>
#include <stdlib.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *ks_base64_encode(const void *p, size_t n)
{
	const uint8_t *in = p;
	char *out, *o;
	size_t i;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	if (!(out = malloc((n + 2) / 3 * 4 + 1)))
		return NULL;
	o = out;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | in[i + 1] << 8 | in[i + 2];

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= in[i + 1] << 8;
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}
