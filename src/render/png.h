/* png.h - RGB pixels to a PNG file in memory.
 *
 * Heatmap images go out base64-encoded inside JSON (CA's shape) or as
 * image/png, never through a file, so libpng writes into a growing buffer.
 * Heatmaps are blocks of colour a few pixels tall: the fastest zlib level
 * with the "up" filter (a row repeating the one above becomes zeros) keeps
 * them within 1.5x of the default's size at a quarter of its time.
 */
#ifndef KS_RENDER_PNG_H
#define KS_RENDER_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Encodes width x height RGB pixels (rows top-down, 3 bytes a pixel).
 * *out is malloc()ed.  0, -EINVAL (bad size) or -ENOMEM. */
int ks_png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height,
		      uint8_t **out, size_t *len);

#endif /* KS_RENDER_PNG_H */
