/* serve_setup.c - configuration, access control, TLS and capabilities for
 * `kvmscope serve` (see serve_setup.h).
 *
 * Everything here happens before the agent serves anything, and every
 * failure ends it with one line naming where the bad setting came from:
 * "FILE:LINE: key \"tokens\": ..." for the config file, "--tokens: ..."
 * for the command line.  Files named by settings (tokens, certificate,
 * key, web root, state) are checked here too, so a broken installation
 * fails at start rather than at the first request.
 */
#include "cli/serve_setup.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/state.h"
#include "engine/symtab.h"
#include "http/access.h"
#include "http/static.h"
#include "http/tenancy.h"
#include "util/caps.h"
#include "util/fileio.h"

#define PROG "kvmscope serve"
#define PEM_MAX (1024 * 1024)

int ks_serve_setup_option(struct ks_serve_setup *s, int opt, const char *arg)
{
	static const enum ks_config_key key[] = {
		[KS_SETUP_OPT_TLS_CERT - KS_SETUP_OPT_CONFIG] = KS_CFG_TLS_CERT,
		[KS_SETUP_OPT_TLS_KEY - KS_SETUP_OPT_CONFIG] = KS_CFG_TLS_KEY,
		[KS_SETUP_OPT_TOKENS - KS_SETUP_OPT_CONFIG] = KS_CFG_TOKENS,
		[KS_SETUP_OPT_PEERS - KS_SETUP_OPT_CONFIG] = KS_CFG_PEERS,
		[KS_SETUP_OPT_TLS_PRIO - KS_SETUP_OPT_CONFIG] =
			KS_CFG_TLS_PRIORITIES,
		[KS_SETUP_OPT_HOSTNAME - KS_SETUP_OPT_CONFIG] = KS_CFG_HOSTNAME,
		[KS_SETUP_OPT_SERIES_GRACE - KS_SETUP_OPT_CONFIG] =
			KS_CFG_SERIES_GRACE,
		[KS_SETUP_OPT_TENANT_LABEL - KS_SETUP_OPT_CONFIG] =
			KS_CFG_TENANT_LABEL,
	};
	struct ks_err err;

	/* The options fleet shares (cli/httpfront.h) are settings here. */
	if (opt == KS_FRONT_OPT_TOKENS)
		opt = KS_SETUP_OPT_TOKENS;
	else if (opt == KS_FRONT_OPT_TENANT_LABEL)
		opt = KS_SETUP_OPT_TENANT_LABEL;
	switch (opt) {
	case KS_SETUP_OPT_CONFIG:
		s->config_path = arg;
		return 0;
	case KS_SETUP_OPT_KEEP_CAPS:
		s->keep_caps = true;
		return 0;
	case KS_SETUP_OPT_CHECK:
		s->check_only = true;
		return 0;
	case KS_SETUP_OPT_TLS_CERT:
	case KS_SETUP_OPT_TLS_KEY:
	case KS_SETUP_OPT_TOKENS:
	case KS_SETUP_OPT_PEERS:
	case KS_SETUP_OPT_TLS_PRIO:
	case KS_SETUP_OPT_HOSTNAME:
	case KS_SETUP_OPT_SERIES_GRACE:
	case KS_SETUP_OPT_TENANT_LABEL:
		if (!ks_config_set(&s->cli, key[opt - KS_SETUP_OPT_CONFIG], arg,
				   &err))
			return 0;
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 2;
	default:
		return 2;
	}
}

/* Prints "kvmscope serve: ORIGIN: MSG" for a setting's error. */
static int report(const struct ks_serve_setup *s, enum ks_config_key k,
		  const struct ks_err *err)
{
	char where[200];

	ks_config_origin(&s->cfg, k, where, sizeof(where));
	fprintf(stderr, PROG ": %s: %s\n", where, err->msg);
	return 2;
}

/* Checks the settings that came from the file and are used by others
 * (the web root, the state file), so their errors name the file's line. */
