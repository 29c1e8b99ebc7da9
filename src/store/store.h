/* store.h - persistence of instrumentations and their data (sqlite, WAL).
 *
 * Instrumentations survive restarts: each is saved when created, modified
 * or deleted.  The data of those with persist-data is checkpointed by
 * ks_store__checkpoint(), which the agent calls on a timer, so a kill -9
 * loses at most one checkpoint interval.  Rows are keyed like the engine's
 * instrumentations, by (owner, id).  A database that is corrupt or not
 * kvmscope's is moved aside with a message and a clean one started.
 */
#ifndef KS_STORE_STORE_H
#define KS_STORE_STORE_H

#include <jansson.h>
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

/* Saves in under its key (in->owner, in->id): in->owner is the tenant
 * who wrote the predicate shown (NULL: none, or the operator's). */
int ks_store__put_instn(struct ks_store *st, const struct ks_instn *in,
			const json_t *shown);
int ks_store__del_instn(struct ks_store *st, const char *owner,
			const char *id);
/* Saves the data of every instrumentation with persist-data, in one
 * transaction; removes saved data of those without.  0 or -EIO. */
int ks_store__checkpoint(struct ks_store *st, struct ks_engine *e);
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
