/* vcpustat.c - kvmstat's per-vCPU columns from records (vcpustat.h).
 *
 * Reason names are interned once, so classifying a record is a few integer
 * compares.  Rows live in a small array searched linearly: a host has tens
 * to hundreds of vCPUs and the table is touched once per record per tick.
 */
#include "source/vcpustat.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "kvm/uexitreason.h"
#include "util/dict.h"

#define MAX_NAMES 2

struct ks_vcpustat {
	struct ks_source_sink sink;
	struct ks_vs_row *rows;
	size_t n, cap;
	/* Exit reason symbols counted in each column (0-terminated). */
	uint32_t col_sym[KS_VS__COUNT][MAX_NAMES];
	uint32_t mmio_sym;	/* the uexitreason of MMIO exits */
	uint32_t x_sym[KS_VS_XMAX];	/* reasons of the added columns */
	size_t nx;
};

static const char *const col_names[KS_VS__COUNT] = {
	[KS_VS_EXITS] = "exits", [KS_VS_HALTX] = "haltx",
	[KS_VS_IRQX] = "irqx", [KS_VS_IRQWX] = "irqwx",
	[KS_VS_IOX] = "iox", [KS_VS_MMIOX] = "mmiox",
	[KS_VS_IRQS] = "irqs", [KS_VS_EMUL] = "emul",
	[KS_VS_EPTV] = "eptv",
};

/* Reason names per column, VMX (lowercased) and SVM. */
static const char *const col_reasons[KS_VS__COUNT][MAX_NAMES] = {
	[KS_VS_HALTX] = { "hlt" },
	[KS_VS_IRQX] = { "external_interrupt", "interrupt" },
	[KS_VS_IRQWX] = { "interrupt_window", "vintr" },
	[KS_VS_IOX] = { "io_instruction", "io" },
	[KS_VS_EPTV] = { "ept_violation", "npf" },
};

const char *ks_vcpustat_col_name(enum ks_vs_col c)
{
	return c < KS_VS__COUNT ? col_names[c] : "";
}

uint64_t ks_vcpustat_rate(uint64_t count, uint64_t interval_ns)
{
	if (!interval_ns)
		return 0;
	return (count * KS_NSEC_PER_SEC + interval_ns / 2) / interval_ns;
}

static struct ks_vs_row *row_of(struct ks_vcpustat *vs, uint64_t pid,
				int64_t vcpu)
{
	struct ks_vs_row *r;

	for (size_t i = 0; i < vs->n; i++)
		if (vs->rows[i].pid == pid && vs->rows[i].vcpu == vcpu)
			return &vs->rows[i];
	if (ks_array_room(&vs->rows, &vs->cap, vs->n, sizeof(*r)))
		return NULL;
	r = &vs->rows[vs->n++];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->vcpu = vcpu;
	return r;
}

static uint64_t num_field(const struct ks_record *r, enum ks_field f,
			  int64_t missing)
{
	if (!ks_record_has(r, f))
		return (uint64_t)missing;
	return strtoull(ks_sym_str((uint32_t)r->f[f]), NULL, 10);
}

static void count_exit(struct ks_vcpustat *vs, struct ks_vs_row *row,
		       const struct ks_record *r)
{
	uint32_t reason = ks_record_has(r, KS_F_VLEAVEREASON) ?
			  (uint32_t)r->f[KS_F_VLEAVEREASON] : 0;

	row->n[KS_VS_EXITS] += r->value;
	if (!reason)
		return;
	for (int c = 0; c < KS_VS__COUNT; c++)
		for (int i = 0; i < MAX_NAMES && vs->col_sym[c][i]; i++)
			if (vs->col_sym[c][i] == reason)
				row->n[c] += r->value;
	for (size_t i = 0; i < vs->nx; i++)
		if (vs->x_sym[i] == reason)
			row->x[i] += r->value;
}

static bool wanted(const struct ks_vcpustat *vs, const struct ks_record *r)
{
	if (r->metric == KS_M_VM_USERSPACE_EXITS)
		return ks_record_has(r, KS_F_UEXITREASON) &&
		       r->f[KS_F_UEXITREASON] == vs->mmio_sym;
	return r->metric == KS_M_VM_EXITS || r->metric == KS_M_VM_IRQS;
}

