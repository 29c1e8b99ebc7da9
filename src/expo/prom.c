/* prom.c - cumulative series for Prometheus, and their text format.
 *
 * A table says, per metric, which Prometheus family it feeds, which record
 * fields become labels, and which numeric field (if any) becomes a
 * histogram.  Series are found by hashing (family, label values); counts
 * only ever grow, as Prometheus counters must.
 *
 * The same series are written in two formats: the text format, and the
 * protobuf format of prom_pb.h.  The protobuf one has every text family
 * (histograms in seconds with their classic buckets only, so that classic
 * queries keep working where Prometheus ingests a native histogram
 * instead of the classic one), plus, per histogram, a family in
 * nanoseconds with native schema-0 buckets (and classic ones): seconds
 * edges cannot be exact, since 1e-9 is no power of two.
 */
#include "expo/prom.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/symtab.h"
#include "expo/prom_pb.h"
#include "util/version.h"

#define MAXLABELS 8

#define H KS_F_HOSTNAME
#define ID H, KS_F_VM, KS_F_VMUUID
#define LABELS(...) \
	sizeof((enum ks_field[]){ __VA_ARGS__ }) / sizeof(enum ks_field), \
	{ __VA_ARGS__ }
/* A counter (or, with gauge, a point metric's gauge). */
#define COUNTER(m, base, gauge, help, ...) \
	{ m, base, base "_total", gauge, LABELS(__VA_ARGS__), -1, NULL, 0, \
	  help, 0, 0, 0, 0, NULL }
#define GAUGE(m, base, help, ...) \
	{ m, base, base, true, LABELS(__VA_ARGS__), -1, NULL, 0, help, \
	  0, 0, 0, 0, NULL }
/* A histogram of a time field in ns: exported in seconds, le = 2^k - 1 ns
 * for k = lo, lo + 2, ... hi (a factor of 4 a bucket), with a native twin
 * in ns. */
#define NSHIST(m, base, f, fname, help, lo, hi, ...) \
	{ m, base, NULL, false, LABELS(__VA_ARGS__), f, \
	  base "_" fname "_seconds", 1e-9, help, lo, hi, 2, 0, \
	  base "_" fname "_nanoseconds" }
/* A histogram of a byte field: le = 2^k - 1 bytes. */
#define BYTEHIST(m, base, f, fname, help, lo, hi, step, ...) \
	{ m, base, NULL, false, LABELS(__VA_ARGS__), f, \
	  base "_" fname "_bytes", 1, help, lo, hi, step, 0, NULL }
/* The subsecond field (ms into the second), in seconds: le = 64k - 1 ms,
 * k = 1 .. 15 (1/16 s; multiples of 32 ms are log-linear edges below
 * 1024 ms).  VM-level: one set of buckets per VM. */
#define SUBSEC(m, base, help) \
	{ m, base, NULL, false, LABELS(ID), KS_F_SUBSECOND, \
	  base "_subsecond_seconds", 1e-3, help, 1, 15, 1, 64, NULL }

