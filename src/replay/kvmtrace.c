/* kvmtrace.c - translating kvm events into records.
 *
 * The translator keeps one small state per thread: its comm (and the
 * interned id for it), the vCPU it last printed, and the exit waiting for
 * its kvm_entry.  Threads live in an array indexed by tid through a
 * util/dict index, so an event costs a probe, a short field scan and an intern of the few
 * strings it carries.  Field texts are read with hand-written scanners, one
 * per event, each accepting the layouts Linux 5.10 to 6.18 print (see the
 * format files in lab/captures/formats*).
 */
#include "replay/kvmtrace.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "kvm/exitreason.h"
#include "util/bytes.h"
#include "util/dict.h"

#define COMM_MAX 32
#define NDEC 256
#define NRECENT 16

struct thread {
	uint32_t tid;
	bool has_vcpu;
	bool pending;		/* pend holds an exit waiting for its entry */
	uint8_t comm_len;	/* COMM_MAX + 1: too long to cache */
	char comm[COMM_MAX];
	uint32_t comm_sym;
	uint32_t vcpu;
	uint32_t pid_num;
	uint32_t pid_sym;
	uint32_t rip_sym;	/* id of the last guest RIP, 0 = none */
	uint64_t rip;
	struct ks_record pend;
};

/* Exit reasons as printed -> interned, normalised ids: a trace has a few
 * dozen reasons and millions of exits, so most lookups end here. */
#define NREASON 64
struct reason {
	uint32_t sym;
	uint8_t len;
	char text[KS_EXITREASON_MAXLEN];
};

struct ks_kvmtrace {
	ks_kvmtrace_emit_fn emit;
	void *ctx;
	struct thread *t;	/* t[id - 1] for the ids of ix */
	size_t nt, cap;
	struct ks_dict ix;	/* tid -> id */
	uint32_t recent[NRECENT];	/* ids by tid % NRECENT, 0 = none: the
					 * few busy vCPU threads skip the dict */
	uint32_t dec[NDEC];	/* ids of "0".."255", 0 until interned */
	struct reason reasons[NREASON];
	uint32_t want;		/* fields the receiver reads */
	struct ks_kvmtrace_stats st;
};

static const char *const event_names[KS_KT__COUNT] = {
	[KS_KT_EXIT] = "kvm_exit",
	[KS_KT_ENTRY] = "kvm_entry",
	[KS_KT_INJ_VIRQ] = "kvm_inj_virq",
	[KS_KT_APIC_ACCEPT_IRQ] = "kvm_apic_accept_irq",
	[KS_KT_USERSPACE_EXIT] = "kvm_userspace_exit",
	[KS_KT_PIO] = "kvm_pio",
	[KS_KT_MMIO] = "kvm_mmio",
};

const char *ks_kt_event_name(enum ks_kt_event k)
{
	return k < KS_KT__COUNT ? event_names[k] : "?";
}

struct ks_kvmtrace *ks_kvmtrace__new(ks_kvmtrace_emit_fn emit, void *ctx)
{
	struct ks_kvmtrace *kt = calloc(1, sizeof(*kt));

	if (!kt)
		return NULL;
	kt->ix = (struct ks_dict)KS_DICT_INIT;
	kt->emit = emit;
	kt->ctx = ctx;
	kt->want = UINT32_MAX;
	return kt;
}

void ks_kvmtrace__want(struct ks_kvmtrace *kt, uint32_t fields)
{
	kt->want = fields;
}

static bool wanted(const struct ks_kvmtrace *kt, enum ks_field f)
{
	return kt->want >> f & 1u;
}

void ks_kvmtrace__free(struct ks_kvmtrace *kt)
{
	if (!kt)
		return;
	for (size_t i = 0; i < kt->nt; i++) {
		struct thread *th = &kt->t[i];

		ks_sym_put(th->comm_sym);
		ks_sym_put(th->pid_sym);
		ks_sym_put(th->rip_sym);
	}
	free(kt->t);
	ks_dict__fini(&kt->ix);
	free(kt);
}

const struct ks_kvmtrace_stats *ks_kvmtrace__stats(const struct ks_kvmtrace *kt)
{
	return &kt->st;
}

/* ---- the thread table ---- */

static uint64_t tid_hash(uint32_t tid)
{
	return ks_dict_hash_u64(tid);
}

static uint64_t id_hash(void *ctx, uint32_t id)
{
	const struct ks_kvmtrace *kt = ctx;

	return tid_hash(kt->t[id - 1].tid);
}

