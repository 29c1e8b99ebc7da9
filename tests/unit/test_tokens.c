/* test_tokens.c - the token file: operator and tenant lines, every kind of
 * bad line refused with its line number and without quoting a token, the
 * file's mode checked, lookups exact.
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

#include "http/tokens.h"

#define OP "op-0123456789abcdef"
#define TA "ta-0123456789abcdef"
#define TA2 "ta2-0123456789abcdef"
#define TB "tb-0123456789abcdef"
#define UUID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

static void test_parse(void **state)
{
	struct ks_err err;
	struct ks_tokens *t;
	const struct ks_token *k;
	const struct ks_tenant *a, *b;

	(void)state;
	t = ks_tokens__parse("# tokens\n"
			     "\n"
			     OP " operator\n"
			     TA "\ttenant  acme  web1,db-2\n"
			     "  " TB " tenant beta " UUID "\r\n"
			     TA2 " tenant acme db-2,web1\n", "tokens", &err);
	assert_non_null(t);
	assert_int_equal(t->ntokens, 4);
	assert_int_equal(t->ntenants, 2);
	k = ks_tokens__find(t, OP, strlen(OP));
	assert_non_null(k);
	assert_null(k->tenant);
	assert_int_equal(k->line, 3);
	a = ks_tokens__tenant(t, "acme");
	b = ks_tokens__tenant(t, "beta");
	assert_non_null(a);
	assert_non_null(b);
	assert_null(ks_tokens__tenant(t, "gamma"));
	assert_int_equal(a->nvms, 2);
	assert_string_equal(a->vms[0], "web1");
	assert_string_equal(a->vms[1], "db-2");
	assert_int_equal(b->nvms, 1);
	assert_string_equal(b->vms[0], UUID);
	/* Both of acme's tokens lead to the one tenant. */
	assert_ptr_equal(ks_tokens__find(t, TA, strlen(TA))->tenant, a);
	assert_ptr_equal(ks_tokens__find(t, TA2, strlen(TA2))->tenant, a);
	assert_ptr_equal(ks_tokens__find(t, TB, strlen(TB))->tenant, b);
	/* Exact matches only: prefixes, extensions and case differ. */
	assert_null(ks_tokens__find(t, OP, strlen(OP) - 1));
	assert_null(ks_tokens__find(t, OP "x", strlen(OP) + 1));
	assert_null(ks_tokens__find(t, "OP-0123456789abcdef", strlen(OP)));
	assert_null(ks_tokens__find(t, "", 0));
	ks_tokens__free(t);
}

/* The owner of a VM, as the tenant label and tenancy see it: names match
 * vm, UUID entries vmuuid; a VM two tenants list is found. */
static void test_owner(void **state)
{
	struct ks_err err;
	struct ks_tokens *t;
	const struct ks_tenant *a, *b;

	(void)state;
	t = ks_tokens__parse(OP " operator\n"
			     TA " tenant acme web1,db-2\n"
			     TB " tenant beta " UUID "\n", "tokens", &err);
	assert_non_null(t);
	assert_string_equal(ks_tokens__owner(t, "web1", "")->name, "acme");
	assert_string_equal(ks_tokens__owner(t, "db-2", UUID)->name, "acme");
	assert_string_equal(ks_tokens__owner(t, "x", UUID)->name, "beta");
	/* A name is not a uuid, nor the other way round. */
	assert_null(ks_tokens__owner(t, UUID, "web1"));
	assert_null(ks_tokens__owner(t, "web", NULL));
	assert_null(ks_tokens__owner(NULL, "web1", ""));
	assert_null(ks_tokens__shared_vm(t, &a, &b));
	ks_tokens__free(t);
	t = ks_tokens__parse(TA " tenant acme web1,db-2\n"
			     TB " tenant beta web3,db-2\n", "tokens", &err);
	assert_non_null(t);
	assert_string_equal(ks_tokens__shared_vm(t, &a, &b), "db-2");
	assert_string_equal(a->name, "acme");
	assert_string_equal(b->name, "beta");
	ks_tokens__free(t);
}

