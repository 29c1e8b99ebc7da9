/* store.h - persistence of instrumentations and their data (sqlite, WAL).
 *
 * Instrumentations survive restarts: each is saved when created, modified
 * or deleted.  The data of those with persist-data is checkpointed by
 * ks_store__checkpoint(), which the agent calls on a timer, so a kill -9
 * loses at most one checkpoint interval.  A database that is corrupt or not
 * kvmscope's is moved aside with a message and a clean one started.
 */
#ifndef KS_STORE_STORE_H
#define KS_STORE_STORE_H

#include <stddef.h>

#include "engine/engine.h"
#include "util/err.h"

struct ks_store;

/* Opens (creating) the database at path.  If the file is not a kvmscope
 * database or is damaged, it is renamed to path.bad-<time> and *aside (if
 * non-NULL) is set to 1.  NULL with err filled when even a fresh database
 * cannot be made. */
struct ks_store *ks_store__open(const char *path, int *aside,
				struct ks_err *err);
void ks_store__close(struct ks_store *st);

int ks_store__put_instn(struct ks_store *st, const struct ks_instn *in);
int ks_store__del_instn(struct ks_store *st, const char *id);
/* Saves the data of every instrumentation with persist-data, in one
 * transaction; removes saved data of those without.  0 or -EIO. */
int ks_store__checkpoint(struct ks_store *st, struct ks_engine *e);
/* Re-creates every saved instrumentation in e, with its persisted data.
 * Rows that no longer parse are skipped and counted in *skipped. */
int ks_store__load(struct ks_store *st, struct ks_engine *e, size_t *loaded,
		   size_t *skipped);

#endif /* KS_STORE_STORE_H */
