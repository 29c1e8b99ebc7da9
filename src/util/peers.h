/* peers.h - the other agents an operator's UI links to.
 *
 * One agent watches one host; an operator with several hosts moves
 * between their UIs.  `peers` (config key, or --peers) names them as
 * "LABEL=URL[,LABEL=URL...]": the agent does nothing with them but list
 * them in its operator status, where the web UI shows them as links.
 * Labels are short words and URLs plain http(s) URLs, checked here so
 * that nothing odd reaches a page.
 */
#ifndef KS_UTIL_PEERS_H
#define KS_UTIL_PEERS_H

#include <stddef.h>

#include "util/err.h"

#define KS_PEERS_MAX 32
#define KS_PEER_LABEL_MAX 48
#define KS_PEER_URL_MAX 256

struct ks_peer {
	char label[KS_PEER_LABEL_MAX];
	char url[KS_PEER_URL_MAX];
};

/* Parses list into out[0..*n) (out may be NULL to only check it; max is
 * then ignored).  0, or -EINVAL with err naming param and the bad item. */
int ks_peers_parse(const char *list, const char *param, struct ks_peer *out,
		   size_t max, size_t *n, struct ks_err *err);

#endif /* KS_UTIL_PEERS_H */
