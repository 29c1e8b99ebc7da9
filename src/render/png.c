/* png.c - PNG encoding into memory with libpng.
 *
 * libpng reports errors by longjmp; everything it may leave half-built is
 * reachable from the context struct, so the error path frees it there.
 */
#include "render/png.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct membuf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

static void write_mem(png_structp png, png_bytep data, png_size_t n)
{
	struct membuf *m = png_get_io_ptr(png);

	if (m->failed)
		return;
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 4096;
		uint8_t *p;

		while (cap < m->len + n)
			cap *= 2;
		if (!(p = realloc(m->p, cap))) {
			m->failed = true;
			return;
		}
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, data, n);
	m->len += n;
}

static void flush_mem(png_structp png)
{
	(void)png;
}

struct enc {
	png_structp png;
	png_infop info;
	png_bytep *rows;
	struct membuf m;
};

static int encode(struct enc *e, const uint8_t *rgb, uint32_t w, uint32_t h)
{
	if (setjmp(png_jmpbuf(e->png)))
		return -ENOMEM;
	png_set_write_fn(e->png, &e->m, write_mem, flush_mem);
	png_set_IHDR(e->png, e->info, w, h, 8, PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(e->png, 1);
	png_set_filter(e->png, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP);
	for (uint32_t y = 0; y < h; y++)
		e->rows[y] = (png_bytep)(rgb + (size_t)y * w * 3);
	png_set_rows(e->png, e->info, e->rows);
	png_write_png(e->png, e->info, PNG_TRANSFORM_IDENTITY, NULL);
	return e->m.failed ? -ENOMEM : 0;
}

int ks_png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height,
		      uint8_t **out, size_t *len)
{
	struct enc e = { 0 };
	int rc = -ENOMEM;

	*out = NULL;
	*len = 0;
	if (!width || !height || width > 100000 || height > 100000)
		return -EINVAL;
	e.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL,
					NULL);
	if (e.png)
		e.info = png_create_info_struct(e.png);
	e.rows = malloc(height * sizeof(*e.rows));
	if (e.png && e.info && e.rows)
		rc = encode(&e, rgb, width, height);
	png_destroy_write_struct(&e.png, &e.info);
	free(e.rows);
	if (rc) {
		free(e.m.p);
		return rc;
	}
	*out = e.m.p;
	*len = e.m.len;
	return 0;
}
