/* disk_qmp.c - vm.physio_ops and vm.physio_bytes from QEMU's own counters.
 *
 * Each tick, for every QEMU VM with a QMP socket, connects, runs
 * query-blockstats and disconnects; the records are what each disk's
 * counters grew by since the last tick, by operation type (read, write,
 * flush, discard).  Holding the connection only for a moment matters: a
 * QMP socket serves one client at a time, so a permanent connection would
 * lock the operator's tools out.  A VM whose monitor does not answer
 * (another client holds it, QEMU is stuck) costs one timeout and is then
 * left alone for a back-off that doubles up to a minute.
 *
 * Latency is emitted only when it is a real distribution: on first
 * contact the source sends block-latency-histogram-set to each disk
 * device with kvmscope's own log-linear bucket edges (blockstats.h), so
 * QEMU's bins are kvmscope's buckets; ops records then carry the latency
 * of their bucket, one record per bin that moved.  A disk whose histogram
 * someone else set with other edges is left alone and its ops have no
 * latency; so do discards (QEMU keeps no histogram for them) and any tick
 * where the histogram's total disagrees with the counters.  The histogram
 * also counts failed operations, so ops here are completed operations,
 * failed ones included; bytes are those of successful ones (QEMU's).
 * Offset and size per request do not exist in QMP: these records lack
 * them (the uprobe source has them).
 *
 * VMs the uprobe source has claimed (their QEMU binary exports its block
 * layer) are skipped: it has their per-request data, and counting them
 * here too would count every operation twice.
 *
 * Setting the histogram is the one change this source makes to a VM (it
 * is visible in the VM's own query-blockstats); KVMSCOPE_QMP_HISTOGRAM=0
 * in the environment turns it off.
 */
#include "source/source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm/blockstats.h"
#include "vm/claims.h"
#include "vm/discovery.h"
#include "vm/qmp.h"
#include "vm/vmrec.h"
#include "util/clock.h"

#define MAX_AGE_NS (250 * 1000000ULL)
#define QMP_TIMEOUT_MS 300
#define BACKOFF_MAX_S 60

/* What the source keeps per VM between ticks. */
struct vmq {
	uint64_t serial;
	uint64_t tick;		/* last tick the VM was seen */
	uint64_t retry_at;	/* monotonic ns; 0: now */
	unsigned fails;
	bool have_prev;
	struct ks_blockstats prev;
	bool warned;
};

struct qmp_src {
	struct ks_vmdisc *d;
	uint32_t pid;
	bool verbose;
	bool histograms;
	struct vmq *v;
	size_t n, cap;
	uint64_t tick;
	/* The tick being read. */
	struct ks_source *s;
	const struct ks_source_sink *sink;
	uint64_t ts;
};

static const enum ks_metric metrics[] = {
	KS_M_VM_PHYSIO_OPS, KS_M_VM_PHYSIO_BYTES,
};

static uint64_t mono_ns(void)
{
	return (uint64_t)ks_clock_mono_ns();
}

static void qmp_close(struct ks_source *s)
{
	struct qmp_src *x = s->priv;

	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++)
		ks_blockstats_fini(&x->v[i].prev);
	free(x->v);
	ks_vmdisc__put(x->d);
	free(x);
	s->priv = NULL;
}

static int qmp_open(struct ks_source *s, const struct ks_source_opts *o,
		    struct ks_err *err)
{
	struct qmp_src *x = calloc(1, sizeof(*x));
	const char *h = getenv("KVMSCOPE_QMP_HISTOGRAM");

	if (!x)
		return ks_err_set(err, ENOMEM, "disk_qmp", "out of memory");
	s->priv = x;
	x->pid = o->pid;
	x->verbose = o->verbose;
	x->histograms = !h || strcmp(h, "0");
	snprintf(s->note, sizeof(s->note), "no per-request offset or size "
		 "(QMP has none); latency %s", x->histograms ?
		 "only on disks whose latency histogram kvmscope set" :
		 "off (KVMSCOPE_QMP_HISTOGRAM=0)");
	if (!(x->d = ks_vmdisc__shared(err))) {
		qmp_close(s);
		return -EIO;
	}
	return 0;
}

static int qmp_attach(struct ks_source *s, struct ks_err *err)
{
	(void)s;
	(void)err;
	return 0;
}

