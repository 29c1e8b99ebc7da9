/* fuzz_access.c - libFuzzer target for the token file, the config file and
 * the access gate.
 *
 * Input: a token file's text, then after a NUL byte lines of "METHOD PATH
 * AUTHORIZATION" requests.  The token text is also parsed as a config
 * file (through a memfd, as the agent reads a file).  Besides "no crash,
 * no leak, no UB", it checks what must hold: a refused token file names
 * "--tokens" and quotes no token of it; a refused config names its line;
 * a request the gate lets through has a scope (a tenant one has a tenant
 * whose name is the path's customer); a refusal is 401, 403 or 404 with a
 * JSON body, and a 401 carries the challenge.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http/access.h"
#include "http/tokens.h"
#include "util/config.h"

static void dummy(void *ctx, const struct ks_http_req *req,
		  const struct ks_route_match *m, struct ks_http_resp *resp)
{
	(void)ctx, (void)req, (void)m, (void)resp;
}

static const struct ks_route routes[] = {
	{ "GET", "/", dummy, true, true },
	{ "GET", "", dummy, false, false },
	{ "GET", "/instrumentations", dummy, false, false },
	{ "GET", "/instrumentations/:id", dummy, false, false },
	{ "GET", "/metrics", dummy, true, false },
	{ "GET", "/:file", dummy, true, true },
};

static void check_config(const char *text, size_t len)
{
	struct ks_config c;
	struct ks_err err = { "", "" };
	char path[64];
	int fd = memfd_create("fuzz.conf", 0);

	if (fd < 0)
		return;
	if (write(fd, text, len) == (ssize_t)len) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ks_config_init(&c);
		if (ks_config_load(&c, path, true, &err) &&
		    !strstr(err.msg, path))
			abort();	/* every error names the file */
		ks_config_fini(&c);
	}
	close(fd);
}

static void check_request(const struct ks_tokens *t, char *line)
{
	struct ks_http_req req = { .params = NULL };
	struct ks_http_resp resp;
	struct ks_scope scope;
	char *sp1 = strchr(line, ' '), *sp2;

	if (!sp1)
		return;
	*sp1 = '\0';
	sp2 = strchr(sp1 + 1, ' ');
	if (sp2)
		*sp2 = '\0';
	req.method = line;
	req.path = sp1 + 1;
	req.authorization = sp2 ? sp2 + 1 : NULL;
	ks_http_resp_init(&resp);
	if (!ks_access_authorize(t, routes, sizeof(routes) / sizeof(routes[0]),
				 &req, &scope, &resp)) {
		if (scope.kind == KS_SCOPE_TENANT &&
		    (!scope.tenant || !strstr(req.path, scope.tenant->name)))
			abort();
		if (resp.status)
			abort();	/* let through, yet answered */
	} else {
		if (resp.status != 401 && resp.status != 403 &&
		    resp.status != 404)
			abort();
		if (!resp.body)
			abort();
		if (resp.status == 401 &&
		    !ks_http_resp__get_header(&resp, "WWW-Authenticate"))
			abort();
	}
	ks_http_resp_fini(&resp);
}

/* A refused token file's message does not quote the token of the line it
 * names (unless the same word is also the line's name or VM list). */
static void check_quiet(const char *text, const struct ks_err *err)
{
	unsigned int no, n = 1;
	const char *line = text, *end;
	char word[KS_TOKEN_MAX_LEN + 1];
	size_t w;

	if (sscanf(err->msg, "fuzz:%u:", &no) != 1)
		return;
	while (n < no && (line = strchr(line, '\n')))
		line++, n++;
	if (!line)
		return;
	line += strspn(line, " \t\r");
	w = strcspn(line, " \t\r\n");
	end = line + strcspn(line, "\n");
	if (w < KS_TOKEN_MIN_LEN || w > KS_TOKEN_MAX_LEN)
		return;
	memcpy(word, line, w);
	word[w] = '\0';
	{
		const char *again = strstr(line + w, word);

		if (again && again < end)
			return;
	}
	if (strstr(err->msg, word))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	struct ks_err err = { "", "" };
	struct ks_tokens *t;
	char *reqs, *line, *next;
	size_t tlen;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	tlen = strlen(buf);
	reqs = tlen < size ? buf + tlen + 1 : NULL;
	check_config(buf, tlen);
	t = ks_tokens__parse(buf, "fuzz", &err);
	if (!t && strcmp(err.param, "--tokens"))
		abort();
	if (!t)
		check_quiet(buf, &err);
	for (line = reqs; t && line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		check_request(t, line);
	}
	ks_tokens__free(t);
	free(buf);
	return 0;
}
