/* png.c - PNG encoding into memory, written directly with zlib.
 *
 * A heatmap image is most of the CPU an image request costs, and under
 * load (hundreds of images a second on a 2-core host) the encoder was
 * three quarters of it: libpng filtering and zlib deflating 540 KB of RGB
 * per 600x300 picture.  A heatmap is blocks of a few colours: every bucket
 * row repeats for a few pixels, every column for a few pixels more.  So
 * the file is built here in the way that suits that shape:
 *  - an indexed (palette) image when there are at most 256 colours, which
 *    is the usual case (one byte a pixel instead of three), RGB otherwise;
 *  - each scanline filtered once, with a choice that costs a memcmp: a row
 *    equal to the one above is filter "up" (all zeros), any other row
 *    "none" (palette: runs of one index) or "sub" (RGB: runs of zeros);
 *  - for indices, zlib's run-length strategy, which finds exactly those
 *    runs and nothing else, at a fraction of deflate's matching work;
 *  - no image-sized buffers: the scanlines are filtered and deflated one
 *    at a time, since a fresh half-megabyte buffer per image costs page
 *    faults as well as copies.
 * The output is a plain PNG (signature, IHDR, PLTE for indexed images,
 * one IDAT, IEND) that any decoder reads, and tests decode it with libpng.
 */
#include "render/png.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/dict.h"

#define PNG_MAX_SIDE 100000
#define PAL_MAX 256

enum { FILTER_NONE = 0, FILTER_SUB = 1, FILTER_UP = 2 };
enum { COLOR_RGB = 2, COLOR_INDEXED = 3 };

/* The image's colours, if there are few enough for a palette: colour
 * col[i] is palette entry i, found by a util/dict index of ids i + 1. */
struct palette {
	uint32_t col[PAL_MAX];
	uint8_t rgb[PAL_MAX * 3];
	unsigned int n;
	struct ks_dict ix;
};

static uint64_t color_hash(uint32_t c)
{
	return ks_dict_hash_u64(c);
}

static uint64_t id_hash(void *p, uint32_t id)
{
	return color_hash(((const struct palette *)p)->col[id - 1]);
}

static bool id_eq(void *p, uint32_t id, const void *c)
{
	return ((const struct palette *)p)->col[id - 1] == *(const uint32_t *)c;
}

/* An empty palette with room for every entry, or NULL. */
static struct palette *palette_new(void)
{
	struct palette *p = calloc(1, sizeof(*p));

	if (p && ks_dict__reserve(&p->ix, PAL_MAX, id_hash, p)) {
		free(p);
		return NULL;
	}
	return p;
}

static void palette_free(struct palette *p)
{
	if (p)
		ks_dict__fini(&p->ix);
	free(p);
}

/* The index of colour c, added if new; -1 when the palette is full. */
static int palette_index(struct palette *p, uint32_t c)
{
	uint32_t *s = ks_dict__slot(&p->ix, color_hash(c), id_eq, p, &c);

	if (*s)
		return (int)*s - 1;
	if (p->n == PAL_MAX)
		return -1;
	p->col[p->n] = c;
	p->rgb[p->n * 3] = (uint8_t)(c >> 16);
	p->rgb[p->n * 3 + 1] = (uint8_t)(c >> 8);
	p->rgb[p->n * 3 + 2] = (uint8_t)c;
	ks_dict__set(&p->ix, s, p->n + 1);
	return p->n++;
}

/* One row of RGB to indices; a pixel repeating the one before it (most
 * do) skips the lookup.  0, or -1 when the colours do not fit. */
static int index_row(struct palette *p, const uint8_t *rgb, uint32_t w,
		     uint8_t *idx)
{
	uint32_t prev = 0xffffffff;
	int last = 0;

	for (uint32_t x = 0; x < w; x++, rgb += 3) {
		uint32_t c = (uint32_t)rgb[0] << 16 | rgb[1] << 8 | rgb[2];

		if (c != prev && (last = palette_index(p, c)) < 0)
			return -1;
		prev = c;
		if (idx)
			idx[x] = (uint8_t)last;
	}
	return 0;
}

