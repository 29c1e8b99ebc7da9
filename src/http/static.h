/* static.h - serving the web UI's files (web/) from a directory.
 *
 * The browser UI is plain files with no build step, so the agent serves
 * them as they are from a web root: the directory given by
 * `kvmscope serve --web-root DIR`, else the first of <binary>/../web (a
 * build tree: .output/kvmscope next to web/), <binary>/../share/kvmscope/web
 * and /usr/share/kvmscope/web that holds an index.html.
 *
 * Only plain files under the root are served.  A URL path is accepted only
 * if every segment is made of letters, digits, '-', '_' and '.', and none
 * starts with '.', so "..", hidden files and encoded tricks never reach
 * the file system; the resolved file must still lie under the root's real
 * path (a symlink pointing out is refused) and be a regular file.
 */
#ifndef KS_HTTP_STATIC_H
#define KS_HTTP_STATIC_H

#include <stdbool.h>
#include <stddef.h>

#include "http/message.h"
#include "util/err.h"

#define KS_STATIC_SYSTEM_ROOT "/usr/share/kvmscope/web"
#define KS_STATIC_INDEX "index.html"
#define KS_STATIC_MAX_FILE (8 * 1024 * 1024)

/* The content type for a file name, by extension (a static string;
 * application/octet-stream when unknown). */
const char *ks_static_content_type(const char *name);

/* True if the URL path may name a file under a web root (see above). */
bool ks_static_path_ok(const char *path);

/* Checks that dir is a directory holding index.html and writes its real
 * path into buf (len bytes).  0, or a negative errno with err naming
 * param. */
int ks_static_check_root(const char *dir, const char *param, char *buf,
			 size_t len, struct ks_err *err);

/* Finds the default web root (see above) into buf.  0 or -ENOENT. */
int ks_static_default_root(char *buf, size_t len);

/* Serves the file the URL path names ("/" is the index) from the root (a
 * real path, as ks_static_check_root gives) into resp with status 200.
 * 0 if served; -ENOENT if the path names no servable file, -EFBIG if the
 * file is too large, -ENOMEM; resp is untouched then. */
int ks_static_serve(const char *root, const char *path,
		    struct ks_http_resp *resp);

#endif /* KS_HTTP_STATIC_H */
