/* qmp.h - a small QMP client: one QEMU monitor socket, one command at a
 * time.
 *
 * Connects to a QMP unix socket, reads the greeting, negotiates
 * capabilities (qmp_capabilities), then runs commands one by one, each
 * with a deadline.  Asynchronous events that arrive in between are
 * skipped.  Every wait is bounded by the timeout, so a VM that hangs, goes
 * away or whose monitor is busy with another client (a QMP socket serves
 * one client at a time: QEMU does not even send the greeting until the
 * other one leaves) costs at most the timeout, never a stuck agent.
 * SIGPIPE is never raised (MSG_NOSIGNAL).  After any error the connection
 * is unusable and should be closed.
 */
#ifndef KS_VM_QMP_H
#define KS_VM_QMP_H

#include <jansson.h>

#include "util/err.h"

/* The largest reply accepted; beyond it the connection is dropped. */
#define KS_QMP_MAX_REPLY (16u << 20)

struct ks_qmp;

/* Connects to the unix socket at path (any length: long paths go through
 * /proc/self/fd) and negotiates.  NULL with err filled: "qmp" and why
 * (no such socket, refused, timed out waiting for the greeting, not QMP). */
struct ks_qmp *ks_qmp__connect(const char *path, int timeout_ms,
			       struct ks_err *err);

/* Runs cmd with args (borrowed; NULL for none).  On success 0 and *ret
 * holds the "return" value (a new reference; the caller json_decref()s
 * it).  A QMP error reply gives -EREMOTEIO with its class and desc in
 * err; -ETIMEDOUT, -EPIPE/-ECONNRESET (QEMU went away), -EPROTO (not
 * QMP) or -ENOMEM otherwise. */
int ks_qmp__exec(struct ks_qmp *q, const char *cmd, json_t *args,
		 json_t **ret, struct ks_err *err);

/* QEMU's version from the greeting: major * 10000 + minor * 100 + micro,
 * or 0 if it did not say. */
int ks_qmp__version(const struct ks_qmp *q);

void ks_qmp__close(struct ks_qmp *q);

#endif /* KS_VM_QMP_H */