/* True if row y of the image repeats row y - 1. */
static bool repeats(const uint8_t *rgb, uint32_t w, uint32_t y)
{
	size_t pitch = (size_t)w * 3;

	return y && !memcmp(rgb + y * pitch, rgb + (y - 1) * pitch, pitch);
}

/* Collects the image's colours into p: true if they fit a palette.  Rows
 * repeating the one above are skipped. */
static bool collect_palette(struct palette *p, const uint8_t *rgb, uint32_t w,
			    uint32_t h)
{
	for (uint32_t y = 0; y < h; y++)
		if (!repeats(rgb, w, y) &&
		    index_row(p, rgb + (size_t)y * w * 3, w, NULL))
			return false;
	return true;
}

/* The output file, grown as it is written. */
struct file {
	uint8_t *p;
	size_t len, cap;
};

static int file_reserve(struct file *f, size_t n)
{
	size_t cap = f->cap ? f->cap : 4096;
	uint8_t *p;

	if (n > SIZE_MAX / 4 - f->len)
		return -ENOMEM;
	if (f->len + n <= f->cap)
		return 0;
	while (cap < f->len + n)
		cap *= 2;
	if (!(p = realloc(f->p, cap)))
		return -ENOMEM;
	f->p = p;
	f->cap = cap;
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Ends the chunk whose length field is at offset at: its length, then
 * the CRC of its type and data. */
static int chunk_end(struct file *f, size_t at)
{
	size_t n = f->len - at - 8;

	if (n > 0x7fffffff || file_reserve(f, 4))
		return -ENOMEM;
	put32(f->p + at, (uint32_t)n);
	put32(f->p + f->len, (uint32_t)crc32(0, f->p + at + 4, (uInt)(n + 4)));
	f->len += 4;
	return 0;
}

/* Starts a chunk of type; returns its offset, for chunk_end(). */
static int chunk_begin(struct file *f, const char type[4], size_t *at)
{
	if (file_reserve(f, 8))
		return -ENOMEM;
	*at = f->len;
	memcpy(f->p + f->len + 4, type, 4);
	f->len += 8;
	return 0;
}

/* Appends a whole chunk of n bytes of data. */
static int chunk(struct file *f, const char type[4], const uint8_t *data,
		 size_t n)
{
	size_t at;

	if (chunk_begin(f, type, &at) || file_reserve(f, n))
		return -ENOMEM;
	if (n)
		memcpy(f->p + f->len, data, n);
	f->len += n;
	return chunk_end(f, at);
}

/* Deflates n bytes (flush: Z_NO_FLUSH, or Z_FINISH at the end) onto the
 * file, growing it as the compressed data needs. */
static int deflate_onto(struct file *f, z_stream *z, const uint8_t *in,
			size_t n, int flush)
{
	int rc;

	z->next_in = (uint8_t *)in;
	z->avail_in = (uInt)n;
	do {
		if (file_reserve(f, 1024))
			return -ENOMEM;
		z->next_out = f->p + f->len;
		z->avail_out = (uInt)(f->cap - f->len);
		rc = deflate(z, flush);
		f->len = f->cap - z->avail_out;
		if (rc == Z_STREAM_ERROR)
			return -ENOMEM;
	} while (z->avail_in || (flush == Z_FINISH && rc != Z_STREAM_END));
	return 0;
}

/* The scanlines of one image being written: the filtered row, and the
 * all-zero row that stands for a row equal to the one above. */
struct lines {
	const uint8_t *rgb;
	uint32_t w, h;
	struct palette *pal;	/* NULL: RGB */
	uint8_t *row, *up;	/* filter byte + row bytes each */
	size_t rb;		/* row bytes */
};

/* Filters row y into l->row: "none" for indices, "sub" for RGB (a run of
 * one colour becomes zeros). */
static void filter_row(struct lines *l, uint32_t y)
{
	const uint8_t *src = l->rgb + (size_t)y * l->w * 3;
	uint8_t *o = l->row;

	if (l->pal) {
		o[0] = FILTER_NONE;
		index_row(l->pal, src, l->w, o + 1);	/* every colour fits */
		return;
	}
	o[0] = FILTER_SUB;
	memcpy(o + 1, src, 3);
	for (size_t i = 3; i < l->rb; i++)
		o[1 + i] = (uint8_t)(src[i] - src[i - 3]);
}

/* Appends the IDAT chunk: every scanline, one zlib stream.  A row equal
 * to the one above is filter "up", all zeros.  Indices compress as runs
 * (Z_RLE); RGB, which may be any picture, gets deflate's fastest level,
 * since runs alone would leave a gradient nearly uncompressed. */
static int idat(struct file *f, struct lines *l)
{
	z_stream z = { 0 };
	size_t at;
	int rc = 0;

	if (chunk_begin(f, "IDAT", &at) ||
	    deflateInit2(&z, 1, Z_DEFLATED, 15, 8,
			 l->pal ? Z_RLE : Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	for (uint32_t y = 0; !rc && y < l->h; y++) {
		const uint8_t *s = l->up;

		if (!repeats(l->rgb, l->w, y)) {
			filter_row(l, y);
			s = l->row;
		}
		rc = deflate_onto(f, &z, s, l->rb + 1,
				  y + 1 < l->h ? Z_NO_FLUSH : Z_FINISH);
	}
	deflateEnd(&z);
	return rc ? rc : chunk_end(f, at);
}

static int header(struct file *f, uint32_t w, uint32_t h, uint8_t color)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
					0x1a, '\n' };
	uint8_t ihdr[13] = { 0 };

	if (file_reserve(f, sizeof(sig)))
		return -ENOMEM;
	memcpy(f->p, sig, sizeof(sig));
	f->len = sizeof(sig);
	put32(ihdr, w);
	put32(ihdr + 4, h);
	ihdr[8] = 8;		/* bits per sample (or per index) */
	ihdr[9] = color;	/* compression, filter, interlace: 0 */
	return chunk(f, "IHDR", ihdr, sizeof(ihdr));
}

/* The whole file for the image in l. */
static int write_file(struct file *f, struct lines *l)
{
	int rc;

	l->rb = (size_t)l->w * (l->pal ? 1 : 3);
	l->row = malloc(l->rb + 1);
	l->up = calloc(1, l->rb + 1);
	rc = l->row && l->up ? 0 : -ENOMEM;
	if (!rc) {
		l->up[0] = FILTER_UP;
		rc = header(f, l->w, l->h, l->pal ? COLOR_INDEXED : COLOR_RGB);
	}
	if (!rc && l->pal)
		rc = chunk(f, "PLTE", l->pal->rgb, (size_t)l->pal->n * 3);
	if (!rc)
		rc = idat(f, l);
	if (!rc)
		rc = chunk(f, "IEND", NULL, 0);
	free(l->row);
	free(l->up);
	return rc;
}

int ks_png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height,
		      uint8_t **out, size_t *len)
{
	struct lines l = { .rgb = rgb, .w = width, .h = height };
	struct file f = { 0 };
	int rc;

	*out = NULL;
	*len = 0;
	if (!width || !height || width > PNG_MAX_SIDE || height > PNG_MAX_SIDE)
		return -EINVAL;
	if (!(l.pal = palette_new()))
		return -ENOMEM;
	if (!collect_palette(l.pal, rgb, width, height)) {
		palette_free(l.pal);
		l.pal = NULL;
	}
	rc = write_file(&f, &l);
	palette_free(l.pal);
	if (rc) {
		free(f.p);
		return rc;
	}
	*out = f.p;
	*len = f.len;
	return 0;
}
