/* promql.c - Prometheus' HTTP query API over libcurl (see promql.h).
 *
 * libcurl is loaded with dlopen() when the first client is made, not
 * linked: only `kvmscope fleet` talks HTTP as a client, and linking it
 * made every command, the root agent included, map and relocate libcurl
 * and the 28 libraries it pulls in (Kerberos, LDAP, SSH, RTMP, ...) at
 * each start: about 25 ms of CPU per run (a tenth of a 2 M-line replay),
 * and code the agent never calls in its address space.  Debian's libcurl4
 * is a dependency of the package all the same (debian/control).
 *
 * One easy handle per client, reused so connections are kept alive; the
 * client is used by one thread at a time (the fleet's poller: the create
 * check asks it nothing, since it runs under the API lock).  A request is a
 * GET with URL-encoded parameters; its answer is read into a bounded
 * buffer, then parsed.  Prometheus answers errors as JSON with status
 * "error" and a message, which is passed on as the cause.
 */
#include "fleet/promql.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ks_promql {
	char *url;
	unsigned timeout_ms;
	CURL *curl;
	pthread_mutex_t lock;
	int last_rc;		/* of the last request: 0 or -errno */
};

struct body {
	char *buf;
	size_t len, cap;
	bool over;
};

/* The libcurl functions used, from the loaded library. */
static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*init)(void);
	void (*cleanup)(CURL *c);
	void (*reset)(CURL *c);
	CURLcode (*setopt)(CURL *c, CURLoption o, ...);
	CURLcode (*perform)(CURL *c);
	CURLcode (*getinfo)(CURL *c, CURLINFO i, ...);
	const char *(*strerror)(CURLcode rc);
	char *(*escape)(CURL *c, const char *s, int len);
	void (*free)(void *p);
} cu;
static char cu_error[256];	/* why libcurl could not be had, or "" */
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

static bool cu_sym(void *lib, const char *name, void *fnp)
{
	void *f = dlsym(lib, name);

	if (!f)
		snprintf(cu_error, sizeof(cu_error), "libcurl.so.4 lacks %s",
			 name);
	else
		memcpy(fnp, &f, sizeof(f));	/* object to function pointer */
	return f;
}

static void cu_load(void)
{
	void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(cu_error, sizeof(cu_error), "cannot load libcurl "
			 "(Debian's libcurl4): %s", dlerror());
		return;
	}
	if (cu_sym(lib, "curl_global_init", &cu.global_init) &&
	    cu_sym(lib, "curl_easy_init", &cu.init) &&
	    cu_sym(lib, "curl_easy_cleanup", &cu.cleanup) &&
	    cu_sym(lib, "curl_easy_reset", &cu.reset) &&
	    cu_sym(lib, "curl_easy_setopt", &cu.setopt) &&
	    cu_sym(lib, "curl_easy_perform", &cu.perform) &&
	    cu_sym(lib, "curl_easy_getinfo", &cu.getinfo) &&
	    cu_sym(lib, "curl_easy_strerror", &cu.strerror) &&
	    cu_sym(lib, "curl_easy_escape", &cu.escape) &&
	    cu_sym(lib, "curl_free", &cu.free) &&
	    cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		snprintf(cu_error, sizeof(cu_error), "curl_global_init "
			 "failed");
	if (cu_error[0])
		dlclose(lib);
}

struct ks_promql *ks_promql__new(const char *url, unsigned timeout_ms,
				 struct ks_err *err)
{
	struct ks_promql *p;
	size_t n;

	pthread_once(&cu_once, cu_load);
	if (cu_error[0]) {
		ks_err_set(err, ENOSYS, "prometheus", "%s", cu_error);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->url = strdup(url)) || !(p->curl = cu.init())) {
		ks_promql__free(p);
		ks_err_set(err, ENOMEM, "prometheus", "out of memory");
		return NULL;
	}
	n = strlen(p->url);
	while (n && p->url[n - 1] == '/')
		p->url[--n] = '\0';
	p->timeout_ms = timeout_ms ? timeout_ms : KS_PROMQL_TIMEOUT_MS_DEFAULT;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void ks_promql__free(struct ks_promql *p)
{
	if (!p)
		return;
	if (p->curl) {
		cu.cleanup(p->curl);
		pthread_mutex_destroy(&p->lock);
	}
	free(p->url);
	free(p);
}

