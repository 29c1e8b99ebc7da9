/* err.c - filling struct ks_err. */
#include "util/err.h"

#include <stdio.h>
#include <string.h>

int ks_err_set(struct ks_err *err, int code, const char *param,
	       const char *fmt, ...)
{
	va_list ap;

	if (err) {
		snprintf(err->param, sizeof(err->param), "%s", param ? param : "");
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code > 0 ? -code : code;
}
