/* prom.c - cumulative series for Prometheus, and their text format.
 *
 * A table says, per metric, which Prometheus family it feeds, which record
 * fields become labels, and which numeric field (if any) becomes a
 * histogram.  Series are found through util/dict by (family, label
 * values); counts only ever grow, as Prometheus counters must.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/symtab.h"
#include "expo/emit.h"
#include "expo/prom_pb.h"
#include "util/dict.h"
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
	uint64_t last;		/* ts of its last record */
	const char *tenant;	/* its VM's owner (the fn's string), or NULL */
	struct ks_dist dist;
};

struct ks_prom {
	struct series *s;
	size_t n, cap, max;
	struct ks_dict idx;	/* (family, labels) -> index in s + 1 */
	uint64_t dropped;
	uint64_t expired;	/* series removed: their VM was gone */
	uint64_t grace_ns;
	uint32_t host;		/* the hostname label's symbol (held) */
	const char *tenant_label;	/* NULL: no tenant label */
	ks_prom_tenant_fn tenant_fn;
	void *tenant_ctx;
};

struct ks_prom *ks_prom__new(size_t max_series)
{
	struct ks_prom *p = calloc(1, sizeof(*p));
	char host[256] = "";

	if (!p)
		return NULL;
	p->max = max_series ? max_series : KS_PROM_MAX_SERIES_DEFAULT;
	p->grace_ns = KS_PROM_GRACE_DEFAULT_S * KS_NSEC_PER_SEC;
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

void ks_prom__set_tenants(struct ks_prom *p, const char *label,
			  ks_prom_tenant_fn fn, void *ctx)
{
	p->tenant_label = label;
	p->tenant_fn = fn;
	p->tenant_ctx = ctx;
}

int ks_prom_label_check(const char *name, const char *param,
			struct ks_err *err)
{
	static const char *const taken[] = { "le", "job", "instance" };
	size_t n = strlen(name);

	if (!n || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n ||
	    (name[0] >= '0' && name[0] <= '9') || !strncmp(name, "__", 2))
		return ks_err_set(err, EINVAL, param, "%s: \"%.64s\" is not a "
				  "Prometheus label name (a letter or _, then "
				  "letters, digits or _, at most 64; not "
				  "__...)", param, name);
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		if (!strcmp(name, taken[i]))
			return ks_err_set(err, EINVAL, param, "%s: label %s "
					  "is taken (%s)", param, name,
					  i ? "the scraper sets it" :
					  "histogram buckets");
	if (ks_field_lookup(name) >= 0)
		return ks_err_set(err, EINVAL, param, "%s: label %s is a "
				  "field's, which series carry already",
				  param, name);
	return 0;
}

/* The owner of a new series' VM, by its vm and vmuuid labels. */
static const char *series_tenant(const struct ks_prom *p, uint16_t fam,
				 const uint32_t *lv)
{
	const struct ks_prom_family *f = &families[fam];
	const char *vm = NULL, *uuid = "";

	if (!p->tenant_fn)
		return NULL;
	for (int i = 0; i < f->nlabels; i++)
		if (f->labels[i] == KS_F_VM)
			vm = ks_sym_str(lv[i]);
		else if (f->labels[i] == KS_F_VMUUID)
			uuid = ks_sym_str(lv[i]);
	return vm ? p->tenant_fn(p->tenant_ctx, vm, uuid) : NULL;
}

static void series_free(struct series *s);

void ks_prom__free(struct ks_prom *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		series_free(&p->s[i]);
	ks_sym_put(p->host);
	free(p->s);
	ks_dict__fini(&p->idx);
	free(p);
}

size_t ks_prom__nseries(const struct ks_prom *p)
{
	return p->n;
}

static uint64_t hash(uint16_t fam, const uint32_t *lv)
{
	uint32_t h = fam * 0x9e3779b1u;

	for (int i = 0; i < MAXLABELS; i++)
		h = (h ^ lv[i]) * 0x85ebca6bu;
	return h ^ (h >> 15);
}

/* A series' key as looked up: its family and label values. */
struct series_key {
	uint16_t fam;
	const uint32_t *lv;
};

static uint64_t id_hash(void *ctx, uint32_t id)
{
	const struct series *s = &((struct ks_prom *)ctx)->s[id - 1];

	return hash(s->fam, s->lv);
}

static bool id_eq(void *ctx, uint32_t id, const void *key)
{
	const struct series *s = &((struct ks_prom *)ctx)->s[id - 1];
	const struct series_key *k = key;

	return s->fam == k->fam && !memcmp(s->lv, k->lv, sizeof(s->lv));
}

static struct series *series_get(struct ks_prom *p, uint16_t fam,
				 const uint32_t *lv)
{
	struct series_key k = { fam, lv };
	uint64_t h = hash(fam, lv);
	uint32_t id = ks_dict__find(&p->idx, h, id_eq, p, &k);
	struct series *s;

	if (id)
		return &p->s[id - 1];
	if (p->n >= p->max) {
		p->dropped++;
		return NULL;
	}
	if (ks_dict__room(&p->idx, &p->s, &p->cap, p->n, sizeof(*p->s),
			  id_hash, p))
		return NULL;
	s = &p->s[p->n];
	memset(s, 0, sizeof(*s));
	s->fam = fam;
	memcpy(s->lv, lv, sizeof(s->lv));
	s->tenant = series_tenant(p, fam, lv);
	/* A series lives as long as the exporter: it holds its labels. */
	for (int i = 0; i < MAXLABELS; i++)
		ks_sym_hold(lv[i]);
	ks_dict__set(&p->idx, ks_dict__slot(&p->idx, h, id_eq, p, &k),
		     (uint32_t)++p->n);
	return s;
}

void ks_prom__set_grace(struct ks_prom *p, uint64_t grace_s)
{
	p->grace_ns = grace_s * KS_NSEC_PER_SEC;
}

uint64_t ks_prom__expired(const struct ks_prom *p)
{
	return p->expired;
}

/* Per VM (its vm label's symbol), the latest record of any of its
 * series: a VM is gone when none of its series moved for the grace
 * period (a live VM's vm.vcpus gauge moves every second). */
struct vmlast {
	struct ks_dict idx;	/* vm -> index in row + 1 */
	struct vmrow {
		uint32_t vm;
		uint64_t last;
	} *row;
	size_t n, cap;
};

static uint64_t vm_hash(void *ctx, uint32_t id)
{
	return ks_dict_hash_u64(((struct vmlast *)ctx)->row[id - 1].vm);
}

static bool vm_eq(void *ctx, uint32_t id, const void *key)
{
	return ((struct vmlast *)ctx)->row[id - 1].vm == *(const uint32_t *)key;
}

/* vm's row, added (last 0) if new; NULL without memory. */
static struct vmrow *vmlast_row(struct vmlast *v, uint32_t vm)
{
	uint64_t h = ks_dict_hash_u64(vm);
	uint32_t id = ks_dict__find(&v->idx, h, vm_eq, v, &vm);

