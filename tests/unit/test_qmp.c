/* test_qmp.c - the QMP client against a scripted monitor.
 *
 * A thread plays QEMU's side of a unix socket: the greeting, the
 * capabilities handshake, then a scenario - replies split across writes
 * and pretty-printed over several lines, events in between, error
 * replies, silence, a hang-up, garbage.  The client must return the right
 * value or the right error, and never wait past its timeout.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vm/qmp.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, " \
		 "\"minor\": 2, \"major\": 7}, \"package\": \"\"}, " \
		 "\"capabilities\": [\"oob\"]}}\r\n"

struct server {
	char dir[64];
	char path[256];
	int lfd;
	pthread_t th;
	void (*scenario)(int fd);
};

static void wr(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Reads one request line; returns its "id" value (as text) in id. */
static int rd_request(int fd, char *id, size_t size)
{
	char buf[4096], *p;
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, 1);

		if (n <= 0)
			return -1;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	p = strstr(buf, "\"id\":");
	if (!p)
		return -1;
	snprintf(id, size, "%.*s", (int)strspn(p + 5, "0123456789"), p + 5);
	return 0;
}

/* Greeting and capabilities, as QEMU does them. */
static void handshake(int fd)
{
	char id[32], rsp[128];

	wr(fd, GREETING);
	if (rd_request(fd, id, sizeof(id)))
		return;
	snprintf(rsp, sizeof(rsp), "{\"return\": {}, \"id\": %s}\r\n", id);
	wr(fd, rsp);
}

static void *serve(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);

	if (fd >= 0) {
		s->scenario(fd);
		close(fd);
	}
	return NULL;
}

static void start(struct server *s, void (*scenario)(int fd), bool longpath)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char sub[200], cwd[512];

	snprintf(s->dir, sizeof(s->dir), "/tmp/ks-qmp.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	if (longpath) {
		/* Longer than sun_path: bound from inside the directory. */
		snprintf(sub, sizeof(sub), "%s/%0120d", s->dir, 7);
		assert_int_equal(mkdir(sub, 0700), 0);
		snprintf(s->path, sizeof(s->path), "%s/m.sock", sub);
		assert_non_null(getcwd(cwd, sizeof(cwd)));
		assert_int_equal(chdir(sub), 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "m.sock");
	} else {
		snprintf(s->path, sizeof(s->path), "%s/m.sock", s->dir);
		assert_true(strlen(s->path) < sizeof(sa.sun_path));
		memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	}
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 1), 0);
	if (longpath)
		assert_int_equal(chdir(cwd), 0);
	s->scenario = scenario;
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void stop(struct server *s)
{
	char cmd[128];

	pthread_join(s->th, NULL);
	close(s->lfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	assert_int_equal(system(cmd), 0);
}

static int64_t ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- scenarios -------------------------------------------------------------- */

/* An event first, then the reply in two pieces, the second pretty. */
static void sc_ok(int fd)
{
	char id[32], rsp[256];

	handshake(fd);
	if (rd_request(fd, id, sizeof(id)))
		return;
	wr(fd, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
	       "\"event\": \"RESUME\"}\r\n");
	wr(fd, "{\"return\": [{\"device\": \"d0\", \"stats\"");
	usleep(20000);
	snprintf(rsp, sizeof(rsp), ": {\n  \"rd_operations\": 5\n }}],\n"
		 " \"id\": %s}\r\n", id);
	wr(fd, rsp);
	/* A second command on the same connection. */
	if (rd_request(fd, id, sizeof(id)))
		return;
	snprintf(rsp, sizeof(rsp), "{\"return\": {}, \"id\": %s}\r\n", id);
	wr(fd, rsp);
}

static void sc_error(int fd)
{
	char id[32], rsp[256];

	handshake(fd);
	if (rd_request(fd, id, sizeof(id)))
		return;
	snprintf(rsp, sizeof(rsp), "{\"error\": {\"class\": \"DeviceNotFound\", "
		 "\"desc\": \"Device 'x' not found\"}, \"id\": %s}\r\n", id);
	wr(fd, rsp);
}

/* Another client holds the monitor: QEMU says nothing at all. */
static void sc_silent(int fd)
{
	char c;

	(void)!read(fd, &c, 1);	/* until the client gives up */
}

static void sc_hangup(int fd)
{
	char id[32];

	handshake(fd);
	rd_request(fd, id, sizeof(id));	/* then close: the VM went away */
}

static void sc_garbage(int fd)
{
	char id[32];

	handshake(fd);
	if (!rd_request(fd, id, sizeof(id)))
		wr(fd, "this is not json\r\n");
}

static void sc_not_qmp(int fd)
{
	wr(fd, "{\"hello\": 1}\r\n");
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_exec(void **state)
{
	struct server s;
	struct ks_qmp *q;
	struct ks_err err;
	json_t *ret;

	(void)state;
	start(&s, sc_ok, false);
	q = ks_qmp__connect(s.path, 2000, &err);
	assert_non_null(q);
	assert_int_equal(ks_qmp__version(q), 70222);
	assert_int_equal(ks_qmp__exec(q, "query-blockstats", NULL, &ret, &err), 0);
	assert_true(json_is_array(ret));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		json_array_get(ret, 0), "stats"), "rd_operations")), 5);
	json_decref(ret);
	assert_int_equal(ks_qmp__exec(q, "stop", NULL, &ret, &err), 0);
	assert_true(json_is_object(ret));
	json_decref(ret);
	ks_qmp__close(q);
	stop(&s);
}

