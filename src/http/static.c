/* static.c - the web UI's files, served from a web root (see static.h).
 *
 * Files are read whole on each request: the UI is a handful of small
 * files, the agent serves one request at a time, and reading afresh means
 * an edited file shows on the next reload with no restart.  Responses say
 * "no-cache" for the same reason, and "nosniff" so a browser never runs a
 * file as something other than its declared type.
 *
 * The path check is done twice on purpose: syntactically first (a strict
 * character set, no segment starting with '.'), so nothing odd reaches the
 * file system, and then on the resolved real path, so that a symlink
 * inside the root cannot lead out of it.
 */
#include "http/static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "json", "application/json" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "ico", "image/x-icon" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "md", "text/markdown; charset=utf-8" },
	{ "woff2", "font/woff2" },
};

const char *ks_static_content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

bool ks_static_path_ok(const char *path)
{
	const char *p = path;

	if (!p || p[0] != '/' || strlen(p) > 255)
		return false;
	if (!strcmp(p, "/"))
		return true;
	while (*p == '/') {
		const char *seg = ++p;

		/* Empty, ".", ".." and hidden names all start with a dot
		 * or are empty: none is served. */
		if (*seg == '.' || *seg == '/' || *seg == '\0')
			return false;
		while (*p && *p != '/')
			if (!name_char(*p++))
				return false;
	}
	return *p == '\0';
}

int ks_static_check_root(const char *dir, const char *param, char *buf,
			 size_t len, struct ks_err *err)
{
	char real[PATH_MAX], index[PATH_MAX + sizeof("/" KS_STATIC_INDEX)];
	struct stat st;

	if (!realpath(dir, real))
		return ks_err_set(err, errno, param, "cannot use '%.150s': %s",
				  dir, strerror(errno));
	if (stat(real, &st) || !S_ISDIR(st.st_mode))
		return ks_err_set(err, ENOTDIR, param,
				  "'%.150s' is not a directory", dir);
	snprintf(index, sizeof(index), "%s/" KS_STATIC_INDEX, real);
	if (stat(index, &st) || !S_ISREG(st.st_mode))
		return ks_err_set(err, ENOENT, param,
				  "'%.150s' holds no " KS_STATIC_INDEX
				  " (is it kvmscope's web directory?)", dir);
	if (strlen(real) >= len)
		return ks_err_set(err, ENAMETOOLONG, param,
				  "'%.150s' is too long a path", dir);
	memcpy(buf, real, strlen(real) + 1);
	return 0;
}

int ks_static_default_root(char *buf, size_t len)
{
	static const char *const rel[] = { "../web", "../share/kvmscope/web" };
	char exe[PATH_MAX], cand[PATH_MAX + 32], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(cand, sizeof(cand), "%s/%s", exe, rel[i]);
			if (!ks_static_check_root(cand, "", buf, len, NULL))
				return 0;
		}
	}
	if (!ks_static_check_root(KS_STATIC_SYSTEM_ROOT, "", buf, len, NULL))
		return 0;
	return -ENOENT;
}

/* Reads the regular file at path, at most KS_STATIC_MAX_FILE bytes.
 * Anything else (a FIFO, a device, a socket) is refused before it is
 * opened, and the open itself cannot block (O_NONBLOCK: a FIFO without a
 * writer would wait forever) nor have a device's side effects unchecked:
 * the type is checked again on what was opened. */
static int read_file(const char *path, char **data, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	if (st.st_size > KS_STATIC_MAX_FILE) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;	/* shrank while read: serve what there is */
		got += (size_t)r;
	}
	close(fd);
	*data = buf;
	*len = got;
	return 0;
}

int ks_static_serve(const char *root, const char *path,
		    struct ks_http_resp *resp)
{
	char want[PATH_MAX + 256], real[PATH_MAX];
	size_t rlen;
	char *data;
	size_t len;
	int rc;

	if (!root || !ks_static_path_ok(path))
		return -ENOENT;
	if (!strcmp(path, "/"))
		path = "/" KS_STATIC_INDEX;
	snprintf(want, sizeof(want), "%s%s", root, path);
	rlen = strlen(root);
	/* The real path must still be inside the root. */
	if (!realpath(want, real) || strncmp(real, root, rlen) ||
	    real[rlen] != '/')
		return -ENOENT;
	rc = read_file(real, &data, &len);
	if (rc)
		return rc;
	ks_http_resp__reset(resp);
	resp->status = 200;
	resp->body = data;
	resp->len = len;
	resp->content_type = ks_static_content_type(real);
	ks_http_resp__header(resp, "Cache-Control", "no-cache");
	ks_http_resp__header(resp, "X-Content-Type-Options", "nosniff");
	return 0;
}
