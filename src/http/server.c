/* server.c - libmicrohttpd adapter (see server.h).
 *
 * The listening socket is created here rather than by the library, so a
 * failure to bind names its cause (address in use, no permission) and the
 * bound port is known exactly when port 0 was asked for.  The library then
 * runs a pool of polling threads, four per CPU, so that slow answers (a
 * heatmap's PNG takes milliseconds of CPU) do not queue behind each other
 * nor fast ones behind them; the handler is therefore called
 * concurrently, and serialises what it shares itself.
 *
 * Per request the library calls the access handler several times: first
 * with the headers, then once per piece of body, then once more with no
 * data.  The body is collected up to the limit; a request that declares a
 * larger Content-Length is answered 413 at once, and one that sends more
 * than the limit without declaring it is drained and answered 413 at the
 * end, so a client always gets an answer and memory stays bounded.
 *
 * Requests are decoded by our own parser (params.h), from the raw target
 * the library hands its URI log hook, not by the library's decoder: the
 * unit tests and the fuzzer drive that same parser, so what they test is
 * what runs.
 *
 * TLS is the library's (GnuTLS), from PEM text in memory; the certificate
 * and key are tried on a daemon without socket or thread first, so a bad
 * pair is reported before the agent binds anything.  GnuTLS is given a
 * priority string that offers TLS 1.2 and 1.3 only, with forward-secret
 * key exchanges, unless the configuration says otherwise.
 *
 * The connection guard (connguard.h) learns of every connection opening
 * and closing, of each request arriving whole and of each answer sent,
 * and enforces the request deadline; the library itself enforces the
 * per-address limit.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/connguard.h"
#include "http/params.h"

#define POOL_MAX 16	/* threads: more only adds contention on the lock */
#define POOL_PER_CPU 4

struct ks_http_server {
	struct MHD_Daemon *d;
	struct ks_connguard *guard;
	ks_http_handler_fn handler;
	void *ctx;
	size_t max_body;
	uint16_t port;
};

/* What one request has accumulated between calls of the handler. */
struct conn {
	char *target;	/* the raw request target, for our own parser */
	bool begun;	/* the headers were seen */
	char *body;
	size_t len, cap;
	bool too_big;
	bool responded;
};

int ks_http_listen_parse(const char *s, struct ks_http_listen *l,
			 struct ks_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	const char *colon, *host = s;
	size_t hlen;
	char port[8];
	char *end;
	unsigned long p;
	int rc;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return ks_err_set(err, EINVAL, "--listen",
					  "\"%.64s\" is not [IPV6]:PORT", s);
		host = s + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return ks_err_set(err, EINVAL, "--listen",
					  "\"%.64s\" is not HOST:PORT", s);
		hlen = (size_t)(colon - s);
	}
	if (!hlen || hlen >= sizeof(l->host))
		return ks_err_set(err, EINVAL, "--listen",
				  "\"%.64s\" needs a host, such as 127.0.0.1", s);
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || p > 65535 || colon[1] == '-' ||
	    colon[1] == '+')
		return ks_err_set(err, EINVAL, "--listen",
				  "the port in \"%.64s\" must be 0 to 65535", s);
	memcpy(l->host, host, hlen);
	l->host[hlen] = '\0';
	snprintf(port, sizeof(port), "%lu", p);
	rc = getaddrinfo(l->host, port, &hints, &res);
	if (rc || !res) {
		if (res)
			freeaddrinfo(res);
		return ks_err_set(err, EINVAL, "--listen",
				  "cannot resolve \"%s\": %s", l->host,
				  gai_strerror(rc));
	}
	memcpy(&l->addr, res->ai_addr, res->ai_addrlen);
	l->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* The library's messages, but not one per connection that ended before
 * its request did: the guard ends such connections by the dozen under a
 * slow-client attack, and a client may hang up; neither is the agent's
 * problem, and a line each would let any client flood the log. */
static void logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "detected connection closure") ||
	    strstr(msg, "Connection reset by peer"))
		return;
	fprintf(stderr, "kvmscope: http: %s", msg);
}