	if (id)
		return &v->row[id - 1];
	if (ks_dict__room(&v->idx, &v->row, &v->cap, v->n, sizeof(*v->row),
			  vm_hash, v))
		return NULL;
	v->row[v->n] = (struct vmrow){ vm, 0 };
	ks_dict__set(&v->idx, ks_dict__slot(&v->idx, h, vm_eq, v, &vm),
		     (uint32_t)++v->n);
	return &v->row[v->n - 1];
}

/* A series' VM: its vm label (labels[1] in every family), 0 if unknown. */
static uint32_t series_vm(const struct series *s)
{
	return families[s->fam].nlabels > 1 &&
	       families[s->fam].labels[1] == KS_F_VM ? s->lv[1] : 0;
}

static void series_free(struct series *s)
{
	ks_dist_fini(&s->dist);
	for (int k = 0; k < MAXLABELS; k++)
		ks_sym_put(s->lv[k]);
}

size_t ks_prom__expire(struct ks_prom *p, uint64_t now_ns)
{
	struct vmlast v = { KS_DICT_INIT, NULL, 0, 0 };
	size_t kept = 0, gone = 0;

	if (!p->n || now_ns < p->grace_ns)
		return 0;
	for (size_t k = 0; k < p->n; k++) {
		struct vmrow *r = vmlast_row(&v, series_vm(&p->s[k]));

		if (!r)
			goto out;	/* tried again next tick */
		if (p->s[k].last > r->last)
			r->last = p->s[k].last;
	}
	for (size_t k = 0; k < p->n; k++) {
		uint64_t last = vmlast_row(&v, series_vm(&p->s[k]))->last;

		if (last + p->grace_ns < now_ns)
			series_free(&p->s[k]);
		else
			p->s[kept++] = p->s[k];
	}
	gone = p->n - kept;
	p->n = kept;
	p->expired += gone;
	if (gone)
		ks_dict__renumber(&p->idx, p->n, id_hash, p);
out:
	ks_dict__fini(&v.idx);
	free(v.row);
	return gone;
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
	if (r->ts > s->last)
		s->last = r->ts;
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

/* A family of one sample, labelled with the hostname alone. */
static void em_single(struct ks_emit *m, const struct ks_prom *p,
		      const char *name, const char *help,
		      enum ks_prom_type type, uint64_t v)
{
	struct ks_prom_label host = { "hostname", ks_sym_str(p->host) };

	ks_emit__family(m, name, help, type);
	ks_emit__value(m, &host, 1, v);
	ks_emit__end(m);
}

/* Family fi's series; native: its protobuf twin with native buckets in
 * the raw unit (prom_pb.h). */
static void em_table_family(struct ks_emit *m, const struct ks_prom *p,
			    uint16_t fi, bool native)
{
	const struct ks_prom_family *f = &families[fi];
	struct ks_prom_label l[MAXLABELS + 1];
	uint64_t edges[KS_EMIT_MAXEDGES];
	size_t ne = ks_prom_family__edges(f, edges, KS_EMIT_MAXEDGES), nl;
	char help[256];

	snprintf(help, sizeof(help), "%s%s", f->help, native ?
		 " In nanoseconds, with native (schema 0) buckets." : "");
	ks_emit__family(m, native ? f->native_name : f->hist >= 0 ?
			f->hist_name : f->series, help, f->hist >= 0 ?
			KS_PROM_HISTOGRAM : f->gauge ? KS_PROM_GAUGE :
			KS_PROM_COUNTER);
	for (size_t k = 0; k < p->n; k++) {
		const struct series *s = &p->s[k];
		struct ks_prom_hist h = {
			&s->dist, s->count, (double)s->sum * f->hist_scale,
			f->hist_scale, edges, ne, false
		};

		if (s->fam != fi)
			continue;
		nl = (size_t)f->nlabels;
		for (size_t i = 0; i < nl; i++)
			l[i] = (struct ks_prom_label){
				ks_field_info(f->labels[i])->name,
				ks_sym_str(s->lv[i]) };
		if (s->tenant)
			l[nl++] = (struct ks_prom_label){ p->tenant_label,
							  s->tenant };
		if (f->hist < 0) {
			ks_emit__value(m, l, nl, s->count);
			continue;
		}
		if (native)
			h = (struct ks_prom_hist){ &s->dist, s->count,
				(double)s->sum, 1.0, edges, ne, true };
		ks_emit__hist(m, l, nl, &h);
	}
	ks_emit__end(m);
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


static void em_engine(struct ks_emit *m, const struct ks_prom *p,
		      const struct ks_engine *e)
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
	struct ks_prom_label l[2] = { { "hostname", ks_sym_str(p->host) },
				      { "reason", NULL } };
	struct mem_metric mm[NMEM];

	em_single(m, p, "kvmscope_records_total",
		  "Records received from sources.", KS_PROM_COUNTER,
		  st->records);
	ks_emit__family(m, "kvmscope_records_dropped_total", "Records not "
			"added to an instrumentation that wanted them, by "
			"reason.", KS_PROM_COUNTER);
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		l[1].value = reason[i];
		ks_emit__value(m, l, 2, dropped[i]);
	}
	ks_emit__end(m);
	em_single(m, p, "kvmscope_instrumentations",
		  "Active instrumentations.", KS_PROM_GAUGE,
		  ks_engine__count(e));
	mem_metrics(e, mm);
	for (size_t i = 0; i < NMEM; i++)
		em_single(m, p, mm[i].name, mm[i].help, mm[i].gauge ?
			  KS_PROM_GAUGE : KS_PROM_COUNTER, mm[i].v);
}

/* kvmscope_build_info: always 1, the build in its labels, as Prometheus'
 * own *_build_info has it (so a query can join on version).  The values
 * are scripts/version.sh's: no character needs escaping. */
static void em_all(struct ks_emit *m, const struct ks_prom *p,
		   const struct ks_engine *e)
{
	const struct ks_prom_label build[] = {
		{ "hostname", ks_sym_str(p->host) },
		{ "version", ks_version() }, { "revision", ks_revision() } };

	ks_emit__family(m, "kvmscope_build_info", "The kvmscope build: "
			"version and revision in labels.", KS_PROM_GAUGE);
	ks_emit__value(m, build, 3, 1);
	ks_emit__end(m);
	for (uint16_t fi = 0; fi < NFAMILIES; fi++) {
		em_table_family(m, p, fi, false);
		if (ks_emit__is_pb(m) && families[fi].native_name)
			em_table_family(m, p, fi, true);
	}
	em_single(m, p, "kvmscope_prom_series_dropped_total", "Series not "
		  "created because of the cardinality cap.", KS_PROM_COUNTER,
		  p->dropped);
	em_single(m, p, "kvmscope_prom_series_expired_total", "Series no "
		  "longer exposed: their VM sent nothing for the grace "
		  "period (serve --series-grace).", KS_PROM_COUNTER,
		  p->expired);
	em_single(m, p, "kvmscope_prom_series", "Series (label sets; a "
		  "histogram counts once) exposed by the families of VMs.",
		  KS_PROM_GAUGE, p->n);
	if (e)
		em_engine(m, p, e);
}

void ks_prom__emit(const struct ks_prom *p, const struct ks_engine *e,
		   struct ks_emit *m)
{
	em_all(m, p, e);
}

const char *ks_prom__hostname(const struct ks_prom *p)
{
	return ks_sym_str(p->host);
}

char *ks_prom__render(const struct ks_prom *p, const struct ks_engine *e,
		      size_t *len)
{
	struct ks_emit *m = ks_emit__new(NULL);
	char *t;

	if (!m)
		return NULL;
	em_all(m, p, e);
	t = ks_emit__take_text(m, len);
	ks_emit__free(m);
	return t;
}

int ks_prom__render_pb(const struct ks_prom *p, const struct ks_engine *e,
		       struct ks_pb *b)
{
	struct ks_emit *m = ks_emit__new(b);
	int rc;

	if (!m)
		return -ENOMEM;
	em_all(m, p, e);
	rc = ks_emit__err(m);
	ks_emit__free(m);
	return rc;
}