static const struct ks_prom_family families[] = {
	COUNTER(KS_M_VM_EXITS, "kvmscope_vm_exits", false, "VM exits.",
		ID, KS_F_VCPU, KS_F_VLEAVEREASON),
	NSHIST(KS_M_VM_EXITS, "kvmscope_vm_exits", KS_F_LATENCY, "latency",
	       "VM exit handling time (exit to next entry).", 8, 34,
	       ID, KS_F_VLEAVEREASON),
	SUBSEC(KS_M_VM_EXITS, "kvmscope_vm_exits",
	       "VM exits by offset into the wall-clock second."),
	COUNTER(KS_M_VM_IRQS, "kvmscope_vm_irqs", false,
		"Interrupts injected into guests.",
		ID, KS_F_VCPU, KS_F_IRQVECTOR),
	SUBSEC(KS_M_VM_IRQS, "kvmscope_vm_irqs",
	       "Injected interrupts by offset into the wall-clock second."),
	COUNTER(KS_M_VM_APIC_IRQS, "kvmscope_vm_apic_irqs", false,
		"Interrupts accepted by guest local APICs.",
		ID, KS_F_VCPU, KS_F_IRQVECTOR, KS_F_DELIVERYMODE),
	COUNTER(KS_M_VM_THREAD_SAMPLES, "kvmscope_vm_thread_samples", false,
		"vCPU samples at 99 Hz.", ID, KS_F_VCPU, KS_F_GUESTMODE),
	SUBSEC(KS_M_VM_THREAD_SAMPLES, "kvmscope_vm_thread_samples",
	       "vCPU samples by offset into the wall-clock second."),
	/* Every operation, with or without a latency (the latency histogram
	 * has only those with one). */
	COUNTER(KS_M_VM_PHYSIO_OPS, "kvmscope_vm_physio_ops", false,
		"Guest disk operations.", ID, KS_F_DISK, KS_F_OPTYPE),
	NSHIST(KS_M_VM_PHYSIO_OPS, "kvmscope_vm_physio_ops", KS_F_LATENCY,
	       "latency", "Guest disk operation latency.", 10, 34,
	       ID, KS_F_DISK, KS_F_OPTYPE),
	BYTEHIST(KS_M_VM_PHYSIO_OPS, "kvmscope_vm_physio_ops", KS_F_SIZE,
		 "size", "Guest disk operation size.", 9, 23, 1,
		 ID, KS_F_DISK, KS_F_OPTYPE),
	BYTEHIST(KS_M_VM_PHYSIO_OPS, "kvmscope_vm_physio_ops", KS_F_OFFSET,
		 "offset", "Guest disk operation offset into the disk.", 20,
		 42, 2, ID, KS_F_DISK, KS_F_OPTYPE),
	COUNTER(KS_M_VM_PHYSIO_BYTES, "kvmscope_vm_physio_bytes", false,
		"Guest disk bytes.", ID, KS_F_DISK, KS_F_OPTYPE),
	COUNTER(KS_M_NIC_VNIC_BYTES, "kvmscope_nic_vnic_bytes", false,
		"Guest NIC bytes.", ID, KS_F_NIC, KS_F_DIRECTION),
	COUNTER(KS_M_NIC_VNIC_PACKETS, "kvmscope_nic_vnic_packets", false,
		"Guest NIC packets.", ID, KS_F_NIC, KS_F_DIRECTION),
	COUNTER(KS_M_VM_USERSPACE_EXITS, "kvmscope_vm_userspace_exits", false,
		"Exits to the VMM in user space.",
		ID, KS_F_VCPU, KS_F_UEXITREASON),
	COUNTER(KS_M_VM_PIO_OPS, "kvmscope_vm_pio_ops", false,
		"Guest port I/O accesses.", ID, KS_F_VCPU, KS_F_DIRECTION),
	COUNTER(KS_M_VM_MMIO_OPS, "kvmscope_vm_mmio_ops", false,
		"Guest MMIO accesses.", ID, KS_F_VCPU, KS_F_DIRECTION),
	GAUGE(KS_M_VM_VCPUS, "kvmscope_vm_vcpus", "vCPUs of each VM.", ID),
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

size_t ks_prom__families(const struct ks_prom_family **out)
{
	*out = families;
	return NFAMILIES;
}

size_t ks_prom_family__edges(const struct ks_prom_family *f, uint64_t *edge,
			     size_t max)
{
	size_t n = 0;

	if (f->hist < 0)
		return 0;
	for (int k = f->le_lo; k <= f->le_hi && n < max;
	     k += f->le_linear ? 1 : f->le_step)
		edge[n++] = f->le_linear ? (uint64_t)f->le_linear * (uint64_t)k :
					   1ULL << k;
	return n;
}

struct series {
	uint16_t fam;
	uint32_t lv[MAXLABELS];	/* label values, symtab ids (0 = "") */
	uint64_t count;		/* counter, or gauge value */
	uint64_t sum;		/* histogram: sum of raw values */
	struct ks_dist dist;
};

struct ks_prom {
	struct series *s;
	size_t n, cap, max;
	uint32_t *slot;		/* open addressing: index + 1 */
	size_t nslot;
	uint64_t dropped;
	uint32_t host;		/* the hostname label's symbol (held) */
};

struct ks_prom *ks_prom__new(size_t max_series)
{
	struct ks_prom *p = calloc(1, sizeof(*p));
	char host[256] = "";

	if (!p)
		return NULL;
	p->max = max_series ? max_series : KS_PROM_MAX_SERIES_DEFAULT;
	/* The engine's default for CA's hostname field, so both agree. */
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "localhost");
	ks_prom__set_hostname(p, host);
	return p;
}

