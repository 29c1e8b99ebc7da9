/* dataset.c - a ring of granularity-aligned slots per instrumentation.
 *
 * Slot i of the ring holds the interval starting at second t where
 * (t / granularity) % nslots == i; a slot whose stored start differs from
 * the one wanted is stale and is recycled.  The newest slot, and the one
 * before it, stay dense for cheap adds; when the newest advances, the slot
 * that falls two intervals behind is compacted to its non-zero buckets.
 */
#include "engine/dataset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	int64_t t;		/* start second, -1 = empty */
	uint32_t point_seen;	/* point metrics: sources that reported */
	bool closed;		/* two steps or more behind the newest */
	uint64_t point_ts[KS_MAX_SOURCES];
	struct ks_value v;
	size_t bytes;		/* closed: v's bytes, in closed_bytes */
};

struct ks_dataset {
	struct ks_dataset_conf conf;
	int64_t newest;		/* -1 until the first record */
	struct slot *slots;
	/* The slot of the last record's second: records come in bursts of
	 * one second, and this skips three divisions per record. */
	int64_t last_sec;
	struct slot *last_slot;
	/* Changes to the data of any slot but the newest: a late record, a
	 * restored slot, a clear (see ks_dataset__past_changes). */
	uint64_t past_changes;
	/* Memory accounting (ks_dataset__bytes, each second for every
	 * instrumentation, an hour of slots each): the closed slots' bytes
	 * are kept as slots close and recycle, so only the open two are
	 * measured each time.  closed_changes counts records into closed
	 * slots (late ones), which change their sizes: when it has moved
	 * since closed_seen, the closed slots are measured again. */
	size_t closed_bytes;
	uint64_t closed_changes, closed_seen;
};

static void slots_init(struct slot *s, uint32_t n, enum ks_arity a)
{
	for (uint32_t i = 0; i < n; i++) {
		s[i].t = -1;
		s[i].point_seen = 0;
		s[i].closed = false;
		s[i].bytes = 0;
		ks_value_init(&s[i].v, a);
	}
}

struct ks_dataset *ks_dataset__new(const struct ks_dataset_conf *conf)
{
	struct ks_dataset *ds;

	if (!conf->granularity || !conf->nslots) {
		errno = EINVAL;
		return NULL;
	}
	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return NULL;
	ds->slots = calloc(conf->nslots, sizeof(*ds->slots));
	if (!ds->slots) {
		free(ds);
		return NULL;
	}
	ds->conf = *conf;
	ds->newest = -1;
	ds->last_sec = -1;
	slots_init(ds->slots, conf->nslots, conf->arity);
	return ds;
}

void ks_dataset__free(struct ks_dataset *ds)
{
	if (!ds)
		return;
	for (uint32_t i = 0; i < ds->conf.nslots; i++)
		ks_value_fini(&ds->slots[i].v);
	free(ds->slots);
	free(ds);
}

static struct slot *slot_at(const struct ks_dataset *ds, int64_t t)
{
	uint64_t i = (uint64_t)(t / ds->conf.granularity) % ds->conf.nslots;

	return &ds->slots[i];
}

/* Closes s: compacted (a failed compaction only costs memory; the data
 * stays exact), sorted once, so that ks_dataset__value copies it as it
 * is (a late record with a new key unsorts it), and counted. */
static void close_slot(struct ks_dataset *ds, struct slot *s)
{
	(void)ks_value__compact(&s->v);
	ks_value__sort(&s->v);
	s->bytes = ks_value__bytes(&s->v);
	s->closed = true;
	ds->closed_bytes += s->bytes;
}

static void recycle(struct ks_dataset *ds, struct slot *s, int64_t t)
{
	if (s->closed)
		ds->closed_bytes -= s->bytes;
	s->closed = false;
	s->bytes = 0;
	ks_value_fini(&s->v);
	s->t = t;
	s->point_seen = 0;
}

/* Called when the newest slot moves forward to t: the two slots that
 * were open close once two steps or more behind it. */
static void advance(struct ks_dataset *ds, int64_t t)
{
	int64_t g = ds->conf.granularity, prev = ds->newest;

	ds->newest = t;
	for (int64_t c = prev - g; prev >= 0 && c <= prev; c += g) {
		struct slot *s;

		if (c < 0 || c > t - 2 * g)
			continue;
		s = slot_at(ds, c);
		if (s->t == c && !s->closed)
			close_slot(ds, s);
	}
}

/* Measures every closed slot again (late records, a restore). */
static void remeasure(struct ks_dataset *ds)
{
	ds->closed_bytes = 0;
	for (uint32_t i = 0; i < ds->conf.nslots; i++) {
		struct slot *s = &ds->slots[i];

		if (!s->closed)
			continue;
		s->bytes = ks_value__bytes(&s->v);
		ds->closed_bytes += s->bytes;
	}
	ds->closed_seen = ds->closed_changes;
}

