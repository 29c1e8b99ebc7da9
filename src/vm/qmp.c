/* qmp.c - the QMP client (see qmp.h).
 *
 * The socket is non-blocking and every read or write waits in poll() for
 * what is left of the call's deadline.  QEMU ends each message with a
 * newline; a message may still span lines (-qmp-pretty), so a buffer is
 * parsed only once a newline has arrived, and a parse that runs out of
 * input waits for more.  Replies are matched by the "id" we send.
 */
#include "vm/qmp.h"
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct ks_qmp {
	int fd;
	int timeout_ms;
	char *buf;		/* received, not yet parsed */
	size_t len, cap;
	json_int_t next_id;
	int version;
};

static int64_t now_ms(void)
{
	return ks_clock_mono_ns() / 1000000;
}

/* Waits for events on the socket until deadline; 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(left > INT_MAX ? INT_MAX : left));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(struct ks_qmp *q, const char *s, size_t len,
		    int64_t deadline)
{
	while (len) {
		ssize_t n = send(q->fd, s, len, MSG_NOSIGNAL);
		int e;

		if (n > 0) {
			s += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((e = wait_fd(q->fd, POLLOUT, deadline)))
			return e;
	}
	return 0;
}

static int fill(struct ks_qmp *q, int64_t deadline)
{
	ssize_t n;
	int e;

	if (q->cap - q->len < 4096) {
		size_t cap = q->cap ? q->cap * 2 : 16384;
		char *nb;

		if (cap > KS_QMP_MAX_REPLY + 1)
			return -EMSGSIZE;
		if (!(nb = realloc(q->buf, cap)))
			return -ENOMEM;
		q->buf = nb;
		q->cap = cap;
	}
	for (;;) {
		n = recv(q->fd, q->buf + q->len, q->cap - q->len - 1, 0);
		if (n > 0) {
			q->len += (size_t)n;
			return 0;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((e = wait_fd(q->fd, POLLIN, deadline)))
			return e;
	}
}

/* Parses one message off the front of the buffer: 1 and *out, 0 if more
 * input is needed, -EPROTO if it is not JSON. */
static int parse_one(struct ks_qmp *q, json_t **out)
{
	size_t skip = 0, used;
	json_error_t je;
	json_t *j;

	if (!q->len)
		return 0;
	while (skip < q->len && strchr(" \t\r\n", q->buf[skip]))
		skip++;
	if (skip == q->len || !memchr(q->buf + skip, '\n', q->len - skip)) {
		memmove(q->buf, q->buf + skip, q->len - skip);
		q->len -= skip;
		return 0;
	}
	j = json_loadb(q->buf + skip, q->len - skip, JSON_DISABLE_EOF_CHECK,
		       &je);
	if (!j)
		return json_error_code(&je) == json_error_premature_end_of_input ?
		       0 : -EPROTO;
	used = skip + (size_t)je.position;
	if (used > q->len)
		used = q->len;
	memmove(q->buf, q->buf + used, q->len - used);
	q->len -= used;
	*out = j;
	return 1;
}

static int read_msg(struct ks_qmp *q, json_t **out, int64_t deadline)
{
	int r;

	for (;;) {
		if ((r = parse_one(q, out)))
			return r < 0 ? r : 0;
		if ((r = fill(q, deadline)))
			return r;
	}
}

static int err_of(struct ks_err *err, int e, const char *what)
{
	const char *why = e == -ETIMEDOUT ? "timed out" :
			  e == -EPROTO ? "the reply is not QMP" :
			  e == -EMSGSIZE ? "the reply is too large" :
			  strerror(-e);

	return ks_err_set(err, -e, "qmp", "%s: %s", what, why);
}

