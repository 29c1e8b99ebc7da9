/* fuzz_predicate.c - libFuzzer target for predicate parsing and evaluation.
 *
 * Input: one byte choosing the metric, then predicate JSON text, as a
 * query string would carry it.  Besides "no crash, no leak, no UB", it
 * checks what must hold for any accepted predicate: a rejected one has a
 * message naming "predicate"; an accepted one goes to JSON and back to the
 * same JSON, evaluates identically after the round trip, and reads only
 * fields of its metric.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/predicate.h"
#include "engine/symtab.h"

static void fill_record(struct ks_record *r, enum ks_metric m, unsigned seed)
{
	static const uint64_t nums[] = { 0, 1, 999, 1000, 1001, UINT64_MAX };
	static const char *const strs[] = { "io", "hlt", "", "a" };
	const struct ks_metricinfo *mi = ks_metric_info(m);

	memset(r, 0, sizeof(*r));
	ks_record_init(r, m, 0, 1);
	for (size_t i = 0; i < mi->nfields; i++, seed = seed * 1103515245 + 12345) {
		enum ks_field f = mi->fields[i];

		if ((seed >> 16) % 8 == 0)
			continue;	/* leave it absent */
		if (ks_field_numeric(f))
			ks_record_set(r, f, nums[(seed >> 8) % 6]);
		else
			ks_record_set(r, f, ks_sym_intern(strs[(seed >> 8) % 4]));
	}
}

static void check_accepted(const struct ks_pred *p, enum ks_metric m)
{
	struct ks_err err = { "", "" };
	json_t *j = ks_pred__to_json(p), *j2;
	struct ks_pred *q;
	struct ks_record r;
	char *text;

	if (!j)
		abort();
	text = json_dumps(j, JSON_COMPACT);
	q = text ? ks_pred__parse_str(text, m, &err) : NULL;
	if (!q)
		abort();	/* our own output must parse */
	j2 = ks_pred__to_json(q);
	if (!json_equal(j, j2))
		abort();
	for (unsigned s = 0; s < 8; s++) {
		fill_record(&r, m, s);
		if (ks_pred__eval(p, &r) != ks_pred__eval(q, &r))
			abort();
	}
	for (int f = 0; f < KS_F__COUNT; f++)
		if ((ks_pred__fields(p) >> f & 1) &&
		    !ks_metric_has_field(m, (enum ks_field)f))
			abort();
	free(text);
	json_decref(j);
	json_decref(j2);
	ks_pred__free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_err err = { "", "" };
	struct ks_pred *p;
	enum ks_metric m;
	char *text;

	if (size < 1)
		return 0;
	m = (enum ks_metric)(data[0] % KS_M__COUNT);
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	p = ks_pred__parse_str(text, m, &err);
	if (!p) {
		if (strcmp(err.param, "predicate") || !err.msg[0])
			abort();
	} else {
		check_accepted(p, m);
		ks_pred__free(p);
	}
	free(text);
	/* keep the process-wide table from growing across inputs */
	ks_sym_reset();
	return 0;
}
