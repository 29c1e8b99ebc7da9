/* bpfcost.h - what this process's BPF programs cost, from the kernel.
 *
 * With BPF run-time statistics on (BPF_ENABLE_STATS, held for as long as
 * its fd is open: no sysctl left behind), the kernel counts each program's
 * runs and the nanoseconds they took.  This reads those numbers for every
 * program this process has loaded, found through its own descriptors
 * (/proc/self/fdinfo names each program's id), so it measures exactly the
 * sources that are open, whoever else runs BPF on the host.
 */
#ifndef KS_SOURCE_BPFCOST_H
#define KS_SOURCE_BPFCOST_H

#include <stddef.h>
#include <stdint.h>

#define KS_BPFCOST_MAX 64

struct ks_bpfcost_prog {
	uint32_t id;
	char name[16];		/* the kernel keeps 15 characters */
	uint64_t run_cnt;
	uint64_t run_time_ns;
};

struct ks_bpfcost {
	size_t n;
	struct ks_bpfcost_prog prog[KS_BPFCOST_MAX];
};

/* Turns the kernel's run-time statistics on; returns an fd that keeps
 * them on until closed, or a negative errno. */
int ks_bpfcost_enable(void);

/* Reads every program this process holds, sorted by id.  0 or a negative
 * errno. */
int ks_bpfcost__read(struct ks_bpfcost *c);

/* The same for the programs process pid holds (0: this one), as a
 * benchmark reads an agent's: needs the rights to read its fdinfo. */
int ks_bpfcost__read_pid(struct ks_bpfcost *c, int pid);

/* The program with this id in c, or NULL. */
const struct ks_bpfcost_prog *ks_bpfcost__find(const struct ks_bpfcost *c,
					       uint32_t id);

#endif /* KS_SOURCE_BPFCOST_H */
