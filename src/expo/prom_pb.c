/* prom_pb.c - MetricFamily messages for Prometheus' protobuf exposition.
 *
 * Field numbers are those of io.prometheus.client in metrics.proto
 * (prometheus/client_model; Prometheus keeps a copy in
 * prompb/io/prometheus/client).  Repeated scalars are written packed, as
 * proto3 does by default; proto2 parsers accept packed input too.  Accept
 * parsing is strict about what it recognises: an unknown entry is simply
 * not a match.
 */
#include "expo/prom_pb.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* metrics.proto field numbers. */
enum {
	LABEL_NAME = 1, LABEL_VALUE = 2,
	FAM_NAME = 1, FAM_HELP = 2, FAM_TYPE = 3, FAM_METRIC = 4,
	MET_LABEL = 1, MET_GAUGE = 2, MET_COUNTER = 3, MET_UNTYPED = 5,
	MET_HISTOGRAM = 7,
	VALUE_VALUE = 1,	/* Gauge, Counter, Untyped */
	H_COUNT = 1, H_SUM = 2, H_BUCKET = 3, H_SCHEMA = 5,
	H_ZERO_THRESHOLD = 6, H_ZERO_COUNT = 7, H_POS_SPAN = 12,
	H_POS_DELTA = 13,
	B_CUMULATIVE = 1, B_UPPER = 2,
	SPAN_OFFSET = 1, SPAN_LENGTH = 2,
};

void ks_prom_native0(const struct ks_dist *d,
		     uint64_t counts[KS_PROM_NATIVE0_N])
{
	size_t it = 0;
	uint32_t i;
	uint64_t c;

	memset(counts, 0, KS_PROM_NATIVE0_N * sizeof(*counts));
	/* Every log-linear bucket lies inside one power of two, [2^e,
	 * 2^(e+1)), so its whole count belongs to native bucket e+1. */
	while (ks_dist__next(d, &it, &i, &c)) {
		uint64_t lo = ks_ll_lo(i);

		counts[lo ? ks_ll_log2(lo) + 1 : 0] += c;
	}
}

void ks_prom_below(const struct ks_dist *d, const uint64_t *edge,
		   uint64_t *below, size_t n)
{
	size_t it = 0, k = 0;
	uint64_t c, cum = 0;
	uint32_t i;

	while (ks_dist__next(d, &it, &i, &c)) {
		uint64_t lo = ks_ll_lo(i);

		while (k < n && edge[k] <= lo)
			below[k++] = cum;
		cum += c;
	}
	while (k < n)
		below[k++] = cum;
}

size_t ks_prom_pb__family(struct ks_pb *b, const char *name,
			  const char *help, enum ks_prom_type type)
{
	size_t mark = ks_pb__open(b, 0);

	ks_pb__string(b, FAM_NAME, name);
	ks_pb__string(b, FAM_HELP, help);
	ks_pb__uint(b, FAM_TYPE, type);
	return mark;
}

static void labels(struct ks_pb *b, const struct ks_prom_label *l, size_t nl)
{
	for (size_t i = 0; i < nl; i++) {
		size_t m = ks_pb__open(b, MET_LABEL);

		ks_pb__string(b, LABEL_NAME, l[i].name);
		ks_pb__string(b, LABEL_VALUE, l[i].value);
		ks_pb__close(b, m);
	}
}

void ks_prom_pb__value(struct ks_pb *b, enum ks_prom_type type,
		       const struct ks_prom_label *l, size_t nl, double v)
{
	size_t m = ks_pb__open(b, FAM_METRIC), mv;

	labels(b, l, nl);
	mv = ks_pb__open(b, type == KS_PROM_COUNTER ? MET_COUNTER :
			    type == KS_PROM_GAUGE ? MET_GAUGE : MET_UNTYPED);
	ks_pb__double(b, VALUE_VALUE, v);
	ks_pb__close(b, mv);
	ks_pb__close(b, m);
}

/* Classic buckets, as the text format's: le = edge - 1 raw units (values
 * are integers, so "<= edge - 1" is "< edge", a log-linear edge). */
static void classic(struct ks_pb *b, const struct ks_prom_hist *h)
{
	uint64_t below[64];
	size_t n = h->nedges < 64 ? h->nedges : 64;

	ks_prom_below(h->dist, h->edges, below, n);
	for (size_t k = 0; k < n; k++) {
		uint64_t edge = h->edges[k];
		size_t m = ks_pb__open(b, H_BUCKET);

		ks_pb__uint(b, B_CUMULATIVE, below[k]);
		ks_pb__double(b, B_UPPER, (double)(edge - 1) * h->scale);
		ks_pb__close(b, m);
	}
}

/* Spans of consecutive non-empty buckets, then the deltas between
 * successive counts (the first from 0), as metrics.proto wants them. */
