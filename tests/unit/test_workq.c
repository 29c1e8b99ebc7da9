/* test_workq.c - one worker thread and a bounded queue: jobs run in push
 * order, a push says how many jobs are ahead of it, a full queue refuses,
 * and freeing drops what never ran (after the running job ends).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "util/workq.h"

/* The jobs are ints; the first one run waits at the gate until opened. */
struct log {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool gate_open, started;
	int ran[8], nran, dropped[8], ndropped;
};

static void run(void *ctx, void *job)
{
	struct log *l = ctx;

	pthread_mutex_lock(&l->lock);
	l->started = true;
	pthread_cond_broadcast(&l->cond);
	while (!l->gate_open)
		pthread_cond_wait(&l->cond, &l->lock);
	l->ran[l->nran++] = *(int *)job;
	pthread_mutex_unlock(&l->lock);
}

static void drop(void *ctx, void *job)
{
	struct log *l = ctx;

	l->dropped[l->ndropped++] = *(int *)job;
}

static void wait_started(struct log *l)
{
	pthread_mutex_lock(&l->lock);
	while (!l->started)
		pthread_cond_wait(&l->cond, &l->lock);
	pthread_mutex_unlock(&l->lock);
}

static void open_gate(struct log *l)
{
	pthread_mutex_lock(&l->lock);
	l->gate_open = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static void *open_later(void *arg)
{
	struct timespec t = { 0, 50 * 1000000L };

	nanosleep(&t, NULL);
	open_gate(arg);
	return NULL;
}

/* Waits (5 s at most) until q has nothing queued or running. */
static void idle(struct ks_workq *q, struct ks_workq_stats *st)
{
	struct timespec t = { 0, 1000000L };

	for (int i = 0; i < 5000; i++) {
		ks_workq__stats(q, st);
		if (!st->queued)
			return;
		nanosleep(&t, NULL);
	}
	fail_msg("the worker is still busy after 5 s");
}

#define LOG_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER }

/* Jobs 0, 1 and 2 of jobs: 0 runs (held at the gate), 1 and 2 wait. */
static void push_three(struct ks_workq *q, struct log *l, int *jobs)
{
	assert_non_null(q);
	assert_int_equal(ks_workq__push(q, &jobs[0]), 0);
	wait_started(l);
	assert_int_equal(ks_workq__push(q, &jobs[1]), 1);
	assert_int_equal(ks_workq__push(q, &jobs[2]), 2);
}

static void test_order_and_ahead(void **state)
{
	struct log l = LOG_INIT;
	int jobs[4] = { 1, 2, 3, 4 };
	struct ks_workq *q = ks_workq__new(4, run, drop, &l);
	struct ks_workq_stats st;

	(void)state;
	push_three(q, &l, jobs);
	open_gate(&l);
	idle(q, &st);
	assert_int_equal(st.done, 3);
	/* idle again: the next job starts at once */
	assert_int_equal(ks_workq__push(q, &jobs[3]), 0);
	idle(q, &st);
	ks_workq__free(q);
	assert_int_equal(l.nran, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(l.ran[i], i + 1);
	assert_int_equal(l.ndropped, 0);
}

static void test_full_and_free(void **state)
{
	struct log l = LOG_INIT;
	int jobs[4] = { 1, 2, 3, 4 };
	struct ks_workq *q = ks_workq__new(2, run, drop, &l);
	struct ks_workq_stats st;
	pthread_t th;

	(void)state;
	push_three(q, &l, jobs);
	assert_int_equal(ks_workq__push(q, &jobs[3]), -EAGAIN);
	ks_workq__stats(q, &st);
	assert_int_equal(st.pushed, 3);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.queued, 3);
	/* freed while job 1 runs: it ends, 2 and 3 are dropped unrun */
	assert_int_equal(pthread_create(&th, NULL, open_later, &l), 0);
	ks_workq__free(q);
	pthread_join(th, NULL);
	assert_int_equal(l.nran, 1);
	assert_int_equal(l.ran[0], 1);
	assert_int_equal(l.ndropped, 2);
	assert_int_equal(l.dropped[0], 2);
	assert_int_equal(l.dropped[1], 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_ahead),
		cmocka_unit_test(test_full_and_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
