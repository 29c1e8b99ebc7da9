/* fuzz_accept.c - libFuzzer target for the two short lists a client or an
 * operator hands the agent as text: the Accept header that picks the
 * /metrics format, and the peers list (serve --peers, config key peers).
 *
 * Input: the bytes up to the first NUL are an Accept header, the rest a
 * peers list.  Besides "no crash, no leak, no UB", it checks what must
 * hold: a peers list that parses gives labels of the allowed characters
 * and http(s) URLs without quotes or angle brackets, never more than
 * KS_PEERS_MAX; a refused one says so with the parameter named; the
 * Accept decision is the same when the header is asked twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expo/prom_pb.h"
#include "util/peers.h"

static void check_peers(const char *list)
{
	struct ks_peer p[KS_PEERS_MAX];
	struct ks_err err = { "", "" };
	size_t n = 0;

	if (ks_peers_parse(list, "peers", p, KS_PEERS_MAX, &n, &err)) {
		if (strcmp(err.param, "peers") || !err.msg[0])
			abort();
		return;
	}
	if (n < 1 || n > KS_PEERS_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (!p[i].label[0] || strpbrk(p[i].url, "\"'<> \t\n"))
			abort();
		if (strncmp(p[i].url, "http://", 7) &&
		    strncmp(p[i].url, "https://", 8))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	size_t a;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	a = strlen(buf);
	if (ks_prom_pb_wanted(buf) != ks_prom_pb_wanted(buf))
		abort();
	if (a < size)
		check_peers(buf + a + 1);
	free(buf);
	return 0;
}
