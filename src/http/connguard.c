/* connguard.c - deadlines and room for the server's connections (see
 * connguard.h).
 *
 * The connections are a list in opening order under one lock; the server
 * holds at most a thousand or so, so a scan per opening and per quarter
 * second costs nothing worth an index.  The guard's thread wakes four
 * times a second to shut down what is past its deadline; a deadline is
 * therefore kept to within a quarter second.
 */
#include "http/connguard.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "util/clock.h"

#define SCAN_NS (KS_NS_PER_S / 4)

struct ks_connguard_conn {
	struct ks_connguard_conn *prev, *next;
	int fd;
	int64_t since;		/* monotonic ns the deadline runs from */
	bool waiting;		/* for a whole request: the deadline runs */
	bool trusted;		/* was let in once: never evicted */
	bool shut;		/* shut down already */
};

struct ks_connguard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stop;
	struct ks_connguard_conn *head, *tail;
	unsigned int room;	/* untrusted waiting connections allowed */
	int64_t deadline_ns;
	struct ks_connguard_stats st;
};

/* Shuts c's socket down (locked): the server sees the end and closes it. */
static void shut(struct ks_connguard_conn *c)
{
	if (c->shut)
		return;
	c->shut = true;
	shutdown(c->fd, SHUT_RDWR);
}

static void expire(struct ks_connguard *g, int64_t now)
{
	for (struct ks_connguard_conn *c = g->head; c; c = c->next)
		if (c->waiting && !c->shut && now - c->since > g->deadline_ns) {
			shut(c);
			g->st.expired++;
		}
}

static void *guard_main(void *arg)
{
	struct ks_connguard *g = arg;
	struct timespec ts;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		expire(g, ks_clock_mono_ns());
		ts = ks_clock_deadline(CLOCK_MONOTONIC, SCAN_NS);
		pthread_cond_timedwait(&g->wake, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct ks_connguard *ks_connguard__new(unsigned int max_conns,
				       unsigned int reserve,
				       unsigned int deadline_s)
{
	struct ks_connguard *g = calloc(1, sizeof(*g));
	pthread_condattr_t ca;

	if (!g)
		return NULL;
	g->room = reserve < max_conns ? max_conns - reserve : 1;
	g->deadline_ns = (int64_t)deadline_s * KS_NS_PER_S;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->thread, NULL, guard_main, g)) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return NULL;
	}
	return g;
}

void ks_connguard__free(struct ks_connguard *g)
{
	struct ks_connguard_conn *c, *next;

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	for (c = g->head; c; c = next) {
		next = c->next;
		free(c);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* Shuts down the oldest untrusted waiting connection if there are more
 * than room of them (locked). */
static void make_room(struct ks_connguard *g)
{
	struct ks_connguard_conn *oldest = NULL;
	unsigned int n = 0;

	for (struct ks_connguard_conn *c = g->head; c; c = c->next)
		if (c->waiting && !c->trusted && !c->shut) {
			if (!oldest)
				oldest = c;
			n++;
		}
	if (n > g->room && oldest) {
		shut(oldest);
		g->st.evicted++;
	}
}

struct ks_connguard_conn *ks_connguard__opened(struct ks_connguard *g, int fd)
{
	struct ks_connguard_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->waiting = true;
	c->since = ks_clock_mono_ns();
	pthread_mutex_lock(&g->lock);
	c->prev = g->tail;
	if (g->tail)
		g->tail->next = c;
	else
		g->head = c;
	g->tail = c;
	g->st.open++;
	make_room(g);
	pthread_mutex_unlock(&g->lock);
	return c;
}

void ks_connguard__answering(struct ks_connguard *g,
			     struct ks_connguard_conn *c, bool trusted)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->waiting = false;
	c->trusted |= trusted;
	pthread_mutex_unlock(&g->lock);
}

void ks_connguard__waiting(struct ks_connguard *g,
			   struct ks_connguard_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->waiting = true;
	c->since = ks_clock_mono_ns();
	pthread_mutex_unlock(&g->lock);
}

void ks_connguard__closed(struct ks_connguard *g, struct ks_connguard_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		g->tail = c->prev;
	g->st.open--;
	pthread_mutex_unlock(&g->lock);
	free(c);
}

void ks_connguard__stats(struct ks_connguard *g, struct ks_connguard_stats *s)
{
	pthread_mutex_lock(&g->lock);
	*s = g->st;
	pthread_mutex_unlock(&g->lock);
}
