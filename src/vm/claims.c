/* claims.c - the disk claims (see claims.h): a small growable set. */
#include "vm/claims.h"

#include <errno.h>
#include <stdlib.h>

static uint64_t *claims;
static size_t nclaims, capclaims;

bool ks_disk_claimed(uint64_t serial)
{
	for (size_t i = 0; i < nclaims; i++)
		if (claims[i] == serial)
			return true;
	return false;
}

int ks_claim_disk(uint64_t serial)
{
	if (ks_disk_claimed(serial))
		return 0;
	if (nclaims == capclaims) {
		size_t cap = capclaims ? capclaims * 2 : 16;
		uint64_t *nv = realloc(claims, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		claims = nv;
		capclaims = cap;
	}
	claims[nclaims++] = serial;
	return 0;
}

void ks_unclaim_disk(uint64_t serial)
{
	for (size_t i = 0; i < nclaims; i++) {
		if (claims[i] != serial)
			continue;
		claims[i] = claims[--nclaims];
		break;
	}
	if (!nclaims) {
		/* Nothing left to remember: give the memory back (and keep
		 * leak checkers quiet at exit). */
		free(claims);
		claims = NULL;
		capclaims = 0;
	}
}