static int on_record(void *ctx, const struct ks_record *r)
{
	struct ks_vcpustat *vs = ctx;
	struct ks_vs_row *row;

	if (!wanted(vs, r))
		return 0;
	row = row_of(vs, num_field(r, KS_F_PID, 0),
		     (int64_t)num_field(r, KS_F_VCPU, -1));
	if (!row)
		return -ENOMEM;
	if (ks_record_has(r, KS_F_VM))
		row->vm_sym = (uint32_t)r->f[KS_F_VM];
	if (r->metric == KS_M_VM_IRQS)
		row->n[KS_VS_IRQS] += r->value;
	else if (r->metric == KS_M_VM_USERSPACE_EXITS)
		row->n[KS_VS_MMIOX] += r->value;
	else
		count_exit(vs, row, r);
	return 0;
}

static int on_counter(void *ctx, const struct ks_source_counter *c)
{
	struct ks_vcpustat *vs = ctx;
	struct ks_vs_row *row;

	if (strcmp(c->name, "emul"))
		return 0;
	row = row_of(vs, c->pid, c->vcpu == KS_SOURCE_VCPU_UNKNOWN ?
				 -1 : (int64_t)c->vcpu);
	if (!row)
		return -ENOMEM;
	/* A VM's first second can bring its counters before its exits (the
	 * exits of a second still in progress wait for the next read): the
	 * row is named by them too. */
	if (c->vm_sym)
		row->vm_sym = c->vm_sym;
	row->n[KS_VS_EMUL] += c->count;
	return 0;
}

struct ks_vcpustat *ks_vcpustat__new(void)
{
	struct ks_vcpustat *vs = calloc(1, sizeof(*vs));

	if (!vs)
		return NULL;
	for (int c = 0; c < KS_VS__COUNT; c++) {
		for (int i = 0; i < MAX_NAMES && col_reasons[c][i]; i++) {
			vs->col_sym[c][i] = ks_sym_intern(col_reasons[c][i]);
			if (!vs->col_sym[c][i]) {
				free(vs);
				return NULL;
			}
		}
	}
	vs->mmio_sym = ks_sym_intern(ks_uexitreason_name(KS_KVM_EXIT_MMIO));
	if (!vs->mmio_sym) {
		free(vs);
		return NULL;
	}
	vs->sink.record = on_record;
	vs->sink.counter = on_counter;
	vs->sink.ctx = vs;
	return vs;
}

void ks_vcpustat__free(struct ks_vcpustat *vs)
{
	if (!vs)
		return;
	free(vs->rows);
	free(vs);
}

int ks_vcpustat__add_reason(struct ks_vcpustat *vs, const char *name)
{
	uint32_t sym;

	if (vs->nx == KS_VS_XMAX)
		return -ENOSPC;
	if (!(sym = ks_sym_intern(name)))
		return -ENOMEM;
	for (size_t i = 0; i < vs->nx; i++)
		if (vs->x_sym[i] == sym)
			return -EEXIST;
	vs->x_sym[vs->nx++] = sym;
	return 0;
}

size_t ks_vcpustat__nreasons(const struct ks_vcpustat *vs)
{
	return vs->nx;
}

const char *ks_vcpustat__reason(const struct ks_vcpustat *vs, size_t i)
{
	return i < vs->nx ? ks_sym_str(vs->x_sym[i]) : "";
}

const struct ks_source_sink *ks_vcpustat__sink(struct ks_vcpustat *vs)
{
	return &vs->sink;
}

static int cmp_row(const void *a, const void *b)
{
	const struct ks_vs_row *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->vcpu > y->vcpu) - (x->vcpu < y->vcpu);
}

size_t ks_vcpustat__rows(struct ks_vcpustat *vs,
			 const struct ks_vs_row **rows)
{
	if (vs->n)
		qsort(vs->rows, vs->n, sizeof(*vs->rows), cmp_row);
	*rows = vs->rows;
	return vs->n;
}

static bool proc_alive(uint64_t pid)
{
	return pid && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

void ks_vcpustat__reset(struct ks_vcpustat *vs, bool (*alive)(uint64_t pid))
{
	size_t keep = 0;

	if (!alive)
		alive = proc_alive;
	for (size_t i = 0; i < vs->n; i++) {
		struct ks_vs_row *r = &vs->rows[i];
		bool idle = true;

		for (int c = 0; c < KS_VS__COUNT; c++)
			idle = idle && !r->n[c];
		if (idle && !alive(r->pid))
			continue;
		memset(r->n, 0, sizeof(r->n));
		memset(r->x, 0, sizeof(r->x));
		vs->rows[keep++] = *r;
	}
	vs->n = keep;
}
