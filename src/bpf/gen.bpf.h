/* gen.bpf.h - the counting steps every probe shares.
 *
 * Each probe (exits, irqs, samples) counts into one of two per-CPU hash
 * maps, the "generations", the current one being the single slot of an
 * array-of-maps that the reader swaps (source/bpfgen.h: the kernel waits
 * out running programs on the swap, so nothing counted is missed).  The
 * steps of adding one to a key there - find the generation, bump the key,
 * or create it and bump it if another CPU won the race - are the same in
 * every probe, as are stamping an event with its wall-clock subsecond row
 * and second bits, counting a probe statistic, and noting a process's
 * name for the reader; they live here once.  Per-CPU values need no
 * atomics: tracepoint and perf programs do not nest on a CPU.
 *
 * Only the BPF target sees the body: `make headers` compiles every header
 * in src/ for user space, where this one is empty.
 */
#ifndef KS_BPF_GEN_BPF_H
#define KS_BPF_GEN_BPF_H
#ifdef __BPF__

#include "vmlinux/x86/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "comm.h"
#include "keys.h"

#define KS_GEN_NSEC_PER_S 1000000000ULL

/* Adds one to counter idx of a probe's per-CPU statistics array. */
static __always_inline void ks_stat_inc(void *stats, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(stats, &idx);

	if (v)
		*v += 1;
}

/* The current generation behind outer, or NULL (counted as nomap_stat:
 * the loader always fills the slot, so that is a bug, never silent). */
static __always_inline void *ks_gen_cur(void *outer, void *stats,
					__u32 nomap_stat)
{
	__u32 zero = 0;
	void *gen = bpf_map_lookup_elem(outer, &zero);

	if (!gen)
		ks_stat_inc(stats, nomap_stat);
	return gen;
}

/* Adds one to key if gen has it. */
static __always_inline bool ks_gen_bump(void *gen, void *key)
{
	__u64 *v = bpf_map_lookup_elem(gen, key);

	if (!v)
		return false;
	*v += 1;
	return true;
}

/* Creates key at one; if another CPU created it meanwhile, adds one to
 * it.  1: this call created it; 0: it was there; -1: no room (counted as
 * full_stat). */
static __always_inline int ks_gen_new(void *gen, void *key, void *stats,
				      __u32 full_stat)
{
	__u64 one = 1;

	if (!bpf_map_update_elem(gen, key, &one, BPF_NOEXIST))
		return 1;
	if (ks_gen_bump(gen, key))
		return 0;
	ks_stat_inc(stats, full_stat);
	return -1;
}

/* Adds one to key in the current generation behind outer. */
static __always_inline void ks_gen_add(void *outer, void *key, void *stats,
				       __u32 nomap_stat, __u32 full_stat)
{
	void *gen = ks_gen_cur(outer, stats, nomap_stat);

	if (gen && !ks_gen_bump(gen, key))
		ks_gen_new(gen, key, stats, full_stat);
}

/* The subsecond row (of row_ns) and second bits of wall time wall (the
 * monotonic clock plus the loader's REALTIME offset): one time, so the
 * two always agree. */
static __always_inline void ks_wall_slot(__u64 wall, __u64 row_ns,
					 __u16 *row, __u8 *sec)
{
	*row = (__u16)((wall % KS_GEN_NSEC_PER_S) / row_ns);
	*sec = (__u8)((wall / KS_GEN_NSEC_PER_S) & KS_SEC_MASK);
}

/* Notes the name of task's process in comm_map, once per process, so the
 * reader can name processes gone before the next read. */
static __always_inline void ks_comm_note(void *comm_map,
					 struct task_struct *task, __u32 tgid)
{
	struct ks_comm c = {};

	if (!tgid || bpf_map_lookup_elem(comm_map, &tgid))
		return;
	BPF_CORE_READ_STR_INTO(&c.name, task, group_leader, comm);
	bpf_map_update_elem(comm_map, &tgid, &c, BPF_NOEXIST);
}

#endif /* __BPF__ */
#endif /* KS_BPF_GEN_BPF_H */
