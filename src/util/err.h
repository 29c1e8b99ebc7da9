/* err.h - error details for bad input, for clear messages to users.
 *
 * Functions that validate user input (API parameters, predicates, trace
 * files, config) return a negative errno and fill a ks_err with the name of
 * the offending parameter and a sentence saying what is wrong with it.  The
 * HTTP layer turns it into a 4xx JSON body, the CLI into a line on stderr.
 */
#ifndef KS_UTIL_ERR_H
#define KS_UTIL_ERR_H

#include <stdarg.h>

struct ks_err {
	char param[64];		/* offending parameter, "" if none */
	char msg[256];		/* what is wrong, one sentence, no newline */
};

/* Sets err (if non-NULL) and returns -code, so callers can write
 * `return ks_err_set(err, EINVAL, "granularity", "must be ...", ...);` */
int ks_err_set(struct ks_err *err, int code, const char *param,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline void ks_err_clear(struct ks_err *err)
{
	if (err)
		err->param[0] = err->msg[0] = '\0';
}

#endif /* KS_UTIL_ERR_H */
