/* fuzz_instn.c - libFuzzer target for instrumentation parameters.
 *
 * Input: one byte choosing create, clone or modify (the last two over a
 * fixed base instrumentation), then the parameters as JSON text.  Checks
 * beyond "no crash, no leak, no UB": a failure leaves the output untouched
 * and names a parameter; a success satisfies every bound of CA §1.3, and
 * its JSON form parses back to the same configuration.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/instn.h"
#include "engine/symtab.h"

static const char base_text[] =
	"{\"module\":\"vm\",\"stat\":\"exits\",\"predicate\":{\"and\":["
	"{\"eq\":[\"vm\",\"web1\"]},{\"gt\":[\"latency\",1000]}]},"
	"\"decomposition\":\"vcpu,latency\",\"granularity\":5,"
	"\"retention-time\":7200,\"idle-max\":120,\"persist-data\":true}";

static void check_bounds(const struct ks_instn_conf *c)
{
	if ((unsigned)c->metric >= KS_M__COUNT || !c->pred || !c->enabled)
		abort();
	if (c->granularity < 1 || c->granularity > KS_GRANULARITY_MAX ||
	    (c->granularity != 1 && c->granularity % 5))
		abort();
	if (c->retention_time < KS_RETENTION_MIN ||
	    c->retention_time < c->granularity ||
	    c->retention_time / c->granularity > KS_MAX_DATAPOINTS)
		abort();
	if (c->idle_max > KS_IDLE_MAX_MAX)
		abort();
	if ((c->discrete >= 0 && (ks_field_numeric(c->discrete) ||
				  !ks_metric_has_field(c->metric, c->discrete))) ||
	    (c->numeric >= 0 && (!ks_field_numeric(c->numeric) ||
				 !ks_metric_has_field(c->metric, c->numeric))))
		abort();
}

/* to_json, fed back as create parameters, gives the same JSON. */
static void check_roundtrip(const struct ks_instn_conf *c)
{
	static const char *const keep[] = { "module", "stat", "predicate",
		"decomposition", "granularity", "retention-time", "idle-max",
		"persist-data", "enabled" };
	struct ks_err err = { "", "" };
	struct ks_instn_conf d;
	json_t *j = ks_instn_conf_to_json(c), *params = json_object(), *j2;

	if (!j || !params)
		abort();
	for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
		json_object_set(params, keep[k], json_object_get(j, keep[k]));
	if (ks_instn_conf_parse(params, NULL, KS_INSTN_CREATE, &d, &err))
		abort();
	j2 = ks_instn_conf_to_json(&d);
	if (!json_equal(j, j2))
		abort();
	json_decref(j);
	json_decref(j2);
	json_decref(params);
	ks_instn_conf_fini(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_err err = { "", "" };
	struct ks_instn_conf base, out, before;
	enum ks_instn_op op;
	json_t *params, *jb;
	int rc;

	if (size < 1)
		return 0;
	op = (enum ks_instn_op)(data[0] % 3);
	params = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY,
			    NULL);
	if (!params)
		return 0;
	jb = json_loads(base_text, 0, NULL);
	if (!jb || ks_instn_conf_parse(jb, NULL, KS_INSTN_CREATE, &base, &err))
		abort();
	json_decref(jb);
	memset(&out, 0x5a, sizeof(out));
	before = out;
	rc = ks_instn_conf_parse(params, &base, op, &out, &err);
	if (rc) {
		if (rc > 0 || !err.msg[0] || memcmp(&out, &before, sizeof(out)))
			abort();
	} else {
		check_bounds(&out);
		check_roundtrip(&out);
		ks_instn_conf_fini(&out);
	}
	json_decref(params);
	ks_instn_conf_fini(&base);
	ks_sym_reset();
	return 0;
}