static bool id_eq(void *ctx, uint32_t id, const void *key)
{
	const struct ks_kvmtrace *kt = ctx;

	return kt->t[id - 1].tid == *(const uint32_t *)key;
}

static struct thread *find(const struct ks_kvmtrace *kt, uint32_t tid)
{
	uint32_t id = kt->recent[tid % NRECENT];

	if (id && kt->t[id - 1].tid == tid)
		return &kt->t[id - 1];
	id = ks_dict__find(&kt->ix, tid_hash(tid), id_eq, (void *)kt, &tid);
	return id ? &kt->t[id - 1] : NULL;
}

/* tid's state, made if new; NULL when out of memory.  Adding a thread
 * may move the others. */
static struct thread *get(struct ks_kvmtrace *kt, uint32_t tid)
{
	struct thread *th = find(kt, tid);

	if (th) {
		kt->recent[tid % NRECENT] = (uint32_t)(th - kt->t) + 1;
		return th;
	}
	if (ks_dict__room(&kt->ix, &kt->t, &kt->cap, kt->nt, sizeof(*kt->t),
			  id_hash, kt))
		return NULL;
	th = &kt->t[kt->nt];
	memset(th, 0, sizeof(*th));
	th->tid = tid;
	ks_dict__set(&kt->ix, ks_dict__slot(&kt->ix, tid_hash(tid), id_eq, kt,
					    &tid), (uint32_t)++kt->nt);
	kt->recent[tid % NRECENT] = (uint32_t)kt->nt;
	return th;
}

/* Keeps th's comm id current; a thread may rename itself. */
static int update_comm(struct thread *th, const struct ks_tfs_event *ev)
{
	size_t n = ev->comm_len;

	if (th->comm_sym && th->comm_len == n && n <= COMM_MAX &&
	    ks_bytes_eq(th->comm, ev->comm, n))
		return 0;
	ks_sym_put(th->comm_sym);
	th->comm_sym = ks_sym_get_n(ev->comm, n > KS_SYM_MAXLEN ?
					      KS_SYM_MAXLEN : n);
	if (!th->comm_sym)
		return -ENOMEM;
	th->comm_len = (uint8_t)(n <= COMM_MAX ? n : COMM_MAX + 1);
	if (n <= COMM_MAX)
		memcpy(th->comm, ev->comm, n);
	return 0;
}

/* ---- interned numbers ---- */

static uint32_t dec_sym(struct ks_kvmtrace *kt, uint64_t v)
{
	char buf[24];

	if (v < NDEC && kt->dec[v])
		return kt->dec[v];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	if (v < NDEC)
		return kt->dec[v] = ks_sym_intern(buf);
	return ks_sym_transient(buf);
}

/* Hex fields (irqvector, guestrip, port, gpa) are lowercase digits without
 * "0x" or leading zeros: "20", "fb", "ffffffff8ba592ea".  Writes v at the
 * end of buf and returns where it starts (no printf: one runs per exit). */
static const char *fmt_hex(char buf[16], uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char *p = buf + 16;

	do {
		*--p = digits[v & 15];
		v >>= 4;
	} while (v);
	return p;
}

static uint32_t hex_sym(uint64_t v)
{
	char buf[16];
	const char *p = fmt_hex(buf, v);

	return ks_sym_transient_n(p, (size_t)(buf + 16 - p));
}

/* A guest-driven hex field f (RIP, gpa) of process pid: capped per VM
 * and field (engine/symtab.h); 0 when refused, and the field is then
 * left out. */
static uint32_t guest_sym(uint32_t pid, enum ks_field f, uint64_t v)
{
	char buf[16];
	const char *p = fmt_hex(buf, v);

	return ks_sym_guest_n(ks_sym_guest_scope(pid, f), p,
			      (size_t)(buf + 16 - p));
}

/* The id of a reason as printed (1 <= n < KS_EXITREASON_MAXLEN bytes),
 * followed by at least 7 more bytes (its " rip 0x"): the hash reads the
 * first and last 8 bytes of it as words, a byte loop being most of an
 * exit's translation. */