static void native(struct ks_pb *b, const struct ks_prom_hist *h)
{
	uint64_t counts[KS_PROM_NATIVE0_N], prev = 0;
	int end = 0;		/* index after the previous span, 0: none */
	size_t m;

	ks_prom_native0(h->dist, counts);
	ks_pb__sint(b, H_SCHEMA, 0);
	ks_pb__double(b, H_ZERO_THRESHOLD, KS_PROM_ZERO_THRESHOLD);
	ks_pb__uint(b, H_ZERO_COUNT, counts[0]);
	for (int i = 1; i < KS_PROM_NATIVE0_N; i++) {
		int j = i;

		if (!counts[i])
			continue;
		while (j + 1 < KS_PROM_NATIVE0_N && counts[j + 1])
			j++;
		m = ks_pb__open(b, H_POS_SPAN);
		/* The first span's offset is its index, later ones' the gap. */
		ks_pb__sint(b, SPAN_OFFSET, end ? i - end : i);
		ks_pb__uint(b, SPAN_LENGTH, (uint64_t)(j - i + 1));
		ks_pb__close(b, m);
		end = j + 1;
		i = j;
	}
	if (!end)
		return;
	m = ks_pb__open(b, H_POS_DELTA);
	for (int i = 1; i < KS_PROM_NATIVE0_N; i++) {
		if (!counts[i])
			continue;
		ks_pb__varint(b, ks_pb_zigzag((int64_t)(counts[i] - prev)));
		prev = counts[i];
	}
	ks_pb__close(b, m);
}

void ks_prom_pb__histogram(struct ks_pb *b, const struct ks_prom_label *l,
			   size_t nl, const struct ks_prom_hist *h)
{
	size_t m = ks_pb__open(b, FAM_METRIC), mh;

	labels(b, l, nl);
	mh = ks_pb__open(b, MET_HISTOGRAM);
	ks_pb__uint(b, H_COUNT, h->count);
	ks_pb__double(b, H_SUM, h->sum);
	classic(b, h);
	if (h->native && h->scale == 1.0)
		native(b, h);
	ks_pb__close(b, mh);
	ks_pb__close(b, m);
}

/* ---- Accept ---------------------------------------------------------- */

/* The value of parameter name in "; a=b; c=d" params, unquoted, into buf. */
static bool param(const char *params, size_t n, const char *name, char *buf,
		  size_t len)
{
	size_t nlen = strlen(name);

	for (const char *p = params, *e = params + n; p < e; p++) {
		const char *v;
		size_t vl;

		if (*p != ';')
			continue;
		while (++p < e && isspace((unsigned char)*p))
			;
		if ((size_t)(e - p) <= nlen || strncasecmp(p, name, nlen) ||
		    p[nlen] != '=')
			continue;
		v = p + nlen + 1;
		vl = strcspn(v, ";");
		vl = vl < (size_t)(e - v) ? vl : (size_t)(e - v);
		while (vl && isspace((unsigned char)v[vl - 1]))
			vl--;
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
			v++, vl -= 2;
		if (vl >= len)
			return false;
		memcpy(buf, v, vl);
		buf[vl] = '\0';
		return true;
	}
	return false;
}

/* q of one entry: 1 by default, -1 if unparsable (ignored). */
static double qvalue(const char *params, size_t n)
{
	char buf[16], *end;
	double q;

	if (!param(params, n, "q", buf, sizeof(buf)))
		return 1;
	q = strtod(buf, &end);
	return (end == buf || *end || !(q >= 0 && q <= 1)) ? -1 : q;
}

static bool type_is(const char *t, size_t n, const char *want)
{
	return n == strlen(want) && !strncasecmp(t, want, n);
}

/* Which of our formats one entry names: 'p'rotobuf, 't'ext, or 0. */
static int entry_format(const char *e, size_t n)
{
	size_t tl = strcspn(e, ";,");
	char buf[64];

	tl = tl < n ? tl : n;
	while (tl && isspace((unsigned char)e[tl - 1]))
		tl--;
	if (type_is(e, tl, "application/vnd.google.protobuf"))
		return param(e + tl, n - tl, "proto", buf, sizeof(buf)) &&
		       !strcmp(buf, "io.prometheus.client.MetricFamily") &&
		       param(e + tl, n - tl, "encoding", buf, sizeof(buf)) &&
		       !strcmp(buf, "delimited") ? 'p' : 0;
	if (type_is(e, tl, "text/plain") || type_is(e, tl, "text/*") ||
	    type_is(e, tl, "*/*"))
		return 't';
	return 0;
}

bool ks_prom_pb_wanted(const char *accept)
{
	double qp = 0, qt = 0;

	for (const char *p = accept; p && *p;) {
		size_t n = strcspn(p, ",");
		int f;
		double q;

		while (n && isspace((unsigned char)*p))
			p++, n--;
		f = entry_format(p, n);
		q = qvalue(p, n);
		if (f == 'p' && q > qp)
			qp = q;
		else if (f == 't' && q > qt)
			qt = q;
		p += n;
		if (*p == ',')
			p++;
	}
	return qp > 0 && qp > qt;
}
