/* jsonname.h - how a JSON value's type is named in error messages.
 *
 * Every parser of user input in the engine (predicates, instrumentation
 * parameters) tells the user what it got where it wanted something else:
 * "must be a string (got an array)".  The words are one table here, so
 * every message names a type the same way.
 */
#ifndef KS_ENGINE_JSONNAME_H
#define KS_ENGINE_JSONNAME_H

#include <jansson.h>

/* "an object", "an array", "a string", "an integer", "a number",
 * "a boolean" or "null"; "nothing" for NULL. */
const char *ks_json_type_name(const json_t *j);

#endif /* KS_ENGINE_JSONNAME_H */
