/* tokens.h - the token file: who may use the API, and on which VMs.
 *
 * Each line of the file (`kvmscope serve --tokens FILE`) grants one bearer
 * token a scope:
 *
 *     TOKEN operator
 *     TOKEN tenant NAME VM[,VM...]
 *
 * An operator sees and instruments every VM, at /ca/... and at any
 * tenant's /ca/customers/NAME/...; a tenant uses only its own routes,
 * /ca/customers/NAME/..., and sees only the VMs listed: each entry is a VM
 * name, or a UUID (8-4-4-4-12 hex digits) matched against the VM's uuid.
 * Several tokens may share one tenant (rotation) if they list the same
 * VMs.  Blank lines and lines starting with '#' are ignored.
 *
 * Tokens are secrets: the file must be private (mode 600 or stricter,
 * owned by root or the agent's user), tokens are at least 16 characters
 * of RFC 6750's token alphabet, no message ever quotes one, and they are
 * compared in time independent of where they differ.
 */
#ifndef KS_HTTP_TOKENS_H
#define KS_HTTP_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define KS_TOKEN_MIN_LEN 16
#define KS_TOKEN_MAX_LEN 256
#define KS_TENANT_NAME_MAX 64
#define KS_TENANT_MAX_VMS 64
#define KS_TENANT_VM_MAX 128	/* characters in one VM name or uuid */
#define KS_TOKENS_MAX_SIZE (1024 * 1024)

struct ks_tenant {
	char name[KS_TENANT_NAME_MAX + 1];
	size_t nvms;
	char **vms;		/* names or uuids, as listed */
};

struct ks_token {
	char *secret;
	size_t len;
	const struct ks_tenant *tenant;	/* NULL: operator */
	unsigned int line;
};

struct ks_tokens {
	size_t ntokens;
	struct ks_token *tokens;
	size_t ntenants;
	struct ks_tenant **tenants;
};

/* Parses the text of a token file; path is for messages only.  NULL with
 * err (msg "FILE:LINE: ...", never quoting a token) on any bad line. */
struct ks_tokens *ks_tokens__parse(const char *text, const char *path,
				   struct ks_err *err);
/* Reads and parses the file, refusing one that group or others may read
 * (util/fileio.h).  NULL with err (param "--tokens"). */
struct ks_tokens *ks_tokens__load(const char *path, struct ks_err *err);
void ks_tokens__free(struct ks_tokens *t);

/* The token matching secret (len bytes), or NULL.  Every token is
 * compared in full, so timing does not tell how much of a guess was
 * right. */
const struct ks_token *ks_tokens__find(const struct ks_tokens *t,
				       const char *secret, size_t len);
/* The tenant of that name, or NULL. */
const struct ks_tenant *ks_tokens__tenant(const struct ks_tokens *t,
					  const char *name);

/* The tenant that lists this VM, as tenancy.h restricts: an entry
 * written as a UUID matches vmuuid, any other entry the name vm.  The
 * first in the file's order; NULL if none. */
const struct ks_tenant *ks_tokens__owner(const struct ks_tokens *t,
					 const char *vm, const char *vmuuid);
/* An entry that two tenants both list (*a and *b, when non-NULL, get
 * them), or NULL: such a VM cannot carry one tenant label. */
const char *ks_tokens__shared_vm(const struct ks_tokens *t,
				 const struct ks_tenant **a,
				 const struct ks_tenant **b);

/* True if s has the form of a UUID (matched against the vmuuid field). */
bool ks_tokens_is_uuid(const char *s);

#endif /* KS_HTTP_TOKENS_H */
