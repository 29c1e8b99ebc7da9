/* store.h - persistence of instrumentations and their data (sqlite, WAL).
 *
 * Instrumentations survive restarts: each is saved when created, modified
 * or deleted.  The data of those with persist-data is checkpointed on a
 * timer, so a kill -9 loses at most one checkpoint interval.  Rows are
 * keyed like the engine's instrumentations, by (owner, id).
 *
 * The file is never lost to a fault: it is set aside (renamed to
 * path.bad-TIME, never onto an existing name) only when it is proven
 * damaged - sqlite's integrity check fails, or it is not a kvmscope
 * database.  Busy or locked (an sqlite3 session), a full or read-only
 * file system, a file from a newer kvmscope: the open waits a while, then
 * refuses, and the file stays as it is.  One agent per file: an flock on
 * path.lock, which holds the agent's pid.  The file itself is opened
 * without following a symbolic link and must be a regular file of the
 * agent's user with one link, writable by no one else.
 *
 * Not thread-safe: one thread at a time per ks_store.
 */
#ifndef KS_STORE_STORE_H
#define KS_STORE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "util/err.h"

/* How long a save waits for another process's lock before it fails
 * (and is retried). */
#define KS_STORE_BUSY_MS 1000

struct ks_store;

/* Checks that path, if it exists, can be a state file: not a symbolic
 * link (opened with O_NOFOLLOW), a regular file owned by the agent's
 * user, with no other hard link, writable by no other user.  0, or a
 * negative errno with err (param ""). */
int ks_store_check_file(const char *path, struct ks_err *err);

/* Takes the lock, then opens (creating) the database at path, waiting up
 * to wait_ms for another process's lock.  A proven damaged or foreign
 * file is renamed to path.bad-<time>[.N] and *aside (if non-NULL) set to
 * 1.  NULL with err (param "") saying why when the file cannot be used:
 * another agent holds the lock (-EBUSY, its pid named), the file stays
 * locked, the disk is full or read-only, the schema is newer, or even a
 * fresh database cannot be made. */
struct ks_store *ks_store__open(const char *path, unsigned wait_ms,
				int *aside, struct ks_err *err);
void ks_store__close(struct ks_store *st);

/* The creation parameters that re-create in, as JSON text (malloc'd;
 * NULL: no memory).  CPU only, so it can be taken under the engine lock
 * and written later. */
char *ks_store_params(const struct ks_instn *in);

/* One saved instrumentation: owner is its tenant ('' the operator's),
 * shown the predicate as the tenant wrote it (JSON text, NULL: none). */
struct ks_store_row {
	const char *owner, *id, *params, *shown;
	int64_t crtime_ms;
	bool persist_data;
};

/* Writes are grouped in transactions: begin, writes, commit (which rolls
 * back itself when it fails).  Every write returns 0 or a negative errno:
 * -EBUSY, -ENOSPC, -EROFS, -EIO ... */
int ks_store__begin(struct ks_store *st);
int ks_store__commit(struct ks_store *st);
void ks_store__rollback(struct ks_store *st);
/* Saves r (and, without persist-data, forgets its saved data). */
int ks_store__put_instn(struct ks_store *st, const struct ks_store_row *r);
int ks_store__del_instn(struct ks_store *st, const char *owner,
			const char *id);
/* Saves the data of (owner, id) if that instrumentation is saved. */
int ks_store__put_data(struct ks_store *st, const char *owner,
		       const char *id, int64_t saved_s, const void *blob,
		       size_t len);

/* How a tenant's saved instrumentation returns to its tenant (see
 * http/tenancy.h): limit limits conf, parsed with the predicate the
 * tenant wrote, to the tenant's VMs exactly as a create does and gives the
 * predicate to show (0 or a negative errno with err, conf untouched);
 * adopt records that the restored in belongs to owner and takes shown. */
struct ks_store_owners {
	int (*limit)(void *ctx, const char *owner,
			struct ks_instn_conf *conf, json_t **shown,
			struct ks_err *err);
	int (*adopt)(void *ctx, const char *owner, const struct ks_instn *in,
		     json_t *shown);
	/* The predicate in's tenant wrote, to save with it (borrowed; NULL
	 * for the operator's). */
	const json_t *(*shown)(void *ctx, const struct ks_instn *in);
	void *ctx;
};

/* Re-creates every saved instrumentation in e under its owner and id,
 * with its persisted data, tenants' ones through ow.  With ow NULL, or
 * for a tenant that cannot have it back, a tenant's one comes back as
 * saved, restricted, in the operator's namespace: under its id if the
 * operator has no such id, else under the operator's next one, and is
 * saved as the operator's from then on (with a message).  Rows that no
 * longer parse are skipped and counted in *skipped. */
int ks_store__load(struct ks_store *st, struct ks_engine *e,
		   const struct ks_store_owners *ow, size_t *loaded,
		   size_t *skipped);

#endif /* KS_STORE_STORE_H */