static void test_error_reply(void **state)
{
	struct server s;
	struct ks_qmp *q;
	struct ks_err err;
	json_t *ret, *args = json_pack("{s:s}", "id", "x");

	(void)state;
	start(&s, sc_error, false);
	q = ks_qmp__connect(s.path, 2000, &err);
	assert_non_null(q);
	assert_int_equal(ks_qmp__exec(q, "block-latency-histogram-set", args,
				      &ret, &err), -EREMOTEIO);
	assert_null(ret);
	assert_string_equal(err.param, "qmp");
	assert_non_null(strstr(err.msg, "DeviceNotFound"));
	assert_non_null(strstr(err.msg, "Device 'x' not found"));
	json_decref(args);
	ks_qmp__close(q);
	stop(&s);
}

static void test_timeout(void **state)
{
	struct server s;
	struct ks_err err;
	int64_t t0;

	(void)state;
	start(&s, sc_silent, false);
	t0 = ms_now();
	assert_null(ks_qmp__connect(s.path, 200, &err));
	assert_true(ms_now() - t0 >= 190);
	assert_true(ms_now() - t0 < 1500);
	assert_non_null(strstr(err.msg, "timed out"));
	stop(&s);
}

static void test_hangup(void **state)
{
	struct server s;
	struct ks_qmp *q;
	struct ks_err err;
	json_t *ret;
	int e;

	(void)state;
	start(&s, sc_hangup, false);
	q = ks_qmp__connect(s.path, 2000, &err);
	assert_non_null(q);
	e = ks_qmp__exec(q, "query-blockstats", NULL, &ret, &err);
	assert_true(e == -ECONNRESET || e == -EPIPE);
	ks_qmp__close(q);
	stop(&s);
}

static void test_garbage(void **state)
{
	struct server s;
	struct ks_qmp *q;
	struct ks_err err;
	json_t *ret;

	(void)state;
	start(&s, sc_garbage, false);
	q = ks_qmp__connect(s.path, 2000, &err);
	assert_non_null(q);
	assert_int_equal(ks_qmp__exec(q, "query-blockstats", NULL, &ret, &err),
			 -EPROTO);
	ks_qmp__close(q);
	stop(&s);

	start(&s, sc_not_qmp, false);
	assert_null(ks_qmp__connect(s.path, 2000, &err));
	assert_non_null(strstr(err.msg, "not QMP"));
	stop(&s);
}

static void test_paths(void **state)
{
	struct server s;
	struct ks_qmp *q;
	struct ks_err err;

	(void)state;
	assert_null(ks_qmp__connect("/nonexistent/dir/q.sock", 100, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/dir/q.sock"));
	start(&s, sc_ok, true);
	assert_true(strlen(s.path) >= sizeof(((struct sockaddr_un *)0)->sun_path));
	q = ks_qmp__connect(s.path, 2000, &err);
	assert_non_null(q);
	ks_qmp__close(q);
	stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_hangup),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
