/* serve_setup.h - `kvmscope serve`'s configuration, access and privileges.
 *
 * What an installed agent needs beyond the engine and its sources, kept
 * out of cmd_serve.c: the configuration file (util/config.h) under the
 * command line, the token file (http/tokens.h) and the rule that without
 * one the agent listens only on loopback, TLS from a certificate and key,
 * the limits, and the narrowing of capabilities (util/caps.h) once the
 * sources are attached and the socket bound.
 *
 * Order of use: ks_serve_setup_option() for each of its options while
 * parsing; ks_serve_setup__load() after parsing (reads the config file and
 * every file it names; any problem is reported and ends the agent before
 * anything starts); ks_serve_setup__apply() on the engine and API;
 * ks_serve_setup__plan_caps() once the sources are open; then
 * ks_serve_setup__server() fills the server's configuration, whose
 * on_bound hook narrows the capabilities before the server's thread
 * starts.
 */
#ifndef KS_CLI_SERVE_SETUP_H
#define KS_CLI_SERVE_SETUP_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/live.h"
#include "cli/httpfront.h"
#include "engine/engine.h"
#include "expo/prom.h"
#include "http/api.h"
#include "http/server.h"
#include "http/tokens.h"
#include "util/config.h"

/* getopt_long values of the options handled here (above cmd_serve's). */
enum {
	KS_SETUP_OPT_CONFIG = 0x1000,
	KS_SETUP_OPT_TLS_CERT,
	KS_SETUP_OPT_TLS_KEY,
	KS_SETUP_OPT_TOKENS,
	KS_SETUP_OPT_KEEP_CAPS,
	KS_SETUP_OPT_CHECK,
	KS_SETUP_OPT_PEERS,
	KS_SETUP_OPT_TLS_PRIO,
	KS_SETUP_OPT_HOSTNAME,
	KS_SETUP_OPT_SERIES_GRACE,
	KS_SETUP_OPT_TENANT_LABEL,
};

/* Beside KS_FRONT_LONGOPTS (cli/httpfront.h), whose --tokens and
 * --tenant-label are settings here too. */
#define KS_SETUP_LONGOPTS \
	{ "config", required_argument, NULL, KS_SETUP_OPT_CONFIG }, \
	{ "tls-cert", required_argument, NULL, KS_SETUP_OPT_TLS_CERT }, \
	{ "tls-key", required_argument, NULL, KS_SETUP_OPT_TLS_KEY }, \
	{ "keep-capabilities", no_argument, NULL, KS_SETUP_OPT_KEEP_CAPS }, \
	{ "check-config", no_argument, NULL, KS_SETUP_OPT_CHECK }, \
	{ "peers", required_argument, NULL, KS_SETUP_OPT_PEERS }, \
	{ "tls-priorities", required_argument, NULL, KS_SETUP_OPT_TLS_PRIO }, \
	{ "hostname", required_argument, NULL, KS_SETUP_OPT_HOSTNAME }, \
	{ "series-grace", required_argument, NULL, KS_SETUP_OPT_SERIES_GRACE }

#define KS_SETUP_USAGE \
	"      --config FILE       settings (default " KS_CONFIG_DEFAULT_PATH \
	" if it\n" \
	"                          exists); options given here win over it\n" \
	"      --tokens FILE       bearer tokens: \"TOKEN operator\" and " \
	"\"TOKEN tenant\n" \
	"                          NAME VM[,VM...]\" lines (mode 600); " \
	"needed to listen\n" \
	"                          on anything but loopback\n" \
	"      --tls-cert FILE     serve HTTPS with this PEM certificate " \
	"(chain) ...\n" \
	"      --tls-key FILE      ... and its PEM private key\n" \
	"      --tls-priorities S  GnuTLS priority string (default: TLS 1.2 " \
	"and 1.3,\n" \
	"                          forward-secret key exchanges only)\n" \
	"      --keep-capabilities do not narrow capabilities after start\n" \
	"      --check-config      check the settings and the files they name, " \
	"then exit\n" \
	"      --peers LIST        other hosts' agents, LABEL=URL[,LABEL=URL...]" \
	",\n" \
	"                          linked from this one's web UI (operators " \
	"only)\n" \
	"      --hostname NAME     this host's name: CA's hostname field and " \
	"the\n" \
	"                          hostname label of /metrics (default: the " \
	"host's name)\n" \
	"      --series-grace S    /metrics stops exposing a VM's series S " \
	"seconds\n" \
	"                          after its last record (default 600)\n" \
	"      --tenant-label L    /metrics labels each series of a VM that " \
	"a token\n" \
	"                          file's tenant lists with L=\"TENANT\" (for " \
	"kvmscope\n" \
	"                          fleet --tenant-label L)\n"

struct ks_serve_setup {
	const char *config_path;	/* --config, or NULL: the default */
	struct ks_config cli;		/* what the command line set */
	struct ks_config cfg;		/* the file, the command line over it */
	struct ks_tokens *tokens;
	char *tls_cert, *tls_key;	/* PEM text, or NULL */
	bool keep_caps;
	bool check_only;		/* --check-config */
	uint64_t keep;			/* capabilities to keep */
	bool is_tls;
};

/* Handles one of the KS_SETUP_OPT_* options, or KS_FRONT_OPT_TOKENS or
 * KS_FRONT_OPT_TENANT_LABEL.  0, or 2 after printing the
 * error. */
int ks_serve_setup_option(struct ks_serve_setup *s, int opt, const char *arg);

/* Reads the configuration file and lets the command line override it;
 * then *listen, *web_root and *state, where the command line left them
 * NULL, take the file's value (listen also the default), unless no_state
 * was asked.  Loads the token file and TLS files, and refuses a
 * non-loopback address without tokens.  0, or 2 after printing an error
 * naming FILE:LINE and key (or the option); with --check-config, 1 after
 * saying all is well (the agent then exits 0). */
int ks_serve_setup__load(struct ks_serve_setup *s, const char **listen,
			 const char **web_root, const char **state,
			 bool no_state);

/* The tenant label (tenant-label, checked at load) onto the exporter:
 * the token file's tenants own their listed VMs' series.  s must outlive
 * p. */
void ks_serve_setup__prom(const struct ks_serve_setup *s, struct ks_prom *p);

/* Limits and access control onto the engine and API. */
void ks_serve_setup__apply(const struct ks_serve_setup *s,
			   struct ks_engine *e, struct ks_api *api);

/* Decides which capabilities to keep from the sources that run (none
 * when replaying). */
void ks_serve_setup__plan_caps(struct ks_serve_setup *s, struct ks_live *live);

/* Checks the address against the loopback rule and fills the TLS, limit
 * and on_bound members of c.  0, or 1 after printing the error. */
int ks_serve_setup__server(struct ks_serve_setup *s,
			   const struct ks_http_listen *l,
			   struct ks_http_server_conf *c);

void ks_serve_setup__fini(struct ks_serve_setup *s);

/* Binds listen ("HOST:PORT") and lets it go, so that an address in use or
 * not ours is reported, naming it, before the probes load; the server
 * binds it again at the end of the start.  0, or -errno with a line on
 * stderr. */
int ks_serve_setup_try_listen(const char *listen);

#endif /* KS_CLI_SERVE_SETUP_H */