static int check_file_settings(struct ks_serve_setup *s, const char *web_root,
			       const char *state)
{
	const struct ks_config *c = &s->cfg;
	char root[PATH_MAX];
	struct ks_err err;

	if (c->line[KS_CFG_WEB_ROOT] && web_root &&
	    ks_static_check_root(web_root, "web-root", root, sizeof(root),
				 &err))
		return report(s, KS_CFG_WEB_ROOT, &err);
	if (c->line[KS_CFG_STATE] && state &&
	    ks_state_check_path(state, &err))
		return report(s, KS_CFG_STATE, &err);
	return 0;
}

/* Reads the certificate and key, and checks the library can use them. */
static int load_tls(struct ks_serve_setup *s)
{
	const char *cert = ks_config_str(&s->cfg, KS_CFG_TLS_CERT);
	const char *key = ks_config_str(&s->cfg, KS_CFG_TLS_KEY);
	struct ks_err err;

	if (!cert && !key)
		return 0;
	if (!cert || !key) {
		ks_err_set(&err, EINVAL, "", "TLS needs both a certificate "
			   "(tls-cert) and its private key (tls-key)");
		return report(s, cert ? KS_CFG_TLS_CERT : KS_CFG_TLS_KEY, &err);
	}
	if (!ks_http_tls_supported()) {
		ks_err_set(&err, ENOTSUP, "", "this libmicrohttpd was built "
			   "without TLS (GnuTLS) support: serve plain HTTP on "
			   "loopback behind a TLS proxy instead");
		return report(s, KS_CFG_TLS_CERT, &err);
	}
	if (ks_file_read(cert, PEM_MAX, 0, "tls-cert", &s->tls_cert, NULL,
			 &err))
		return report(s, KS_CFG_TLS_CERT, &err);
	/* Debian keeps keys group-readable by ssl-cert: refuse only
	 * world access. */
	if (ks_file_read(key, PEM_MAX, KS_FILE_NOT_WORLD, "tls-key",
			 &s->tls_key, NULL, &err))
		return report(s, KS_CFG_TLS_KEY, &err);
	if (ks_http_tls_check(s->tls_cert, s->tls_key,
			      ks_config_str(&s->cfg, KS_CFG_TLS_PRIORITIES),
			      &err))
		return report(s, KS_CFG_TLS_CERT, &err);
	s->is_tls = true;
	return 0;
}

/* tenant-label: a free label name, tenants to label with (the token
 * file's), and no VM that two tenants list (a series has one label). */
static int check_tenant_label(struct ks_serve_setup *s)
{
	const char *label = ks_config_str(&s->cfg, KS_CFG_TENANT_LABEL), *vm;
	const struct ks_tenant *a, *b;
	struct ks_err err;

	if (!label)
		return 0;
	if (ks_prom_label_check(label, "tenant-label", &err))
		return report(s, KS_CFG_TENANT_LABEL, &err);
	if (!s->tokens) {
		ks_err_set(&err, EINVAL, "", "the tenant label needs a token "
			   "file (tokens): its tenants own the VMs labelled");
		return report(s, KS_CFG_TENANT_LABEL, &err);
	}
	if ((vm = ks_tokens__shared_vm(s->tokens, &a, &b))) {
		ks_err_set(&err, EINVAL, "", "VM \"%.128s\" is listed by "
			   "tenants %s and %s: a series carries one tenant "
			   "label", vm, a->name, b->name);
		return report(s, KS_CFG_TENANT_LABEL, &err);
	}
	return 0;
}

/* The address parses, and is loopback unless there are tokens. */
static int check_listen(struct ks_serve_setup *s, const char *listen)
{
	struct ks_http_listen l;
	struct ks_err err;

	if (ks_http_listen_parse(listen, &l, &err)) {
		/* A bad --listen is the server's to report, as it always
		 * was; one from the file is reported here, with its line. */
		if (!s->cfg.line[KS_CFG_LISTEN] && !s->check_only)
			return 0;
		return report(s, KS_CFG_LISTEN, &err);
	}
	if (ks_access_check_listen((const struct sockaddr *)&l.addr, l.host,
				   s->tokens != NULL, &err))
		return report(s, KS_CFG_LISTEN, &err);
	if (s->tokens && !s->is_tls &&
	    !ks_access_is_loopback((const struct sockaddr *)&l.addr))
		fprintf(stderr, PROG ": warning: bearer tokens will cross the "
			"network in clear text: give tls-cert and tls-key\n");
	return 0;
}

