/* hmnorm.c - rank and linear normalisation of heatmap cells.
 *
 * Rank needs the non-zero cells sorted; a 600x100 picture with a few keys
 * has a few hundred thousand of them, where qsort alone would eat the frame
 * budget.  Positive floats order like their bit patterns, so the cells are
 * sorted as (bits, cell) pairs by an LSD radix sort on bytes, skipping the
 * bytes that every key shares (counts are often whole numbers, whose low
 * mantissa bytes are all zero).  Equal values get the same rank.
 */
#include "render/hmnorm.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pair {
	uint32_t key;
	uint32_t cell;
};

static uint32_t bits(float d)
{
	uint32_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

/* Sorts p[0..n-1] by key, using tmp (n pairs) as scratch; the result may
 * end in either buffer, which is returned. */
static struct pair *radix(struct pair *p, struct pair *tmp, size_t n)
{
	static const int nbytes = 4;
	size_t (*hist)[256] = calloc(nbytes, sizeof(*hist));

	if (!hist)
		return NULL;
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < nbytes; b++)
			hist[b][(p[i].key >> (8 * b)) & 0xff]++;
	for (int b = 0; b < nbytes; b++) {
		size_t sum = 0, *h = hist[b];
		struct pair *t;

		if (h[(p[0].key >> (8 * b)) & 0xff] == n)
			continue;	/* every key has this byte */
		for (int v = 0; v < 256; v++) {
			size_t c = h[v];

			h[v] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[h[(p[i].key >> (8 * b)) & 0xff]++] = p[i];
		t = p;
		p = tmp;
		tmp = t;
	}
	free(hist);
	return p;
}

static int rank(float *v, size_t n)
{
	struct pair *p, *tmp, *s;
	size_t nz = 0;

	for (size_t i = 0; i < n; i++)
		nz += v[i] > 0;
	if (!nz)
		return 0;
	p = malloc(nz * sizeof(*p));
	tmp = malloc(nz * sizeof(*tmp));
	if (!p || !tmp || nz > UINT32_MAX) {
		free(p);
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0, k = 0; i < n; i++)
		if (v[i] > 0)
			p[k++] = (struct pair){ bits(v[i]), (uint32_t)i };
	if (!(s = radix(p, tmp, nz))) {
		free(p);
		free(tmp);
		return -ENOMEM;
	}
	/* Walk down: a run of equal keys ranks as its last position + 1. */
	for (size_t j = nz; j > 0;) {
		size_t end = j;
		float r = (float)((double)end / (double)nz);

		while (j > 0 && s[j - 1].key == s[end - 1].key)
			v[s[--j].cell] = r;
	}
	free(p);
	free(tmp);
	return 0;
}

static void linear(float *v, size_t n)
{
	float max = 1;

	for (size_t i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (size_t i = 0; i < n; i++)
		v[i] = v[i] > 0 ? v[i] / max : 0;
}

int ks_hm_normalize(float *v, size_t n, enum ks_hm_coloring how)
{
	if (how == KS_HM_LINEAR) {
		linear(v, n);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!(v[i] > 0))
			v[i] = 0;
	return rank(v, n);
}
