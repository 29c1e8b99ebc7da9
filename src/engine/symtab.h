/* symtab.h - interned strings for discrete field values.
 *
 * Discrete values (VM names, exit reasons, vectors, guest RIPs) are
 * interned into small integer ids so that records, predicates and
 * decomposition keys compare and hash integers on the hot path.  Id 0
 * means "no value".  One process-wide table.
 *
 * Two kinds of symbol, so that nothing a guest or a client sends grows the
 * table for good:
 *   - pinned (ks_sym_intern): the vocabularies the code bounds (exit
 *     reasons, delivery modes, directions); kept for the life of the
 *     process.
 *   - counted (ks_sym_get, ks_sym_transient, ks_sym_guest): anything from
 *     outside (VM names, pids, guest RIPs and cr3s, MMIO addresses,
 *     predicate constants, strings from files).  Whoever keeps an id
 *     beyond the record it is in holds a reference (ks_sym_hold /
 *     ks_sym_put): values hold their keys, predicates their constants,
 *     caches what they cache.  A symbol only ever held (a predicate's
 *     constant) is freed with its last reference.  ks_sym_sweep() frees a
 *     counted symbol that nobody holds and nobody interned or released
 *     since the previous sweep, so an id put in a record stays valid until
 *     the second sweep after its intern: records must reach the engine
 *     within one sweep period (the agent sweeps once a second, after
 *     feeding).  A freed id
 *     is reused only after two more sweeps.
 * Counted symbols are capped (ks_sym_set_limits): in all, and the new
 * guest-driven keys one scope (a VM) may make in one epoch (between two
 * sweeps: a second in the agent), so that one guest cannot fill the table
 * and starve the others.  An intern refused by a cap returns 0 with errno
 * ENOSPC and is counted in ks_sym_stats().
 */
#ifndef KS_ENGINE_SYMTAB_H
#define KS_ENGINE_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

#define KS_SYM_NONE 0u
#define KS_SYM_MAXLEN 255
#define KS_SYM_MAX_DEFAULT 262144u	/* counted symbols in all */
#define KS_SYM_SCOPE_MAX_DEFAULT 16384u	/* new guest keys per VM per epoch */

struct ks_sym_stats {
	size_t count;		/* symbols in the table, both kinds */
	size_t pinned;
	size_t bytes;		/* heap held by the table */
	uint64_t freed;		/* counted symbols freed by sweeps */
	uint64_t dropped;	/* interns refused by the cap in all */
	uint64_t scope_dropped;	/* new guest keys refused by the per-VM cap */
	uint64_t sweeps;
};

/* Pinned: id of s (length len), interning it if new; 0 with errno set on
 * failure (ENOMEM, or EINVAL for an over-long string or one holding a
 * NUL).  Pins s if it was counted. */
uint32_t ks_sym_intern_n(const char *s, size_t len);
uint32_t ks_sym_intern(const char *s);
/* Counted, with a reference the caller must ks_sym_put(). */
uint32_t ks_sym_get_n(const char *s, size_t len);
uint32_t ks_sym_get(const char *s);
/* Counted, without a reference: for an id that only goes into records. */
uint32_t ks_sym_transient_n(const char *s, size_t len);
uint32_t ks_sym_transient(const char *s);
/* ks_sym_transient_n for a guest-driven key (RIP, cr3, MMIO address) of
 * VM scope (any stable number: its pid): a new symbol is refused with
 * ENOSPC when scope made the per-scope cap of them in this epoch. */
uint32_t ks_sym_guest_n(uint64_t scope, const char *s, size_t len);
/* The scope of a VM's (process pid's) keys of one kind (a field): each
 * VM's RIPs, cr3s and addresses have their own cap, so that a flood of
 * one kind does not starve the others. */
static inline uint64_t ks_sym_guest_scope(uint32_t pid, unsigned int kind)
{
	return (uint64_t)kind << 32 | pid;
}
/* References on a counted id; no-ops on 0 and on pinned ids. */
void ks_sym_hold(uint32_t id);
void ks_sym_put(uint32_t id);
/* Id of s if already interned, else 0.  Never allocates. */
uint32_t ks_sym_find(const char *s);
/* The string of an id; "" for 0 or an unknown or freed id.  Valid while
 * the id is (see above). */
const char *ks_sym_str(uint32_t id);
/* Number of symbols in the table (both kinds). */
size_t ks_sym_count(void);
/* References held on id (tests); 0 for pinned and unknown ids. */
uint32_t ks_sym_refs(uint32_t id);
/* Frees the unused counted symbols (see above); returns how many. */
size_t ks_sym_sweep(void);
/* Caps on counted symbols: in all, and new guest keys per scope and
 * epoch (0: the defaults). */
void ks_sym_set_limits(size_t max, size_t per_scope);
void ks_sym_stats(struct ks_sym_stats *st);
/* Frees the table and restores the default limits (tests and exit
 * paths, for leak checkers). */
void ks_sym_reset(void);

#endif /* KS_ENGINE_SYMTAB_H */