static uint32_t reason_sym(struct ks_kvmtrace *kt, const char *s, size_t n)
{
	char name[KS_EXITREASON_MAXLEN];
	uint64_t w = ks_load8(s), h;
	struct reason *c;

	if (n < 8)
		w &= ~0ULL >> (8 * (8 - n));	/* the reason's bytes only */
	else
		w ^= ks_load8(s + n - 8) * 0xff51afd7ed558ccdULL;
	h = (w ^ n) * 0x9e3779b97f4a7c15ULL;
	c = &kt->reasons[(h >> 32) % NREASON];
	if (c->sym && c->len == n && ks_bytes_eq(c->text, s, n))
		return c->sym;
	ks_exitreason_normalize(s, n, name, sizeof(name));
	c->sym = ks_sym_intern(name);
	c->len = (uint8_t)n;
	memcpy(c->text, s, n);
	return c->sym;
}

/* The thread's guest RIP id: exits in a loop repeat the same RIP. */
static uint32_t rip_sym(struct thread *th, uint64_t rip)
{
	if (!th->rip_sym || th->rip != rip) {
		ks_sym_put(th->rip_sym);
		th->rip_sym = guest_sym(th->pid_num, KS_F_GUESTRIP, rip);
		ks_sym_hold(th->rip_sym);
		th->rip = rip;
	}
	return th->rip_sym;
}

/* ---- field scanners ---- */

struct scan {
	const char *p, *end;
};

static bool lit(struct scan *s, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n))
		return false;
	s->p += n;
	return true;
}

static void spaces(struct scan *s)
{
	while (s->p < s->end && *s->p == ' ')
		s->p++;
}

static bool dec(struct scan *s, uint64_t *v)
{
	const char *b = s->p, *p = b;
	const char *lim = s->end - b > 19 ? b + 19 : s->end;
	uint64_t x = 0;

	while (p < lim && (unsigned char)(*p - '0') < 10)
		x = x * 10 + (uint64_t)(*p++ - '0');
	s->p = p;
	*v = x;
	return p > b && (p == s->end || (unsigned char)(*p - '0') >= 10);
}

/* Digit values + 1, 0 for a byte that is no hex digit. */
static const uint8_t hexval1[256] = {
	['0'] = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	['a'] = 11, 12, 13, 14, 15, 16,
	['A'] = 11, 12, 13, 14, 15, 16,
};

/* Hex digits (no prefix), at most 16, 8 at a time where 17 bytes are
 * left (every exit has a RIP of up to 16 digits; a loop's branch a digit
 * was mispredicted on their varying length). */
static bool hex_words(struct scan *s, uint64_t *v)
{
	const char *p = s->p;
	int n = ks_swar_nhex(ks_load8(p)), m;
	uint64_t x = n ? ks_swar_hex_value(ks_load8(p), n) : 0;

	if (n == 8 && (m = ks_swar_nhex(ks_load8(p + 8)))) {
		if (m == 8 && hexval1[(unsigned char)p[16]])
			return false;	/* a 17th digit */
		x = x << (4 * m) | ks_swar_hex_value(ks_load8(p + 8), m);
		n += m;
	}
	s->p = p + n;
	*v = x;
	return n > 0;
}

static bool hex(struct scan *s, uint64_t *v)
{
	const char *b = s->p, *p = b;
	const char *lim = s->end - b > 17 ? b + 17 : s->end;
	uint64_t x = 0;
	unsigned int d;

	if (KS_WORDS_LE && s->end - b >= 17)
		return hex_words(s, v);
	while (p < lim && (d = hexval1[(unsigned char)*p])) {
		x = (x << 4) | (d - 1);
		p++;
	}
	s->p = p;
	*v = x;
	return p > b && p - b <= 16;
}

/* The " rip 0x" after an exit reason (which may contain spaces), within
 * the KS_EXITREASON_MAXLEN bytes a reason may take: one found further on
 * would be refused anyway.  A byte loop: reasons are a word or two, and a
 * memchr call a word cost more. */
static const char *find_rip(const char *p, const char *end)
{
	const char *lim = end - p > KS_EXITREASON_MAXLEN + 7 ?
			  p + KS_EXITREASON_MAXLEN + 7 : end;

	for (; p < lim; p++)
		if (*p == ' ' && end - p >= 7 && !memcmp(p, " rip 0x", 7))
			return p;
	return NULL;
}

/* A word up to the next space (or end). */
static void word(struct scan *s, const char **w, size_t *n)
{
	*w = s->p;
	while (s->p < s->end && *s->p != ' ')
		s->p++;
	*n = (size_t)(s->p - *w);
}

/* ---- records ---- */

/* Counts an event whose fields did not parse; returns 0 so that handlers
 * can `return bad(...)`: a bad event is reported, not fatal. */
