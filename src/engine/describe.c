/* describe.c - CA's GET /ca self-description, built from the catalogue.
 *
 * Clients label axes from the types table (unit, base, power) instead of
 * hard-coding units, and choose fields from each metric's list, so a UI can
 * be driven entirely by this object, as CA's was.
 */
#include "engine/describe.h"

json_t *ks_describe_type(enum ks_type t)
{
	const struct ks_typeinfo *ti = ks_type_info(t);
	json_t *o = json_pack("{s:s}", "arity",
			      ti->numeric ? "numeric" : "discrete");

	if (!o)
		return NULL;
	if (ti->unit)
		json_object_set_new(o, "unit", json_string(ti->unit));
	if (ti->abbr)
		json_object_set_new(o, "abbr", json_string(ti->abbr));
	if (ti->base)
		json_object_set_new(o, "base", json_integer(ti->base));
	if (ti->power)
		json_object_set_new(o, "power", json_integer(ti->power));
	if (ti->minmax)
		json_object_set_new(o, "minmax", json_integer(ti->minmax));
	return o;
}

json_t *ks_describe_metric(enum ks_metric m)
{
	const struct ks_metricinfo *mi = ks_metric_info(m);
	json_t *f = json_array();
	json_t *o;

	for (size_t i = 0; f && i < mi->nfields; i++)
		json_array_append_new(f, json_string(ks_field_info(mi->fields[i])->name));
	o = json_pack("{s:s,s:s,s:s,s:s,s:o?,s:s,s:s}", "module", mi->module,
		      "stat", mi->stat, "label", mi->label, "interval",
		      mi->point ? "point" : "interval", "fields", f,
		      "source", mi->source, "overhead", mi->overhead);
	if (!o)
		return NULL;
	if (mi->unit)
		json_object_set_new(o, "unit", json_string(mi->unit));
	else
		json_object_set_new(o, "type",
				    json_string(ks_type_info(mi->type)->name));
	return o;
}

static json_t *modules_json(void)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < ks_module_count(); i++)
		json_object_set_new(o, ks_module_info(i)->name,
				    json_pack("{s:s}", "label",
					      ks_module_info(i)->label));
	return o;
}

static json_t *fields_json(void)
{
	json_t *o = json_object();

	for (int f = 0; o && f < KS_F__COUNT; f++) {
		const struct ks_fieldinfo *fi = ks_field_info(f);

		json_object_set_new(o, fi->name,
				    json_pack("{s:s,s:s,s:s*}", "label",
					      fi->label, "type",
					      ks_type_info(fi->type)->name,
					      "note", fi->note));
	}
	/* CA's names for our fields, accepted wherever a field is. */
	for (size_t i = 0; o && i < ks_field_alias_count(); i++) {
		const struct ks_fieldalias *al = ks_field_alias(i);
		const struct ks_fieldinfo *fi = ks_field_info(al->field);

		json_object_set_new(o, al->name,
				    json_pack("{s:s,s:s,s:s}", "label",
					      al->label, "type",
					      ks_type_info(fi->type)->name,
					      "alias", fi->name));
	}
	return o;
}

json_t *ks_describe_catalog(void)
{
	json_t *types = json_object(), *metrics = json_array();

	for (int t = 0; types && t < KS_TYPE__COUNT; t++)
		json_object_set_new(types, ks_type_info(t)->name,
				    ks_describe_type(t));
	for (int m = 0; metrics && m < KS_M__COUNT; m++)
		json_array_append_new(metrics, ks_describe_metric(m));
	return json_pack("{s:o?,s:o?,s:o?,s:o?,s:{}}", "modules", modules_json(),
			 "fields", fields_json(), "types", types, "metrics",
			 metrics, "transformations");
}
