/* feed.c - records into the engine and the Prometheus aggregator together.
 *
 * Both take the same records in the same critical section, so a scrape and
 * a CA value request never see one without the other.  The exposition is
 * written by the aggregator (its series and the engine's counters), then
 * by the live sources, into one writer of either format (expo/emit.h).
 * The exits mode decision lives here too: it reads the engine under the
 * same lock.
 */
#include "agent/feed.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "expo/emit.h"

/* How many of n records go in under one hold of the lock: about
 * KS_FEED_HOLD_ADDS (record, instrumentation) pairs.  A source's batch
 * into every instrumentation at once held it for milliseconds (512
 * records into 50 instrumentations: 6.5 ms), and every request waited
 * behind it. */
static size_t hold_records(const struct ks_engine *e, size_t n)
{
	size_t k = KS_FEED_HOLD_ADDS / (ks_engine__count(e) + 1);

	if (k < KS_FEED_HOLD_MIN)
		k = KS_FEED_HOLD_MIN;
	return k < n ? k : n;
}

void ks_feed__records(void *feed, const struct ks_record *r, size_t n)
{
	struct ks_feed *f = feed;
	size_t k;

	while (n) {
		if (f->api)
			ks_api__lock(f->api);
		k = f->api ? hold_records(f->e, n) : n;
		ks_engine__feed(f->e, r, k);
		if (f->prom)
			ks_prom__feed(f->prom, r, k);
		if (f->api)
			ks_api__unlock(f->api);
		r += k;
		n -= k;
		/* The mutex is not fair: without a yield this thread takes
		 * it back before a waiter woken by the unlock can. */
		if (n)
			sched_yield();
	}
}

bool ks_feed_exit_latency_wanted(struct ks_engine *e)
{
	struct ks_instn *in = NULL;

	while ((in = ks_engine__next(e, in)))
		if (in->conf.metric == KS_M_VM_EXITS &&
		    ks_instn_conf_uses_field(&in->conf, KS_F_LATENCY))
			return true;
	return false;
}

void ks_feed_exit_latency_cuts(struct ks_engine *e, struct ks_latcuts *cuts)
{
	struct ks_instn *in = NULL;
	uint64_t edge[2 * KS_LATCUT_MAX];
	size_t n;

	ks_latcuts_init(cuts);
	while ((in = ks_engine__next(e, in))) {
		if (in->conf.metric != KS_M_VM_EXITS)
			continue;
		n = ks_pred__edges(in->conf.pred, KS_F_LATENCY, edge,
				   sizeof(edge) / sizeof(edge[0]));
		if (n > sizeof(edge) / sizeof(edge[0])) {
			cuts->over += (uint32_t)(n - sizeof(edge) /
						 sizeof(edge[0]));
			n = sizeof(edge) / sizeof(edge[0]);
		}
		ks_latcuts_add(cuts, edge, n);
	}
}

/* Every family of /metrics into m: the exporter's, then the live
 * sources', labelled with the same hostname. */
static void emit_all(struct ks_feed *f, struct ks_emit *m)
{
	if (f->prom)
		ks_prom__emit(f->prom, f->e, m);
	if (f->live)
		ks_live__emit(f->live, m,
			      f->prom ? ks_prom__hostname(f->prom) : NULL);
}

char *ks_feed__metrics(void *feed, size_t *len)
{
	struct ks_emit *m = ks_emit__new(NULL);
	char *text;

	if (!m)
		return NULL;
	emit_all(feed, m);
	text = ks_emit__take_text(m, len);
	ks_emit__free(m);
	return text;
}

int ks_feed__metrics_pb(void *feed, char **body, size_t *len,
			struct ks_err *err)
{
	struct ks_pb b = KS_PB_INIT;
	struct ks_emit *m = ks_emit__new(&b);
	int rc = -ENOMEM;

	if (m) {
		emit_all(feed, m);
		rc = ks_emit__err(m);
		ks_emit__free(m);
	}
	if (!rc && !(*body = (char *)ks_pb__take(&b, len)))
		rc = -ENOMEM;
	if (rc)
		ks_err_set(err, ENOMEM, "", "out of memory");
	ks_pb_fini(&b);
	return rc;
}