static int bad(struct ks_kvmtrace *kt, const struct ks_tfs_event *ev)
{
	kt->st.bad++;
	if (kt->st.nbad < KS_KT_MAXBAD)
		kt->st.bad_line[kt->st.nbad++] = ev->lineno;
	return 0;
}

static int emit(struct ks_kvmtrace *kt, const struct ks_record *r)
{
	kt->st.records++;
	if (!ks_record_has(r, KS_F_VCPU))
		kt->st.no_vcpu++;
	return kt->emit(kt->ctx, r);
}

/* Zeroes the fields r holds but those in keep, which the caller sets
 * again: all others are zero already (a record starts zeroed), and the
 * whole array is 192 bytes to clear once per exit. */
static void clear_fields(struct ks_record *r, uint32_t keep)
{
	for (uint32_t m = r->present & ~keep; m; m &= m - 1)
		r->f[__builtin_ctz(m)] = 0;
}

/* Starts r, zeroed or used before, with the identity fields: vm, pid, and
 * the thread's vCPU. */
static int start(struct ks_kvmtrace *kt, struct thread *th,
		 const struct ks_tfs_event *ev, enum ks_metric m,
		 struct ks_record *r)
{
	uint32_t vm = th->comm_sym;
	uint32_t pid = ev->has_tgid ? ev->tgid : ev->tid;

	if (ev->has_tgid && ev->tgid != ev->tid) {
		const struct thread *leader = find(kt, ev->tgid);

		if (leader && leader->comm_sym)
			vm = leader->comm_sym;
	}
	if (!th->pid_sym || th->pid_num != pid) {
		ks_sym_put(th->pid_sym);
		th->pid_sym = dec_sym(kt, pid);
		ks_sym_hold(th->pid_sym);
		th->pid_num = pid;
		if (!th->pid_sym)
			return -ENOMEM;
	}
	clear_fields(r, 1u << KS_F_VM | 1u << KS_F_PID |
			(th->has_vcpu ? 1u << KS_F_VCPU : 0));
	ks_record_init(r, m, ev->ts, 1);
	ks_record_set(r, KS_F_VM, vm);
	ks_record_set(r, KS_F_PID, th->pid_sym);
	if (th->has_vcpu)
		ks_record_set(r, KS_F_VCPU, dec_sym(kt, th->vcpu));
	return 0;
}

static void set_vcpu(struct thread *th, uint64_t v)
{
	th->has_vcpu = true;
	th->vcpu = (uint32_t)v;
}

/* An exit still waiting when its thread exits again or the trace ends. */
static int flush_pending(struct ks_kvmtrace *kt, struct thread *th)
{
	if (!th->pending)
		return 0;
	th->pending = false;
	kt->st.unpaired++;
	return emit(kt, &th->pend);
}

/* "[vcpu N ]reason NAME rip 0xHEX ..." (NAME may contain spaces). */
static int on_kvm_exit(struct ks_kvmtrace *kt, struct thread *th,
		   const struct ks_tfs_event *ev)
{
	struct scan s = { ev->fields, ev->fields + ev->fields_len };
	const char *rip, *name;
	uint64_t v;
	int e;

	if (lit(&s, "vcpu ")) {
		if (!dec(&s, &v) || v > UINT32_MAX)
			return bad(kt, ev);
		set_vcpu(th, v);
		spaces(&s);
	}
	if (!lit(&s, "reason "))
		return bad(kt, ev);
	rip = find_rip(s.p, s.end);
	if (!rip || rip == s.p || rip - s.p >= KS_EXITREASON_MAXLEN)
		return bad(kt, ev);
	name = s.p;
	s.p = rip + 7;
	if (!hex(&s, &v))
		return bad(kt, ev);
	if ((e = flush_pending(kt, th)))
		return e;
	if ((e = start(kt, th, ev, KS_M_VM_EXITS, &th->pend)))
		return e;
	ks_record_set(&th->pend, KS_F_VLEAVEREASON,
		      reason_sym(kt, name, (size_t)(rip - name)));
	/* A RIP refused by its VM's key cap leaves the field out. */
	if (!wanted(kt, KS_F_GUESTRIP))
		;
	else if (rip_sym(th, v))
		ks_record_set(&th->pend, KS_F_GUESTRIP, th->rip_sym);
	else if (errno != ENOSPC)
		return -ENOMEM;
	ks_record_set_subsecond(&th->pend);
	if (!th->pend.f[KS_F_VLEAVEREASON])
		return -ENOMEM;
	th->pending = true;
	return 0;
}

