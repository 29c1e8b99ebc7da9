/* tokens.c - parsing the token file (see tokens.h).
 *
 * The parse is strict because a typo in an access-control file should
 * stop the agent, not open it: each line must be exactly "TOKEN operator"
 * or "TOKEN tenant NAME VMS", tokens must be long enough and unique, names
 * and VM entries must be well formed, and one tenant must list the same
 * VMs on every line that names it.  Errors name the file and line and the
 * problem, and quote names but never a token.
 */
#include "http/tokens.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

#define MAX_WORDS 5

/* RFC 6750 b64token: ALPHA DIGIT - . _ ~ + / and trailing '='. */
static bool token_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (isalnum((unsigned char)s[i]) ||
			 strchr("-._~+/", s[i])))
		i++;
	while (i < n && s[i] == '=')
		i++;
	return i == n;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > KS_TENANT_NAME_MAX || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-._", *s))
			return false;
	return true;
}

/* VM names are QEMU's -name or libvirt's: printable, no comma. */
static bool vm_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > KS_TENANT_VM_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f ||
		    *s == ',')
			return false;
	return true;
}

bool ks_tokens_is_uuid(const char *s)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };

	for (size_t g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return false;
		if (*s != (g < 4 ? '-' : '\0'))
			return false;
		s++;
	}
	return true;
}

static void tenant_free(struct ks_tenant *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nvms; i++)
		free(t->vms[i]);
	free(t->vms);
	free(t);
}

void ks_tokens__free(struct ks_tokens *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ntokens; i++) {
		/* Secrets do not linger in freed memory. */
		explicit_bzero(t->tokens[i].secret, t->tokens[i].len);
		free(t->tokens[i].secret);
	}
	free(t->tokens);
	for (size_t i = 0; i < t->ntenants; i++)
		tenant_free(t->tenants[i]);
	free(t->tenants);
	free(t);
}

const struct ks_tenant *ks_tokens__tenant(const struct ks_tokens *t,
					  const char *name)
{
	for (size_t i = 0; t && i < t->ntenants; i++)
		if (!strcmp(t->tenants[i]->name, name))
			return t->tenants[i];
	return NULL;
}

/* Constant time in the content: every byte of the stored token is looked
 * at whatever the guess. */
static bool same_secret(const struct ks_token *k, const char *s, size_t n)
{
	unsigned char diff = (unsigned char)(k->len != n);

	for (size_t i = 0; i < k->len; i++)
		diff |= (unsigned char)(k->secret[i] ^ (i < n ? s[i] : 0));
	return !diff;
}

const struct ks_token *ks_tokens__find(const struct ks_tokens *t,
				       const char *secret, size_t len)
{
	const struct ks_token *hit = NULL;

	for (size_t i = 0; t && i < t->ntokens; i++)
		if (same_secret(&t->tokens[i], secret, len) && !hit)
			hit = &t->tokens[i];
	return hit;
}

/* Parse state: the file name and line for messages. */
struct ctx {
	struct ks_tokens *t;
	const char *path;
	unsigned int line;
	struct ks_err *err;
};

__attribute__((format(printf, 3, 4)))
static int bad(struct ctx *c, int code, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ks_err_set(c->err, code, "--tokens", "%.100s:%u: %s", c->path,
			  c->line, msg);
}

/* Splits "a,b,c" into a fresh tenant's VM list. */
static int split_vms(struct ctx *c, struct ks_tenant *tn, char *list)
{
	char *save = NULL;

	/* strtok_r() skips empty entries: refuse them before it runs. */
	if (!list[0] || list[0] == ',' || list[strlen(list) - 1] == ',' ||
	    strstr(list, ",,"))
		return bad(c, EINVAL, "tenant %s: VMS must be a comma-separated "
			   "list of VM names or uuids, without empty entries",
			   tn->name);
	for (char *v = strtok_r(list, ",", &save); v;
	     v = strtok_r(NULL, ",", &save)) {
		if (!vm_ok(v))
			return bad(c, EINVAL, "VM \"%.40s\" is not a VM name "
				   "or uuid (printable, no spaces or commas, "
				   "at most %d characters)", v,
				   KS_TENANT_VM_MAX);
		if (tn->nvms == KS_TENANT_MAX_VMS)
			return bad(c, EINVAL, "tenant %s lists more than %d "
				   "VMs", tn->name, KS_TENANT_MAX_VMS);
		if (!(tn->vms[tn->nvms] = strdup(v)))
			return bad(c, ENOMEM, "out of memory");
		tn->nvms++;
	}
	return 0;
}