/* Sends resp (consumed) on c. */
static enum MHD_Result send_resp(struct MHD_Connection *c,
				 struct ks_http_resp *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;

	if (r->body) {
		mr = MHD_create_response_from_buffer(r->len, r->body,
						     MHD_RESPMEM_MUST_FREE);
		if (mr)
			r->body = NULL;	/* the library frees it now */
	} else {
		mr = MHD_create_response_from_buffer(0, NULL,
						     MHD_RESPMEM_PERSISTENT);
	}
	if (!mr) {
		ks_http_resp_fini(r);
		return MHD_NO;
	}
	if (r->content_type)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
					r->content_type);
	for (size_t i = 0; i < r->nheaders; i++)
		MHD_add_response_header(mr, r->headers[i].name,
					r->headers[i].value);
	ret = MHD_queue_response(c, (unsigned int)(r->status ? r->status : 500),
				 mr);
	MHD_destroy_response(mr);
	ks_http_resp_fini(r);
	return ret;
}

/* The guard's record of c (NULL if unguarded). */
static struct ks_connguard_conn *guarded(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Sends r on c, telling the guard the request is in: a client that was
 * let in (not 401/403) keeps its slot under pressure. */
static enum MHD_Result reply(struct ks_http_server *s, struct MHD_Connection *c,
			     struct ks_http_resp *r)
{
	ks_connguard__answering(s->guard, guarded(c),
				r->status != 401 && r->status != 403);
	return send_resp(c, r);
}

static enum MHD_Result send_413(struct ks_http_server *s,
				struct MHD_Connection *c)
{
	struct ks_http_resp r;

	ks_http_resp_init(&r);
	ks_http_resp__error(&r, 413, NULL, "body",
			    "the request body is larger than %zu bytes",
			    s->max_body);
	ks_http_resp__cors(&r);
	return reply(s, c, &r);
}

/* Builds the request with our own parser (params.h: the one the unit
 * tests and the fuzzer drive) from the raw target the library logged,
 * runs the handler, sends its response. */
static enum MHD_Result serve(struct ks_http_server *s, struct MHD_Connection *c,
			     const char *method, struct conn *st)
{
	struct ks_http_req req = { .method = method };
	struct ks_http_resp resp;
	json_t *params = json_object();
	size_t plen = st->target ? strlen(st->target) + 1 : 0;
	char *path = plen ? malloc(plen) : NULL;
	struct ks_err err = { "", "out of memory" };
	const char *ctype;
	int rc = -ENOMEM;

	ks_http_resp_init(&resp);
	ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					    MHD_HTTP_HEADER_CONTENT_TYPE);
	if (params && path)
		rc = ks_params_from_target(params, st->target, path, plen,
					   ctype, st->body, st->len, &err);
	if (rc) {
		ks_http_resp__from_err(&resp, rc, &err);
		ks_http_resp__cors(&resp);
	} else {
		req.path = path;
		req.params = params;
		req.api_version = MHD_lookup_connection_value(c,
							      MHD_HEADER_KIND,
							      "X-API-Version");
		req.authorization = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		req.accept = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
		s->handler(s->ctx, &req, &resp);
	}
	json_decref(params);
	free(path);
	return reply(s, c, &resp);
}

/* Collects n bytes of body, or notes that the limit was passed. */
static void collect(struct conn *st, const char *data, size_t n, size_t max)
{
	if (st->too_big || n > max - st->len) {
		st->too_big = true;
		return;
	}
	if (st->len + n > st->cap) {
		size_t cap = st->cap ? st->cap : 1024;
		char *p;

		while (cap < st->len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		p = realloc(st->body, cap);
		if (!p) {
			st->too_big = true;	/* answered 413: can't hold it */
			return;
		}
		st->body = p;
		st->cap = cap;
	}
	memcpy(st->body + st->len, data, n);
	st->len += n;
}

static bool declared_too_big(struct MHD_Connection *c, size_t max)
{
	const char *cl = MHD_lookup_connection_value(
		c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n;
	char *end;

	if (!cl)
		return false;
	errno = 0;
	n = strtoull(cl, &end, 10);
	return errno || n > max;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct ks_http_server *s = cls;
	struct conn *st = *con_cls;

	(void)version, (void)url;
	if (!st)
		return MHD_NO;	/* on_uri could not allocate */
	if (!st->begun) {
		st->begun = true;
		if (declared_too_big(c, s->max_body)) {
			st->responded = true;
			return send_413(s, c);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!st->responded)
			collect(st, upload, *upload_size, s->max_body);
		*upload_size = 0;
		return MHD_YES;
	}
	if (st->responded)
		return MHD_YES;
	st->responded = true;
	/* The request is whole: its deadline stops (the handler may wait). */
	ks_connguard__answering(s->guard, guarded(c), false);
	if (st->too_big)
		return send_413(s, c);
	return serve(s, c, method, st);
}

/* The library's URI log hook: the first call for a request, with the raw
 * target (path and query string, not yet decoded).  What it returns is
 * the request's state (con_cls). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn *st = calloc(1, sizeof(*st));

	(void)cls, (void)c;
	if (st && !(st->target = strdup(uri ? uri : ""))) {
		free(st);
		st = NULL;
	}
	return st;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct ks_http_server *s = cls;
	struct conn *st = *con_cls;

	(void)toe;
	ks_connguard__waiting(s->guard, guarded(c));
	if (st) {
		free(st->target);
		free(st->body);
		free(st);
		*con_cls = NULL;
	}
}

/* The library's connection hook: the guard's record of each connection
 * lives in the connection's socket context. */
static void on_conn(void *cls, struct MHD_Connection *c, void **sock_ctx,
		    enum MHD_ConnectionNotificationCode code)
{
	struct ks_http_server *s = cls;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c,
					     MHD_CONNECTION_INFO_CONNECTION_FD);
		*sock_ctx = ci ? ks_connguard__opened(s->guard, ci->connect_fd) :
			    NULL;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		ks_connguard__closed(s->guard, *sock_ctx);
		*sock_ctx = NULL;
	}
}