/* Point metrics keep the first report per source and slot. */
static bool point_take(struct slot *s, const struct ks_record *r)
{
	unsigned src = r->source % KS_MAX_SOURCES;

	if (!(s->point_seen & (1u << src))) {
		s->point_seen |= 1u << src;
		s->point_ts[src] = r->ts;
		return true;
	}
	return s->point_ts[src] == r->ts;
}

/* The slot for second sec, made current; NULL if past the retention. */
static struct slot *slot_for(struct ks_dataset *ds, int64_t sec)
{
	const struct ks_dataset_conf *c = &ds->conf;
	int64_t t = sec - sec % c->granularity;
	int64_t span = (int64_t)c->granularity * c->nslots;
	struct slot *s;

	if (ds->newest >= 0 && t <= ds->newest - span)
		return NULL;
	s = slot_at(ds, t);
	if (s->t != t) {
		recycle(ds, s, t);
		/* a late second's new slot is closed from the start */
		if (ds->newest >= 0 &&
		    t <= ds->newest - 2 * (int64_t)c->granularity)
			close_slot(ds, s);
	}
	if (t > ds->newest)
		advance(ds, t);
	ds->last_sec = sec;
	ds->last_slot = s;
	return s;
}

/* One record into its slot: the body of add_keys and add_many, inline in
 * both so the batch loop makes no call per record. */
static inline __attribute__((always_inline))
int add_rec(struct ks_dataset *ds, const struct ks_record *r, bool new_keys)
{
	const struct ks_dataset_conf *c = &ds->conf;
	int64_t sec = (int64_t)(r->ts / KS_NSEC_PER_SEC);
	uint32_t key = 0, idx = 0;
	struct slot *s = ds->last_slot;

	if (sec != ds->last_sec && !(s = slot_for(ds, sec)))
		return -ERANGE;
	/* No branch: most records are of the newest second. */
	ds->past_changes += s->t != ds->newest;
	ds->closed_changes += s->closed;
	if (c->point && !point_take(s, r))
		return 0;
	if (c->discrete >= 0) {
		key = (uint32_t)r->f[c->discrete];
		/* The keys are the guest's or the host's to multiply: a
		 * slot holds at most max_keys of them. */
		if ((!new_keys || (c->max_keys && s->v.n >= c->max_keys)) &&
		    !ks_value__find(&s->v, key))
			return -E2BIG;
	}
	if (c->numeric >= 0)
		idx = ks_ll_index(r->f[c->numeric]);
	return ks_value__add(&s->v, key, idx, r->value);
}

int ks_dataset__add_keys(struct ks_dataset *ds, const struct ks_record *r,
			 bool new_keys)
{
	return add_rec(ds, r, new_keys);
}

void ks_dataset__add_many(struct ks_dataset *ds,
			  const struct ks_record *const *r, size_t n,
			  bool new_keys, struct ks_dataset_tally *t)
{
	for (size_t k = 0; k < n; k++) {
		int rc = add_rec(ds, r[k], new_keys);

		if (!rc)
			t->added++;
		else if (rc == -ERANGE)
			t->expired++;
		else if (rc == -E2BIG)
			t->refused++;
		else
			t->nomem++;
	}
}

int ks_dataset__add(struct ks_dataset *ds, const struct ks_record *r)
{
	return ks_dataset__add_keys(ds, r, true);
}

size_t ks_dataset__cost(const struct ks_dataset_conf *conf)
{
	return sizeof(struct ks_dataset) + conf->nslots * sizeof(struct slot);
}

int ks_dataset__value(const struct ks_dataset *ds, int64_t start,
		      uint32_t duration, struct ks_value *out)
{
	int64_t g = ds->conf.granularity;
	int64_t t0 = start - ((start % g) + g) % g;
	int err;

	/* One slot, in key order: copied, without the index inserts and
	 * the sort a merge costs (a heatmap takes an hour of such columns
	 * under the engine lock). */
	if (t0 + g >= start + (int64_t)duration && t0 >= 0) {
		const struct slot *s = slot_at(ds, t0);

		if (s->t == t0 && s->v.nsorted == s->v.n)
			return ks_value__copy(out, &s->v);
	}
	ks_value_init(out, ds->conf.arity);
	for (int64_t t = t0; t < start + (int64_t)duration; t += g) {
		const struct slot *s = slot_at(ds, t);

		if (t < 0 || s->t != t)
			continue;
		if ((err = ks_value__merge(out, &s->v))) {
			ks_value_fini(out);
			return err;
		}
		/* A point metric is a level, not a count: the levels of
		 * several intervals do not add up (CA answered with the
		 * first interval's). */
		if (ds->conf.point)
			break;
	}
	ks_value__sort(out);
	return 0;
}

