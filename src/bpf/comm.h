/* comm.h - process names the probes remember, shared with user space.
 *
 * A VMM process can start and end between two reads (a short test VM), and
 * then /proc no longer names it.  The probes therefore note the process
 * name (its thread group leader's comm) the first time one of its threads
 * shows up, in a small LRU map keyed by tgid; the loader uses it when
 * /proc has nothing.
 */
#ifndef KS_BPF_COMM_H
#define KS_BPF_COMM_H

#define KS_COMM_LEN 16		/* TASK_COMM_LEN */
#define KS_COMM_MAX_PROCS 4096

struct ks_comm {
	char name[KS_COMM_LEN];
};

#endif /* KS_BPF_COMM_H */
