/* config.c - parsing the agent's configuration file (see config.h).
 *
 * One table lists every key with its kind (address, path or bounded
 * integer), so the file and the command line validate a value the same
 * way.  The file is read whole (util/fileio.h) and parsed line by line;
 * the first problem ends the parse with its line number, and a failed
 * parse leaves nothing half-applied that the caller could use by mistake
 * (the caller frees c and exits).
 *
 * Values are single words: no whitespace inside and no trailing comments,
 * so a path can hold '#' and a stray "key = a b" is an error rather than
 * a surprise.
 */
#include "util/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"
#include "util/peers.h"

#define MAX_VALUE 1024

enum kind { K_ADDR, K_PATH, K_PEERS, K_WORD, K_NUM };

struct keyinfo {
	const char *name;
	enum kind kind;
	uint64_t min, max;
	const char *what;	/* for messages: "a number of seconds" */
};

static const struct keyinfo keys[KS_CFG__COUNT] = {
	[KS_CFG_LISTEN] = { "listen", K_ADDR, 0, 0, "HOST:PORT" },
	[KS_CFG_TLS_CERT] = { "tls-cert", K_PATH, 0, 0, "a PEM file" },
	[KS_CFG_TLS_KEY] = { "tls-key", K_PATH, 0, 0, "a PEM file" },
	[KS_CFG_TOKENS] = { "tokens", K_PATH, 0, 0, "a token file" },
	[KS_CFG_STATE] = { "state", K_PATH, 0, 0, "a database file" },
	[KS_CFG_WEB_ROOT] = { "web-root", K_PATH, 0, 0, "a directory" },
	[KS_CFG_PEERS] = { "peers", K_PEERS, 0, 0, "LABEL=URL[,LABEL=URL...]" },
	[KS_CFG_TLS_PRIORITIES] = { "tls-priorities", K_WORD, 0, 0,
				    "a GnuTLS priority string" },
	[KS_CFG_HOSTNAME] = { "hostname", K_WORD, 0, 0, "a host name" },
	[KS_CFG_TENANT_LABEL] = { "tenant-label", K_WORD, 0, 0,
				  "a Prometheus label name" },
	[KS_CFG_MAX_INSTNS] = { "max-instrumentations", K_NUM, 1, 100000,
				"instrumentations" },
	[KS_CFG_TENANT_INSTNS] = { "tenant-instrumentations", K_NUM, 1, 10000,
				   "instrumentations" },
	[KS_CFG_MAX_CONNS] = { "max-connections", K_NUM, 1, 1024,
			       "connections" },
	[KS_CFG_CONN_TIMEOUT] = { "connection-timeout", K_NUM, 1, 3600,
				  "seconds" },
	[KS_CFG_MAX_BODY] = { "max-body", K_NUM, 1024, 16 * 1024 * 1024,
			      "bytes" },
	[KS_CFG_REQUEST_TIMEOUT] = { "request-timeout", K_NUM, 1, 3600,
				     "seconds" },
	[KS_CFG_PER_ADDR_CONNS] = { "per-address-connections", K_NUM, 1, 1024,
				    "connections" },
	[KS_CFG_INSTN_MEMORY] = { "instrumentation-memory", K_NUM, 1,
				  1024 * 1024, "MiB" },
	[KS_CFG_INSTN_KEYS] = { "instrumentation-keys", K_NUM, 1, 1000000,
				"keys" },
	[KS_CFG_SYMBOLS] = { "symbols", K_NUM, 1024, 100000000, "symbols" },
	[KS_CFG_GUEST_KEYS] = { "guest-keys", K_NUM, 1, 100000000, "keys" },
	[KS_CFG_RAW_VALUES] = { "raw-values", K_NUM, 1, 100000000,
				"values" },
	[KS_CFG_SERIES_GRACE] = { "series-grace", K_NUM, 1, 7 * 86400,
				  "seconds" },
};

const char *ks_config_key_name(enum ks_config_key k)
{
	return (unsigned int)k < KS_CFG__COUNT ? keys[k].name : NULL;
}

int ks_config_key_lookup(const char *name)
{
	for (int k = 0; k < KS_CFG__COUNT; k++)
		if (!strcmp(keys[k].name, name))
			return k;
	return -ENOENT;
}

void ks_config_init(struct ks_config *c)
{
	memset(c, 0, sizeof(*c));
}

