/* perfdata.c - perf.data files, read by running `perf script` on them.
 *
 * perf's own reader knows every version of its file format and where each
 * tracepoint's fields are; ours would be a second, lagging copy.  We ask it
 * for the fields the tracefs reader needs, in a fixed order (comm, pid/tid,
 * cpu, nanosecond time, event, its text), so the output has the same shape
 * whatever the user's perf defaults are.  perf's stderr goes to a memory
 * file of its own, read at the end: its last line says why a run failed (a
 * file from a newer perf, a damaged header), and it must never mix with the
 * trace text.  A file rather than a pipe, because a perf warning about each
 * of many events would fill a pipe nobody reads until the trace ends, and
 * both sides would wait for ever.
 */
#include "replay/perfdata.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char magic[KS_PERFDATA_MAGIC_LEN] = "PERFILE2";

bool ks_perfdata_sniff(const void *buf, size_t len)
{
	return len >= sizeof(magic) && !memcmp(buf, magic, sizeof(magic));
}

/* In the child: wires the pipes to stdout and stderr and runs perf. */
static void run_perf(const char *path, int out, int errw)
{
	const char *perf = getenv("KVMSCOPE_PERF");
	char *const argv[] = {
		(char *)(perf && *perf ? perf : "perf"), "script", "--ns",
		"-F", "comm,pid,tid,cpu,time,event,trace", "-i", (char *)path,
		NULL,
	};
	int null = open("/dev/null", O_RDONLY);

	sigset_t none;

	if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(out, STDOUT_FILENO) < 0 || dup2(errw, STDERR_FILENO) < 0)
		_exit(126);
	/* serve blocks SIGINT and SIGTERM for its loop and ignores SIGPIPE;
	 * both would survive exec: perf must die when its reader closes
	 * the pipe early (ks_perfdata__close) or the user stops it. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	_exit(errno == ENOENT ? 127 : 126);
}

int ks_perfdata__open(struct ks_perfdata *pd, const char *path,
		      struct ks_err *err)
{
	int out[2], errf;

	pd->pid = -1;
	pd->fd = pd->errfd = -1;
	errf = memfd_create("perf-script-stderr", MFD_CLOEXEC);
	if (errf < 0)
		return ks_err_set(err, errno, "FILE", "cannot make a file "
				  "for perf script's errors: %s",
				  strerror(errno));
	if (pipe2(out, O_CLOEXEC)) {
		int e = errno;

		close(errf);
		return ks_err_set(err, e, "FILE", "cannot make a pipe for "
				  "perf script: %s", strerror(e));
	}
	pd->pid = fork();
	if (pd->pid == 0)
		run_perf(path, out[1], errf);
	close(out[1]);
	if (pd->pid < 0) {
		int e = errno;

		close(out[0]);
		close(errf);
		return ks_err_set(err, e, "FILE", "cannot start perf script: "
				  "%s", strerror(e));
	}
	pd->fd = out[0];
	pd->errfd = errf;
	return 0;
}

/* The last non-empty line of what perf printed on stderr, into buf. */
static void last_err_line(int fd, char *buf, size_t size)
{
	char chunk[4096], line[200] = "";
	size_t len = 0;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] == '\n') {
				if (len) {
					line[len] = '\0';
					snprintf(buf, size, "%s", line);
				}
				len = 0;
			} else if (len < sizeof(line) - 1) {
				line[len++] = chunk[i];
			}
		}
	if (len) {
		line[len] = '\0';
		snprintf(buf, size, "%s", line);
	}
}

int ks_perfdata__close(struct ks_perfdata *pd, struct ks_err *err)
{
	char why[200] = "no message";
	int status = 0;

	if (pd->pid < 0)
		return 0;
	/* Whatever the reader did not take is not wanted: close first, so a
	 * perf still writing gets EPIPE rather than blocking us forever. */
	close(pd->fd);
	while (waitpid(pd->pid, &status, 0) < 0 && errno == EINTR)
		;
	last_err_line(pd->errfd, why, sizeof(why));
	close(pd->errfd);
	pd->pid = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return ks_err_set(err, ENOENT, "FILE", "this is a perf.data "
				  "file, and reading it needs perf (Debian: "
				  "apt-get install linux-perf), which is not "
				  "on PATH");
	return ks_err_set(err, EIO, "FILE", "perf script failed on this "
			  "perf.data file: %s", why);
}
