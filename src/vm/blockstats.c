/* blockstats.c - parsing query-blockstats, and our histogram edges.
 *
 * The field names are QEMU's (qapi/block-core.json BlockDeviceStats):
 * rd_/wr_/flush_/unmap_operations, rd_/wr_/unmap_bytes, failed_*_operations
 * and rd_/wr_/flush_latency_histogram {boundaries, bins}.  A counter that
 * is missing reads as 0, so older or newer QEMUs parse alike.
 */
#include "vm/blockstats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/loglin.h"

#define BOUND_LO (1ULL << 8)
#define BOUND_HI (1ULL << 36)

static const char *const op_names[KS_BS__COUNT] = {
	"read", "write", "flush", "discard",
};

/* QEMU's field prefixes per op. */
static const char *const op_prefix[KS_BS__COUNT] = {
	"rd", "wr", "flush", "unmap",
};

const char *ks_bs_op_name(enum ks_bs_op op)
{
	return op < KS_BS__COUNT ? op_names[op] : "unknown";
}

static uint64_t bounds[(36 - 8) * KS_LL_SUB + 1];
static size_t nbounds;

size_t ks_blockstats_bounds(const uint64_t **out)
{
	if (!nbounds) {
		uint32_t i0 = ks_ll_index(BOUND_LO), i1 = ks_ll_index(BOUND_HI);

		for (uint32_t i = i0; i <= i1; i++)
			bounds[nbounds++] = ks_ll_lo(i);
	}
	*out = bounds;
	return nbounds;
}

bool ks_blockstats_hist_ours(const struct ks_bs_hist *h)
{
	const uint64_t *b;
	size_t n = ks_blockstats_bounds(&b);

	return h->nbins == n + 1 && !memcmp(h->bounds, b, n * sizeof(*b));
}

uint64_t ks_blockstats_bin_latency(size_t i)
{
	const uint64_t *b;

	ks_blockstats_bounds(&b);
	/* Bin i counts [b[i-1], b[i]): bucket b[i-1] exactly. */
	return i == 0 ? 0 : b[i - 1];
}

json_t *ks_blockstats_hist_args(const char *qdev)
{
	json_t *a = json_array(), *o;
	const uint64_t *b;
	size_t n = ks_blockstats_bounds(&b);

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_integer((json_int_t)b[i]))) {
			json_decref(a);
			return NULL;
		}
	o = a ? json_pack("{s:s, s:o}", "id", qdev, "boundaries", a) : NULL;
	return o;
}

const char *ks_blockstats_name(const char *device, const char *qdev,
			       const char *node_name, char *buf, size_t size)
{
	static const char periph[] = "/machine/peripheral/";

	if (qdev && !strncmp(qdev, periph, sizeof(periph) - 1)) {
		const char *id = qdev + sizeof(periph) - 1;
		size_t l = strcspn(id, "/");

		if (l > 0 && l < size) {
			memcpy(buf, id, l);
			buf[l] = '\0';
			return buf;
		}
	}
	if (device && *device)
		return device;
	if (node_name && *node_name)
		return node_name;
	return qdev && *qdev ? qdev : NULL;
}

static uint64_t u64(const json_t *o, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(o, k));

	return v > 0 ? (uint64_t)v : 0;
}

static int parse_hist(const json_t *j, struct ks_bs_hist *h)
{
	const json_t *b = json_object_get(j, "boundaries");
	const json_t *c = json_object_get(j, "bins");
	size_t nb = json_array_size(b), nc = json_array_size(c);

	if (!json_is_array(b) || !json_is_array(c) || nc != nb + 1 || nb == 0)
		return 0;	/* absent or malformed: no histogram */
	h->bounds = calloc(nb, sizeof(*h->bounds));
	h->bins = calloc(nc, sizeof(*h->bins));
	if (!h->bounds || !h->bins) {
		free(h->bounds);
		free(h->bins);
		h->bounds = h->bins = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < nb; i++) {
		json_int_t v = json_integer_value(json_array_get(b, i));

		h->bounds[i] = v > 0 ? (uint64_t)v : 0;
	}
	for (size_t i = 0; i < nc; i++) {
		json_int_t v = json_integer_value(json_array_get(c, i));

		h->bins[i] = v > 0 ? (uint64_t)v : 0;
	}
	h->nbins = nc;
	return 0;
}

static int parse_dev(const json_t *e, struct ks_bs_dev *d)
{
	const json_t *st = json_object_get(e, "stats");
	const char *qdev = json_string_value(json_object_get(e, "qdev"));
	const char *name;
	char buf[256], key[64];
	int rc;

	name = ks_blockstats_name(json_string_value(json_object_get(e, "device")),
				  qdev, json_string_value(json_object_get(e,
						"node-name")), buf, sizeof(buf));
	if (!json_is_object(st) || !name)
		return 1;	/* skip */
	memset(d, 0, sizeof(*d));
	d->name = strdup(name);
	d->qdev = qdev ? strdup(qdev) : NULL;
	if (!d->name || (qdev && !d->qdev))
		return -ENOMEM;
	for (int op = 0; op < KS_BS__COUNT; op++) {
		snprintf(key, sizeof(key), "%s_operations", op_prefix[op]);
		d->ops[op] = u64(st, key);
		snprintf(key, sizeof(key), "%s_bytes", op_prefix[op]);
		d->bytes[op] = u64(st, key);
		snprintf(key, sizeof(key), "failed_%s_operations", op_prefix[op]);
		d->failed[op] = u64(st, key);
		snprintf(key, sizeof(key), "%s_latency_histogram", op_prefix[op]);
		if ((rc = parse_hist(json_object_get(st, key), &d->hist[op])))
			return rc;
	}
	return 0;
}

static void dev_fini(struct ks_bs_dev *d)
{
	free(d->name);
	free(d->qdev);
	for (int op = 0; op < KS_BS__COUNT; op++) {
		free(d->hist[op].bounds);
		free(d->hist[op].bins);
	}
}

int ks_blockstats_parse(const json_t *ret, struct ks_blockstats *out)
{
	size_t n = json_array_size(ret);
	int rc;

	out->v = NULL;
	out->n = 0;
	if (!json_is_array(ret))
		return -EPROTO;
	if (!(out->v = calloc(n + 1, sizeof(*out->v))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		rc = parse_dev(json_array_get(ret, i), &out->v[out->n]);
		if (rc < 0) {
			dev_fini(&out->v[out->n]);
			ks_blockstats_fini(out);
			return rc;
		}
		if (rc == 0)
			out->n++;
	}
	return 0;
}

void ks_blockstats_fini(struct ks_blockstats *b)
{
	for (size_t i = 0; i < b->n; i++)
		dev_fini(&b->v[i]);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

const struct ks_bs_dev *ks_blockstats_find(const struct ks_blockstats *b,
					   const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->v[i].name, name))
			return &b->v[i];
	return NULL;
}
