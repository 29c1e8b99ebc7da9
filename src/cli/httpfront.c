/* httpfront.c - the web root and the HTTP server of `kvmscope serve` and
 * `kvmscope fleet` (httpfront.h).
 *
 * A --web-root that does not hold the UI's files ends the command; with
 * none given, a command serves the API alone when no default root is
 * found, so a bare build still answers.  The address is printed once the
 * socket is bound (port 0 picks one), as tests and scripts read it: an
 * IPv6 host in brackets, https when the server speaks TLS.
 */
#include "cli/httpfront.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/socket.h>

#include "http/static.h"

int ks_front_web_root(const char *prog, const char *web_root, bool say_none,
		      struct ks_api *api)
{
	char root[PATH_MAX];
	struct ks_err err;

	if (web_root) {
		if (ks_static_check_root(web_root, "--web-root", root,
					 sizeof(root), &err)) {
			fprintf(stderr, "%s: %s: %s\n", prog, err.param,
				err.msg);
			return -EINVAL;
		}
	} else if (ks_static_default_root(root, sizeof(root))) {
		if (say_none)
			fprintf(stderr, "%s: no web UI files found (use "
				"--web-root DIR): serving the API only\n",
				prog);
		return 0;
	}
	return ks_api__set_web_root(api, root);
}

struct ks_http_server *ks_front_start(const char *prog, const char *listen,
				      struct ks_api *api, bool tls,
				      ks_front_prepare_fn prepare, void *ctx)
{
	struct ks_http_listen l;
	struct ks_http_server_conf c = { .listen = &l,
					 .handler = ks_api__handle,
					 .ctx = api };
	struct ks_err err;
	struct ks_http_server *s;
	bool v6;

	if (ks_http_listen_parse(listen, &l, &err)) {
		fprintf(stderr, "%s: %s: %s\n", prog, err.param, err.msg);
		return NULL;
	}
	if (prepare && prepare(ctx, &l, &c))
		return NULL;
	if (!(s = ks_http_server__start(&c, &err))) {
		fprintf(stderr, "%s: --listen %s: %s\n", prog, listen, err.msg);
		return NULL;
	}
	v6 = l.addr.ss_family == AF_INET6;
	fprintf(stderr, "kvmscope: listening on http%s://%s%s%s:%u/\n",
		tls ? "s" : "", v6 ? "[" : "", l.host, v6 ? "]" : "",
		(unsigned int)ks_http_server__port(s));
	return s;
}
