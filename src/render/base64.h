/* base64.h - base64 text for binary data (RFC 4648, with padding).
 *
 * CA returns heatmap images as base64 PNG inside JSON; this is the encoder
 * for that, kept apart so other responses can use it too.
 */
#ifndef KS_RENDER_BASE64_H
#define KS_RENDER_BASE64_H

#include <stddef.h>

/* A new NUL-terminated string encoding p[0..n-1]; NULL on ENOMEM. */
char *ks_base64_encode(const void *p, size_t n);

#endif /* KS_RENDER_BASE64_H */
