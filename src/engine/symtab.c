/* symtab.c - string interning, pinned or reference-counted (see symtab.h).
 *
 * Symbols live in an array indexed by id, found by string through a
 * util/dict index.  Interning a string that exists takes only the read
 * lock (and an atomic store to mark it used), so sources that see the same
 * VM names and RIPs every tick neither allocate nor serialise; a new
 * string takes the write lock.  References are atomic counters under the
 * read lock; the sweep, which frees strings and ids, takes the write lock.
 *
 * Every counted symbol carries the epoch it was last interned or released
 * in.  A sweep frees those nobody holds whose epoch is older than the
 * current one, then starts a new epoch; so a symbol that went into a
 * record just before a sweep survives it.  Freed ids wait two epochs in a
 * queue before reuse, so a stale id read late names nothing ("") rather
 * than another string.
 */
#include "engine/symtab.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/dict.h"

struct sym {
	char *s;		/* NULL: free */
	uint32_t hash;
	_Atomic uint32_t refs;
	_Atomic uint32_t epoch;	/* last interned or released in */
	bool pinned;
	/* Ever interned for a record: it may be in one, so it waits for the
	 * sweeps; one only ever held (a predicate's constant) goes with its
	 * last reference. */
	_Atomic bool transient;
};

struct freed {
	uint32_t id;
	uint32_t epoch;		/* freed in */
};

/* Guest keys a scope (VM) made in this epoch. */
struct scope {
	uint64_t scope;
	size_t made;
};

struct key {
	const char *s;
	size_t len;
};

static struct sym *syms;	/* syms[id], id >= 1 */
static size_t top;		/* highest id ever handed out */
static size_t cap_syms;
static struct ks_dict dict = KS_DICT_INIT;
static struct freed *fq;	/* freed ids, oldest first from fq_head */
static size_t fq_head, fq_n, fq_cap;
static struct scope *scopes;
static size_t nscopes, cap_scopes;
static size_t ncounted, strbytes;
static size_t max_counted = KS_SYM_MAX_DEFAULT;
static size_t max_scope = KS_SYM_SCOPE_MAX_DEFAULT;
static _Atomic uint32_t epoch = 1;
static struct ks_sym_stats st;
static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;

static uint64_t hash_of(void *ctx, uint32_t id)
{
	(void)ctx;
	return syms[id].hash;
}

static bool eq(void *ctx, uint32_t id, const void *k)
{
	const struct key *key = k;

	(void)ctx;
	return !strncmp(syms[id].s, key->s, key->len) &&
	       syms[id].s[key->len] == '\0';
}

static uint32_t hash_str(const char *s, size_t len)
{
	return (uint32_t)ks_dict_hash_bytes(s, len);
}

enum mode { PIN, GET, TRANSIENT };

/* Marks an existing symbol used the way mode asks (read lock is enough
 * for all but pinning).  False if the caller must retry under the write
 * lock. */
static bool touch(struct sym *y, enum mode mode, bool write)
{
	if (y->pinned)
		return true;
	if (mode == PIN) {
		if (!write)
			return false;
		y->pinned = true;
		ncounted--;
		st.pinned++;
		return true;
	}
	atomic_store(&y->epoch, atomic_load(&epoch));
	if (mode == GET)
		atomic_fetch_add(&y->refs, 1);
	else
		atomic_store(&y->transient, true);
	return true;
}

static struct scope *scope_of(uint64_t scope)
{
	for (size_t i = 0; i < nscopes; i++)
		if (scopes[i].scope == scope)
			return &scopes[i];
	return NULL;
}

/* scope's entry, made if absent; NULL on ENOMEM. */
static struct scope *scope_add(uint64_t scope)
{
	struct scope *p = scope_of(scope);

	if (p)
		return p;
	if (nscopes == cap_scopes) {
		size_t n = cap_scopes ? cap_scopes * 2 : 16;

		if (!(p = realloc(scopes, n * sizeof(*p))))
			return NULL;
		scopes = p;
		cap_scopes = n;
	}
	scopes[nscopes] = (struct scope){ scope, 0 };
	return &scopes[nscopes++];
}

/* A free id: the oldest freed two epochs ago, or a new one. */
static uint32_t new_id(void)
{
	uint32_t now = atomic_load(&epoch);

	if (fq_n && fq[fq_head].epoch + 2 <= now) {
		uint32_t id = fq[fq_head].id;

		fq_head++;
		fq_n--;
		return id;
	}
	if (top + 1 >= UINT32_MAX)
		return 0;
	if (top + 1 >= cap_syms) {
		size_t n = cap_syms ? cap_syms * 2 : 256;
		struct sym *p = realloc(syms, n * sizeof(*p));

		if (!p)
			return 0;
		syms = p;
		cap_syms = n;
	}
	return (uint32_t)++top;
}

