/* source.h - a data source: where live records come from.
 *
 * Every source (a BPF probe, the perf sampler, QMP, sysfs counters) sits
 * behind one ops table, so the agent and the CLI drive them all the same
 * way: open (load, configure), attach (start counting), then once per tick
 * read what was counted since the last read and turn it into engine
 * records, and finally close.  A source says which metrics it supplies;
 * the agent opens only the sources its instrumentations need.
 *
 * A source hands its output to a sink: records for catalogue metrics, and
 * optionally named per-vCPU counters that have no metric yet (kvmstat's
 * "emul").  Everything a source could not count (kernel maps full,
 * entries that made no sense) is counted in its stats, never dropped
 * silently.
 */
#ifndef KS_SOURCE_SOURCE_H
#define KS_SOURCE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/catalog.h"
#include "engine/record.h"
#include "source/latcuts.h"
#include "util/err.h"

/* A per-vCPU count that is not a catalogue metric. */
struct ks_source_counter {
	uint32_t pid;		/* VMM process id; 0 if unknown */
	uint32_t vcpu;		/* vcpu_id; KS_SOURCE_VCPU_UNKNOWN if unknown */
	const char *name;	/* "emul" */
	uint64_t count;
	uint32_t vm_sym;	/* the VM's name (symtab id); 0 if unknown */
};

#define KS_SOURCE_VCPU_UNKNOWN 0xffffffffu

/* Where a tick's output goes.  A negative return stops the read and is
 * passed back; counter may be NULL. */
struct ks_source_sink {
	int (*record)(void *ctx, const struct ks_record *r);
	int (*counter)(void *ctx, const struct ks_source_counter *c);
	void *ctx;
};

struct ks_source_opts {
	uint32_t pid;		/* count only this VMM process; 0: all */
	/* Exact in-kernel latency filter (exits): lat_lo <= ns <= lat_hi.
	 * Exits without a known latency fail it. */
	bool lat_filter;
	uint64_t lat_lo, lat_hi;
	uint64_t subsec_row_ns;	/* subsecond resolution; 0: 10 ms */
	/* Samples: key guest RIPs too (high cardinality, capped; opt-in). */
	bool guest_rip;
	bool verbose;		/* loader (libbpf) messages on stderr */
	/* Exits: nobody needs exit latency (kvmscope stat), so only kvm_exit
	 * is hooked and counted in the probe's dense slots (xcount.h); vm.exits
	 * records then have no latency field.  Ignored with lat_filter. */
	bool exits_count_only;
	/* Exits: userspace exits by reason only, without their subsecond row
	 * (no clock read), and no port or MMIO accesses: what kvmstat's
	 * columns need, at the least cost (kvmscope stat). */
	bool uexits_by_reason_only;
	/* Exits: of the userspace exits only those for MMIO (KVM_EXIT_MMIO,
	 * kvmstat's mmiox) are counted; implies uexits_by_reason_only.  For
	 * kvmscope stat's table and top, which show no others. */
	bool uexits_mmio_only;
};

struct ks_source_stats {
	uint64_t ticks;		/* reads */
	uint64_t records;	/* records emitted */
	uint64_t events;	/* events those records and counters stand for */
	uint64_t drops;		/* events the kernel could not count */
	uint64_t filtered;	/* events rejected by an in-kernel filter */
	uint64_t unpaired;	/* exits counted without their latency */
	uint64_t no_vcpu;	/* events whose vCPU was unknown */
	uint64_t bad;		/* map entries that made no sense, skipped */
};

struct ks_source;