static struct vmq *vm_state(struct qmp_src *x, uint64_t serial)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].serial == serial)
			return &x->v[i];
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8;
		struct vmq *nv = realloc(x->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		x->v = nv;
		x->cap = cap;
	}
	memset(&x->v[x->n], 0, sizeof(x->v[0]));
	x->v[x->n].serial = serial;
	return &x->v[x->n++];
}

/* ---- records ---------------------------------------------------------------- */

static int emit(struct qmp_src *x, const struct ks_vm *vm, const char *disk,
		enum ks_metric m, enum ks_bs_op op, uint64_t value,
		bool has_lat, uint64_t lat)
{
	struct ks_record r;
	int e;

	ks_record_init(&r, m, x->ts, value);
	if ((e = ks_vmrec_ident(&r, vm)) ||
	    (e = ks_vmrec_str(&r, KS_F_DISK, disk)) ||
	    (e = ks_vmrec_str(&r, KS_F_OPTYPE, ks_bs_op_name(op))))
		return e;
	if (has_lat)
		ks_record_set(&r, KS_F_LATENCY, lat);
	x->s->st.records++;
	if (m == KS_M_VM_PHYSIO_OPS)
		x->s->st.events += value;
	return x->sink->record(x->sink->ctx, &r);
}

/* The histogram's per-bin growth, if both snapshots have ours and its
 * total is n; else false. */
static bool hist_delta(const struct ks_bs_hist *a, const struct ks_bs_hist *b,
		       uint64_t n)
{
	uint64_t sum = 0;

	if (!ks_blockstats_hist_ours(a) || !ks_blockstats_hist_ours(b))
		return false;
	for (size_t i = 0; i < b->nbins; i++) {
		if (b->bins[i] < a->bins[i])
			return false;
		sum += b->bins[i] - a->bins[i];
	}
	return sum == n;
}

static int one_op(struct qmp_src *x, const struct ks_vm *vm,
		  const struct ks_bs_dev *a, const struct ks_bs_dev *b,
		  enum ks_bs_op op)
{
	uint64_t n, bytes;
	int e;

	if (b->ops[op] < a->ops[op] || b->failed[op] < a->failed[op] ||
	    b->bytes[op] < a->bytes[op]) {
		x->s->st.bad++;	/* reset under us: a new baseline */
		return 0;
	}
	n = b->ops[op] - a->ops[op] + b->failed[op] - a->failed[op];
	bytes = b->bytes[op] - a->bytes[op];
	if (n && hist_delta(&a->hist[op], &b->hist[op], n)) {
		for (size_t i = 0; i < b->hist[op].nbins; i++) {
			uint64_t c = b->hist[op].bins[i] - a->hist[op].bins[i];

			if (c && (e = emit(x, vm, b->name, KS_M_VM_PHYSIO_OPS,
					   op, c, true,
					   ks_blockstats_bin_latency(i))))
				return e;
		}
	} else if (n && (e = emit(x, vm, b->name, KS_M_VM_PHYSIO_OPS, op, n,
				  false, 0))) {
		return e;
	}
	if (bytes)
		return emit(x, vm, b->name, KS_M_VM_PHYSIO_BYTES, op, bytes,
			    false, 0);
	return 0;
}

static int emit_deltas(struct qmp_src *x, const struct ks_vm *vm,
		       const struct ks_blockstats *prev,
		       const struct ks_blockstats *cur)
{
	int e;

	for (size_t i = 0; i < cur->n; i++) {
		const struct ks_bs_dev *a = ks_blockstats_find(prev,
							       cur->v[i].name);

		if (!a)
			continue;	/* new disk: its baseline */
		for (int op = 0; op < KS_BS__COUNT; op++)
			if ((e = one_op(x, vm, a, &cur->v[i], op)))
				return e;
	}
	return 0;
}

/* ---- talking to QEMU ---------------------------------------------------------- */

static int query(struct ks_qmp *q, struct ks_blockstats *out,
		 struct ks_err *err)
{
	json_t *ret;
	int e;

	if ((e = ks_qmp__exec(q, "query-blockstats", NULL, &ret, err)))
		return e;
	e = ks_blockstats_parse(ret, out);
	json_decref(ret);
	if (e == -EPROTO)
		ks_err_set(err, EPROTO, "qmp", "query-blockstats: not a list");
	return e;
}

