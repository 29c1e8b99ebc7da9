/* emit.c - one writer of Prometheus families, in two formats.
 *
 * The text side writes into a growing buffer (struct out), numbers by
 * hand (outu); a histogram's le="..." labels are made once per family and
 * a series' labels once per series, not once per bucket line (a scrape of
 * 50 busy VMs is about 5 MB of text, bench_prom_cardinality).  The
 * protobuf side hands each sample to prom_pb.c's encoders.
 */
#include "expo/emit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *buf;
	size_t len, cap;
	int err;
};

/* Doubles the buffer.  0, or -ENOMEM (kept in o->err). */
static int out_grow(struct out *o)
{
	size_t cap = o->cap ? o->cap * 2 : 65536;
	char *b = realloc(o->buf, cap);

	if (!b)
		return o->err = -ENOMEM;
	o->buf = b;
	o->cap = cap;
	return 0;
}

static void outf(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		if (out_grow(o))
			return;
	}
}

/* Appends n bytes of s. */
static void outs(struct out *o, const char *s, size_t n)
{
	while (!o->err && o->cap - o->len <= n)
		if (out_grow(o))
			return;
	if (o->err)
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void outu(struct out *o, uint64_t v)
{
	char d[24], *p = d + sizeof(d);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	outs(o, p, (size_t)(d + sizeof(d) - p));
}

struct ks_emit {
	struct out *o;		/* text, or: */
	struct ks_pb *b;	/* protobuf */
	const char *name;	/* the current family */
	const char *help;
	enum ks_prom_type type;
	size_t mark;
	bool open;		/* protobuf: its MetricFamily is open */
	/* Text: the current histogram family's le="..." labels, made once. */
	char le[KS_EMIT_MAXEDGES][32];
	size_t nle;
	struct out lab;		/* scratch: one series' labels */
	struct out text;	/* a text writer's exposition (o) */
};

/* s with the text format's escapes: backslash and newline, and (in label
 * values) the double quote; # HELP text leaves quotes as they are. */
static void escaped(struct out *o, const char *s, bool quote)
{
	const char *c = s, *run = s;

	for (; *c; c++) {
		if (*c != '\\' && *c != '\n' && (!quote || *c != '"'))
			continue;
		outs(o, run, (size_t)(c - run));
		outs(o, *c == '\n' ? "\\n" : *c == '"' ? "\\\"" : "\\\\", 2);
		run = c + 1;
	}
	outs(o, run, (size_t)(c - run));
}

/* Starts a family.  Text writes its header at once (an empty family still
 * says it exists); protobuf opens the message at its first sample, since
 * Prometheus skips empty ones. */
void ks_emit__family(struct ks_emit *m, const char *name, const char *help,
		     enum ks_prom_type type)
{
	static const char *const tname[] = {
		[KS_PROM_COUNTER] = "counter", [KS_PROM_GAUGE] = "gauge",
		[KS_PROM_UNTYPED] = "untyped", [KS_PROM_HISTOGRAM] = "histogram",
	};

	m->name = name;
	m->help = help;
	m->type = type;
	m->open = false;
	m->nle = 0;
	if (!m->o)
		return;
	outf(m->o, "# HELP %s ", name);
	escaped(m->o, help, false);
	outf(m->o, "\n# TYPE %s %s\n", name, tname[type]);
}

void ks_emit__end(struct ks_emit *m)
{
	if (m->b && m->open)
		ks_pb__close(m->b, m->mark);
	m->open = false;
}

static void open_family(struct ks_emit *m)
{
	if (!m->open)
		m->mark = ks_prom_pb__family(m->b, m->name, m->help, m->type);
	m->open = true;
}

/* a="x",b="y", values escaped as the text format requires. */
static void text_label_list(struct out *o, const struct ks_prom_label *l,
			    size_t nl)
{
	for (size_t i = 0; i < nl; i++) {
		if (i)
			outs(o, ",", 1);
		outs(o, l[i].name, strlen(l[i].name));
		outs(o, "=\"", 2);
		escaped(o, l[i].value, true);
		outs(o, "\"", 1);
	}
}

/* {a="x",b="y"[,extra]}, or nothing. */
static void text_labels(struct out *o, const struct ks_prom_label *l,
			size_t nl, const char *extra)
{
	if (!nl && !extra)
		return;
	outs(o, "{", 1);
	text_label_list(o, l, nl);
	if (extra) {
		if (nl)
			outs(o, ",", 1);
		outs(o, extra, strlen(extra));
	}
	outs(o, "}", 1);
}

/* NAME SUFFIX{LABELS[,extra]} V\n, the labels already escaped. */
static void text_line(struct out *o, const char *name, const char *suffix,
		      const struct out *lab, const char *extra, uint64_t v)
{
	outs(o, name, strlen(name));
	outs(o, suffix, strlen(suffix));
	outs(o, "{", 1);
	outs(o, lab->buf, lab->len);
	if (extra) {
		if (lab->len)
			outs(o, ",", 1);
		outs(o, extra, strlen(extra));
	}
	outs(o, "} ", 2);
	outu(o, v);
	outs(o, "\n", 1);
}

void ks_emit__value(struct ks_emit *m, const struct ks_prom_label *l,
		    size_t nl, uint64_t v)
{
	if (m->b) {
		open_family(m);
		ks_prom_pb__value(m->b, m->type, l, nl, (double)v);
		return;
	}
	outs(m->o, m->name, strlen(m->name));
	text_labels(m->o, l, nl, NULL);
	outs(m->o, " ", 1);
	outu(m->o, v);
	outs(m->o, "\n", 1);
}

void ks_emit__hist(struct ks_emit *m, const struct ks_prom_label *l,
		   size_t nl, const struct ks_prom_hist *h)
{
	struct out *o = m->o;
	uint64_t below[KS_EMIT_MAXEDGES];
	size_t ne = h->nedges < KS_EMIT_MAXEDGES ? h->nedges :
						   KS_EMIT_MAXEDGES;

	if (m->b) {
		open_family(m);
		ks_prom_pb__histogram(m->b, l, nl, h);
		return;
	}
	/* Values are integers: "<= le" is "< edge" with le = edge-1.  The
	 * le labels are made once per family. */
	if (m->nle != ne) {
		for (size_t k = 0; k < ne; k++)
			snprintf(m->le[k], sizeof(m->le[k]), "le=\"%.9g\"",
				 (double)(h->edges[k] - 1) * h->scale);
		m->nle = ne;
	}
	m->lab.len = 0;
	text_label_list(&m->lab, l, nl);
	ks_prom_below(h->dist, h->edges, below, ne);
	for (size_t k = 0; k < ne; k++)
		text_line(o, m->name, "_bucket", &m->lab, m->le[k], below[k]);
	text_line(o, m->name, "_bucket", &m->lab, "le=\"+Inf\"", h->count);
	outs(o, m->name, strlen(m->name));
	outs(o, "_sum{", 5);
	outs(o, m->lab.buf, m->lab.len);
	outf(o, "} %.9g\n", h->sum);
	text_line(o, m->name, "_count", &m->lab, NULL, h->count);
}

struct ks_emit *ks_emit__new(struct ks_pb *b)
{
	struct ks_emit *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->b = b;
	if (!b)
		m->o = &m->text;
	return m;
}

void ks_emit__free(struct ks_emit *m)
{
	if (!m)
		return;
	free(m->text.buf);
	free(m->lab.buf);
	free(m);
}

bool ks_emit__is_pb(const struct ks_emit *m)
{
	return m->b != NULL;
}

int ks_emit__err(const struct ks_emit *m)
{
	if (m->b && m->b->err)
		return m->b->err;
	return m->text.err ? m->text.err : m->lab.err;
}

char *ks_emit__take_text(struct ks_emit *m, size_t *len)
{
	char *t;

	if (m->b || ks_emit__err(m))
		return NULL;
	/* An empty exposition is still a string. */
	if (!m->text.buf) {
		if (out_grow(&m->text))
			return NULL;
		m->text.buf[0] = '\0';
	}
	t = m->text.buf;
	if (len)
		*len = m->text.len;
	m->text = (struct out){ 0 };
	return t;
}
