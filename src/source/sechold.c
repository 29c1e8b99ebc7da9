/* sechold.c - events of the second in progress, held for the next read.
 *
 * A plain growable array of (record, events, second bits): a second's
 * early events are a few milliseconds' worth of keys, so the array stays
 * small and a linear pass per read is cheap.  Records are flat (symtab
 * ids, numbers), so keeping a copy is a memcpy.
 */
#include "source/sechold.h"

#include <errno.h>
#include <stdlib.h>

struct held {
	struct ks_record r;
	uint64_t n;
	uint32_t sec;
};

struct ks_sechold {
	struct held *v;
	size_t len, cap;
};

struct ks_sechold *ks_sechold__new(void)
{
	return calloc(1, sizeof(struct ks_sechold));
}

uint64_t ks_sechold__free(struct ks_sechold *h)
{
	uint64_t lost;

	if (!h)
		return 0;
	lost = ks_sechold__events(h);
	free(h->v);
	free(h);
	return lost;
}

int ks_sechold_is_later(uint32_t sec, uint64_t ts)
{
	uint32_t ended = (uint32_t)(ts / KS_NSEC_PER_SEC) & KS_SEC_MASK;
	uint32_t ahead = (sec - ended) & KS_SEC_MASK;

	/* 1, 2: the next seconds; 3 is the one before (a late event). */
	return ahead == 1 || ahead == 2;
}

static int keep(struct ks_sechold *h, const struct ks_record *r, uint64_t n,
		uint32_t sec)
{
	if (h->len == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		struct held *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->len].r = *r;
	h->v[h->len].n = n;
	h->v[h->len].sec = sec & KS_SEC_MASK;
	h->len++;
	return 0;
}

int ks_sechold__emit(struct ks_sechold *h, struct ks_source *s,
		     const struct ks_source_sink *sink,
		     const struct ks_record *r, uint64_t n, uint32_t sec)
{
	if (ks_sechold_is_later(sec & KS_SEC_MASK, r->ts))
		return keep(h, r, n, sec);
	return ks_source__emit(s, sink, r, n);
}

int ks_sechold__emit_conv(struct ks_sechold *h, struct ks_source *s,
			  const struct ks_source_sink *sink, int conv,
			  const struct ks_record *r, uint64_t n, uint32_t sec)
{
	if (conv == -EINVAL) {
		s->st.bad++;
		return 0;
	}
	if (conv)
		return conv;
	return ks_sechold__emit(h, s, sink, r, n, sec);
}

int ks_sechold__release(struct ks_sechold *h, struct ks_source *s,
			const struct ks_source_sink *sink, uint64_t ts)
{
	size_t i, kept = 0;
	int rc = 0;

	for (i = 0; i < h->len; i++) {
		struct held *e = &h->v[i];

		if (rc || ks_sechold_is_later(e->sec, ts)) {
			h->v[kept++] = *e;
			continue;
		}
		e->r.ts = ts;
		rc = ks_source__emit(s, sink, &e->r, e->n);
		if (rc)	/* the sink refused it: keep it for the next read */
			h->v[kept++] = *e;
	}
	h->len = kept;
	return rc;
}

size_t ks_sechold__count(const struct ks_sechold *h)
{
	return h->len;
}

uint64_t ks_sechold__events(const struct ks_sechold *h)
{
	uint64_t n = 0;

	for (size_t i = 0; i < h->len; i++)
		n += h->v[i].n;
	return n;
}
