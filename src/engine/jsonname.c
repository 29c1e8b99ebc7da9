/* jsonname.c - the words for JSON types in error messages.
 *
 * Integers and reals are told apart because the parsers treat them
 * differently (a real with a fraction is not a count), and an absent value
 * is "nothing" so that callers need not check for NULL first.
 */
#include "engine/jsonname.h"

const char *ks_json_type_name(const json_t *j)
{
	if (!j)
		return "nothing";
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "something else";
}