void ks_prom__set_hostname(struct ks_prom *p, const char *name)
{
	uint32_t id = ks_sym_intern(name);

	ks_sym_hold(id);
	ks_sym_put(p->host);
	p->host = id;
}

void ks_prom__free(struct ks_prom *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		ks_dist_fini(&p->s[i].dist);
		for (int k = 0; k < MAXLABELS; k++)
			ks_sym_put(p->s[i].lv[k]);
	}
	ks_sym_put(p->host);
	free(p->s);
	free(p->slot);
	free(p);
}

size_t ks_prom__nseries(const struct ks_prom *p)
{
	return p->n;
}

static uint32_t hash(uint16_t fam, const uint32_t *lv)
{
	uint32_t h = fam * 0x9e3779b1u;

	for (int i = 0; i < MAXLABELS; i++)
		h = (h ^ lv[i]) * 0x85ebca6bu;
	return h ^ (h >> 15);
}

static size_t probe(const struct ks_prom *p, uint16_t fam, const uint32_t *lv)
{
	size_t mask = p->nslot - 1, i = hash(fam, lv) & mask;

	for (;; i = (i + 1) & mask) {
		const struct series *s;

		if (!p->slot[i])
			return i;
		s = &p->s[p->slot[i] - 1];
		if (s->fam == fam && !memcmp(s->lv, lv, sizeof(s->lv)))
			return i;
	}
}

static int grow(struct ks_prom *p)
{
	size_t n = p->nslot ? p->nslot * 2 : 256;
	uint32_t *old = p->slot;

	p->slot = calloc(n, sizeof(*p->slot));
	if (!p->slot) {
		p->slot = old;
		return -ENOMEM;
	}
	p->nslot = n;
	for (size_t k = 0; k < p->n; k++)
		p->slot[probe(p, p->s[k].fam, p->s[k].lv)] = (uint32_t)(k + 1);
	free(old);
	return 0;
}

static struct series *series_get(struct ks_prom *p, uint16_t fam,
				 const uint32_t *lv)
{
	struct series *s;
	size_t i;

	if ((p->n + 1) * 2 > p->nslot && grow(p))
		return NULL;
	i = probe(p, fam, lv);
	if (p->slot[i])
		return &p->s[p->slot[i] - 1];
	if (p->n >= p->max) {
		p->dropped++;
		return NULL;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct series *ns = realloc(p->s, cap * sizeof(*ns));

		if (!ns)
			return NULL;
		p->s = ns;
		p->cap = cap;
	}
	s = &p->s[p->n++];
	memset(s, 0, sizeof(*s));
	s->fam = fam;
	memcpy(s->lv, lv, sizeof(s->lv));
	/* A series lives as long as the exporter: it holds its labels. */
	for (int k = 0; k < MAXLABELS; k++)
		ks_sym_hold(lv[k]);
	p->slot[i] = (uint32_t)p->n;
	return s;
}

static void feed_family(struct ks_prom *p, uint16_t fi, const struct ks_record *r)
{
	const struct ks_prom_family *f = &families[fi];
	uint32_t lv[MAXLABELS] = { 0 };
	struct series *s;

	if (f->hist >= 0 && !ks_record_has(r, f->hist))
		return;
	for (int i = 0; i < f->nlabels; i++)
		if (ks_record_has(r, f->labels[i]))
			lv[i] = (uint32_t)r->f[f->labels[i]];
		else if (f->labels[i] == KS_F_HOSTNAME)
			lv[i] = p->host;
	if (!(s = series_get(p, fi, lv)))
		return;
	if (f->gauge) {
		s->count = r->value;
		return;
	}
	s->count += r->value;
	if (f->hist >= 0) {
		s->sum += r->f[f->hist] * r->value;
		if (ks_dist__add(&s->dist, r->f[f->hist], r->value))
			p->dropped++;
	}
}

void ks_prom__feed(struct ks_prom *p, const struct ks_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (uint16_t fi = 0; fi < NFAMILIES; fi++)
			if (families[fi].metric == r[i].metric)
				feed_family(p, fi, &r[i]);
}

struct out {
	char *buf;
	size_t len, cap;
	int err;
};

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
		size_t cap = o->cap ? o->cap * 2 : 65536;
		char *b = realloc(o->buf, cap);

		if (!b) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
}

