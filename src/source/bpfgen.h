/* bpfgen.h - reading per-CPU hash maps by generation, losing nothing.
 *
 * A probe counts into whichever of two per-CPU hash maps ("generations")
 * sits in the single slot of an array-of-maps.  To read a tick, the
 * reader puts the other generation in the slot: the kernel returns from
 * that update only after an RCU grace period, when no probe can still be
 * writing the old generation.  The old one is then read, its per-CPU
 * values summed, and cleared, with no count falling between read and
 * clear.  Shared by every BPF source; the key layout is the caller's.
 */
#ifndef KS_SOURCE_BPFGEN_H
#define KS_SOURCE_BPFGEN_H

#include <stddef.h>
#include <stdint.h>

struct ks_bpfgen {
	int outer_fd;		/* BPF_MAP_TYPE_ARRAY_OF_MAPS, one slot */
	int gen_fd[2];		/* the generations (per-CPU hashes) */
	int cur;		/* generation the probe writes now */
	size_t key_size;
	size_t ncpu;		/* possible CPUs: per-CPU value count */
	size_t cap;		/* keys the buffer holds */
	unsigned char *keys;
	uint64_t *vals;
};

/* Receives one entry of the drained generation and its per-CPU sum. */
typedef int (*ks_bpfgen_fn)(void *ctx, const void *key, uint64_t sum);

/* gen 0 must be in the slot (as the BPF object initialises it).  0 or a
 * negative errno. */
int ks_bpfgen__init(struct ks_bpfgen *g, int outer_fd, int fd0, int fd1,
		    size_t key_size);
void ks_bpfgen__fini(struct ks_bpfgen *g);

/* Swaps generations, calls fn for every entry of the old one (entries
 * summing to 0 are skipped) and clears it.  Every entry is cleared even
 * when fn fails; the first failure is returned. */
int ks_bpfgen__drain(struct ks_bpfgen *g, ks_bpfgen_fn fn, void *ctx);

/* Sums index idx of a per-CPU array map (cumulative probe counters). */
int ks_bpfgen_percpu_array_sum(int fd, uint32_t idx, size_t ncpu,
			       uint64_t *sum);

/* Reads the n cumulative counters of a per-CPU array map and puts in d[i]
 * how much each grew since the last call (prev[] holds the last values and
 * is updated): what every probe's stats map needs each tick. */
int ks_bpfgen_stats_delta(int fd, uint32_t n, size_t ncpu, uint64_t *prev,
			  uint64_t *d);

#endif /* KS_SOURCE_BPFGEN_H */
