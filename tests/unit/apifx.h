/* apifx.h - a CA API on a fresh engine, driven without a socket.
 *
 * The fixture the API tests share (test_access.c, test_imgcache.c): an
 * engine, the API over it with access control from a token text, the
 * engine's clock at a fixed second, and a call() that sends one request
 * the way the server would, parsing a JSON answer into fx->body.  Header
 * only (static inline): each test binary is one file.
 */
#ifndef KS_TESTS_APIFX_H
#define KS_TESTS_APIFX_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/symtab.h"
#include "http/api.h"
#include "http/message.h"
#include "http/params.h"
#include "http/tokens.h"

struct fx {
	struct ks_engine *e;
	struct ks_api *a;
	struct ks_tokens *t;
	struct ks_http_resp r;
	json_t *body;
	json_t *err;	/* body's CA error object {code, message, param}, or
			 * NULL (borrowed from body) */
};

/* Tokens from tokens_text, cap instrumentations per tenant, the clock at
 * now_s.  0, or -1 (cmocka then fails the test). */
static inline int apifx_setup(void **state, const char *tokens_text,
			      size_t cap, int64_t now_s)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ks_err err;

	if (!f)
		return -1;
	*state = f;
	f->e = ks_engine__new();
	f->a = f->e ? ks_api__new(f->e) : NULL;
	f->t = ks_tokens__parse(tokens_text, "tokens", &err);
	if (!f->e || !f->a || !f->t)
		return -1;
	ks_api__set_tokens(f->a, f->t, cap);
	ks_engine__tick(f->e, (uint64_t)now_s * KS_NSEC_PER_SEC);
	ks_http_resp_init(&f->r);
	return 0;
}

static inline int apifx_teardown(void **state)
{
	struct fx *f = *state;

	ks_http_resp_fini(&f->r);
	json_decref(f->body);
	ks_api__free(f->a);
	ks_tokens__free(f->t);
	ks_engine__free(f->e);
	free(f);
	ks_sym_reset();
	return 0;
}

/* Sends one request with an Authorization header (or none); a JSON body
 * answered lands in f->body.  Returns the status. */
static inline int apifx_call(struct fx *f, const char *auth,
			     const char *method, const char *target,
			     const char *body)
{
	struct ks_http_req req = { .method = method, .authorization = auth };
	char path[512];
	struct ks_err err;

	ks_http_resp__reset(&f->r);
	json_decref(f->body);
	f->body = NULL;
	f->err = NULL;
	req.params = json_object();
	req.path = path;
	if (ks_params_from_target(req.params, target, path, sizeof(path),
				  body ? "application/json" : NULL,
				  body ? body : "", body ? strlen(body) : 0,
				  &err)) {
		json_decref(req.params);
		return -1;
	}
	ks_api__handle(f->a, &req, &f->r);
	json_decref(req.params);
	if (f->r.body && f->r.content_type &&
	    !strcmp(f->r.content_type, KS_HTTP_JSON))
		f->body = json_loadb(f->r.body, f->r.len, 0, NULL);
	f->err = json_object_get(f->body, "error");
	return f->r.status;
}

#endif /* KS_TESTS_APIFX_H */