static uint32_t insert(const char *s, size_t len, uint32_t h, uint32_t *slot,
		       enum mode mode, const uint64_t *scope)
{
	struct scope *sc = NULL;
	struct sym *y;
	char *copy;
	uint32_t id;

	if (mode != PIN && ncounted >= max_counted) {
		st.dropped++;
		errno = ENOSPC;
		return KS_SYM_NONE;
	}
	if (scope && !(sc = scope_add(*scope))) {
		errno = ENOMEM;
		return KS_SYM_NONE;
	}
	if (sc && sc->made >= max_scope) {
		st.scope_dropped++;
		errno = ENOSPC;
		return KS_SYM_NONE;
	}
	if (!(copy = malloc(len + 1)) || !(id = new_id())) {
		free(copy);
		errno = ENOMEM;
		return KS_SYM_NONE;
	}
	memcpy(copy, s, len);
	copy[len] = '\0';
	y = &syms[id];
	y->s = copy;
	y->hash = h;
	atomic_init(&y->refs, mode == GET ? 1 : 0);
	atomic_init(&y->epoch, atomic_load(&epoch));
	y->pinned = mode == PIN;
	atomic_init(&y->transient, mode == TRANSIENT);
	if (sc)
		sc->made++;
	if (mode == PIN)
		st.pinned++;
	else
		ncounted++;
	strbytes += len + 1;
	ks_dict__set(&dict, slot, id);
	return id;
}

static uint32_t intern(const char *s, size_t len, enum mode mode,
		       const uint64_t *scope)
{
	struct key k = { s, len };
	uint32_t h, id, *slot;

	/* A NUL inside would make the stored string shorter than len, and
	 * the probe compares as C strings. */
	if (!s || len > KS_SYM_MAXLEN || memchr(s, '\0', len)) {
		errno = EINVAL;
		return KS_SYM_NONE;
	}
	h = hash_str(s, len);
	pthread_rwlock_rdlock(&lock);
	id = ks_dict__find(&dict, h, eq, NULL, &k);
	if (id && touch(&syms[id], mode, false)) {
		pthread_rwlock_unlock(&lock);
		return id;
	}
	pthread_rwlock_unlock(&lock);
	pthread_rwlock_wrlock(&lock);
	if (ks_dict__reserve(&dict, dict.n + 1, hash_of, NULL)) {
		pthread_rwlock_unlock(&lock);
		errno = ENOMEM;
		return KS_SYM_NONE;
	}
	slot = ks_dict__slot(&dict, h, eq, NULL, &k);
	if ((id = *slot))
		touch(&syms[id], mode, true);
	else
		id = insert(s, len, h, slot, mode, scope);
	pthread_rwlock_unlock(&lock);
	return id;
}

uint32_t ks_sym_intern_n(const char *s, size_t len)
{
	return intern(s, len, PIN, NULL);
}

uint32_t ks_sym_intern(const char *s)
{
	return s ? intern(s, strlen(s), PIN, NULL) : KS_SYM_NONE;
}

uint32_t ks_sym_get_n(const char *s, size_t len)
{
	return intern(s, len, GET, NULL);
}

uint32_t ks_sym_get(const char *s)
{
	return s ? intern(s, strlen(s), GET, NULL) : KS_SYM_NONE;
}

uint32_t ks_sym_transient_n(const char *s, size_t len)
{
	return intern(s, len, TRANSIENT, NULL);
}

uint32_t ks_sym_transient(const char *s)
{
	return s ? intern(s, strlen(s), TRANSIENT, NULL) : KS_SYM_NONE;
}

uint32_t ks_sym_guest_n(uint64_t scope, const char *s, size_t len)
{
	return intern(s, len, TRANSIENT, &scope);
}

/* The counted symbol id, under the read lock; NULL for 0, unknown, freed
 * and pinned ids. */
static struct sym *counted(uint32_t id)
{
	struct sym *y;

	if (!id || id > top)
		return NULL;
	y = &syms[id];
	return y->s && !y->pinned ? y : NULL;
}

void ks_sym_hold(uint32_t id)
{
	struct sym *y;

	pthread_rwlock_rdlock(&lock);
	if ((y = counted(id)))
		atomic_fetch_add(&y->refs, 1);
	pthread_rwlock_unlock(&lock);
}

static void free_sym(uint32_t id, uint32_t now);

void ks_sym_put(uint32_t id)
{
	struct sym *y;
	bool last = false;

	pthread_rwlock_rdlock(&lock);
	if ((y = counted(id)) && atomic_load(&y->refs)) {
		atomic_store(&y->epoch, atomic_load(&epoch));
		last = atomic_fetch_sub(&y->refs, 1) == 1 &&
		       !atomic_load(&y->transient);
	}
	pthread_rwlock_unlock(&lock);
	if (!last)
		return;
	/* No record can hold it: free it now, unless it was taken again. */
	pthread_rwlock_wrlock(&lock);
	if ((y = counted(id)) && !atomic_load(&y->refs) &&
	    !atomic_load(&y->transient))
		free_sym(id, atomic_load(&epoch));
	pthread_rwlock_unlock(&lock);
}

