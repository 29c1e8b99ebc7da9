/* fileio.c - reading small configuration files whole (see fileio.h).
 *
 * The file is opened first and every check (type, size, mode, owner) is
 * made with fstat() on that descriptor, so swapping the file between the
 * check and the read changes nothing.  Messages quote the path (cut to a
 * bounded length) but never the file's content: a token file's lines are
 * secrets.
 */
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Checks the mode and owner of a secret file. */
static int check_private(const struct stat *st, unsigned int flags,
			 const char *path, const char *param,
			 struct ks_err *err)
{
	mode_t bad = flags & KS_FILE_PRIVATE ? 077 : 007;

	if (st->st_mode & bad)
		return ks_err_set(err, EPERM, param,
				  "%.120s is %s (mode %04o): it holds "
				  "secrets; chmod %s it", path,
				  flags & KS_FILE_PRIVATE ?
				  "open to its group or others" :
				  "open to others",
				  (unsigned int)(st->st_mode & 07777),
				  flags & KS_FILE_PRIVATE ? "600" : "640");
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return ks_err_set(err, EPERM, param,
				  "%.120s is owned by uid %u, neither root nor "
				  "the user running kvmscope (uid %u)", path,
				  (unsigned int)st->st_uid,
				  (unsigned int)geteuid());
	return 0;
}

/* Reads exactly n bytes (the file's size) from fd into buf. */
static int read_all(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;	/* shrank while reading: take what is there */
		got += (size_t)r;
	}
	buf[got] = '\0';
	return (int)got;
}

int ks_file_read(const char *path, size_t max, unsigned int flags,
		 const char *param, char **out, size_t *len,
		 struct ks_err *err)
{
	struct stat st;
	char *buf;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return ks_err_set(err, errno, param, "cannot read %.120s: %s",
				  path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return ks_err_set(err, EINVAL, param,
				  "%.120s is not a regular file", path);
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return ks_err_set(err, EFBIG, param,
				  "%.120s is larger than %zu bytes", path, max);
	}
	if (flags & (KS_FILE_PRIVATE | KS_FILE_NOT_WORLD) &&
	    (rc = check_private(&st, flags, path, param, err))) {
		close(fd);
		return rc;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return ks_err_set(err, ENOMEM, param, "out of memory");
	}
	rc = read_all(fd, buf, (size_t)st.st_size);
	close(fd);
	if (rc < 0) {
		free(buf);
		return ks_err_set(err, -rc, param, "cannot read %.120s: %s",
				  path, strerror(-rc));
	}
	if (memchr(buf, '\0', (size_t)rc)) {
		free(buf);
		return ks_err_set(err, EINVAL, param,
				  "%.120s holds a NUL byte: not a text file",
				  path);
	}
	*out = buf;
	if (len)
		*len = (size_t)rc;
	return 0;
}
