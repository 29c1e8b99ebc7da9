/* describe.h - the catalogue as CA's self-description (GET /ca).
 *
 * {modules, fields, types, metrics, transformations}, generated from the one
 * table in catalog.c, so the API, the CLI and the docs cannot drift.
 */
#ifndef KS_ENGINE_DESCRIBE_H
#define KS_ENGINE_DESCRIBE_H

#include <jansson.h>

#include "engine/catalog.h"

json_t *ks_describe_catalog(void);
json_t *ks_describe_metric(enum ks_metric m);
json_t *ks_describe_type(enum ks_type t);

#endif /* KS_ENGINE_DESCRIBE_H */