int ks_serve_setup__load(struct ks_serve_setup *s, const char **listen,
			 const char **web_root, const char **state,
			 bool no_state)
{
	const char *path = s->config_path ? s->config_path :
			   KS_CONFIG_DEFAULT_PATH;
	const char *tokens;
	struct ks_err err;
	int rc;

	ks_config_init(&s->cfg);
	if (ks_config_load(&s->cfg, path, s->config_path != NULL, &err)) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 2;
	}
	if (ks_config_override(&s->cfg, &s->cli)) {
		fprintf(stderr, PROG ": out of memory\n");
		return 2;
	}
	if (!*listen)
		*listen = ks_config_str(&s->cfg, KS_CFG_LISTEN);
	if (!*web_root)
		*web_root = ks_config_str(&s->cfg, KS_CFG_WEB_ROOT);
	if (!*state && !no_state)
		*state = ks_config_str(&s->cfg, KS_CFG_STATE);
	if ((rc = check_file_settings(s, *web_root, *state)))
		return rc;
	if (!*listen)
		*listen = KS_HTTP_DEFAULT_LISTEN;
	tokens = ks_config_str(&s->cfg, KS_CFG_TOKENS);
	if (tokens && !(s->tokens = ks_tokens__load(tokens, &err)))
		return report(s, KS_CFG_TOKENS, &err);
	if ((rc = check_tenant_label(s)) || (rc = load_tls(s)) ||
	    (rc = check_listen(s, *listen)))
		return rc;
	if (s->check_only) {
		printf("kvmscope serve: the configuration is valid (%s%s)\n",
		       s->cfg.path ? s->cfg.path : "no config file",
		       s->tokens ? ", with tokens" : "");
		return 1;
	}
	return 0;
}

static const char *vm_tenant(void *ctx, const char *vm, const char *vmuuid)
{
	const struct ks_tenant *tn = ks_tokens__owner(ctx, vm, vmuuid);

	return tn ? tn->name : NULL;
}

void ks_serve_setup__prom(const struct ks_serve_setup *s, struct ks_prom *p)
{
	const char *label = ks_config_str(&s->cfg, KS_CFG_TENANT_LABEL);

	if (label && s->tokens)
		ks_prom__set_tenants(p, label, vm_tenant, s->tokens);
}

void ks_serve_setup__apply(const struct ks_serve_setup *s,
			   struct ks_engine *e, struct ks_api *api)
{
	ks_engine__set_max(e, ks_config_num(&s->cfg, KS_CFG_MAX_INSTNS,
					    KS_INSTN_MAX_DEFAULT));
	ks_engine__set_memory(e, (size_t)ks_config_num(&s->cfg,
			      KS_CFG_INSTN_MEMORY, 0) << 20,
			      (uint32_t)ks_config_num(&s->cfg,
			      KS_CFG_INSTN_KEYS, 0),
			      (size_t)ks_config_num(&s->cfg, KS_CFG_RAW_VALUES,
						    0));
	ks_sym_set_limits((size_t)ks_config_num(&s->cfg, KS_CFG_SYMBOLS, 0),
			  (size_t)ks_config_num(&s->cfg, KS_CFG_GUEST_KEYS, 0));
	if (ks_config_str(&s->cfg, KS_CFG_HOSTNAME))
		ks_engine__set_hostname(e, ks_config_str(&s->cfg,
							 KS_CFG_HOSTNAME));
	if (s->tokens)
		ks_api__set_tokens(api, s->tokens,
				   ks_config_num(&s->cfg, KS_CFG_TENANT_INSTNS,
						 KS_TENANT_INSTNS_DEFAULT));
}