int ks_dataset__resize(struct ks_dataset *ds, uint32_t nslots)
{
	struct slot *old = ds->slots, *n;
	uint32_t oldn = ds->conf.nslots;

	if (!nslots)
		return -EINVAL;
	if (nslots == oldn)
		return 0;
	n = calloc(nslots, sizeof(*n));
	if (!n)
		return -ENOMEM;
	slots_init(n, nslots, ds->conf.arity);
	ds->slots = n;
	ds->conf.nslots = nslots;
	ds->last_sec = -1;
	ds->last_slot = NULL;
	for (uint32_t i = 0; i < oldn; i++) {
		struct slot *s = &old[i];
		int64_t span = (int64_t)ds->conf.granularity * nslots;

		if (s->t >= 0 && s->t > ds->newest - span) {
			*slot_at(ds, s->t) = *s;	/* moves the value */
			continue;
		}
		ks_value_fini(&s->v);
	}
	free(old);
	remeasure(ds);	/* the dropped slots' bytes go */
	return 0;
}

int64_t ks_dataset__newest(const struct ks_dataset *ds)
{
	return ds->newest;
}

int64_t ks_dataset__oldest(const struct ks_dataset *ds)
{
	int64_t oldest = -1;

	for (uint32_t i = 0; i < ds->conf.nslots; i++) {
		int64_t t = ds->slots[i].t;

		if (t >= 0 && (oldest < 0 || t < oldest))
			oldest = t;
	}
	return oldest;
}

uint32_t ks_dataset__granularity(const struct ks_dataset *ds)
{
	return ds->conf.granularity;
}

size_t ks_dataset__bytes(struct ks_dataset *ds)
{
	size_t b = ks_dataset__cost(&ds->conf);
	int64_t g = ds->conf.granularity;

	if (ds->closed_seen != ds->closed_changes)
		remeasure(ds);
	b += ds->closed_bytes;
	/* the open slots: at most the newest two (advance, slot_for) */
	for (int64_t t = ds->newest; ds->newest >= 0 && t >= ds->newest - g &&
				      t >= 0; t -= g) {
		const struct slot *s = slot_at(ds, t);

		if (s->t == t && !s->closed)
			b += ks_value__bytes(&s->v);
	}
	return b;
}

size_t ks_dataset__bytes_scan(const struct ks_dataset *ds)
{
	size_t b = ks_dataset__cost(&ds->conf);

	for (uint32_t i = 0; i < ds->conf.nslots; i++)
		b += ks_value__bytes(&ds->slots[i].v);
	return b;
}

bool ks_dataset__next_slot(const struct ks_dataset *ds, size_t *it, int64_t *t,
			   const struct ks_value **v)
{
	int64_t g = ds->conf.granularity;
	int64_t oldest = ds->newest - g * (ds->conf.nslots - 1);

	if (ds->newest < 0)
		return false;
	for (; *it < ds->conf.nslots; (*it)++) {
		int64_t want = oldest + (int64_t)*it * g;
		const struct slot *s;

		if (want < 0)
			continue;
		s = slot_at(ds, want);
		if (s->t == want) {
			(*it)++;
			*t = want;
			*v = &s->v;
			return true;
		}
	}
	return false;
}

enum ks_arity ks_dataset__arity(const struct ks_dataset *ds)
{
	return ds->conf.arity;
}

int ks_dataset__put_slot(struct ks_dataset *ds, int64_t t,
			 const struct ks_value *v)
{
	struct slot *s;

	if (t < 0 || t % ds->conf.granularity)
		return -EINVAL;
	s = slot_for(ds, t);
	if (!s)
		return 0;	/* older than the retention: nothing to keep */
	ds->past_changes++;
	ds->closed_changes += s->closed;
	return ks_value__merge(&s->v, v);
}

void ks_dataset__clear(struct ks_dataset *ds)
{
	for (uint32_t i = 0; i < ds->conf.nslots; i++) {
		ks_value_fini(&ds->slots[i].v);
		ds->slots[i].t = -1;
		ds->slots[i].point_seen = 0;
		ds->slots[i].closed = false;
		ds->slots[i].bytes = 0;
	}
	ds->closed_bytes = 0;
	ds->newest = -1;
	ds->last_sec = -1;
	ds->last_slot = NULL;
	ds->past_changes++;
}

uint64_t ks_dataset__past_changes(const struct ks_dataset *ds)
{
	return ds->past_changes;
}
