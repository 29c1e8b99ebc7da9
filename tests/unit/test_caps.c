/* test_caps.c - narrowing capabilities, checked in /proc/self/status.
 *
 * Each case runs in a forked child, since the narrowing cannot be undone;
 * the child reports which check failed by its exit status.  The cases
 * that need something to drop are skipped unless run as root with
 * CAP_SETPCAP.
 */
#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/caps.h"

/* The hex value of "Name:\t%llx" in /proc/self/status, or ~0. */
static uint64_t status_hex(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long v = ~0ULL;
	size_t n = strlen(name);

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':') {
			sscanf(line + n + 1, "%llx", &v);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

static bool privileged(void)
{
	struct ks_caps c;

	return geteuid() == 0 && !ks_caps_get(&c) &&
	       (c.effective & KS_CAP(CAP_SETPCAP));
}

/* Runs fn in a child; returns its exit status (or 100 + signal). */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (!pid)
		_exit(fn());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

#define KEEP (KS_CAP(CAP_SYS_PTRACE) | KS_CAP(CAP_DAC_READ_SEARCH))

static int narrow_child(void)
{
	struct ks_err err;

	if (ks_caps_limit(KEEP, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (status_hex("CapEff") != KEEP)
		return 2;
	if (status_hex("CapPrm") != KEEP)
		return 3;
	if (status_hex("CapBnd") != KEEP)
		return 4;
	if (status_hex("CapInh") != 0 || status_hex("CapAmb") != 0)
		return 5;
	if (status_hex("NoNewPrivs") != 1)
		return 6;
	/* Gone for good: asking for more back fails. */
	if (!ks_caps_limit(KEEP | KS_CAP(CAP_SYS_ADMIN), &err) &&
	    status_hex("CapEff") != KEEP)
		return 7;
	return 0;
}

static void test_narrow(void **state)
{
	(void)state;
	if (!privileged())
		skip();
	assert_int_equal(in_child(narrow_child), 0);
}

static int none_child(void)
{
	struct ks_err err;

	if (ks_caps_limit(0, &err))
		return 1;
	if (status_hex("CapEff") || status_hex("CapPrm") ||
	    status_hex("CapBnd"))
		return 2;
	return 0;
}

static void test_none(void **state)
{
	(void)state;
	if (!privileged())
		skip();
	assert_int_equal(in_child(none_child), 0);
}

static void *idle(void *arg)
{
	pthread_barrier_t *b = arg;

	pthread_barrier_wait(b);	/* started */
	pthread_barrier_wait(b);	/* may end */
	return NULL;
}

static int threads_child(void)
{
	pthread_barrier_t b;
	pthread_t t;
	struct ks_err err;
	int rc;

	pthread_barrier_init(&b, NULL, 2);
	if (pthread_create(&t, NULL, idle, &b))
		return 1;
	pthread_barrier_wait(&b);
	rc = ks_caps_limit(0, &err);
	pthread_barrier_wait(&b);
	pthread_join(t, NULL);
	if (rc != -EBUSY || !strstr(err.msg, "2 threads"))
		return 2;
	return 0;
}

static void test_threads_refused(void **state)
{
	(void)state;
	assert_int_equal(in_child(threads_child), 0);
}

/* Without privileges there is nothing to drop, and asking for something
 * not held is not an error: the result is what is held. */
static int unprivileged_child(void)
{
	struct ks_caps c;
	struct ks_err err;

	if (ks_caps_limit(KEEP, &err) || ks_caps_get(&c))
		return 1;
	if (c.effective & ~KEEP)
		return 2;
	return 0;
}

static void test_unprivileged(void **state)
{
	(void)state;
	if (privileged())
		skip();
	assert_int_equal(in_child(unprivileged_child), 0);
}

static void test_policy_and_names(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(ks_caps_agent_keep(false, false, false), 0);
	assert_int_equal(ks_caps_agent_keep(true, false, false), KEEP);
	assert_int_equal(ks_caps_agent_keep(true, true, true),
			 KEEP | KS_CAP(CAP_DAC_OVERRIDE) | KS_CAP(39));
	ks_caps_names(KEEP, buf, sizeof(buf));
	assert_string_equal(buf, "cap_dac_read_search,cap_sys_ptrace");
	ks_caps_names(KS_CAP(39) | KS_CAP(38), buf, sizeof(buf));
	assert_string_equal(buf, "cap_perfmon,cap_bpf");
	ks_caps_names(KS_CAP(62), buf, sizeof(buf));
	assert_string_equal(buf, "cap_62");
	ks_caps_names(0, buf, sizeof(buf));
	assert_string_equal(buf, "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_narrow),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_threads_refused),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_policy_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
