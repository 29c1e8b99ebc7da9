/* png.h - RGB pixels to a PNG file in memory.
 *
 * Heatmap images go out base64-encoded inside JSON (CA's shape) or as
 * image/png, never through a file, so the file is built in a growing
 * buffer.  Heatmaps are blocks of few colours, a few pixels each way: the
 * encoder writes an indexed (palette) PNG when the image has at most 256
 * colours and RGB otherwise, and compresses the runs such blocks make
 * (png.c says how), at a fraction of a general encoder's CPU.
 */
#ifndef KS_RENDER_PNG_H
#define KS_RENDER_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Encodes width x height RGB pixels (rows top-down, 3 bytes a pixel).
 * The decoded file has exactly these pixels, whatever its colour type.
 * *out is malloc()ed.  0, -EINVAL (bad size) or -ENOMEM. */
int ks_png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height,
		      uint8_t **out, size_t *len);

#endif /* KS_RENDER_PNG_H */