struct ks_source_ops {
	const char *name;		/* "bpf_exits" */
	const char *summary;
	const enum ks_metric *metrics;	/* the metrics it supplies */
	size_t nmetrics;
	/* Loads and configures; s->priv is the source's own. */
	int (*open)(struct ks_source *s, const struct ks_source_opts *o,
		    struct ks_err *err);
	int (*attach)(struct ks_source *s, struct ks_err *err);
	/* Emits what was counted since the last read, stamped ts (ns). */
	int (*read)(struct ks_source *s, uint64_t ts,
		    const struct ks_source_sink *sink);
	void (*close)(struct ks_source *s);
	/* Optional (NULL: one mode only): times its events or only counts
	 * them, switched while running (bpf_exits: exit latency).  Called
	 * between reads, from the reading thread.  0 or a negative errno
	 * (the mode is then unchanged). */
	int (*set_mode)(struct ks_source *s, bool latency);
	/* Optional: the latency cuts (source/latcuts.h) the instrumentations'
	 * latency predicates turn on, taken from the next read on, so those
	 * predicates are exact on bucketed latencies.  Same calling rules. */
	int (*set_cuts)(struct ks_source *s, const struct ks_latcuts *cuts);
};

struct ks_source {
	const struct ks_source_ops *ops;
	void *priv;
	struct ks_source_stats st;
	/* What the source cannot supply on this host, and why (fields it
	 * leaves absent); "" when nothing.  Set by open, kept current by
	 * read. */
	char note[1024];
	/* The mode of a source with set_mode: "latency" or "count-only";
	 * NULL for the others.  Kept current by open and set_mode. */
	const char *mode;
};

/* Counts r (standing for n events) in s's stats and hands it to the sink. */
int ks_source__emit(struct ks_source *s, const struct ks_source_sink *sink,
		    const struct ks_record *r, uint64_t n);

extern const struct ks_source_ops ks_source_bpf_exits;
extern const struct ks_source_ops ks_source_bpf_irqs;
extern const struct ks_source_ops ks_source_bpf_samples;
extern const struct ks_source_ops ks_source_nic;	/* source/nic.c */
extern const struct ks_source_ops ks_source_disk_uprobe; /* source/disk_uprobe.c */
extern const struct ks_source_ops ks_source_disk_qmp;	/* source/disk_qmp.c */
extern const struct ks_source_ops ks_source_vm_vcpus;	/* source/vm_vcpus.c */

/* The registered sources, for lookups and `GET /ca`-style listings. */
size_t ks_source_count(void);
const struct ks_source_ops *ks_source_at(size_t i);
const struct ks_source_ops *ks_source_find(const char *name);
bool ks_source_supplies(const struct ks_source_ops *ops, enum ks_metric m);

/* Sets *o to the defaults: every process, no filter, 10 ms rows. */
void ks_source_opts_init(struct ks_source_opts *o);
/* Narrows o's latency filter by one predicate, op one of "gt", "ge",
 * "lt", "le" and n in ns; -EINVAL (with err) for another op or an empty
 * range. */
int ks_source_opts_latency(struct ks_source_opts *o, const char *op,
			   uint64_t n, struct ks_err *err);

/* NULL with err set on failure (err->msg says why: missing privileges,
 * no BPF, no such tracepoint). */
struct ks_source *ks_source__open(const struct ks_source_ops *ops,
				  const struct ks_source_opts *o,
				  struct ks_err *err);
int ks_source__attach(struct ks_source *s, struct ks_err *err);
int ks_source__read(struct ks_source *s, uint64_t ts,
		    const struct ks_source_sink *sink);
/* Asks s to time its events (on) or only count them; -EOPNOTSUPP for a
 * source with one mode.  A no-op when s is already in that mode. */
int ks_source__set_latency(struct ks_source *s, bool on);
/* Hands s the latency cuts; -EOPNOTSUPP for a source without latency. */
int ks_source__set_cuts(struct ks_source *s, const struct ks_latcuts *cuts);
const struct ks_source_stats *ks_source__stats(const struct ks_source *s);
const char *ks_source__name(const struct ks_source *s);
void ks_source__close(struct ks_source *s);

#endif /* KS_SOURCE_SOURCE_H */
