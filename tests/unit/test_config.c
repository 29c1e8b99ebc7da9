/* test_config.c - the configuration file and the small-file reader: every
 * key parsed, the command line over the file, and each kind of bad file
 * refused with FILE:LINE and the key in the message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/config.h"
#include "util/fileio.h"
#include "util/peers.h"

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_config.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/kvmscope.conf", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

/* Loads text as a config file; returns the rc, err filled. */
static int load(struct fx *f, const char *text, struct ks_config *c,
		struct ks_err *err)
{
	write_file(f->path, text, 0644);
	ks_config_init(c);
	return ks_config_load(c, f->path, true, err);
}

static void test_good(void **state)
{
	struct fx *f = *state;
	struct ks_config c;
	struct ks_err err;
	char where[200];

	assert_int_equal(load(f,
			      "# kvmscope\n"
			      "\n"
			      "listen = 0.0.0.0:23181\n"
			      "  tls-cert=/etc/kvmscope/cert.pem  \n"
			      "tls-key =\t/etc/kvmscope/key.pem\n"
			      "   # indented comment\n"
			      "tokens = /etc/kvmscope/tokens\n"
			      "state = /var/lib/kvmscope/state.db\n"
			      "web-root = /usr/share/kvmscope/web\n"
			      "max-instrumentations = 500\n"
			      "tenant-instrumentations = 10\n"
			      "max-connections = 128\n"
			      "connection-timeout = 60\n"
			      "max-body = 65536", &c, &err), 0);
	assert_string_equal(ks_config_str(&c, KS_CFG_LISTEN), "0.0.0.0:23181");
	assert_string_equal(ks_config_str(&c, KS_CFG_TLS_CERT),
			    "/etc/kvmscope/cert.pem");
	assert_string_equal(ks_config_str(&c, KS_CFG_TLS_KEY),
			    "/etc/kvmscope/key.pem");
	assert_string_equal(ks_config_str(&c, KS_CFG_TOKENS),
			    "/etc/kvmscope/tokens");
	assert_string_equal(ks_config_str(&c, KS_CFG_STATE),
			    "/var/lib/kvmscope/state.db");
	assert_string_equal(ks_config_str(&c, KS_CFG_WEB_ROOT),
			    "/usr/share/kvmscope/web");
	assert_int_equal(ks_config_num(&c, KS_CFG_MAX_INSTNS, 1), 500);
	assert_int_equal(ks_config_num(&c, KS_CFG_TENANT_INSTNS, 1), 10);
	assert_int_equal(ks_config_num(&c, KS_CFG_MAX_CONNS, 1), 128);
	assert_int_equal(ks_config_num(&c, KS_CFG_CONN_TIMEOUT, 1), 60);
	assert_int_equal(ks_config_num(&c, KS_CFG_MAX_BODY, 1), 65536);
	/* Later errors can say where a value came from. */
	ks_config_origin(&c, KS_CFG_TOKENS, where, sizeof(where));
	assert_non_null(strstr(where, "kvmscope.conf:7"));
	assert_non_null(strstr(where, "\"tokens\""));
	ks_config_fini(&c);
}

