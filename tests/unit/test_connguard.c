/* test_connguard.c - the connection guard on real socket pairs: a
 * connection past its request deadline is shut down, one answered in time
 * is not, and past the room for silent connections the oldest silent one
 * (never a trusted one) makes way. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "http/connguard.h"

struct pair {
	int srv, cli;	/* the guarded end, and the client's */
};

static void pair_open(struct pair *p)
{
	int fds[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	p->srv = fds[0];
	p->cli = fds[1];
}

static void pair_close(struct pair *p)
{
	close(p->srv);
	close(p->cli);
}

/* True if the client sees its connection ended within ms. */
static bool ended(const struct pair *p, int ms)
{
	struct pollfd pf = { .fd = p->cli, .events = POLLIN };
	char c;

	return poll(&pf, 1, ms) == 1 && read(p->cli, &c, 1) == 0;
}

static void test_deadline(void **state)
{
	struct ks_connguard *g = ks_connguard__new(8, 1, 1);
	struct ks_connguard_conn *slow, *quick;
	struct ks_connguard_stats st;
	struct pair a, b;

	(void)state;
	assert_non_null(g);
	pair_open(&a);
	pair_open(&b);
	slow = ks_connguard__opened(g, a.srv);
	quick = ks_connguard__opened(g, b.srv);
	ks_connguard__answering(g, quick, true);
	assert_true(ended(&a, 2500));	/* 1 s deadline, 250 ms scans */
	assert_false(ended(&b, 100));
	ks_connguard__stats(g, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.open, 2);
	ks_connguard__closed(g, slow);
	ks_connguard__closed(g, quick);
	ks_connguard__free(g);
	pair_close(&a);
	pair_close(&b);
}

static void test_room(void **state)
{
	/* 4 slots, 2 kept: at most 2 silent connections. */
	struct ks_connguard *g = ks_connguard__new(4, 2, 60);
	struct ks_connguard_conn *c[4];
	struct ks_connguard_stats st;
	struct pair p[4];

	(void)state;
	assert_non_null(g);
	for (int i = 0; i < 4; i++)
		pair_open(&p[i]);
	c[0] = ks_connguard__opened(g, p[0].srv);
	ks_connguard__answering(g, c[0], true);	/* trusted */
	ks_connguard__waiting(g, c[0]);		/* idle between requests */
	c[1] = ks_connguard__opened(g, p[1].srv);
	c[2] = ks_connguard__opened(g, p[2].srv);
	assert_false(ended(&p[1], 50));
	c[3] = ks_connguard__opened(g, p[3].srv);	/* the third silent */
	assert_true(ended(&p[1], 500));		/* the oldest silent one */
	assert_false(ended(&p[0], 50));		/* trusted: kept */
	assert_false(ended(&p[2], 50));
	assert_false(ended(&p[3], 50));
	ks_connguard__stats(g, &st);
	assert_int_equal(st.evicted, 1);
	for (int i = 0; i < 4; i++) {
		ks_connguard__closed(g, c[i]);
		pair_close(&p[i]);
	}
	ks_connguard__closed(g, NULL);
	ks_connguard__free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
