/* test_probe_caps.c - the exits probe's MMIO cap, in the kernel.
 *
 * A guest can touch as many MMIO addresses as it likes, so the probe keeps
 * MMIO keys in maps of their own of KS_MMIO_MAX_KEYS entries and counts
 * what finds no room.  KVM events need a guest, so the exits object's
 * ks_test_mmio_cap program runs ks_mmio's counting path from getppid(),
 * one new address per call, for this process only: past the cap every
 * call must be counted as a drop (KS_EXS_MMIO_FULL), none lost silently,
 * and the other maps left alone.  Needs root (BPF) and syscall
 * tracepoints; skipped otherwise.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "bpf/exits.h"
#include "bpf/uexits.h"
#include "exits.skel.h"
#include "source/bpfgen.h"

#define TP "/sys/kernel/tracing/events/syscalls/sys_enter_getppid"
#define CALLS (KS_MMIO_MAX_KEYS + 904)

struct tally {
	uint64_t keys, sum, bad;
};

static int tally(void *ctx, const void *key, uint64_t sum)
{
	struct tally *t = ctx;
	const struct ks_uexit_key *k = key;

	t->keys++;
	t->sum += sum;
	if (k->kind != KS_UXK_MMIO || k->tgid != (uint32_t)getpid() ||
	    k->sub != 2 || k->arg != 4 || k->addr >= CALLS || sum != 1)
		t->bad++;
	return 0;
}

static struct tally drain(const struct bpf_map *outer,
			  const struct bpf_map *g0, const struct bpf_map *g1)
{
	struct tally t = { 0, 0, 0 };
	struct ks_bpfgen g;

	assert_int_equal(ks_bpfgen__init(&g, bpf_map__fd(outer),
					 bpf_map__fd(g0), bpf_map__fd(g1),
					 sizeof(struct ks_uexit_key)), 0);
	assert_int_equal(ks_bpfgen__drain(&g, tally, &t), 0);
	ks_bpfgen__fini(&g);
	return t;
}

static uint64_t stat_of(struct ks_exits *skel, uint32_t idx)
{
	uint64_t v;

	assert_int_equal(ks_bpfgen_percpu_array_sum(
		bpf_map__fd(skel->maps.exit_stats), idx,
		(size_t)libbpf_num_possible_cpus(), &v), 0);
	return v;
}

static void test_mmio_cap(void **state)
{
	struct ks_exits *skel;
	struct bpf_program *p;
	struct bpf_link *link;
	struct tally m, u;

	(void)state;
	if (geteuid() != 0 || access(TP, F_OK))
		skip();
	libbpf_set_print(NULL);
	assert_non_null(skel = ks_exits__open());
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == skel->progs.ks_test_mmio_cap);
	skel->rodata->bench_tgid = (uint32_t)getpid();
	assert_int_equal(ks_exits__load(skel), 0);
	assert_non_null(link = bpf_program__attach(
				skel->progs.ks_test_mmio_cap));
	for (int i = 0; i < CALLS; i++)
		syscall(SYS_getppid);
	bpf_link__destroy(link);
	assert_int_equal(skel->bss->test_seq, CALLS);
	m = drain(skel->maps.mmio_cur, skel->maps.mmio_gen0,
		  skel->maps.mmio_gen1);
	/* The map is full, with one count per address, and the rest were
	 * counted as drops: every call accounted for. */
	assert_int_equal(m.keys, KS_MMIO_MAX_KEYS);
	assert_int_equal(m.sum, KS_MMIO_MAX_KEYS);
	assert_int_equal(m.bad, 0);
	assert_int_equal(stat_of(skel, KS_EXS_MMIO_FULL),
			 CALLS - KS_MMIO_MAX_KEYS);
	/* Nothing spilled into the other maps or drop counters. */
	u = drain(skel->maps.uexit_cur, skel->maps.uexit_gen0,
		  skel->maps.uexit_gen1);
	assert_int_equal(u.keys, 0);
	assert_int_equal(stat_of(skel, KS_EXS_UEXIT_FULL), 0);
	assert_int_equal(stat_of(skel, KS_EXS_DROP_FULL), 0);
	ks_exits__destroy(skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmio_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
