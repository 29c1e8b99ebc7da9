/* perfdata.h - replaying perf.data files through `perf script`.
 *
 * `perf record -e 'kvm:*'` and `perf kvm stat record` write perf.data, a
 * binary format whose event layout lives in the file's own headers.  We do
 * not parse it: perf (Debian's linux-perf) already does, and its `perf
 * script` text is one of the trace formats the tracefs reader takes.  So a
 * perf.data file is replayed by running `perf script` on it and reading its
 * standard output as a trace.
 */
#ifndef KS_REPLAY_PERFDATA_H
#define KS_REPLAY_PERFDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

#define KS_PERFDATA_MAGIC_LEN 8

/* Whether buf (len bytes, the start of a file) is a perf.data file. */
bool ks_perfdata_sniff(const void *buf, size_t len);

/* A running `perf script` over one perf.data file. */
struct ks_perfdata {
	pid_t pid;	/* perf's process */
	int fd;		/* the read end of its standard output */
	int errfd;	/* a memory file holding its standard error */
};

/* Starts `perf script` (the binary named by $KVMSCOPE_PERF, else "perf"
 * on PATH) on path.  Returns 0, or a negative errno with err filled (param
 * "FILE"): perf missing, or the pipes or process could not be made. */
int ks_perfdata__open(struct ks_perfdata *pd, const char *path,
		      struct ks_err *err);

/* Closes the pipes and waits for perf.  Returns 0 if perf succeeded, else
 * -EIO with err holding the last line perf printed on its stderr. */
int ks_perfdata__close(struct ks_perfdata *pd, struct ks_err *err);

#endif /* KS_REPLAY_PERFDATA_H */