static bool has_vm(const struct ks_tenant *t, const char *vm)
{
	for (size_t i = 0; i < t->nvms; i++)
		if (!strcmp(t->vms[i], vm))
			return true;
	return false;
}

const struct ks_tenant *ks_tokens__owner(const struct ks_tokens *t,
					 const char *vm, const char *vmuuid)
{
	for (size_t i = 0; t && i < t->ntenants; i++)
		for (size_t k = 0; k < t->tenants[i]->nvms; k++) {
			const char *e = t->tenants[i]->vms[k];
			const char *v = ks_tokens_is_uuid(e) ? vmuuid : vm;

			if (v && !strcmp(e, v))
				return t->tenants[i];
		}
	return NULL;
}

const char *ks_tokens__shared_vm(const struct ks_tokens *t,
				 const struct ks_tenant **a,
				 const struct ks_tenant **b)
{
	for (size_t i = 0; t && i < t->ntenants; i++)
		for (size_t j = i + 1; j < t->ntenants; j++)
			for (size_t k = 0; k < t->tenants[i]->nvms; k++) {
				if (!has_vm(t->tenants[j],
					    t->tenants[i]->vms[k]))
					continue;
				if (a)
					*a = t->tenants[i];
				if (b)
					*b = t->tenants[j];
				return t->tenants[i]->vms[k];
			}
	return NULL;
}

/* Same VMs, as sets. */
static bool same_vms(const struct ks_tenant *a, const struct ks_tenant *b)
{
	for (size_t i = 0; i < a->nvms; i++)
		if (!has_vm(b, a->vms[i]))
			return false;
	for (size_t i = 0; i < b->nvms; i++)
		if (!has_vm(a, b->vms[i]))
			return false;
	return true;
}

/* The tenant named in words (NAME, VMS): an existing one with the same
 * VMs, or a new one.  NULL after filling the error. */
