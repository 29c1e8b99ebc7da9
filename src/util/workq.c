/* workq.c - one worker thread and a bounded queue of jobs.
 *
 * A ring of job pointers under one mutex; the worker sleeps on a
 * condition variable while the ring is empty.  "Ahead" counts the job
 * being run too, so a push that returns 0 knows its job starts at once:
 * a caller may then wait for it, where one queued behind others would
 * rather not (api_heatmap.c).
 */
#include "util/workq.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

struct ks_workq {
	pthread_mutex_t lock;
	pthread_cond_t more;
	pthread_t th;
	void **ring;
	size_t cap, head, n;
	bool running;		/* a job is being run */
	bool stop;
	ks_workq_fn run, drop;
	void *ctx;
	struct ks_workq_stats st;
};

static void *worker(void *arg)
{
	struct ks_workq *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		void *job;

		while (!q->n && !q->stop)
			pthread_cond_wait(&q->more, &q->lock);
		if (q->stop)
			break;
		job = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
		q->running = true;
		pthread_mutex_unlock(&q->lock);
		q->run(q->ctx, job);
		pthread_mutex_lock(&q->lock);
		q->running = false;
		q->st.done++;
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Starts the worker with every signal blocked (it inherits the mask). */
static int start(struct ks_workq *q)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->th, NULL, worker, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

struct ks_workq *ks_workq__new(size_t max_jobs, ks_workq_fn run,
			       ks_workq_fn drop, void *ctx)
{
	struct ks_workq *q = calloc(1, sizeof(*q));
	int rc;

	if (!q)
		return NULL;
	q->cap = max_jobs ? max_jobs : 1;
	q->run = run;
	q->drop = drop;
	q->ctx = ctx;
	if (!(q->ring = calloc(q->cap, sizeof(*q->ring)))) {
		free(q);
		return NULL;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->more, NULL);
	if ((rc = start(q))) {
		pthread_cond_destroy(&q->more);
		pthread_mutex_destroy(&q->lock);
		free(q->ring);
		free(q);
		errno = rc;
		return NULL;
	}
	return q;
}

void ks_workq__free(struct ks_workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->th, NULL);
	for (; q->n; q->n--, q->head = (q->head + 1) % q->cap) {
		q->st.dropped++;
		if (q->drop)
			q->drop(q->ctx, q->ring[q->head]);
	}
	pthread_cond_destroy(&q->more);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

int ks_workq__push(struct ks_workq *q, void *job)
{
	int ahead;

	pthread_mutex_lock(&q->lock);
	if (q->n == q->cap || q->stop) {
		q->st.refused++;
		pthread_mutex_unlock(&q->lock);
		return -EAGAIN;
	}
	ahead = (int)q->n + q->running;
	q->ring[(q->head + q->n) % q->cap] = job;
	q->n++;
	q->st.pushed++;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
	return ahead;
}

void ks_workq__stats(struct ks_workq *q, struct ks_workq_stats *st)
{
	pthread_mutex_lock(&q->lock);
	*st = q->st;
	st->queued = q->n + q->running;
	pthread_mutex_unlock(&q->lock);
}
