/* source.c - the registry of sources and the calls every source shares.
 *
 * The generic half of source.h: a fixed table of the sources built in,
 * option defaults and the latency-filter arithmetic (a CA predicate such
 * as {"gt": ["latency", N]} becomes an inclusive range the probe can test
 * exactly), and thin wrappers that keep each source's stats.
 */
#include "source/source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/irqs.h"

static const struct ks_source_ops *const sources[] = {
	&ks_source_bpf_exits,
	&ks_source_bpf_irqs,
	&ks_source_bpf_samples,
	&ks_source_nic,
	/* Before disk_qmp: it claims the VMs it covers, QMP takes the rest. */
	&ks_source_disk_uprobe,
	&ks_source_disk_qmp,
	&ks_source_vm_vcpus,
};
#define NSOURCES (sizeof(sources) / sizeof(sources[0]))

size_t ks_source_count(void)
{
	return NSOURCES;
}

const struct ks_source_ops *ks_source_at(size_t i)
{
	return i < NSOURCES ? sources[i] : NULL;
}

const struct ks_source_ops *ks_source_find(const char *name)
{
	for (size_t i = 0; i < NSOURCES; i++)
		if (!strcmp(sources[i]->name, name))
			return sources[i];
	return NULL;
}

bool ks_source_supplies(const struct ks_source_ops *ops, enum ks_metric m)
{
	for (size_t i = 0; i < ops->nmetrics; i++)
		if (ops->metrics[i] == m)
			return true;
	return false;
}

void ks_source_opts_init(struct ks_source_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lat_hi = UINT64_MAX;
	o->subsec_row_ns = KS_IRQ_ROW_NS_DEFAULT;
}

int ks_source_opts_latency(struct ks_source_opts *o, const char *op,
			   uint64_t n, struct ks_err *err)
{
	uint64_t lo = o->lat_lo, hi = o->lat_hi;

	if (!strcmp(op, "gt")) {
		if (n == UINT64_MAX)
			return ks_err_set(err, EINVAL, "latency",
					  "gt %llu can never hold",
					  (unsigned long long)n);
		lo = n + 1 > lo ? n + 1 : lo;
	} else if (!strcmp(op, "ge")) {
		lo = n > lo ? n : lo;
	} else if (!strcmp(op, "lt")) {
		if (n == 0)
			return ks_err_set(err, EINVAL, "latency",
					  "lt 0 can never hold");
		hi = n - 1 < hi ? n - 1 : hi;
	} else if (!strcmp(op, "le")) {
		hi = n < hi ? n : hi;
	} else {
		return ks_err_set(err, EINVAL, "latency",
				  "operator '%s' is not one of gt, ge, lt, le",
				  op);
	}
	if (lo > hi)
		return ks_err_set(err, EINVAL, "latency",
				  "the conditions leave an empty range");
	o->lat_filter = true;
	o->lat_lo = lo;
	o->lat_hi = hi;
	return 0;
}

struct ks_source *ks_source__open(const struct ks_source_ops *ops,
				  const struct ks_source_opts *o,
				  struct ks_err *err)
{
	struct ks_source_opts defaults;
	struct ks_source *s;
	int e;

	if (!o) {
		ks_source_opts_init(&defaults);
		o = &defaults;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		ks_err_set(err, ENOMEM, ops->name, "out of memory");
		return NULL;
	}
	s->ops = ops;
	e = ops->open(s, o, err);
	if (e) {
		free(s);
		errno = -e;
		return NULL;
	}
	return s;
}

int ks_source__attach(struct ks_source *s, struct ks_err *err)
{
	return s->ops->attach(s, err);
}

int ks_source__read(struct ks_source *s, uint64_t ts,
		    const struct ks_source_sink *sink)
{
	s->st.ticks++;
	return s->ops->read(s, ts, sink);
}

int ks_source__set_latency(struct ks_source *s, bool on)
{
	if (!s->ops->set_mode)
		return -EOPNOTSUPP;
	return s->ops->set_mode(s, on);
}

int ks_source__set_cuts(struct ks_source *s, const struct ks_latcuts *cuts)
{
	if (!s->ops->set_cuts)
		return -EOPNOTSUPP;
	return s->ops->set_cuts(s, cuts);
}

const struct ks_source_stats *ks_source__stats(const struct ks_source *s)
{
	return &s->st;
}

const char *ks_source__name(const struct ks_source *s)
{
	return s->ops->name;
}

void ks_source__close(struct ks_source *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s);
}

int ks_source__emit(struct ks_source *s, const struct ks_source_sink *sink,
		    const struct ks_record *r, uint64_t n)
{
	s->st.records++;
	s->st.events += n;
	return sink->record(sink->ctx, r);
}