static struct ks_tenant *tenant_for(struct ctx *c, const char *name,
				    const char *vms)
{
	struct ks_tenant *tn, **p;
	char *list = strdup(vms);
	const struct ks_tenant *old;

	if (!name_ok(name)) {
		bad(c, EINVAL, "tenant name \"%.40s\" must be 1 to %d letters, "
		    "digits, '-', '_' or '.', not starting with '.'", name,
		    KS_TENANT_NAME_MAX);
		free(list);
		return NULL;
	}
	tn = calloc(1, sizeof(*tn));
	if (tn)
		tn->vms = calloc(KS_TENANT_MAX_VMS, sizeof(*tn->vms));
	if (!list || !tn || !tn->vms) {
		bad(c, ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(tn->name, sizeof(tn->name), "%s", name);
	if (split_vms(c, tn, list))
		goto fail;
	free(list);
	list = NULL;
	if ((old = ks_tokens__tenant(c->t, name))) {
		if (!same_vms(old, tn)) {
			bad(c, EINVAL, "tenant %s lists other VMs than on an "
			    "earlier line: every token of a tenant must list "
			    "the same VMs", name);
			goto fail;
		}
		tenant_free(tn);
		return (struct ks_tenant *)old;
	}
	p = realloc(c->t->tenants, (c->t->ntenants + 1) * sizeof(*p));
	if (!p) {
		bad(c, ENOMEM, "out of memory");
		goto fail;
	}
	c->t->tenants = p;
	p[c->t->ntenants++] = tn;
	return tn;
fail:
	free(list);
	tenant_free(tn);
	return NULL;
}

static int add_token(struct ctx *c, const char *secret,
		     const struct ks_tenant *tn)
{
	size_t n = strlen(secret);
	struct ks_token *p;

	if (n < KS_TOKEN_MIN_LEN || n > KS_TOKEN_MAX_LEN)
		return bad(c, EINVAL, "the token must be %d to %d characters "
			   "long (make one with `openssl rand -hex 32`)",
			   KS_TOKEN_MIN_LEN, KS_TOKEN_MAX_LEN);
	if (!token_ok(secret, n))
		return bad(c, EINVAL, "the token may hold only letters, digits "
			   "and - . _ ~ + / (then '=' padding)");
	for (size_t i = 0; i < c->t->ntokens; i++)
		if (same_secret(&c->t->tokens[i], secret, n))
			return bad(c, EINVAL, "the token is the same as on line "
				   "%u: each token must be unique",
				   c->t->tokens[i].line);
	p = realloc(c->t->tokens, (c->t->ntokens + 1) * sizeof(*p));
	if (!p)
		return bad(c, ENOMEM, "out of memory");
	c->t->tokens = p;
	p += c->t->ntokens;
	if (!(p->secret = strdup(secret)))
		return bad(c, ENOMEM, "out of memory");
	p->len = n;
	p->tenant = tn;
	p->line = c->line;
	c->t->ntokens++;
	return 0;
}

static int parse_line(struct ctx *c, char *line)
{
	char *w[MAX_WORDS], *save = NULL;
	const struct ks_tenant *tn = NULL;
	size_t n = 0;

	for (char *s = strtok_r(line, " \t\r", &save); s;
	     s = strtok_r(NULL, " \t\r", &save)) {
		if (n == MAX_WORDS)
			break;
		w[n++] = s;
	}
	if (!n || w[0][0] == '#')
		return 0;
	if (n >= 2 && !strcmp(w[1], "operator")) {
		if (n != 2)
			return bad(c, EINVAL, "an operator line is \"TOKEN "
				   "operator\", with nothing after it");
	} else if (n >= 2 && !strcmp(w[1], "tenant")) {
		if (n != 4)
			return bad(c, EINVAL, "a tenant line is \"TOKEN tenant "
				   "NAME VM[,VM...]\"");
		if (!(tn = tenant_for(c, w[2], w[3])))
			return -EINVAL;
	} else {
		return bad(c, EINVAL, "expected \"TOKEN operator\" or \"TOKEN "
			   "tenant NAME VM[,VM...]\"");
	}
	return add_token(c, w[0], tn);
}

struct ks_tokens *ks_tokens__parse(const char *text, const char *path,
				   struct ks_err *err)
{
	struct ctx c = { .path = path, .err = err };
	char *copy = strdup(text), *line, *next;
	int rc = 0;

	c.t = calloc(1, sizeof(*c.t));
	if (!copy || !c.t) {
		free(copy);
		free(c.t);
		ks_err_set(err, ENOMEM, "--tokens", "out of memory");
		return NULL;
	}
	for (line = copy; line && !rc; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		c.line++;
		rc = parse_line(&c, line);
	}
	explicit_bzero(copy, strlen(text));
	free(copy);
	if (!rc && !c.t->ntokens)
		rc = ks_err_set(err, EINVAL, "--tokens", "%.100s holds no "
				"token: add \"TOKEN operator\" or \"TOKEN "
				"tenant NAME VMS\" lines", path);
	if (rc) {
		ks_tokens__free(c.t);
		return NULL;
	}
	return c.t;
}

struct ks_tokens *ks_tokens__load(const char *path, struct ks_err *err)
{
	struct ks_tokens *t;
	char *text;
	size_t len;

	if (ks_file_read(path, KS_TOKENS_MAX_SIZE, KS_FILE_PRIVATE, "--tokens",
			 &text, &len, err))
		return NULL;
	t = ks_tokens__parse(text, path, err);
	explicit_bzero(text, len);
	free(text);
	return t;
}
