/* config.h - the agent's configuration file.
 *
 * `kvmscope serve` reads /etc/kvmscope/kvmscope.conf (or --config FILE):
 * lines of `key = value`, blank lines, and comment lines starting with
 * '#'.  The keys are the settings an installed agent needs: where to
 * listen, TLS certificate and key, the token file, the state database,
 * the web root and a few limits.  Every key can also be given on the
 * command line, which wins over the file.
 *
 * A bad file stops the agent before it starts anything: an unknown key, a
 * key given twice, a value that does not parse, a relative path, or a file
 * that cannot be read each give one error naming FILE:LINE and the key.
 * Settings checked later (an address that does not resolve, a certificate
 * that does not load) can still name where they came from, through
 * ks_config_origin().
 */
#ifndef KS_UTIL_CONFIG_H
#define KS_UTIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define KS_CONFIG_DEFAULT_PATH "/etc/kvmscope/kvmscope.conf"
#define KS_CONFIG_MAX_SIZE (256 * 1024)
#define KS_CONFIG_MAX_LINE 4096

enum ks_config_key {
	KS_CFG_LISTEN,		/* HOST:PORT */
	KS_CFG_TLS_CERT,	/* PEM certificate (chain) */
	KS_CFG_TLS_KEY,		/* PEM private key */
	KS_CFG_TOKENS,		/* token file (http/tokens.h) */
	KS_CFG_STATE,		/* sqlite state database */
	KS_CFG_WEB_ROOT,	/* the web UI's files */
	KS_CFG_PEERS,		/* other agents: LABEL=URL,... (util/peers.h) */
	KS_CFG_TLS_PRIORITIES,	/* GnuTLS priority string */
	KS_CFG_HOSTNAME,	/* CA's hostname field, /metrics' label */
	KS_CFG_TENANT_LABEL,	/* /metrics' label naming a VM's tenant */
	KS_CFG_MAX_INSTNS,	/* instrumentations in all */
	KS_CFG_TENANT_INSTNS,	/* instrumentations per tenant (CA: 10) */
	KS_CFG_MAX_CONNS,	/* concurrent HTTP connections */
	KS_CFG_CONN_TIMEOUT,	/* idle HTTP connection timeout, s */
	KS_CFG_MAX_BODY,	/* request body bytes */
	KS_CFG_REQUEST_TIMEOUT,	/* a whole HTTP request, s */
	KS_CFG_PER_ADDR_CONNS,	/* HTTP connections from one address */
	KS_CFG_INSTN_MEMORY,	/* MiB for all instrumentations' data */
	KS_CFG_INSTN_KEYS,	/* distinct keys per slot of one */
	KS_CFG_SYMBOLS,		/* interned field values, in all */
	KS_CFG_GUEST_KEYS,	/* guest RIPs, cr3s, addresses per VM */
	KS_CFG_RAW_VALUES,	/* values in one raw value answer */
	KS_CFG_SERIES_GRACE,	/* s before a gone VM's series expire */
	KS_CFG__COUNT
};

/* Keys before KS_CFG_MAX_INSTNS take strings (addresses and paths); the
 * rest take integers. */
#define KS_CFG__NSTR KS_CFG_MAX_INSTNS

struct ks_config {
	uint32_t set;		/* bit (1u << key) for each key given */
	char *path;		/* the file read, or NULL */
	unsigned int line[KS_CFG__COUNT];	/* 0: not from the file */
	char *str[KS_CFG__NSTR];	/* string keys, owned */
	uint64_t num[KS_CFG__COUNT];	/* numeric keys */
};

/* The key's name ("tls-cert"), or NULL for an id out of range. */
const char *ks_config_key_name(enum ks_config_key k);
/* The key's id, or -ENOENT. */
int ks_config_key_lookup(const char *name);

void ks_config_init(struct ks_config *c);
void ks_config_fini(struct ks_config *c);

/* Sets key to value after checking it, as the command line does (relative
 * paths allowed).  0 or -EINVAL/-ERANGE/-ENOMEM with err (param: the key
 * as an option, "--tls-cert"). */
int ks_config_set(struct ks_config *c, enum ks_config_key k,
		  const char *value, struct ks_err *err);

/* Reads the file at path into c (which must be freshly initialised).
 * With must_exist false a missing file is not an error (c stays empty).
 * 0, or a negative errno with err: param is the key ("" if the line has
 * none) and msg starts with "FILE:LINE: ". */
int ks_config_load(struct ks_config *c, const char *path, bool must_exist,
		   struct ks_err *err);

/* Copies every key set in src into dst, replacing dst's (the command line
 * over the file).  0 or -ENOMEM. */
int ks_config_override(struct ks_config *dst, const struct ks_config *src);

static inline bool ks_config_has(const struct ks_config *c,
				 enum ks_config_key k)
{
	return (c->set >> k) & 1u;
}

/* The string value of a string key, or NULL if not set. */
const char *ks_config_str(const struct ks_config *c, enum ks_config_key k);
/* The numeric value of a numeric key, or def if not set. */
uint64_t ks_config_num(const struct ks_config *c, enum ks_config_key k,
		       uint64_t def);

/* Where the key's value came from, for later errors: "FILE:LINE: key
 * \"listen\"" or "--listen". */
void ks_config_origin(const struct ks_config *c, enum ks_config_key k,
		      char *buf, size_t len);

#endif /* KS_UTIL_CONFIG_H */