static void test_empty_and_missing(void **state)
{
	struct fx *f = *state;
	struct ks_config c;
	struct ks_err err;

	assert_int_equal(load(f, "", &c, &err), 0);
	assert_int_equal(c.set, 0);
	assert_null(ks_config_str(&c, KS_CFG_LISTEN));
	assert_int_equal(ks_config_num(&c, KS_CFG_MAX_CONNS, 64), 64);
	ks_config_fini(&c);
	/* The default file may be absent; a file asked for may not. */
	ks_config_init(&c);
	assert_int_equal(ks_config_load(&c, "/nonexistent/kvmscope.conf",
					false, &err), 0);
	assert_int_equal(c.set, 0);
	assert_int_equal(ks_config_load(&c, "/nonexistent/kvmscope.conf",
					true, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/kvmscope.conf"));
	ks_config_fini(&c);
	/* A directory is not a config file. */
	ks_config_init(&c);
	assert_int_equal(ks_config_load(&c, f->dir, true, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
	ks_config_fini(&c);
}

/* Each bad file: the error, its line and the text the message names. */
static void test_bad(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *line;	/* ":N:" */
		const char *says;
		const char *param;
	} bad[] = {
		{ "listen = 127.0.0.1:1\nfrobnicate = 1\n", -EINVAL, ":2:",
		  "unknown key \"frobnicate\"", "" },
		{ "listen 127.0.0.1:1\n", -EINVAL, ":1:", "KEY = VALUE", "" },
		{ "[serve]\nlisten = 127.0.0.1:1\n", -EINVAL, ":1:",
		  "sections", "" },
		{ "listen =\n", -EINVAL, ":1:", "needs a value", "listen" },
		{ "listen = a b\n", -EINVAL, ":1:", "one word", "listen" },
		{ "listen = 1:1 # comment\n", -EINVAL, ":1:", "one word",
		  "listen" },
		{ "# c\nlisten = 1:1\nlisten = 2:2\n", -EINVAL, ":3:",
		  "set twice (first on line 2)", "listen" },
		{ "tokens = etc/tokens\n", -EINVAL, ":1:", "absolute path",
		  "tokens" },
		{ "\n\nmax-connections = 0\n", -ERANGE, ":3:",
		  "from 1 to 1024", "max-connections" },
		{ "max-connections = 5000\n", -ERANGE, ":1:", "not \"5000\"",
		  "max-connections" },
		{ "max-body = 12k\n", -ERANGE, ":1:", "whole number of bytes",
		  "max-body" },
		{ "connection-timeout = -1\n", -ERANGE, ":1:",
		  "connection-timeout", "connection-timeout" },
		{ "tenant-instrumentations = 99999999999999999999999\n",
		  -ERANGE, ":1:", "tenant-instrumentations",
		  "tenant-instrumentations" },
		{ " = 3\n", -EINVAL, ":1:", "unknown key \"\"", "" },
	};
	struct fx *f = *state;
	struct ks_config c;
	struct ks_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = load(f, bad[i].text, &c, &err);

		if (rc != bad[i].rc || !strstr(err.msg, bad[i].line) ||
		    !strstr(err.msg, bad[i].says) ||
		    !strstr(err.msg, f->path) ||
		    strcmp(err.param, bad[i].param))
			fail_msg("case %zu: rc %d, param \"%s\", msg \"%s\"", i,
				 rc, err.param, err.msg);
		ks_config_fini(&c);
	}
}

static void test_long_line_and_nul(void **state)
{
	struct fx *f = *state;
	struct ks_config c;
	struct ks_err err;
	char *text = malloc(KS_CONFIG_MAX_LINE + 32);
	FILE *fp;

	memset(text, 'x', KS_CONFIG_MAX_LINE + 10);
	memcpy(text, "listen = ", 9);
	strcpy(text + KS_CONFIG_MAX_LINE + 10, "\n");
	assert_int_equal(load(f, text, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, ":1: line longer"));
	ks_config_fini(&c);
	free(text);
	/* A NUL byte: not a text file. */
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fwrite("listen = 1\0:2\n", 1, 14, fp);
	fclose(fp);
	ks_config_init(&c);
	assert_int_equal(ks_config_load(&c, f->path, true, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "NUL"));
	ks_config_fini(&c);
}

static void test_override(void **state)
{
	struct fx *f = *state;
	struct ks_config file, cli;
	struct ks_err err;
	char where[200];

	assert_int_equal(load(f, "listen = 0.0.0.0:1\ntokens = /a/tokens\n"
			      "max-connections = 10\n", &file, &err), 0);
	ks_config_init(&cli);
	assert_int_equal(ks_config_set(&cli, KS_CFG_TOKENS, "rel/tokens", &err),
			 0);
	assert_int_equal(ks_config_set(&cli, KS_CFG_MAX_CONNS, "20", &err), 0);
	assert_int_equal(ks_config_override(&file, &cli), 0);
	assert_string_equal(ks_config_str(&file, KS_CFG_TOKENS), "rel/tokens");
	assert_string_equal(ks_config_str(&file, KS_CFG_LISTEN), "0.0.0.0:1");
	assert_int_equal(ks_config_num(&file, KS_CFG_MAX_CONNS, 0), 20);
	/* Overridden values name the option, the others the file. */
	ks_config_origin(&file, KS_CFG_TOKENS, where, sizeof(where));
	assert_string_equal(where, "--tokens");
	ks_config_origin(&file, KS_CFG_LISTEN, where, sizeof(where));
	assert_non_null(strstr(where, ":1: key \"listen\""));
	/* The command line is checked the same way. */
	assert_int_equal(ks_config_set(&cli, KS_CFG_MAX_CONNS, "x", &err),
			 -ERANGE);
	assert_string_equal(err.param, "--max-connections");
	assert_int_equal(ks_config_set(&cli, KS_CFG_TLS_KEY, "", &err),
			 -EINVAL);
	assert_int_equal(ks_config_key_lookup("tls-cert"), KS_CFG_TLS_CERT);
	assert_int_equal(ks_config_key_lookup("nope"), -ENOENT);
	assert_string_equal(ks_config_key_name(KS_CFG_MAX_BODY), "max-body");
	assert_null(ks_config_key_name(KS_CFG__COUNT));
	ks_config_fini(&cli);
	ks_config_fini(&file);
}

static void test_fileio_private(void **state)
{
	struct fx *f = *state;
	struct ks_err err;
	char *text = NULL;
	size_t len;

	write_file(f->path, "s3kr1t\n", 0644);
	assert_int_equal(ks_file_read(f->path, 100, KS_FILE_PRIVATE, "--tokens",
				      &text, &len, &err), -EPERM);
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_non_null(strstr(err.msg, "0644"));
	assert_null(strstr(err.msg, "s3kr1t"));
	assert_string_equal(err.param, "--tokens");
	/* Group-readable is fine for a key kept for a key group ... */
	assert_int_equal(chmod(f->path, 0640), 0);
	assert_int_equal(ks_file_read(f->path, 100, KS_FILE_NOT_WORLD, "k",
				      &text, &len, &err), 0);
	assert_string_equal(text, "s3kr1t\n");
	assert_int_equal(len, 7);
	free(text);
	/* ... not for a token file. */
	assert_int_equal(ks_file_read(f->path, 100, KS_FILE_PRIVATE, "t", &text,
				      &len, &err), -EPERM);
	assert_int_equal(chmod(f->path, 0604), 0);
	assert_int_equal(ks_file_read(f->path, 100, KS_FILE_NOT_WORLD, "k",
				      &text, &len, &err), -EPERM);
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(ks_file_read(f->path, 100, KS_FILE_PRIVATE, "t", &text,
				      NULL, &err), 0);
	free(text);
	/* Size bound. */
	assert_int_equal(ks_file_read(f->path, 3, 0, "t", &text, NULL, &err),
			 -EFBIG);
}

/* Peers: good lists are split exactly; anything that could carry markup
 * or another scheme is refused, naming the item. */
static void test_peers(void **state)
{
	struct ks_peer p[KS_PEERS_MAX];
	char many[64 * (KS_PEERS_MAX + 1)] = "";
	struct ks_err err;
	size_t n = 0;

	(void)state;
	assert_int_equal(ks_peers_parse("a=http://h:1/,b.c=https://x.y/z?q=1",
					"peers", p, KS_PEERS_MAX, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].label, "a");
	assert_string_equal(p[0].url, "http://h:1/");
	assert_string_equal(p[1].label, "b.c");
	assert_string_equal(p[1].url, "https://x.y/z?q=1");
	assert_int_equal(ks_peers_parse("a=http://h\"><script>", "peers", p,
					KS_PEERS_MAX, &n, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "peer \"a\""));
	assert_int_equal(ks_peers_parse("a b=http://h/", "peers", NULL, 0, NULL,
					&err), -EINVAL);
	assert_int_equal(ks_peers_parse("=http://h/", "peers", NULL, 0, NULL,
					&err), -EINVAL);
	assert_int_equal(ks_peers_parse("a=http://", "peers", NULL, 0, NULL,
					&err), -EINVAL);
	assert_int_equal(ks_peers_parse("a=http://h/,", "peers", NULL, 0, NULL,
					&err), -EINVAL);
	for (int i = 0; i <= KS_PEERS_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%sp%d=http://h%d/", i ? "," : "", i, i);
	assert_int_equal(ks_peers_parse(many, "peers", NULL, 0, NULL, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "at most"));
	assert_int_equal(ks_peers_parse("a=http://1/,b=http://2/", "peers", p, 1,
					&n, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peers),
		cmocka_unit_test_setup_teardown(test_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_missing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_and_nul, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_private, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