const char *ks_promql__url(const struct ks_promql *p)
{
	return p->url;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	struct body *b = ctx;
	size_t n = size * nmemb;

	if (b->len + n + 1 > KS_PROMQL_BODY_MAX) {
		b->over = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *nb;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(nb = realloc(b->buf, cap)))
			return 0;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, ptr, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/* The answer's data.result, or NULL with err set. */
static json_t *result_of(const struct ks_promql *p, const struct body *b,
			 long status, struct ks_err *err)
{
	json_error_t je;
	json_t *j = json_loadb(b->buf ? b->buf : "", b->len, 0, &je);
	const char *st = json_string_value(json_object_get(j, "status"));
	json_t *r = json_object_get(json_object_get(j, "data"), "result");

	if (!j) {
		ks_err_set(err, EIO, "prometheus", "%s answered HTTP %ld, not "
			   "JSON: %s", p->url, status, je.text);
		return NULL;
	}
	if (!st || strcmp(st, "success") || !json_is_array(r)) {
		const char *e = json_string_value(json_object_get(j, "error"));

		ks_err_set(err, EIO, "prometheus", "%s answered HTTP %ld: %s",
			   p->url, status, e ? e : "no result");
		json_decref(j);
		return NULL;
	}
	json_incref(r);
	json_decref(j);
	return r;
}

/* GETs p->url + path?args (args already encoded). */
static json_t *get(struct ks_promql *p, const char *path, const char *args,
		   struct ks_err *err)
{
	struct body b = { 0 };
	char *url;
	long status = 0;
	CURLcode rc;
	json_t *r = NULL;

	if (asprintf(&url, "%s%s?%s", p->url, path, args) < 0) {
		ks_err_set(err, ENOMEM, "prometheus", "out of memory");
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	cu.reset(p->curl);
	cu.setopt(p->curl, CURLOPT_URL, url);
	cu.setopt(p->curl, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	cu.setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)p->timeout_ms);
	cu.setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	cu.setopt(p->curl, CURLOPT_ACCEPT_ENCODING, "");
	cu.setopt(p->curl, CURLOPT_WRITEFUNCTION, on_data);
	cu.setopt(p->curl, CURLOPT_WRITEDATA, &b);
	rc = cu.perform(p->curl);
	cu.getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
	pthread_mutex_unlock(&p->lock);
	if (b.over)
		ks_err_set(err, E2BIG, "prometheus", "%s: answer over %u "
			   "bytes", p->url, KS_PROMQL_BODY_MAX);
	else if (rc != CURLE_OK)
		ks_err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT :
			   EHOSTUNREACH, "prometheus", "%s: %s", p->url,
			   cu.strerror(rc));
	else
		r = result_of(p, &b, status, err);
	p->last_rc = r ? 0 : b.over ? -E2BIG : rc == CURLE_OPERATION_TIMEDOUT ?
		     -ETIMEDOUT : rc != CURLE_OK ? -EHOSTUNREACH : -EIO;
	free(b.buf);
	free(url);
	return r;
}

int ks_promql__errno(const struct ks_promql *p)
{
	return p->last_rc;
}

static char *encode(struct ks_promql *p, const char *s)
{
	return cu.escape(p->curl, s, 0);
}

json_t *ks_promql__range(struct ks_promql *p, const char *query,
			 int64_t start, int64_t end, unsigned step,
			 struct ks_err *err)
{
	char *q = encode(p, query), *args = NULL;
	json_t *r = NULL;

	if (q && asprintf(&args, "query=%s&start=%" PRId64 "&end=%" PRId64
			  "&step=%u", q, start, end, step) >= 0)
		r = get(p, "/api/v1/query_range", args, err);
	else
		ks_err_set(err, ENOMEM, "prometheus", "out of memory");
	cu.free(q);
	free(args);
	return r;
}

json_t *ks_promql__instant(struct ks_promql *p, const char *query, int64_t t,
			   struct ks_err *err)
{
	char *q = encode(p, query), *args = NULL;
	json_t *r = NULL;
	int n = -1;

	if (q)
		n = t ? asprintf(&args, "query=%s&time=%" PRId64, q, t) :
			asprintf(&args, "query=%s", q);
	if (n >= 0)
		r = get(p, "/api/v1/query", args, err);
	else
		ks_err_set(err, ENOMEM, "prometheus", "out of memory");
	cu.free(q);
	free(args);
	return r;
}