void ks_config_fini(struct ks_config *c)
{
	for (int k = 0; k < KS_CFG__NSTR; k++)
		free(c->str[k]);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

/* Checks value for key k; where is "--tls-cert" or "FILE:LINE: key
 * \"tls-cert\"", the start of any message.  Paths must be absolute in a
 * file (a service's working directory is not the admin's). */
static int check_value(enum ks_config_key k, const char *value,
		       bool from_file, const char *where, const char *param,
		       uint64_t *num, struct ks_err *err)
{
	const struct keyinfo *ki = &keys[k];
	size_t n = strlen(value);
	char *end;

	if (!n)
		return ks_err_set(err, EINVAL, param, "%s needs a value (%s)",
				  where, ki->what);
	if (n > MAX_VALUE)
		return ks_err_set(err, EINVAL, param, "%s is longer than %d "
				  "characters", where, MAX_VALUE);
	for (const char *p = value; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return ks_err_set(err, EINVAL, param,
					  "%s: the value must be one word, "
					  "without spaces or control characters "
					  "(comments go on lines of their own)",
					  where);
	if (ki->kind == K_PATH && from_file && value[0] != '/')
		return ks_err_set(err, EINVAL, param, "%s: \"%.100s\" must be "
				  "an absolute path", where, value);
	if (ki->kind == K_PEERS) {
		struct ks_err why;

		if (ks_peers_parse(value, param, NULL, 0, NULL, &why))
			return ks_err_set(err, EINVAL, param, "%s: %s", where,
					  why.msg);
		return 0;
	}
	if (ki->kind != K_NUM)
		return 0;
	errno = 0;
	*num = strtoull(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || *end || errno ||
	    *num < ki->min || *num > ki->max)
		return ks_err_set(err, ERANGE, param, "%s must be a whole "
				  "number of %s from %llu to %llu, not "
				  "\"%.40s\"", where, ki->what,
				  (unsigned long long)ki->min,
				  (unsigned long long)ki->max, value);
	return 0;
}

/* Stores a checked value. */
static int store(struct ks_config *c, enum ks_config_key k,
		 const char *value, uint64_t num, unsigned int line,
		 struct ks_err *err)
{
	if (k < KS_CFG__NSTR) {
		char *copy = strdup(value);

		if (!copy)
			return ks_err_set(err, ENOMEM, keys[k].name,
					  "out of memory");
		free(c->str[k]);
		c->str[k] = copy;
	} else {
		c->num[k] = num;
	}
	c->line[k] = line;
	c->set |= 1u << k;
	return 0;
}

int ks_config_set(struct ks_config *c, enum ks_config_key k,
		  const char *value, struct ks_err *err)
{
	char opt[48];
	uint64_t num = 0;
	int rc;

	if ((unsigned int)k >= KS_CFG__COUNT)
		return ks_err_set(err, EINVAL, "", "no such setting");
	snprintf(opt, sizeof(opt), "--%s", keys[k].name);
	if ((rc = check_value(k, value, false, opt, opt, &num, err)))
		return rc;
	return store(c, k, value, num, 0, err);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* The list of keys, for the unknown-key message. */
static void key_list(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k < KS_CFG__COUNT && off < len; k++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					k ? ", " : "", keys[k].name);
}

/* Parses one line (NUL-terminated, without its newline). */
static int parse_line(struct ks_config *c, char *line, unsigned int no,
		      const char *file, struct ks_err *err)
{
	char where[200], list[200];
	char *eq, *key, *value;
	uint64_t num = 0;
	int k, rc;

	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	if (!(eq = strchr(line, '='))) {
		if (*line == '[')
			return ks_err_set(err, EINVAL, "", "%.100s:%u: sections "
					  "are not used: write KEY = VALUE "
					  "lines only", file, no);
		return ks_err_set(err, EINVAL, "", "%.100s:%u: expected KEY = "
				  "VALUE", file, no);
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if ((k = ks_config_key_lookup(key)) < 0) {
		key_list(list, sizeof(list));
		return ks_err_set(err, EINVAL, "", "%.100s:%u: unknown key "
				  "\"%.40s\" (known: %s)", file, no, key, list);
	}
	snprintf(where, sizeof(where), "%.100s:%u: key \"%s\"", file, no,
		 keys[k].name);
	if (ks_config_has(c, (enum ks_config_key)k))
		return ks_err_set(err, EINVAL, keys[k].name, "%s is set twice "
				  "(first on line %u)", where, c->line[k]);
	rc = check_value((enum ks_config_key)k, value, true, where,
			 keys[k].name, &num, err);
	return rc ? rc : store(c, (enum ks_config_key)k, value, num, no, err);
}

int ks_config_load(struct ks_config *c, const char *path, bool must_exist,
		   struct ks_err *err)
{
	unsigned int no = 0;
	char *text, *line, *next;
	int rc;

	rc = ks_file_read(path, KS_CONFIG_MAX_SIZE, 0, "--config", &text,
			  NULL, err);
	if (rc == -ENOENT && !must_exist)
		return 0;
	if (rc)
		return rc;
	if (!(c->path = strdup(path))) {
		free(text);
		return ks_err_set(err, ENOMEM, "--config", "out of memory");
	}
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		no++;
		if (strlen(line) > KS_CONFIG_MAX_LINE) {
			rc = ks_err_set(err, EINVAL, "", "%.100s:%u: line longer "
					"than %d characters", path, no,
					KS_CONFIG_MAX_LINE);
			break;
		}
		if ((rc = parse_line(c, line, no, path, err)))
			break;
	}
	free(text);
	return rc;
}

int ks_config_override(struct ks_config *dst, const struct ks_config *src)
{
	struct ks_err err;

	for (int k = 0; k < KS_CFG__COUNT; k++) {
		if (!ks_config_has(src, (enum ks_config_key)k))
			continue;
		if (store(dst, (enum ks_config_key)k,
			  k < KS_CFG__NSTR ? src->str[k] : "", src->num[k],
			  src->line[k], &err))
			return -ENOMEM;
	}
	return 0;
}

const char *ks_config_str(const struct ks_config *c, enum ks_config_key k)
{
	return k < KS_CFG__NSTR && ks_config_has(c, k) ? c->str[k] : NULL;
}

uint64_t ks_config_num(const struct ks_config *c, enum ks_config_key k,
		       uint64_t def)
{
	return ks_config_has(c, k) && k < KS_CFG__COUNT ? c->num[k] : def;
}

void ks_config_origin(const struct ks_config *c, enum ks_config_key k,
		      char *buf, size_t len)
{
	if ((unsigned int)k >= KS_CFG__COUNT) {
		snprintf(buf, len, "?");
		return;
	}
	if (c->line[k] && c->path)
		snprintf(buf, len, "%.100s:%u: key \"%s\"", c->path, c->line[k],
			 keys[k].name);
	else
		snprintf(buf, len, "--%s", keys[k].name);
}