uint32_t ks_sym_refs(uint32_t id)
{
	struct sym *y;
	uint32_t n = 0;

	pthread_rwlock_rdlock(&lock);
	if ((y = counted(id)))
		n = atomic_load(&y->refs);
	pthread_rwlock_unlock(&lock);
	return n;
}

uint32_t ks_sym_find(const char *s)
{
	struct key k;
	uint32_t id;

	if (!s)
		return KS_SYM_NONE;
	k = (struct key){ s, strlen(s) };
	pthread_rwlock_rdlock(&lock);
	id = ks_dict__find(&dict, hash_str(s, k.len), eq, NULL, &k);
	pthread_rwlock_unlock(&lock);
	return id;
}

const char *ks_sym_str(uint32_t id)
{
	const char *str = "";

	pthread_rwlock_rdlock(&lock);
	if (id && id <= top && syms[id].s)
		str = syms[id].s;
	pthread_rwlock_unlock(&lock);
	return str;
}

size_t ks_sym_count(void)
{
	size_t n;

	pthread_rwlock_rdlock(&lock);
	n = dict.n;
	pthread_rwlock_unlock(&lock);
	return n;
}

/* Queues a freed id; false (the id is then lost, not reused) on ENOMEM. */
static bool queue_freed(uint32_t id, uint32_t now)
{
	if (fq_head && fq_head + fq_n == fq_cap) {
		memmove(fq, fq + fq_head, fq_n * sizeof(*fq));
		fq_head = 0;
	}
	if (fq_head + fq_n == fq_cap) {
		size_t n = fq_cap ? fq_cap * 2 : 256;
		struct freed *p = realloc(fq, n * sizeof(*p));

		if (!p)
			return false;
		fq = p;
		fq_cap = n;
	}
	fq[fq_head + fq_n++] = (struct freed){ id, now };
	return true;
}

static void free_sym(uint32_t id, uint32_t now)
{
	struct sym *y = &syms[id];

	ks_dict__del(&dict, id, y->hash, hash_of, NULL);
	strbytes -= strlen(y->s) + 1;
	free(y->s);
	y->s = NULL;
	ncounted--;
	st.freed++;
	queue_freed(id, now);
}

size_t ks_sym_sweep(void)
{
	uint32_t now;
	size_t n = 0;

	pthread_rwlock_wrlock(&lock);
	now = atomic_load(&epoch);
	for (size_t id = 1; id <= top; id++) {
		struct sym *y = &syms[id];

		if (!y->s || y->pinned || atomic_load(&y->refs) ||
		    atomic_load(&y->epoch) >= now)
			continue;
		free_sym((uint32_t)id, now);
		n++;
	}
	atomic_store(&epoch, now + 1);
	nscopes = 0;	/* each VM may make its keys anew */
	st.sweeps++;
	pthread_rwlock_unlock(&lock);
	return n;
}

void ks_sym_set_limits(size_t max, size_t per_scope)
{
	pthread_rwlock_wrlock(&lock);
	max_counted = max ? max : KS_SYM_MAX_DEFAULT;
	max_scope = per_scope ? per_scope : KS_SYM_SCOPE_MAX_DEFAULT;
	pthread_rwlock_unlock(&lock);
}

void ks_sym_stats(struct ks_sym_stats *out)
{
	pthread_rwlock_rdlock(&lock);
	*out = st;
	out->count = dict.n;
	out->bytes = cap_syms * sizeof(*syms) + ks_dict__bytes(&dict) +
		     fq_cap * sizeof(*fq) + cap_scopes * sizeof(*scopes) +
		     strbytes;
	pthread_rwlock_unlock(&lock);
}

void ks_sym_reset(void)
{
	pthread_rwlock_wrlock(&lock);
	for (size_t i = 1; i <= top; i++)
		free(syms[i].s);
	free(syms);
	free(fq);
	free(scopes);
	ks_dict__fini(&dict);
	syms = NULL;
	fq = NULL;
	scopes = NULL;
	top = cap_syms = fq_head = fq_n = fq_cap = 0;
	nscopes = cap_scopes = ncounted = strbytes = 0;
	memset(&st, 0, sizeof(st));
	max_counted = KS_SYM_MAX_DEFAULT;
	max_scope = KS_SYM_SCOPE_MAX_DEFAULT;
	atomic_store(&epoch, 1);
	pthread_rwlock_unlock(&lock);
}
