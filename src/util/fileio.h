/* fileio.h - reading the small files that configure the agent.
 *
 * The config file, the token file and the TLS certificate and key are all
 * read whole, once, at start.  One reader does it so every one of them
 * gets the same checks and the same clear errors: a regular file, not
 * larger than a bound, and for secrets (tokens, private keys) not
 * readable or writable by anyone but its owner, who must be root or the
 * user running the agent (as sshd treats its keys).  The checks run on the
 * opened descriptor, so the file checked is the file read.
 */
#ifndef KS_UTIL_FILEIO_H
#define KS_UTIL_FILEIO_H

#include <stddef.h>

#include "util/err.h"

/* Refuse the file if group or others have any permission on it, or if it
 * is owned by someone other than root or the effective user. */
#define KS_FILE_PRIVATE 0x1u
/* Refuse the file only if others (not the group) may read or write it:
 * private keys kept group-readable for a key group (Debian's ssl-cert). */
#define KS_FILE_NOT_WORLD 0x2u

/* Reads path whole into *out (malloc'd, NUL-terminated; *len bytes before
 * the NUL, len may be NULL).  A file holding a NUL byte is refused, since
 * every caller expects text.  0, or a negative errno with err naming
 * param and the file. */
int ks_file_read(const char *path, size_t max, unsigned int flags,
		 const char *param, char **out, size_t *len,
		 struct ks_err *err);

#endif /* KS_UTIL_FILEIO_H */