static void test_uuid(void **state)
{
	(void)state;
	assert_true(ks_tokens_is_uuid(UUID));
	assert_true(ks_tokens_is_uuid("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"));
	assert_false(ks_tokens_is_uuid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f"));
	assert_false(ks_tokens_is_uuid(UUID "0"));
	assert_false(ks_tokens_is_uuid("0f1e2d3c4b5a69788796a5b4c3d2e1f0"));
	assert_false(ks_tokens_is_uuid("qemu-system-x86"));
	assert_false(ks_tokens_is_uuid(""));
}

static void test_bad(void **state)
{
	static const struct {
		const char *text;
		const char *line;
		const char *says;
	} bad[] = {
		{ OP "\n", ":1:", "expected" },
		{ OP " admin\n", ":1:", "expected" },
		{ "\n" OP " operator extra\n", ":2:", "nothing after" },
		{ OP " tenant acme\n", ":1:", "TOKEN tenant NAME" },
		{ OP " tenant acme a b\n", ":1:", "TOKEN tenant NAME" },
		{ "short operator\n", ":1:", "16 to 256" },
		{ "0123456789abcdef! operator\n", ":1:", "only letters" },
		{ "0123456789abcdef=x operator\n", ":1:", "only letters" },
		{ OP " operator\n" OP " tenant a vm\n", ":2:",
		  "same as on line 1" },
		{ TA " tenant ac/me vm\n", ":1:", "tenant name \"ac/me\"" },
		{ TA " tenant .hidden vm\n", ":1:", "tenant name" },
		{ TA " tenant acme a,,b\n", ":1:", "without empty entries" },
		{ TA " tenant acme ,a\n", ":1:", "without empty entries" },
		{ TA " tenant acme a,\n", ":1:", "without empty entries" },
		{ TA " tenant acme ,\n", ":1:", "without empty entries" },
		{ TA " tenant acme web1\n" TA2 " tenant acme web2\n", ":2:",
		  "other VMs" },
		{ "# only comments\n\n", "", "holds no token" },
	};
	struct ks_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ks_tokens *t = ks_tokens__parse(bad[i].text, "tok",
						       &err);

		if (t || !strstr(err.msg, bad[i].line) ||
		    !strstr(err.msg, bad[i].says) ||
		    strcmp(err.param, "--tokens"))
			fail_msg("case %zu: %s: \"%s\"", i, t ? "accepted" :
				 "wrong error", err.msg);
		/* No message ever quotes a token. */
		if (strstr(err.msg, "0123456789abcdef"))
			fail_msg("case %zu quotes a token: %s", i, err.msg);
		ks_tokens__free(t);
	}
}

static void test_too_many_vms(void **state)
{
	char text[4096];
	size_t off;
	struct ks_err err;
	struct ks_tokens *t;

	(void)state;
	off = (size_t)snprintf(text, sizeof(text), TA " tenant acme ");
	for (int i = 0; i <= KS_TENANT_MAX_VMS; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"%svm%d", i ? "," : "", i);
	t = ks_tokens__parse(text, "tok", &err);
	assert_null(t);
	assert_non_null(strstr(err.msg, "more than 64 VMs"));
	/* Exactly the maximum is fine. */
	*strrchr(text, ',') = '\0';
	t = ks_tokens__parse(text, "tok", &err);
	assert_non_null(t);
	assert_int_equal(ks_tokens__tenant(t, "acme")->nvms, KS_TENANT_MAX_VMS);
	ks_tokens__free(t);
}

static void test_load_mode(void **state)
{
	char path[] = "/tmp/test_tokens.XXXXXX";
	int fd = mkstemp(path);
	struct ks_err err;
	struct ks_tokens *t;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, OP " operator\n", strlen(OP) + 10),
			 (ssize_t)strlen(OP) + 10);
	close(fd);
	assert_int_equal(chmod(path, 0640), 0);
	t = ks_tokens__load(path, &err);
	assert_null(t);
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_null(strstr(err.msg, "0123456789abcdef"));
	assert_int_equal(chmod(path, 0600), 0);
	t = ks_tokens__load(path, &err);
	assert_non_null(t);
	assert_int_equal(t->ntokens, 1);
	ks_tokens__free(t);
	unlink(path);
	assert_null(ks_tokens__load(path, &err));
	assert_non_null(strstr(err.msg, "cannot read"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_too_many_vms),
		cmocka_unit_test(test_load_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