int ks_qmp__exec(struct ks_qmp *q, const char *cmd, json_t *args,
		 json_t **ret, struct ks_err *err)
{
	int64_t deadline = now_ms() + q->timeout_ms;
	json_int_t id = ++q->next_id;
	json_t *msg, *r;
	char *s;
	int e;

	*ret = NULL;
	msg = json_pack("{s:s, s:I}", "execute", cmd, "id", id);
	if (msg && args)
		json_object_set(msg, "arguments", args);
	s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (!s)
		return ks_err_set(err, ENOMEM, "qmp", "out of memory");
	e = send_all(q, s, strlen(s), deadline) ?:
	    send_all(q, "\n", 1, deadline);
	free(s);
	if (e)
		return err_of(err, e, cmd);
	for (;;) {
		json_t *rid, *rv, *re;

		if ((e = read_msg(q, &r, deadline)))
			return err_of(err, e, cmd);
		rid = json_object_get(r, "id");
		if (json_object_get(r, "event") || !rid ||
		    json_integer_value(rid) != id) {
			json_decref(r);
			continue;	/* an event, or a stale reply */
		}
		if ((rv = json_object_get(r, "return"))) {
			*ret = json_incref(rv);
			json_decref(r);
			return 0;
		}
		re = json_object_get(r, "error");
		e = ks_err_set(err, EREMOTEIO, "qmp", "%s: %s: %s", cmd,
			       json_string_value(json_object_get(re, "class"))
			       ?: "error",
			       json_string_value(json_object_get(re, "desc"))
			       ?: "no description");
		json_decref(r);
		return re ? e : err_of(err, -EPROTO, cmd);
	}
}

/* Fills sa for path; a path too long for sun_path is reached through an
 * O_PATH fd of its directory, returned in *dirfd (to close). */
static int sock_addr(const char *path, struct sockaddr_un *sa, int *dirfd)
{
	const char *slash;
	char dir[PATH_MAX];

	*dirfd = -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) < sizeof(sa->sun_path)) {
		memcpy(sa->sun_path, path, strlen(path));
		return 0;
	}
	slash = strrchr(path, '/');
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*dirfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -errno;
	if (snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s",
		     *dirfd, slash + 1) >= (int)sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int open_socket(const char *path, struct ks_err *err)
{
	struct sockaddr_un sa;
	int fd, dirfd, e;

	if ((e = sock_addr(path, &sa, &dirfd))) {
		if (dirfd >= 0)
			close(dirfd);
		return ks_err_set(err, -e, "qmp", "%s: %s", path, strerror(-e));
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		e = -errno;
	else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		e = errno == EAGAIN ? -EBUSY : -errno;
	if (dirfd >= 0)
		close(dirfd);
	if (e) {
		if (fd >= 0)
			close(fd);
		return ks_err_set(err, -e, "qmp", "connecting to %s: %s", path,
				  e == -EBUSY ? "the monitor's backlog is full" :
				  strerror(-e));
	}
	return fd;
}

static int greeting(struct ks_qmp *q, struct ks_err *err)
{
	json_t *g, *v;
	int e;

	if ((e = read_msg(q, &g, now_ms() + q->timeout_ms)))
		return err_of(err, e, e == -ETIMEDOUT ?
			      "waiting for the greeting (is another client "
			      "connected?)" : "greeting");
	v = json_object_get(json_object_get(json_object_get(g, "QMP"),
					    "version"), "qemu");
	if (!json_object_get(g, "QMP")) {
		json_decref(g);
		return err_of(err, -EPROTO, "greeting");
	}
	q->version = (int)(json_integer_value(json_object_get(v, "major")) *
			   10000 +
			   json_integer_value(json_object_get(v, "minor")) * 100 +
			   json_integer_value(json_object_get(v, "micro")));
	json_decref(g);
	return 0;
}

struct ks_qmp *ks_qmp__connect(const char *path, int timeout_ms,
			       struct ks_err *err)
{
	struct ks_qmp *q = calloc(1, sizeof(*q));
	json_t *r = NULL;

	if (!q) {
		ks_err_set(err, ENOMEM, "qmp", "out of memory");
		return NULL;
	}
	q->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	q->fd = open_socket(path, err);
	if (q->fd < 0 || greeting(q, err) ||
	    ks_qmp__exec(q, "qmp_capabilities", NULL, &r, err)) {
		ks_qmp__close(q);
		return NULL;
	}
	json_decref(r);
	return q;
}

int ks_qmp__version(const struct ks_qmp *q)
{
	return q->version;
}

void ks_qmp__close(struct ks_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	free(q);
}
