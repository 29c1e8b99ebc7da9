/* bpfgen.c - the two-generation read of per-CPU hash maps (bpfgen.h).
 *
 * Keys of the old generation are collected first and then looked up and
 * deleted one by one: deleting while walking with get_next_key would
 * restart the walk.  Nothing writes the old generation meanwhile, so the
 * two passes see the same entries.
 */
#include "source/bpfgen.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ks_bpfgen__init(struct ks_bpfgen *g, int outer_fd, int fd0, int fd1,
		    size_t key_size)
{
	int ncpu = libbpf_num_possible_cpus();

	memset(g, 0, sizeof(*g));
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	g->outer_fd = outer_fd;
	g->gen_fd[0] = fd0;
	g->gen_fd[1] = fd1;
	g->key_size = key_size;
	g->ncpu = (size_t)ncpu;
	g->cap = 256;
	g->keys = malloc(g->cap * key_size);
	g->vals = calloc(g->ncpu, sizeof(uint64_t));
	if (!g->keys || !g->vals) {
		ks_bpfgen__fini(g);
		return -ENOMEM;
	}
	return 0;
}

void ks_bpfgen__fini(struct ks_bpfgen *g)
{
	free(g->keys);
	free(g->vals);
	g->keys = NULL;
	g->vals = NULL;
}

/* Puts the other generation in the slot; returns the old one's fd. */
static int swap(struct ks_bpfgen *g, int *old_fd)
{
	uint32_t zero = 0;
	int next = !g->cur;

	if (bpf_map_update_elem(g->outer_fd, &zero, &g->gen_fd[next], BPF_ANY))
		return -errno;
	*old_fd = g->gen_fd[g->cur];
	g->cur = next;
	return 0;
}

/* Collects every key of fd into g->keys; returns the count or -errno. */
static long collect(struct ks_bpfgen *g, int fd)
{
	const void *prev = NULL;
	size_t n = 0;

	for (;;) {
		if (n == g->cap) {
			size_t size = 2 * g->cap * g->key_size;
			unsigned char *k = realloc(g->keys, size);

			if (!k)
				return -ENOMEM;
			g->keys = k;
			g->cap *= 2;
			prev = n ? g->keys + (n - 1) * g->key_size : NULL;
		}
		if (bpf_map_get_next_key(fd, prev, g->keys + n * g->key_size))
			return errno == ENOENT ? (long)n : -errno;
		prev = g->keys + n * g->key_size;
		n++;
	}
}

int ks_bpfgen__drain(struct ks_bpfgen *g, ks_bpfgen_fn fn, void *ctx)
{
	int fd = -1, e, first = 0;
	long n;

	if ((e = swap(g, &fd)))
		return e;
	n = collect(g, fd);
	if (n < 0)
		return (int)n;
	for (long i = 0; i < n; i++) {
		const void *key = g->keys + (size_t)i * g->key_size;
		uint64_t sum = 0;

		if (bpf_map_lookup_elem(fd, key, g->vals)) {
			if (!first && errno != ENOENT)
				first = -errno;
			continue;
		}
		for (size_t c = 0; c < g->ncpu; c++)
			sum += g->vals[c];
		if (bpf_map_delete_elem(fd, key) && !first && errno != ENOENT)
			first = -errno;
		if (sum && (e = fn(ctx, key, sum)) && !first)
			first = e;
	}
	return first;
}

int ks_bpfgen_percpu_array_sum(int fd, uint32_t idx, size_t ncpu,
			       uint64_t *sum)
{
	uint64_t *v = calloc(ncpu, sizeof(*v));

	*sum = 0;
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &idx, v)) {
		free(v);
		return -errno;
	}
	for (size_t c = 0; c < ncpu; c++)
		*sum += v[c];
	free(v);
	return 0;
}

int ks_bpfgen_stats_delta(int fd, uint32_t n, size_t ncpu, uint64_t *prev,
			  uint64_t *d)
{
	uint64_t v;
	int e;

	for (uint32_t i = 0; i < n; i++) {
		if ((e = ks_bpfgen_percpu_array_sum(fd, i, ncpu, &v)))
			return e;
		d[i] = v - prev[i];
		prev[i] = v;
	}
	return 0;
}
