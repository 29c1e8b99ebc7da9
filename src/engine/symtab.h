/* symtab.h - interned strings for discrete field values.
 *
 * Discrete values (VM names, exit reasons, vectors) are interned once into
 * small integer ids so that records, predicates and decomposition keys
 * compare and hash integers on the hot path.  Id 0 means "no value".
 * One process-wide table: ids are stable for the life of the process.
 */
#ifndef KS_ENGINE_SYMTAB_H
#define KS_ENGINE_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

#define KS_SYM_NONE 0u
#define KS_SYM_MAXLEN 255

/* Id of s (length len), interning it if new; 0 with errno set on failure
 * (ENOMEM, or EINVAL for an over-long string or one holding a NUL). */
uint32_t ks_sym_intern_n(const char *s, size_t len);
uint32_t ks_sym_intern(const char *s);
/* Id of s if already interned, else 0.  Never allocates. */
uint32_t ks_sym_find(const char *s);
/* The string of an id; "" for 0 or an unknown id. */
const char *ks_sym_str(uint32_t id);
/* Number of interned strings. */
size_t ks_sym_count(void);
/* Frees the table (tests and exit paths, for leak checkers). */
void ks_sym_reset(void);

#endif /* KS_ENGINE_SYMTAB_H */