/* Label values escaped as the text format requires. */
static void out_labels(struct out *o, const struct ks_prom_family *f,
		       const struct series *s, const char *extra)
{
	outf(o, "{");
	for (int i = 0; i < f->nlabels; i++) {
		outf(o, "%s%s=\"", i ? "," : "", ks_field_info(f->labels[i])->name);
		for (const char *c = ks_sym_str(s->lv[i]); *c; c++) {
			if (*c == '\\' || *c == '"')
				outf(o, "\\%c", *c);
			else if (*c == '\n')
				outf(o, "\\n");
			else
				outf(o, "%c", *c);
		}
		outf(o, "\"");
	}
	if (extra)
		outf(o, "%s%s", f->nlabels ? "," : "", extra);
	outf(o, "}");
}

static void out_hist(struct out *o, const struct ks_prom_family *f,
		     const struct series *s)
{
	uint64_t edges[64];
	size_t ne = ks_prom_family__edges(f, edges, 64);
	char le[64];

	for (size_t k = 0; k < ne; k++) {
		uint64_t edge = edges[k];

		/* Values are integers: "<= le" is "< edge" with le = edge-1. */
		snprintf(le, sizeof(le), "le=\"%.9g\"",
			 (double)(edge - 1) * f->hist_scale);
		outf(o, "%s_bucket", f->hist_name);
		out_labels(o, f, s, le);
		outf(o, " %llu\n", (unsigned long long)ks_dist__count_below(&s->dist, edge));
	}
	outf(o, "%s_bucket", f->hist_name);
	out_labels(o, f, s, "le=\"+Inf\"");
	outf(o, " %llu\n%s_sum", (unsigned long long)s->count, f->hist_name);
	out_labels(o, f, s, NULL);
	outf(o, " %.9g\n%s_count", (double)s->sum * f->hist_scale, f->hist_name);
	out_labels(o, f, s, NULL);
	outf(o, " %llu\n", (unsigned long long)s->count);
}

static void out_family(struct out *o, const struct ks_prom *p, uint16_t fi)
{
	const struct ks_prom_family *f = &families[fi];
	const char *name = f->hist >= 0 ? f->hist_name : f->series;
	const char *type = f->hist >= 0 ? "histogram" :
			   f->gauge ? "gauge" : "counter";

	outf(o, "# HELP %s %s\n# TYPE %s %s\n", name, f->help, name, type);
	for (size_t k = 0; k < p->n; k++) {
		const struct series *s = &p->s[k];

		if (s->fam != fi)
			continue;
		if (f->hist >= 0) {
			out_hist(o, f, s);
			continue;
		}
		outf(o, "%s", f->series);
		out_labels(o, f, s, NULL);
		outf(o, " %llu\n", (unsigned long long)s->count);
	}
}

/* What bounds the agent's memory, and what the bounds refused. */
struct mem_metric {
	const char *name, *help;
	bool gauge;
	uint64_t v;
};

#define NMEM 8

static void mem_metrics(const struct ks_engine *e, struct mem_metric *m)
{
	struct ks_engine_memory em = ks_engine__memory(e);
	struct ks_sym_stats ss;

	ks_sym_stats(&ss);
	m[0] = (struct mem_metric){ "kvmscope_instrumentation_memory_bytes",
		"Bytes held by the instrumentations' data.", true, em.used };
	m[1] = (struct mem_metric){ "kvmscope_instrumentation_memory_budget_bytes",
		"The instrumentations' memory budget.", true, em.budget };
	m[2] = (struct mem_metric){ "kvmscope_instrumentations_refused_total",
		"Creates refused by the memory budget.", false,
		ks_engine__stats(e)->refused };
	m[3] = (struct mem_metric){ "kvmscope_symbols",
		"Interned field values (VM names, RIPs, constants...).", true,
		ss.count };
	m[4] = (struct mem_metric){ "kvmscope_symbols_bytes",
		"Bytes held by the symbol table.", true, ss.bytes };
	m[5] = (struct mem_metric){ "kvmscope_symbols_freed_total",
		"Symbols freed once nothing used them.", false, ss.freed };
	m[6] = (struct mem_metric){ "kvmscope_symbols_dropped_total",
		"Field values not interned: the symbol table was full.", false,
		ss.dropped };
	m[7] = (struct mem_metric){ "kvmscope_guest_keys_dropped_total",
		"Guest RIPs, cr3s and addresses not interned: their VM had "
		"its cap of keys.", false, ss.scope_dropped };
}

