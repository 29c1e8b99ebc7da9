/* workq.h - one worker thread and a bounded queue of jobs.
 *
 * For work a request should not wait for: the request pushes a job and
 * answers at once (the heatmap resources hand a live view's next picture
 * to a drawing thread, http/api_heatmap.c).  One thread, so that such
 * work takes at most one core from the threads that answer; a bounded
 * queue, so that a burst cannot grow it: a push past the bound is refused
 * and the caller does the work itself.  Jobs are run in push order.  The
 * worker blocks every signal (the process handles its own).
 */
#ifndef KS_UTIL_WORKQ_H
#define KS_UTIL_WORKQ_H

#include <stddef.h>
#include <stdint.h>

struct ks_workq;

/* Runs one job (on the worker), or drops one never run (at __free). */
typedef void (*ks_workq_fn)(void *ctx, void *job);

struct ks_workq_stats {
	uint64_t pushed, done, refused, dropped;
	size_t queued;		/* now, the running one included */
};

/* A queue of at most max_jobs waiting jobs (at least 1), run by run(ctx,
 * job) on a thread of its own; drop(ctx, job) frees a job that __free
 * finds waiting.  NULL with errno set on failure. */
struct ks_workq *ks_workq__new(size_t max_jobs, ks_workq_fn run,
			       ks_workq_fn drop, void *ctx);
/* Drops the waiting jobs, waits for the running one, ends the thread. */
void ks_workq__free(struct ks_workq *q);

/* Queues job: the number of jobs ahead of it (0: it starts now), or
 * -EAGAIN when the queue is full (the caller keeps the job). */
int ks_workq__push(struct ks_workq *q, void *job);
void ks_workq__stats(struct ks_workq *q, struct ks_workq_stats *st);

#endif /* KS_UTIL_WORKQ_H */