/* "vcpu N[, rip 0xHEX...]": completes the thread's waiting exit. */
static int on_kvm_entry(struct ks_kvmtrace *kt, struct thread *th,
		    const struct ks_tfs_event *ev)
{
	struct scan s = { ev->fields, ev->fields + ev->fields_len };
	uint64_t v;

	if (!lit(&s, "vcpu ") || !dec(&s, &v) || v > UINT32_MAX)
		return bad(kt, ev);
	set_vcpu(th, v);
	if (!th->pending)
		return 0;
	th->pending = false;
	if (ev->ts >= th->pend.ts)
		ks_record_set(&th->pend, KS_F_LATENCY, ev->ts - th->pend.ts);
	else
		kt->st.backwards++;
	return emit(kt, &th->pend);
}

/* "IRQ 0x20 [reinjected]", "Soft/INTn 0x80" (6.x) or "irq 32" (5.x). */
static int on_inj_virq(struct ks_kvmtrace *kt, struct thread *th,
		       const struct ks_tfs_event *ev)
{
	struct scan s = { ev->fields, ev->fields + ev->fields_len };
	struct ks_record r = { 0 };
	const char *w;
	size_t n;
	uint64_t v;
	int e;

	if (lit(&s, "irq ")) {
		if (!dec(&s, &v))
			return bad(kt, ev);
	} else {
		word(&s, &w, &n);
		if (!lit(&s, " 0x") || !hex(&s, &v))
			return bad(kt, ev);
	}
	if ((e = start(kt, th, ev, KS_M_VM_IRQS, &r)))
		return e;
	ks_record_set(&r, KS_F_IRQVECTOR, hex_sym(v));
	ks_record_set_subsecond(&r);
	return emit(kt, &r);
}

/* "apicid %x vec %u (%s|%s)[ (coalesced)]": the target APIC is the vCPU,
 * not the thread that sent the interrupt. */
static int on_apic_accept_irq(struct ks_kvmtrace *kt, struct thread *th,
			      const struct ks_tfs_event *ev)
{
	struct scan s = { ev->fields, ev->fields + ev->fields_len };
	struct ks_record r = { 0 };
	uint64_t apicid, vec;
	const char *dm;
	int e;

	if (!lit(&s, "apicid ") || !hex(&s, &apicid) || !lit(&s, " vec ") ||
	    !dec(&s, &vec) || !lit(&s, " ("))
		return bad(kt, ev);
	dm = s.p;
	while (s.p < s.end && *s.p != '|' && *s.p != ')')
		s.p++;
	if (s.p == dm || s.p == s.end)
		return bad(kt, ev);
	if ((e = start(kt, th, ev, KS_M_VM_APIC_IRQS, &r)))
		return e;
	ks_record_set(&r, KS_F_VCPU, dec_sym(kt, apicid));
	ks_record_set(&r, KS_F_IRQVECTOR, hex_sym(vec));
	ks_record_set(&r, KS_F_DELIVERYMODE,
		      ks_sym_transient_n(dm, (size_t)(s.p - dm)));
	ks_record_set_subsecond(&r);
	return emit(kt, &r);
}

/* "reason KVM_EXIT_IO (2)", "reason restart (4)", "reason error (14)". */
static int on_userspace_exit(struct ks_kvmtrace *kt, struct thread *th,
			     const struct ks_tfs_event *ev)
{
	struct scan s = { ev->fields, ev->fields + ev->fields_len };
	struct ks_record r = { 0 };
	const char *w;
	size_t n;
	int e;

	if (!lit(&s, "reason "))
		return bad(kt, ev);
	word(&s, &w, &n);
	if (!n || n > KS_SYM_MAXLEN)
		return bad(kt, ev);
	if ((e = start(kt, th, ev, KS_M_VM_USERSPACE_EXITS, &r)))
		return e;
	ks_record_set(&r, KS_F_UEXITREASON, ks_sym_transient_n(w, n));
	ks_record_set_subsecond(&r);
	return emit(kt, &r);
}

