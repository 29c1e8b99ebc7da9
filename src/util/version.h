/* version.h - what build of kvmscope this is.
 *
 * The version and revision are fixed when the binary is built: the
 * Makefile runs scripts/version.sh (git describe, or the VERSION file in a
 * tarball) and writes them to $(O)/ks_version.h, which only version.c
 * includes, so a new commit rebuilds one file.  `kvmscope --version`,
 * `kvmscope version` and the kvmscope_build_info metric all read them here.
 */
#ifndef KS_UTIL_VERSION_H
#define KS_UTIL_VERSION_H

/* "0.1.0-g1a2b3c4" (see scripts/version.sh). */
const char *ks_version(void);
/* The commit, abbreviated ("1a2b3c4d5e6f"), or "unknown". */
const char *ks_revision(void);
/* The compiler that built it ("gcc 12.2.0", "clang 14.0.6"). */
const char *ks_compiler(void);

#endif /* KS_UTIL_VERSION_H */
