/* test_static.c - the web UI's files: content types, the path check, the
 * web root check, serving, and the routes that reach them through the API
 * (GET / and GET /:file beside /ca).  Each test builds its own web root in
 * a temporary directory, with a symlink that leads out of it. */
#include <errno.h>
#include <limits.h>
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

#include "engine/engine.h"
#include "http/api.h"
#include "http/static.h"

struct fixture {
	char dir[64];		/* the temporary directory */
	char root[PATH_MAX];	/* its web/ subdirectory, real path */
};

static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char web[PATH_MAX], path[PATH_MAX + 16], target[PATH_MAX + 16];
	struct ks_err err;

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/ks-static-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(web, sizeof(web), "%s/web", fx->dir);
	assert_int_equal(mkdir(web, 0755), 0);
	put(web, "index.html", "<!DOCTYPE html><title>ui</title>\n");
	put(web, "app.js", "export const x = 1;\n");
	put(web, ".hidden", "secret\n");
	put(fx->dir, "outside.txt", "not for the web\n");
	snprintf(path, sizeof(path), "%s/sub", web);
	assert_int_equal(mkdir(path, 0755), 0);
	/* A link out of the root, and one that stays inside. */
	snprintf(path, sizeof(path), "%s/out.txt", web);
	snprintf(target, sizeof(target), "%s/outside.txt", fx->dir);
	assert_int_equal(symlink(target, path), 0);
	snprintf(path, sizeof(path), "%s/alias.js", web);
	assert_int_equal(symlink("app.js", path), 0);
	assert_int_equal(ks_static_check_root(web, "--web-root", fx->root,
					      sizeof(fx->root), &err), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void test_content_types(void **state)
{
	(void)state;
	assert_string_equal(ks_static_content_type("index.html"),
			    "text/html; charset=utf-8");
	assert_string_equal(ks_static_content_type("/a/app.js"),
			    "text/javascript; charset=utf-8");
	assert_string_equal(ks_static_content_type("style.CSS"),
			    "text/css; charset=utf-8");
	assert_string_equal(ks_static_content_type("favicon.svg"),
			    "image/svg+xml");
	assert_string_equal(ks_static_content_type("x.png"), "image/png");
	assert_string_equal(ks_static_content_type("README"),
			    "application/octet-stream");
	assert_string_equal(ks_static_content_type("a.d/b"),
			    "application/octet-stream");
}

static void test_path_check(void **state)
{
	static const char *const good[] = {
		"/", "/app.js", "/kvmstat.html", "/a-b_c.1.css", "/sub/x.js",
	};
	static const char *const bad[] = {
		"", "app.js", "/..", "/../Makefile", "/sub/../app.js", "/.",
		"/./app.js", "/.hidden", "/sub/.git", "//app.js", "/app.js/",
		"/a b", "/a%2e%2e", "/a\\b", "/a:b", "/\xc3\xa9.js", "/sub//x",
	};
	char longp[300];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(ks_static_path_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ks_static_path_ok(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	}
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_false(ks_static_path_ok(longp));
	assert_false(ks_static_path_ok(NULL));
}

static void test_root_check(void **state)
{
	struct fixture *fx = *state;
	char buf[PATH_MAX], path[PATH_MAX + 16];
	struct ks_err err;

	/* The fixture's root resolved to a real path ending in /web. */
	assert_int_equal(fx->root[0], '/');
	assert_non_null(strstr(fx->root, "/web"));
	assert_int_equal(ks_static_check_root("/nonexistent/kvmscope/web",
					      "--web-root", buf, sizeof(buf),
					      &err), -ENOENT);
	assert_string_equal(err.param, "--web-root");
	assert_non_null(strstr(err.msg, "/nonexistent/kvmscope/web"));
	/* A directory without index.html, and a file. */
	assert_int_equal(ks_static_check_root(fx->dir, "--web-root", buf,
					      sizeof(buf), &err), -ENOENT);
	assert_non_null(strstr(err.msg, "index.html"));
	snprintf(path, sizeof(path), "%s/outside.txt", fx->dir);
	assert_int_equal(ks_static_check_root(path, "--web-root", buf,
					      sizeof(buf), &err), -ENOTDIR);
	/* Too small a buffer is an error, not a truncation. */
	assert_int_equal(ks_static_check_root(fx->root, "--web-root", buf, 4,
					      &err), -ENAMETOOLONG);
	/* Whatever this machine has, a default root holds an index. */
	if (!ks_static_default_root(buf, sizeof(buf))) {
		snprintf(path, sizeof(path), "%s/index.html", buf);
		assert_int_equal(access(path, R_OK), 0);
	}
}

static void test_serve(void **state)
{
	struct fixture *fx = *state;
	struct ks_http_resp r;

	ks_http_resp_init(&r);
	assert_int_equal(ks_static_serve(fx->root, "/", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/html; charset=utf-8");
	assert_int_equal(r.len, strlen("<!DOCTYPE html><title>ui</title>\n"));
	assert_memory_equal(r.body, "<!DOCTYPE html>", 15);
	assert_string_equal(ks_http_resp__get_header(&r, "Cache-Control"),
			    "no-cache");
	assert_string_equal(ks_http_resp__get_header(&r,
						     "X-Content-Type-Options"),
			    "nosniff");
	ks_http_resp_fini(&r);

	ks_http_resp_init(&r);
	assert_int_equal(ks_static_serve(fx->root, "/app.js", &r), 0);
	assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
	assert_memory_equal(r.body, "export const x = 1;\n", r.len);
	ks_http_resp_fini(&r);

	/* A link that stays inside is served as its target. */
	ks_http_resp_init(&r);
	assert_int_equal(ks_static_serve(fx->root, "/alias.js", &r), 0);
	assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
	ks_http_resp_fini(&r);
}

static void test_refused(void **state)
{
	static const char *const paths[] = {
		"/missing.js", "/out.txt", "/.hidden", "/sub", "/../outside.txt",
		"/sub/../app.js", "/index.html/",
	};
	struct fixture *fx = *state;
	struct ks_http_resp r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		ks_http_resp_init(&r);
		if (ks_static_serve(fx->root, paths[i], &r) != -ENOENT)
			fail_msg("served \"%s\"", paths[i]);
		/* The response is left as it was. */
		assert_int_equal(r.status, 0);
		assert_null(r.body);
		assert_int_equal(r.nheaders, 0);
		ks_http_resp_fini(&r);
	}
	/* No root: nothing is served. */
	ks_http_resp_init(&r);
	assert_int_equal(ks_static_serve(NULL, "/", &r), -ENOENT);
	ks_http_resp_fini(&r);
}

/* One request through the API's router; returns the status. */
static int request(struct ks_api *api, const char *method, const char *path,
		   struct ks_http_resp *r)
{
	struct ks_http_req req = { .method = method, .path = path,
				   .params = json_object() };

	ks_http_resp_init(r);
	ks_api__handle(api, &req, r);
	json_decref(req.params);
	return r->status;
}

static void test_api_routes(void **state)
{
	struct fixture *fx = *state;
	struct ks_engine *e = ks_engine__new();
	struct ks_api *api = ks_api__new(e);
	struct ks_http_resp r;

	assert_non_null(api);
	/* Without a web root, "/" is the API's own short page. */
	assert_int_equal(request(api, "GET", "/", &r), 200);
	assert_non_null(strstr(r.body, "--web-root"));
	ks_http_resp_fini(&r);
	assert_int_equal(request(api, "GET", "/app.js", &r), 404);
	ks_http_resp_fini(&r);

	assert_int_equal(ks_api__set_web_root(api, fx->root), 0);
	assert_int_equal(request(api, "GET", "/", &r), 200);
	assert_non_null(strstr(r.body, "<title>ui</title>"));
	ks_http_resp_fini(&r);
	assert_int_equal(request(api, "GET", "/app.js", &r), 200);
	assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
	ks_http_resp_fini(&r);
	assert_int_equal(request(api, "HEAD", "/app.js", &r), 200);
	ks_http_resp_fini(&r);
	/* The API still wins over files, and errors stay JSON. */
	assert_int_equal(request(api, "GET", "/ca", &r), 200);
	assert_string_equal(r.content_type, KS_HTTP_JSON);
	ks_http_resp_fini(&r);
	assert_int_equal(request(api, "GET", "/out.txt", &r), 404);
	assert_string_equal(r.content_type, KS_HTTP_JSON);
	ks_http_resp_fini(&r);
	assert_int_equal(request(api, "GET", "/../outside.txt", &r), 404);
	ks_http_resp_fini(&r);
	assert_int_equal(request(api, "POST", "/app.js", &r), 404);	/* CA */
	ks_http_resp_fini(&r);

	ks_api__free(api);
	ks_engine__free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_types),
		cmocka_unit_test(test_path_check),
		cmocka_unit_test_setup_teardown(test_root_check, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_serve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_routes, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
