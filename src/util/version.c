/* version.c - the build's version strings (version.h).
 *
 * A build without the generated header (a compiler run by hand) still
 * compiles, and says so in its version.
 */
#include "util/version.h"

#if __has_include("ks_version.h")
#include "ks_version.h"
#endif
#ifndef KS_VERSION
#define KS_VERSION "0.0.0-unknown"
#define KS_REVISION "unknown"
#endif

const char *ks_version(void)
{
	return KS_VERSION;
}

const char *ks_revision(void)
{
	return KS_REVISION;
}

const char *ks_compiler(void)
{
#if defined(__clang__)
	return "clang " __clang_version__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return "unknown";
#endif
}
