/* connguard.h - keeps slow or silent clients from holding the server's
 * connection slots.
 *
 * An idle timeout alone does not stop a client that sends one header line
 * every few seconds ("slowloris"): it is never idle, and 64 such
 * connections hold every slot while the operator waits.  The guard tracks
 * every connection the server holds and enforces two rules:
 *
 *   - a deadline: a request must arrive whole (request line, headers and
 *     body) within deadline_s of the connection opening or of the previous
 *     answer, whatever trickles in meanwhile; past it the connection is
 *     shut down;
 *   - room for trusted clients: connections still waiting for a first
 *     request that was let in (any answer but 401 or 403) may hold at most
 *     max_conns - reserve slots; a new connection past that shuts down the
 *     oldest of them, so a client that sends its request at once always
 *     gets in, and a connection that has been answered keeps its slot.
 *
 * Shutting down (shutdown(2), never close) happens from the guard's own
 * thread or from the thread opening a connection, under the guard's lock;
 * the server removes a connection under the same lock before its socket
 * is closed, so the descriptor is always the connection's own.
 */
#ifndef KS_HTTP_CONNGUARD_H
#define KS_HTTP_CONNGUARD_H

#include <stdbool.h>
#include <stdint.h>

struct ks_connguard;
struct ks_connguard_conn;

struct ks_connguard_stats {
	uint64_t expired;	/* shut down at the deadline */
	uint64_t evicted;	/* shut down to make room */
	unsigned int open;	/* connections held now */
};

/* NULL on failure (memory, thread).  reserve < max_conns. */
struct ks_connguard *ks_connguard__new(unsigned int max_conns,
				       unsigned int reserve,
				       unsigned int deadline_s);
/* Stops the guard's thread; every connection must have been closed. */
void ks_connguard__free(struct ks_connguard *g);

/* A connection on socket fd opened; NULL when out of memory (the
 * connection is then not guarded). */
struct ks_connguard_conn *ks_connguard__opened(struct ks_connguard *g, int fd);
/* Its request has arrived whole: the deadline stops.  trusted: it was let
 * in (not 401/403), so it is never shut down to make room (a call with
 * false leaves an earlier true as it was). */
void ks_connguard__answering(struct ks_connguard *g,
			     struct ks_connguard_conn *c, bool trusted);
/* Its answer is sent: the deadline runs again for the next request. */
void ks_connguard__waiting(struct ks_connguard *g,
			   struct ks_connguard_conn *c);
/* It is about to be closed: forgotten (c is freed).  NULL is ignored. */
void ks_connguard__closed(struct ks_connguard *g, struct ks_connguard_conn *c);

void ks_connguard__stats(struct ks_connguard *g, struct ks_connguard_stats *s);

#endif /* KS_HTTP_CONNGUARD_H */