static void out_engine(struct out *o, const struct ks_engine *e)
{
	const struct ks_engine_stats *st = ks_engine__stats(e);
	struct mem_metric mm[NMEM];
	static const char *hdr =
		"# HELP kvmscope_records_total Records received from sources.\n"
		"# TYPE kvmscope_records_total counter\n";

	outf(o, "%skvmscope_records_total %llu\n", hdr,
	     (unsigned long long)st->records);
	outf(o, "# HELP kvmscope_records_dropped_total Records not added to an "
		"instrumentation that wanted them, by reason.\n"
		"# TYPE kvmscope_records_dropped_total counter\n");
	outf(o, "kvmscope_records_dropped_total{reason=\"lacking_field\"} %llu\n"
		"kvmscope_records_dropped_total{reason=\"future\"} %llu\n"
		"kvmscope_records_dropped_total{reason=\"expired\"} %llu\n"
		"kvmscope_records_dropped_total{reason=\"nomem\"} %llu\n"
		"kvmscope_records_dropped_total{reason=\"keycap\"} %llu\n"
		"kvmscope_records_dropped_total{reason=\"overbudget\"} %llu\n",
	     (unsigned long long)st->lacking, (unsigned long long)st->future,
	     (unsigned long long)st->expired, (unsigned long long)st->nomem,
	     (unsigned long long)st->keycap,
	     (unsigned long long)st->overbudget);
	outf(o, "# HELP kvmscope_instrumentations Active instrumentations.\n"
		"# TYPE kvmscope_instrumentations gauge\n"
		"kvmscope_instrumentations %zu\n", ks_engine__count(e));
	mem_metrics(e, mm);
	for (size_t i = 0; i < NMEM; i++)
		outf(o, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", mm[i].name,
		     mm[i].help, mm[i].name, mm[i].gauge ? "gauge" : "counter",
		     mm[i].name, (unsigned long long)mm[i].v);
}

/* kvmscope_build_info: always 1, the build in its labels, as Prometheus'
 * own *_build_info has it (so a query can join on version).  The values
 * are scripts/version.sh's: no character needs escaping. */
#define BUILD_INFO "kvmscope_build_info"
#define BUILD_HELP "The kvmscope build: version and revision in labels."

char *ks_prom__render(const struct ks_prom *p, const struct ks_engine *e,
		      size_t *len)
{
	struct out o = { 0 };

	outf(&o, "# HELP " BUILD_INFO " " BUILD_HELP "\n"
		 "# TYPE " BUILD_INFO " gauge\n"
		 BUILD_INFO "{version=\"%s\",revision=\"%s\"} 1\n",
	     ks_version(), ks_revision());
	for (uint16_t fi = 0; fi < NFAMILIES; fi++)
		out_family(&o, p, fi);
	outf(&o, "# HELP kvmscope_prom_series_dropped_total Series not created "
		 "because of the cardinality cap.\n"
		 "# TYPE kvmscope_prom_series_dropped_total counter\n"
		 "kvmscope_prom_series_dropped_total %llu\n",
	     (unsigned long long)p->dropped);
	if (e)
		out_engine(&o, e);
	if (o.err) {
		free(o.buf);
		return NULL;
	}
	if (len)
		*len = o.len;
	return o.buf;
}

/* ---- protobuf -------------------------------------------------------- */

static size_t pb_labels(const struct ks_prom_family *f,
			const struct series *s, struct ks_prom_label *l)
{
	for (int i = 0; i < f->nlabels; i++)
		l[i] = (struct ks_prom_label){ ks_field_info(f->labels[i])->name,
					       ks_sym_str(s->lv[i]) };
	return (size_t)f->nlabels;
}

static void pb_series(struct ks_pb *b, const struct ks_prom_family *f,
		      const struct series *s, bool native)
{
	struct ks_prom_label l[MAXLABELS];
	size_t nl = pb_labels(f, s, l);
	uint64_t edges[64];
	struct ks_prom_hist h = {
		&s->dist, s->count, (double)s->sum * f->hist_scale,
		f->hist_scale, edges, ks_prom_family__edges(f, edges, 64), false
	};

	if (f->hist < 0) {
		ks_prom_pb__value(b, f->gauge ? KS_PROM_GAUGE : KS_PROM_COUNTER,
				  l, nl, (double)s->count);
		return;
	}
	if (native) {
		h.sum = (double)s->sum;
		h.scale = 1.0;
		h.native = true;
	}
	ks_prom_pb__histogram(b, l, nl, &h);
}

