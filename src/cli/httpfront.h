/* httpfront.h - what `kvmscope serve` and `kvmscope fleet` put in front of
 * their API alike: the options they share, the web UI's files and the
 * HTTP server.
 *
 * Both commands serve CA's API (http/api.h) over one engine, from the web
 * root and on the address their options name; the access rules of each
 * (the agent's config file and TLS, the fleet's token file) come in
 * through the prepare hook of ks_front_start().
 */
#ifndef KS_CLI_HTTPFRONT_H
#define KS_CLI_HTTPFRONT_H

#include <getopt.h>
#include <stdbool.h>

#include "http/api.h"
#include "http/server.h"

/* getopt_long values of the shared long options without a short form. */
enum {
	KS_FRONT_OPT_TOKENS = 0x0f00,
	KS_FRONT_OPT_TENANT_LABEL,
};

/* -l/--listen, -w/--web-root, --tokens, --tenant-label, -h/--help. */
#define KS_FRONT_LONGOPTS \
	{ "listen", required_argument, NULL, 'l' }, \
	{ "web-root", required_argument, NULL, 'w' }, \
	{ "tokens", required_argument, NULL, KS_FRONT_OPT_TOKENS }, \
	{ "tenant-label", required_argument, NULL, \
	  KS_FRONT_OPT_TENANT_LABEL }, \
	{ "help", no_argument, NULL, 'h' }

/* Gives api the web UI's files: web_root (--web-root) must hold them;
 * without it, the default root if there is one, else the API alone (said
 * on stderr when say_none).  0, or a negative errno after saying why. */
int ks_front_web_root(const char *prog, const char *web_root, bool say_none,
		      struct ks_api *api);

/* Fills the server's configuration from the command's access rules; 0,
 * or nonzero after saying why. */
typedef int (*ks_front_prepare_fn)(void *ctx, const struct ks_http_listen *l,
				   struct ks_http_server_conf *c);

/* Starts the server for api on listen, prepare (or NULL) filling its
 * configuration, and says "kvmscope: listening on URL".  NULL after
 * saying why. */
struct ks_http_server *ks_front_start(const char *prog, const char *listen,
				      struct ks_api *api, bool tls,
				      ks_front_prepare_fn prepare, void *ctx);

#endif /* KS_CLI_HTTPFRONT_H */