/* Sets our histogram on disks that have none; true if any was set. */
static bool set_histograms(struct qmp_src *x, struct ks_qmp *q,
			   const struct ks_blockstats *bs)
{
	bool any = false;

	for (size_t i = 0; x->histograms && i < bs->n; i++) {
		const struct ks_bs_dev *d = &bs->v[i];
		struct ks_err err;
		json_t *args, *ret = NULL;

		if (!d->qdev || d->hist[KS_BS_READ].nbins ||
		    d->hist[KS_BS_WRITE].nbins || d->hist[KS_BS_FLUSH].nbins)
			continue;
		if (!(args = ks_blockstats_hist_args(d->qdev)))
			continue;
		if (!ks_qmp__exec(q, "block-latency-histogram-set", args, &ret,
				  &err))
			any = true;
		else if (x->verbose)
			fprintf(stderr, "disk_qmp: %s\n", err.msg);
		json_decref(args);
		json_decref(ret);
	}
	return any;
}

static void failed(struct qmp_src *x, struct vmq *st, const struct ks_vm *vm,
		   const struct ks_err *err)
{
	unsigned s = st->fails < 6 ? 1u << st->fails : BACKOFF_MAX_S;

	st->fails++;
	st->retry_at = mono_ns() + (uint64_t)(s > BACKOFF_MAX_S ?
					      BACKOFF_MAX_S : s) * 1000000000ULL;
	if (x->verbose || !st->warned)
		fprintf(stderr, "kvmscope: disk_qmp: VM %s (pid %d): %s; "
			"retrying in %u s\n", vm->name, (int)vm->pid, err->msg,
			s > BACKOFF_MAX_S ? BACKOFF_MAX_S : s);
	st->warned = true;
}

static int one_vm(struct qmp_src *x, const struct ks_vm *vm)
{
	struct ks_blockstats cur = { NULL, 0 };
	struct ks_qmp *q;
	struct ks_err err;
	struct vmq *st;
	int e;

	if (!(st = vm_state(x, vm->serial)))
		return -ENOMEM;
	st->tick = x->tick;
	if (st->retry_at && mono_ns() < st->retry_at)
		return 0;
	ks_err_clear(&err);
	if (!(q = ks_qmp__connect(vm->qmp, QMP_TIMEOUT_MS, &err))) {
		failed(x, st, vm, &err);
		return 0;
	}
	e = query(q, &cur, &err);
	/* Histograms just set count from now: take the baseline after. */
	if (!e && set_histograms(x, q, &cur)) {
		ks_blockstats_fini(&cur);
		e = query(q, &cur, &err);
		st->have_prev = false;
	}
	ks_qmp__close(q);
	if (e == -ENOMEM)
		return e;
	if (e) {
		failed(x, st, vm, &err);
		return 0;
	}
	st->fails = 0;
	st->retry_at = 0;
	if (st->have_prev && (e = emit_deltas(x, vm, &st->prev, &cur))) {
		ks_blockstats_fini(&cur);
		return e;
	}
	ks_blockstats_fini(&st->prev);
	st->prev = cur;
	st->have_prev = true;
	return 0;
}

static void prune(struct qmp_src *x)
{
	size_t n = 0;

	for (size_t i = 0; i < x->n; i++) {
		if (x->v[i].tick == x->tick)
			x->v[n++] = x->v[i];
		else
			ks_blockstats_fini(&x->v[i].prev);
	}
	x->n = n;
}

static int qmp_read(struct ks_source *s, uint64_t ts,
		    const struct ks_source_sink *sink)
{
	struct qmp_src *x = s->priv;
	int e;

	if ((e = ks_vmdisc__update(x->d, MAX_AGE_NS)) < 0)
		return e;
	x->tick++;
	x->s = s;
	x->sink = sink;
	x->ts = ts;
	for (size_t i = 0; i < ks_vmdisc__count(x->d); i++) {
		const struct ks_vm *vm = ks_vmdisc__at(x->d, i);

		/* VMs the uprobe source covers are its own (claims.h). */
		if (!vm->qmp || (x->pid && (uint32_t)vm->pid != x->pid) ||
		    ks_disk_claimed(vm->serial))
			continue;
		if ((e = one_vm(x, vm)))
			return e;
	}
	prune(x);
	return 0;
}

const struct ks_source_ops ks_source_disk_qmp = {
	.name = "disk_qmp",
	.summary = "guest disk operations, bytes and latency (QMP "
		   "query-blockstats)",
	.metrics = metrics,
	.nmetrics = sizeof(metrics) / sizeof(metrics[0]),
	.open = qmp_open,
	.attach = qmp_attach,
	.read = qmp_read,
	.close = qmp_close,
};