/* A listening socket on l, or -1 with err set. */
static int listen_on(const struct ks_http_listen *l, uint16_t *port,
		     struct ks_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, fd, e;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		ks_err_set(err, e, "--listen", "socket: %s", strerror(e));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) ||
	    listen(fd, 64) || getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		e = errno;
		close(fd);
		ks_err_set(err, e, "--listen", "cannot listen on %s: %s",
			   l->host, strerror(e));
		return -1;
	}
	*port = ntohs(ss.ss_family == AF_INET6 ?
		      ((struct sockaddr_in6 *)&ss)->sin6_port :
		      ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

bool ks_http_tls_supported(void)
{
	return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

int ks_http_tls_check(const char *cert, const char *key,
		      const char *priorities, struct ks_err *err)
{
	struct MHD_Daemon *d;

	if (!ks_http_tls_supported())
		return ks_err_set(err, ENOTSUP, "--tls-cert", "this "
				  "libmicrohttpd was built without TLS "
				  "(GnuTLS) support");
	/* A daemon with no socket and no thread: only the credentials are
	 * set up, which is what can fail. */
	d = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_TLS |
			     MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, NULL,
			     MHD_OPTION_EXTERNAL_LOGGER, logger, NULL,
			     MHD_OPTION_HTTPS_MEM_CERT, cert,
			     MHD_OPTION_HTTPS_MEM_KEY, key,
			     MHD_OPTION_HTTPS_PRIORITIES, priorities ?
			     priorities : KS_HTTP_TLS_PRIORITIES,
			     MHD_OPTION_END);
	if (!d)
		return ks_err_set(err, EINVAL, "--tls-cert", "TLS did not "
				  "start with the certificate, key and "
				  "priorities given (see the message above: a "
				  "key that is not the certificate's, not PEM, "
				  "or a tls-priorities string GnuTLS rejects)");
	MHD_stop_daemon(d);
	return 0;
}

/* The pool's size: POOL_PER_CPU threads per online CPU, at most
 * POOL_MAX.  A thread drawing a heatmap (milliseconds of CPU) stalls
 * every connection it polls: with one thread per CPU, cached answers on a
 * 2-CPU host queued behind the drawings for hundreds of milliseconds
 * (bench_http_load), where more threads let the kernel share the CPUs. */
static unsigned int pool_size(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	n *= POOL_PER_CPU;
	return n > POOL_MAX ? POOL_MAX : (unsigned int)n;
}

/* The library's daemon on fd, with TLS when the conf has a certificate:
 * the PEM options go last, and only then, since an option list cannot
 * hold optional entries. */
static struct MHD_Daemon *start_daemon(struct ks_http_server *s,
				       const struct ks_http_server_conf *c,
				       int fd)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			     MHD_USE_ERROR_LOG;
	unsigned int conns = c->max_conns ? c->max_conns : KS_HTTP_MAX_CONNS;
	unsigned int tmo = c->timeout_s ? c->timeout_s : KS_HTTP_TIMEOUT_S;
	unsigned int per_addr = c->per_addr_conns ? c->per_addr_conns :
				KS_HTTP_PER_ADDR_CONNS;
	unsigned int pool = pool_size();

	if (c->listen->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (!c->tls_cert)
		return MHD_start_daemon(
			flags, 0, NULL, NULL, on_request, s,
			MHD_OPTION_EXTERNAL_LOGGER, logger, NULL,
			MHD_OPTION_LISTEN_SOCKET, fd,
			MHD_OPTION_CONNECTION_LIMIT, conns,
			MHD_OPTION_CONNECTION_TIMEOUT, tmo,
			MHD_OPTION_THREAD_POOL_SIZE, pool,
			MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
			MHD_OPTION_NOTIFY_CONNECTION, on_conn, s,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_addr,
			MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
			MHD_OPTION_END);
	return MHD_start_daemon(
		flags | MHD_USE_TLS, 0, NULL, NULL, on_request, s,
		MHD_OPTION_EXTERNAL_LOGGER, logger, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, conns,
		MHD_OPTION_CONNECTION_TIMEOUT, tmo,
		MHD_OPTION_THREAD_POOL_SIZE, pool,
		MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_conn, s,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_addr,
		MHD_OPTION_HTTPS_PRIORITIES, c->tls_priorities ?
		c->tls_priorities : KS_HTTP_TLS_PRIORITIES,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_HTTPS_MEM_CERT, c->tls_cert,
		MHD_OPTION_HTTPS_MEM_KEY, c->tls_key,
		MHD_OPTION_END);
}

/* The guard: an eighth of the slots (at least one) kept for clients that
 * were let in. */
static struct ks_connguard *new_guard(const struct ks_http_server_conf *c)
{
	unsigned int conns = c->max_conns ? c->max_conns : KS_HTTP_MAX_CONNS;
	unsigned int reserve = conns / 8 ? conns / 8 : 1;

	return ks_connguard__new(conns, conns > 1 ? reserve : 0,
				 c->request_timeout_s ? c->request_timeout_s :
				 KS_HTTP_REQUEST_TIMEOUT_S);
}

static int check_tls(const struct ks_http_server_conf *c, struct ks_err *err)
{
	if (!c->tls_cert && !c->tls_key)
		return 0;
	if (!c->tls_cert || !c->tls_key)
		return ks_err_set(err, EINVAL, c->tls_cert ? "--tls-key" :
				  "--tls-cert", "TLS needs both a certificate "
				  "(--tls-cert) and its key (--tls-key)");
	if (!ks_http_tls_supported())
		return ks_err_set(err, ENOTSUP, "--tls-cert", "this "
				  "libmicrohttpd was built without TLS "
				  "support (GnuTLS): serve plain HTTP on "
				  "loopback behind a TLS proxy, or install a "
				  "build with TLS");
	return 0;
}

struct ks_http_server *ks_http_server__start(const struct ks_http_server_conf *c,
					     struct ks_err *err)
{
	struct ks_http_server *s;
	int fd;

	if (check_tls(c, err))
		return NULL;
	if (!(s = calloc(1, sizeof(*s)))) {
		ks_err_set(err, ENOMEM, "", "out of memory");
		return NULL;
	}
	s->handler = c->handler;
	s->ctx = c->ctx;
	s->max_body = c->max_body ? c->max_body : KS_HTTP_MAX_BODY;
	if ((fd = listen_on(c->listen, &s->port, err)) < 0) {
		free(s);
		return NULL;
	}
	if (c->on_bound && c->on_bound(c->on_bound_ctx, err)) {
		close(fd);
		free(s);
		return NULL;
	}
	/* The guard's thread starts after on_bound, like the server's. */
	if (!(s->guard = new_guard(c))) {
		close(fd);
		free(s);
		ks_err_set(err, ENOMEM, "", "out of memory");
		return NULL;
	}
	if (!(s->d = start_daemon(s, c, fd))) {
		close(fd);
		ks_connguard__free(s->guard);
		free(s);
		if (c->tls_cert)
			ks_err_set(err, EINVAL, "--tls-cert",
				   "TLS did not start with the certificate and "
				   "key given (see the message above: a key "
				   "that is not the certificate's, or not PEM)");
		else
			ks_err_set(err, EIO, "--listen", "the HTTP server "
				   "failed to start on %s", c->listen->host);
		return NULL;
	}
	return s;
}

uint16_t ks_http_server__port(const struct ks_http_server *s)
{
	return s->port;
}

void ks_http_server__stop(struct ks_http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	ks_connguard__free(s->guard);
	free(s);
}
