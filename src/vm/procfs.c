/* procfs.c - careful readers of /proc/PID (see procfs.h).
 *
 * Every read goes through openat() on the process's directory fd, with
 * fixed-size buffers, so a process that exits, execs or lies in its
 * command line costs an error return, never a crash or an unbounded read.
 */
#include "vm/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PF_EXITING 0x00000004u	/* include/linux/sched.h */

int ks_proc_open(int rootfd, pid_t pid)
{
	char name[24];
	int fd;

	snprintf(name, sizeof(name), "%d", (int)pid);
	fd = openat(rootfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

ssize_t ks_proc_read(int dirfd, const char *rel, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, e;

	if (size == 0)
		return -EINVAL;
	fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* procfs files may come in several reads (cmdline of a big argv). */
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = -errno;
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

int ks_proc_stat(int pdir, struct ks_proc_stat *st)
{
	char buf[1024], *open_p, *close_p, *p, *end;
	unsigned long long v;
	size_t l;
	ssize_t n;
	int field;

	n = ks_proc_read(pdir, "stat", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* The comm may hold spaces and parentheses: it ends at the last ')'. */
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -EINVAL;
	l = (size_t)(close_p - open_p - 1);
	if (l >= sizeof(st->comm))
		l = sizeof(st->comm) - 1;
	memcpy(st->comm, open_p + 1, l);
	st->comm[l] = '\0';
	/* Field 3 (state) follows ") ".  A zombie (Z) or dead (X) process
	 * is no VM any more, whatever its parent does about reaping it. */
	p = close_p + 1;
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X'))
		return -ESRCH;
	/* After the loop's step for field f, p + 1 is field f + 1. */
	for (field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
		/* Field 9, flags: PF_EXITING is set as soon as the process
		 * starts to exit, which for a VMM with gigabytes to unmap is
		 * well before it becomes a zombie. */
		if (field == 8 && (strtoull(p + 1, NULL, 10) & PF_EXITING))
			return -ESRCH;
		if (field == 19)
			st->threads = (unsigned)strtoul(p + 1, NULL, 10);
	}
	errno = 0;
	v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EINVAL;
	st->start = v;
	return 0;
}

int ks_proc_cmdline(int pdir, char **bufp, char ***argvp, size_t *argcp,
		    int *cut)
{
	size_t cap = 4096, argc = 0, i;
	char *buf = NULL, **argv;
	ssize_t n;

	*cut = 0;
	for (;;) {
		char *nb = realloc(buf, cap + 1);

		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		n = ks_proc_read(pdir, "cmdline", buf, cap);
		if (n < 0) {
			free(buf);
			return (int)n;
		}
		if ((size_t)n < cap - 1)
			break;
		if (cap >= KS_PROC_CMDLINE_MAX) {
			*cut = 1;
			break;
		}
		cap *= 2;
	}
	if (n == 0) {
		free(buf);
		return -ENODATA;
	}
	/* Terminate the last argument even if the line was cut. */
	buf[n] = '\0';
	for (i = 0; i < (size_t)n; i++)
		if (buf[i] == '\0')
			argc++;
	if (buf[n - 1] != '\0')
		argc++;
	argv = calloc(argc + 1, sizeof(*argv));
	if (!argv) {
		free(buf);
		return -ENOMEM;
	}
	argc = 0;
	for (i = 0; i < (size_t)n; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	*bufp = buf;
	*argvp = argv;
	*argcp = argc;
	return 0;
}

static int numeric(const char *s, long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	*out = strtol(s, &end, 10);
	return !*end && !errno && *out >= 0 && *out <= INT_MAX;
}

/* Opens a subdirectory of pdir for reading with readdir. */
static DIR *open_subdir(int pdir, const char *rel)
{
	int fd = openat(pdir, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

int ks_proc_fds(int pdir, int (*fn)(void *ctx, int fd, const char *target),
		void *ctx)
{
	char target[PATH_MAX + 1];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = open_subdir(pdir, "fd");
	if (!d)
		return -errno;
	while (!rc && (de = readdir(d))) {
		ssize_t n;
		long fd;

		if (!numeric(de->d_name, &fd))
			continue;
		n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n < 0)
			continue;	/* closed since readdir */
		target[n] = '\0';
		rc = fn(ctx, (int)fd, target);
	}
	closedir(d);
	return rc;
}

int ks_proc_fd_iff(int pdir, int fd, char *ifname, size_t size)
{
	char rel[32], buf[1024], *p, *e;
	ssize_t n;
	size_t l;

	snprintf(rel, sizeof(rel), "fdinfo/%d", fd);
	n = ks_proc_read(pdir, rel, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "iff:", 4))
			continue;
		p += 4;
		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strcspn(p, "\n");
		l = (size_t)(e - p);
		if (l == 0 || l >= size)
			return -ENOENT;
		memcpy(ifname, p, l);
		ifname[l] = '\0';
		return 0;
	}
	return -ENOENT;
}

int ks_proc_tasks(int pdir, int (*fn)(void *ctx, pid_t tid,
				       const char *comm), void *ctx)
{
	char rel[48], comm[64];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = open_subdir(pdir, "task");
	if (!d)
		return -errno;
	while (!rc && (de = readdir(d))) {
		ssize_t n;
		long tid;

		if (!numeric(de->d_name, &tid))
			continue;
		snprintf(rel, sizeof(rel), "task/%ld/comm", tid);
		n = ks_proc_read(pdir, rel, comm, sizeof(comm));
		if (n <= 0)
			continue;	/* the thread ended */
		if (comm[n - 1] == '\n')
			comm[n - 1] = '\0';
		rc = fn(ctx, (pid_t)tid, comm);
	}
	closedir(d);
	return rc;
}

int ks_proc_socket_ino(const char *target, unsigned long *ino)
{
	char *end;

	if (strncmp(target, "socket:[", 8))
		return -EINVAL;
	errno = 0;
	*ino = strtoul(target + 8, &end, 10);
	if (errno || end == target + 8 || strcmp(end, "]"))
		return -EINVAL;
	return 0;
}

/* One line of /proc/net/unix: "Num RefCount Protocol Flags Type St Inode
 * Path"; the path is the eighth column and may be absent. */
static int unix_line(const char *line, unsigned long ino, char *path,
		     size_t size)
{
	unsigned long lino;
	const char *p = line;
	char *end;
	size_t l;

	for (int col = 0; col < 6; col++) {
		p = strchr(p, ' ');
		if (!p)
			return -ENOENT;
		while (*p == ' ')
			p++;
	}
	lino = strtoul(p, &end, 10);
	if (end == p || lino != ino)
		return -ENOENT;
	while (*end == ' ')
		end++;
	l = strcspn(end, "\n");
	/* Abstract sockets print '@'; they have no path to connect to. */
	if (l == 0 || *end == '@' || l >= size)
		return -ENOENT;
	memcpy(path, end, l);
	path[l] = '\0';
	return 0;
}

int ks_proc_unix_path(int pdir, unsigned long ino, char *path, size_t size)
{
	char line[PATH_MAX + 128];
	FILE *f;
	int fd, rc = -ENOENT;

	fd = openat(pdir, "net/unix", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (rc && fgets(line, sizeof(line), f))
		rc = unix_line(line, ino, path, size);
	fclose(f);
	return rc;
}