/* One family; none when it has no series (Prometheus skips empty ones). */
static void pb_family(struct ks_pb *b, const struct ks_prom *p, uint16_t fi,
		      bool native)
{
	const struct ks_prom_family *f = &families[fi];
	enum ks_prom_type type = f->hist >= 0 ? KS_PROM_HISTOGRAM :
				 f->gauge ? KS_PROM_GAUGE : KS_PROM_COUNTER;
	const char *base = native ? f->native_name :
			   f->hist >= 0 ? f->hist_name : f->series;
	char help[256];
	size_t k = 0, mark;

	while (k < p->n && p->s[k].fam != fi)
		k++;
	if (k == p->n)
		return;
	snprintf(help, sizeof(help), "%s%s", f->help, native ?
		 " In nanoseconds, with native (schema 0) buckets." : "");
	mark = ks_prom_pb__family(b, base, help, type);
	for (; k < p->n; k++)
		if (p->s[k].fam == fi)
			pb_series(b, f, &p->s[k], native);
	ks_pb__close(b, mark);
}

static void pb_counter(struct ks_pb *b, const char *name, const char *help,
		       const char *label, const char *value, uint64_t v)
{
	struct ks_prom_label l = { label, value };
	size_t mark = ks_prom_pb__family(b, name, help, KS_PROM_COUNTER);

	ks_prom_pb__value(b, KS_PROM_COUNTER, &l, label ? 1 : 0, (double)v);
	ks_pb__close(b, mark);
}

static void pb_engine(struct ks_pb *b, const struct ks_engine *e)
{
	const struct ks_engine_stats *st = ks_engine__stats(e);
	static const char *const reason[] = {
		"lacking_field", "future", "expired", "nomem", "keycap",
		"overbudget"
	};
	const uint64_t dropped[] = {
		st->lacking, st->future, st->expired, st->nomem, st->keycap,
		st->overbudget
	};
	struct mem_metric mm[NMEM];
	size_t mark;

	pb_counter(b, "kvmscope_records_total", "Records received from "
		   "sources.", NULL, NULL, st->records);
	mark = ks_prom_pb__family(b, "kvmscope_records_dropped_total",
				  "Records not added to an instrumentation "
				  "that wanted them, by reason.",
				  KS_PROM_COUNTER);
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		struct ks_prom_label l = { "reason", reason[i] };

		ks_prom_pb__value(b, KS_PROM_COUNTER, &l, 1,
				  (double)dropped[i]);
	}
	ks_pb__close(b, mark);
	mark = ks_prom_pb__family(b, "kvmscope_instrumentations",
				  "Active instrumentations.", KS_PROM_GAUGE);
	ks_prom_pb__value(b, KS_PROM_GAUGE, NULL, 0,
			  (double)ks_engine__count(e));
	ks_pb__close(b, mark);
	mem_metrics(e, mm);
	for (size_t i = 0; i < NMEM; i++) {
		enum ks_prom_type t = mm[i].gauge ? KS_PROM_GAUGE :
						    KS_PROM_COUNTER;

		mark = ks_prom_pb__family(b, mm[i].name, mm[i].help, t);
		ks_prom_pb__value(b, t, NULL, 0, (double)mm[i].v);
		ks_pb__close(b, mark);
	}
}

int ks_prom__render_pb(const struct ks_prom *p, const struct ks_engine *e,
		       struct ks_pb *b)
{
	const struct ks_prom_label build[] = { { "version", ks_version() },
					       { "revision", ks_revision() } };
	size_t mark = ks_prom_pb__family(b, BUILD_INFO, BUILD_HELP,
					 KS_PROM_GAUGE);

	ks_prom_pb__value(b, KS_PROM_GAUGE, build, 2, 1.0);
	ks_pb__close(b, mark);
	for (uint16_t fi = 0; fi < NFAMILIES; fi++) {
		pb_family(b, p, fi, false);
		if (families[fi].native_name)
			pb_family(b, p, fi, true);
	}
	pb_counter(b, "kvmscope_prom_series_dropped_total", "Series not "
		   "created because of the cardinality cap.", NULL, NULL,
		   p->dropped);
	if (e)
		pb_engine(b, e);
	return b->err;
}