/* "pio_write at 0x10 size 1 count 1 val 0x0 ". */
static int on_pio(struct ks_kvmtrace *kt, struct thread *th,
		  const struct ks_tfs_event *ev)
{
	struct scan s = { ev->fields, ev->fields + ev->fields_len };
	struct ks_record r = { 0 };
	const char *dir;
	uint64_t port, size;
	int e;

	if (lit(&s, "pio_read"))
		dir = "read";
	else if (lit(&s, "pio_write"))
		dir = "write";
	else
		return bad(kt, ev);
	if (!lit(&s, " at 0x") || !hex(&s, &port) || !lit(&s, " size ") ||
	    !dec(&s, &size))
		return bad(kt, ev);
	if ((e = start(kt, th, ev, KS_M_VM_PIO_OPS, &r)))
		return e;
	ks_record_set(&r, KS_F_PORT, hex_sym(port));
	ks_record_set(&r, KS_F_DIRECTION, ks_sym_intern(dir));
	ks_record_set(&r, KS_F_SIZE, size);
	return emit(kt, &r);
}

/* "mmio read len 4 gpa 0xfee000f0 val 0xff"; the direction is printed as
 * the kernel names it (read, write, unsatisfied-read). */
static int on_mmio(struct ks_kvmtrace *kt, struct thread *th,
		   const struct ks_tfs_event *ev)
{
	struct scan s = { ev->fields, ev->fields + ev->fields_len };
	struct ks_record r = { 0 };
	const char *w;
	size_t n;
	uint64_t len, gpa;
	uint32_t sym;
	int e;

	if (!lit(&s, "mmio "))
		return bad(kt, ev);
	word(&s, &w, &n);
	if (!n || n > 32 || !lit(&s, " len ") || !dec(&s, &len) ||
	    !lit(&s, " gpa 0x") || !hex(&s, &gpa))
		return bad(kt, ev);
	if ((e = start(kt, th, ev, KS_M_VM_MMIO_OPS, &r)))
		return e;
	if (wanted(kt, KS_F_GPA) &&
	    (sym = guest_sym(th->pid_num, KS_F_GPA, gpa)))
		ks_record_set(&r, KS_F_GPA, sym);
	ks_record_set(&r, KS_F_DIRECTION, ks_sym_transient_n(w, n));
	ks_record_set(&r, KS_F_SIZE, len);
	return emit(kt, &r);
}

/* Whether the n bytes at s are the C string w (n is strlen(w) here). */
#define NAME_IS(s, n, w) ((n) == sizeof(w) - 1 && !memcmp(s, w, sizeof(w) - 1))

/* kvm_exit first: a trace is mostly exits and entries, and a constant
 * length lets the compiler compare without a call. */
static int kind_of(const char *n, size_t len)
{
	if (NAME_IS(n, len, "kvm_exit"))
		return KS_KT_EXIT;
	if (NAME_IS(n, len, "kvm_entry"))
		return KS_KT_ENTRY;
	if (len < 7 || memcmp(n, "kvm_", 4))
		return -1;
	for (int k = KS_KT_INJ_VIRQ; k < KS_KT__COUNT; k++)
		if (strlen(event_names[k]) == len &&
		    !memcmp(event_names[k] + 4, n + 4, len - 4))
			return k;
	return -1;
}

typedef int (*handler_fn)(struct ks_kvmtrace *kt, struct thread *th,
			  const struct ks_tfs_event *ev);

static const handler_fn handlers[KS_KT__COUNT] = {
	[KS_KT_EXIT] = on_kvm_exit,
	[KS_KT_ENTRY] = on_kvm_entry,
	[KS_KT_INJ_VIRQ] = on_inj_virq,
	[KS_KT_APIC_ACCEPT_IRQ] = on_apic_accept_irq,
	[KS_KT_USERSPACE_EXIT] = on_userspace_exit,
	[KS_KT_PIO] = on_pio,
	[KS_KT_MMIO] = on_mmio,
};

int ks_kvmtrace__event(struct ks_kvmtrace *kt, const struct ks_tfs_event *ev)
{
	int k = kind_of(ev->name, ev->name_len);
	bool leader = ev->has_tgid && ev->tid == ev->tgid;
	struct thread *th = NULL;
	int e;

	/* A process's leader (QEMU's main thread) names the VM but rarely
	 * prints a kvm event we translate: learn its comm from any event. */
	if (k >= 0 || leader) {
		th = get(kt, ev->tid);
		if (!th)
			return -ENOMEM;
		if ((e = update_comm(th, ev)))
			return e;
	}
	if (k < 0) {
		kt->st.other++;
		return 0;
	}
	kt->st.seen[k]++;
	return handlers[k](kt, th, ev);
}

int ks_kvmtrace__finish(struct ks_kvmtrace *kt)
{
	int e;

	for (size_t i = 0; i < kt->nt; i++)
		if ((e = flush_pending(kt, &kt->t[i])))
			return e;
	return 0;
}
