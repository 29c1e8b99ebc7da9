/* server.h - the HTTP server: libmicrohttpd behind a small interface.
 *
 * This is the only module that knows the server library.  It listens on
 * one address, reads each request (refusing bodies over the size limit
 * with 413 without reading them), turns it into a struct ks_http_req and
 * calls one handler, then sends the struct ks_http_resp back.  Requests
 * are served by a pool of the library's threads (one per CPU), so the
 * handler runs concurrently with itself: whatever it shares it must lock
 * itself (the API's engine lock).
 *
 * Slots are guarded (http/connguard.h): a request has a deadline from its
 * first byte, one client address holds a bounded share of the slots, and
 * clients that were let in keep room beside clients still silent.
 */
#ifndef KS_HTTP_SERVER_H
#define KS_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http/message.h"
#include "util/err.h"

#define KS_HTTP_DEFAULT_LISTEN "127.0.0.1:23181"	/* CA's port */
#define KS_HTTP_MAX_BODY 4096	/* CA's limit; config key max-body */
#define KS_HTTP_MAX_CONNS 64
#define KS_HTTP_TIMEOUT_S 30
#define KS_HTTP_REQUEST_TIMEOUT_S 10	/* a whole request, from the first byte */
#define KS_HTTP_PER_ADDR_CONNS 16	/* from one client address */
/* GnuTLS: TLS 1.2 and 1.3 only, forward-secret key exchanges only (no
 * static RSA), no CBC ciphers, no SHA-1 MACs. */
#define KS_HTTP_TLS_PRIORITIES \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:-AES-256-CBC:" \
	"-AES-128-CBC:-CAMELLIA-256-CBC:-CAMELLIA-128-CBC:-SHA1"

typedef void (*ks_http_handler_fn)(void *ctx, const struct ks_http_req *req,
				   struct ks_http_resp *resp);

struct ks_http_listen {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[128];		/* as given, without brackets */
};

struct ks_http_server_conf {
	const struct ks_http_listen *listen;
	size_t max_body;	/* bytes; 0: KS_HTTP_MAX_BODY */
	unsigned int max_conns;	/* 0: KS_HTTP_MAX_CONNS */
	unsigned int timeout_s;	/* idle connection timeout; 0: default */
	/* A request must arrive whole within request_timeout_s of the
	 * connection opening or of the previous answer (http/connguard.h);
	 * 0: KS_HTTP_REQUEST_TIMEOUT_S. */
	unsigned int request_timeout_s;
	unsigned int per_addr_conns;	/* 0: KS_HTTP_PER_ADDR_CONNS */
	ks_http_handler_fn handler;
	void *ctx;
	/* TLS: PEM text of the certificate (chain) and the private key; both
	 * NULL serves plain HTTP.  The library must have been built with TLS
	 * (ks_http_tls_supported). */
	const char *tls_cert;
	const char *tls_key;
	const char *tls_priorities;	/* GnuTLS's; NULL: KS_HTTP_TLS_PRIORITIES */
	/* Called once the socket is bound and before the server's thread
	 * starts, while the process may still be single-threaded (to drop
	 * privileges, util/caps.h).  Non-zero (with err filled) aborts the
	 * start.  May be NULL. */
	int (*on_bound)(void *ctx, struct ks_err *err);
	void *on_bound_ctx;
};

struct ks_http_server;

/* Parses "HOST:PORT" ("[V6ADDR]:PORT" for IPv6; HOST may be a name).
 * Port 0 lets the kernel choose.  0 or -EINVAL with err (param
 * "--listen"). */
int ks_http_listen_parse(const char *s, struct ks_http_listen *l,
			 struct ks_err *err);

/* Starts listening and serving.  NULL with err set on failure (address in
 * use, permission, ...). */
struct ks_http_server *ks_http_server__start(const struct ks_http_server_conf *c,
					     struct ks_err *err);
/* True if the server library can serve TLS. */
bool ks_http_tls_supported(void);
/* Checks that the PEM certificate and key load together, and that the
 * GnuTLS priority string (NULL: the default) parses, without opening a
 * socket or a thread.  0, or -ENOTSUP/-EINVAL with err. */
int ks_http_tls_check(const char *cert, const char *key,
		      const char *priorities, struct ks_err *err);
/* The port actually bound (useful with port 0). */
uint16_t ks_http_server__port(const struct ks_http_server *s);
/* Stops: closes the listener, finishes or drops connections, joins the
 * thread, frees everything. */
void ks_http_server__stop(struct ks_http_server *s);

#endif /* KS_HTTP_SERVER_H */
