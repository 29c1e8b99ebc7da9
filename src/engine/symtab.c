/* symtab.c - string interning for discrete field values.
 *
 * An open-addressing hash (FNV-1a, linear probing, power-of-two size, load
 * at most 1/2) maps strings to ids; ids index an array of owned strings.
 * Lookups of existing strings never allocate, which keeps sources that see
 * the same VM names and reasons every tick allocation-free.
 */
#include "engine/symtab.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char **syms;	/* syms[id], id >= 1 */
static size_t nsyms;	/* highest id in use */
static size_t cap_syms;
static uint32_t *slots;	/* hash slots holding ids, 0 = empty */
static size_t nslots;
static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;

static uint32_t hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static uint32_t *slot_of(const char *s, size_t len)
{
	size_t mask = nslots - 1;
	size_t i = hash(s, len) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t id = slots[i];

		if (!id)
			return &slots[i];
		if (!strncmp(syms[id], s, len) && syms[id][len] == '\0')
			return &slots[i];
	}
}

static int grow(void)
{
	size_t n = nslots ? nslots * 2 : 256;
	uint32_t *old = slots;
	size_t oldn = nslots;

	slots = calloc(n, sizeof(*slots));
	if (!slots) {
		slots = old;
		return -ENOMEM;
	}
	nslots = n;
	for (size_t i = 0; i < oldn; i++)
		if (old[i])
			*slot_of(syms[old[i]], strlen(syms[old[i]])) = old[i];
	free(old);
	return 0;
}

uint32_t ks_sym_find(const char *s)
{
	uint32_t id = KS_SYM_NONE;

	if (!s)
		return KS_SYM_NONE;
	pthread_rwlock_rdlock(&lock);
	if (nslots)
		id = *slot_of(s, strlen(s));
	pthread_rwlock_unlock(&lock);
	return id;
}

static uint32_t intern_locked(const char *s, size_t len)
{
	uint32_t *slot;
	char *copy;

	/* A NUL inside would make the stored string shorter than len, and
	 * the probe below compares as C strings. */
	if (len > KS_SYM_MAXLEN || memchr(s, '\0', len)) {
		errno = EINVAL;
		return KS_SYM_NONE;
	}
	if ((nsyms + 1) * 2 >= nslots && grow()) {
		errno = ENOMEM;
		return KS_SYM_NONE;
	}
	slot = slot_of(s, len);
	if (*slot)
		return *slot;
	if (nsyms + 1 >= cap_syms) {
		size_t n = cap_syms ? cap_syms * 2 : 256;
		char **p = realloc(syms, n * sizeof(*p));

		if (!p) {
			errno = ENOMEM;
			return KS_SYM_NONE;
		}
		syms = p;
		cap_syms = n;
	}
	copy = malloc(len + 1);
	if (!copy) {
		errno = ENOMEM;
		return KS_SYM_NONE;
	}
	memcpy(copy, s, len);
	copy[len] = '\0';
	syms[++nsyms] = copy;
	*slot = (uint32_t)nsyms;
	return (uint32_t)nsyms;
}

uint32_t ks_sym_intern_n(const char *s, size_t len)
{
	uint32_t id;

	pthread_rwlock_wrlock(&lock);
	id = intern_locked(s, len);
	pthread_rwlock_unlock(&lock);
	return id;
}

uint32_t ks_sym_intern(const char *s)
{
	return ks_sym_intern_n(s, strlen(s));
}

const char *ks_sym_str(uint32_t id)
{
	const char *str = "";

	pthread_rwlock_rdlock(&lock);
	if (id && id <= nsyms)
		str = syms[id];
	pthread_rwlock_unlock(&lock);
	return str;
}

size_t ks_sym_count(void)
{
	size_t n;

	pthread_rwlock_rdlock(&lock);
	n = nsyms;
	pthread_rwlock_unlock(&lock);
	return n;
}

void ks_sym_reset(void)
{
	pthread_rwlock_wrlock(&lock);
	for (size_t i = 1; i <= nsyms; i++)
		free(syms[i]);
	free(syms);
	free(slots);
	syms = NULL;
	slots = NULL;
	nsyms = cap_syms = nslots = 0;
	pthread_rwlock_unlock(&lock);
}
