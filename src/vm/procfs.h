/* procfs.h - small, careful readers of /proc/PID for VM discovery.
 *
 * Discovery reads a handful of files per process per scan, so each reader
 * here works on a directory fd of /proc/PID opened once per scan: every
 * later read refers to that same process, and if it exits mid-scan the
 * reads fail with ESRCH or ENOENT instead of reading a newer process that
 * reused the pid.  All readers are bounded (a hostile or odd process cannot
 * make us allocate without limit) and return 0 or a negative errno.  The
 * procfs root is a parameter so tests can point it at a fake tree.
 */
#ifndef KS_VM_PROCFS_H
#define KS_VM_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest /proc/PID/cmdline read; longer ones are cut (and counted). */
#define KS_PROC_CMDLINE_MAX (256 * 1024)

/* Opens procroot/PID as an O_PATH directory fd; -errno on failure. */
int ks_proc_open(int rootfd, pid_t pid);

/* Reads the file rel (relative to dirfd) into buf, NUL-terminated, at most
 * size - 1 bytes.  The byte count, or -errno. */
ssize_t ks_proc_read(int dirfd, const char *rel, char *buf, size_t size);

/* What discovery reads from /proc/PID/stat. */
struct ks_proc_stat {
	char comm[64];		/* without the parentheses */
	uint64_t start;		/* clock ticks since boot: with the pid, a
				   name no other process will have */
	unsigned threads;
};

/* Reads /proc/PID/stat.  -ESRCH for a process that has exited or is
 * exiting (a zombie, or PF_EXITING), -EINVAL for a line it cannot read. */
int ks_proc_stat(int pdir, struct ks_proc_stat *st);

/* The command line as a NUL-separated buffer (*buf, malloc'd, with an
 * extra NUL at the end) split into *argv (malloc'd array, pointing into
 * *buf) of *argc entries.  *cut is set when the line was longer than
 * KS_PROC_CMDLINE_MAX.  0, -errno, or -ENODATA for an empty line (a
 * zombie or kernel thread). */
int ks_proc_cmdline(int pdir, char **buf, char ***argv, size_t *argc,
		    int *cut);

/* Calls fn for each open fd of the process with the link's target
 * ("/dev/net/tun", "anon_inode:kvm-vm", "socket:[1234]").  Stops at and
 * returns fn's first non-zero return; 0 at the end, or -errno if the fd
 * directory cannot be read. */
int ks_proc_fds(int pdir, int (*fn)(void *ctx, int fd, const char *target),
		void *ctx);

/* The tun/tap interface an fd is attached to, from the "iff:" line of
 * /proc/PID/fdinfo/FD.  -ENOENT if the fd is not attached. */
int ks_proc_fd_iff(int pdir, int fd, char *ifname, size_t size);

/* Calls fn for each thread of the process with its comm. */
int ks_proc_tasks(int pdir, int (*fn)(void *ctx, pid_t tid,
				       const char *comm), void *ctx);

/* The filesystem path a unix socket inode is bound to, from the process's
 * /proc/PID/net/unix.  -ENOENT if unbound or not found. */
int ks_proc_unix_path(int pdir, unsigned long ino, char *path, size_t size);

/* Parses "socket:[INO]"; 0 and *ino, or -EINVAL. */
int ks_proc_socket_ino(const char *target, unsigned long *ino);

#endif /* KS_VM_PROCFS_H */