void ks_serve_setup__plan_caps(struct ks_serve_setup *s, struct ks_live *live)
{
	json_t *status = live ? ks_live__status(live) : NULL, *src;
	bool proc = false, qmp = false, bpf = false;
	size_t i;

	json_array_foreach(status, i, src) {
		const char *name = json_string_value(json_object_get(src,
								     "name"));
		const char *st = json_string_value(json_object_get(src,
								   "status"));

		if (!name || !st || (strcmp(st, "running") &&
				     strcmp(st, "failing")))
			continue;
		/* Every live source names VMs from /proc/PID. */
		proc = true;
		if (!strncmp(name, "bpf_", 4))
			bpf = true;
		if (strstr(name, "qmp"))
			qmp = true;
	}
	json_decref(status);
	s->keep = ks_caps_agent_keep(proc, qmp, bpf);
}

/* The server's on_bound hook: the socket is bound, the sources attached,
 * no other thread runs yet. */
static int narrow_caps(void *ctx, struct ks_err *err)
{
	struct ks_serve_setup *s = ctx;
	char names[512];
	int rc;

	if (s->keep_caps)
		return 0;
	if ((rc = ks_caps_limit(s->keep, err)))
		return rc;
	ks_caps_names(s->keep, names, sizeof(names));
	fprintf(stderr, PROG ": capabilities narrowed to: %s\n", names);
	return 0;
}

int ks_serve_setup__server(struct ks_serve_setup *s,
			   const struct ks_http_listen *l,
			   struct ks_http_server_conf *c)
{
	struct ks_err err;

	/* Checked at load already; again here, where it must hold. */
	if (ks_access_check_listen((const struct sockaddr *)&l->addr, l->host,
				   s->tokens != NULL, &err)) {
		report(s, KS_CFG_LISTEN, &err);
		return 1;
	}
	c->tls_cert = s->tls_cert;
	c->tls_key = s->tls_key;
	c->tls_priorities = ks_config_str(&s->cfg, KS_CFG_TLS_PRIORITIES);
	c->max_conns = (unsigned int)ks_config_num(&s->cfg, KS_CFG_MAX_CONNS,
						   0);
	c->timeout_s = (unsigned int)ks_config_num(&s->cfg,
						   KS_CFG_CONN_TIMEOUT, 0);
	c->max_body = (size_t)ks_config_num(&s->cfg, KS_CFG_MAX_BODY, 0);
	c->request_timeout_s = (unsigned int)ks_config_num(
		&s->cfg, KS_CFG_REQUEST_TIMEOUT, 0);
	c->per_addr_conns = (unsigned int)ks_config_num(
		&s->cfg, KS_CFG_PER_ADDR_CONNS, 0);
	c->on_bound = narrow_caps;
	c->on_bound_ctx = s;
	return 0;
}

void ks_serve_setup__fini(struct ks_serve_setup *s)
{
	ks_tokens__free(s->tokens);
	if (s->tls_key) {
		explicit_bzero(s->tls_key, strlen(s->tls_key));
		free(s->tls_key);
	}
	free(s->tls_cert);
	ks_config_fini(&s->cfg);
	ks_config_fini(&s->cli);
	memset(s, 0, sizeof(*s));
}

int ks_serve_setup_try_listen(const char *listen)
{
	struct ks_http_listen l;
	struct ks_err err;
	int one = 1, fd, e = 0;

	if (ks_http_listen_parse(listen, &l, &err)) {
		fprintf(stderr, "kvmscope serve: %s: %s\n", err.param, err.msg);
		return -EINVAL;
	}
	/* As the server binds: SO_REUSEADDR, so this leaves no TIME_WAIT
	 * behind, and an address only in TIME_WAIT is not refused. */
	fd = socket(l.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)&l.addr, l.addrlen))
		e = errno;
	if (fd >= 0)
		close(fd);
	if (e)
		fprintf(stderr, "kvmscope serve: cannot listen on %s: %s%s\n",
			listen, strerror(e), e == EADDRINUSE ?
			" (another kvmscope serve? choose another port with "
			"--listen HOST:PORT)" : "");
	return -e;
}
