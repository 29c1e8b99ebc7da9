/* feed.c - records into the engine and the Prometheus aggregator together.
 *
 * Both take the same records in the same critical section, so a scrape and
 * a CA value request never see one without the other.  The exposition is
 * built by the aggregator (its series and the engine's counters) and then
 * extended with the live sources' lines.  The exits mode decision lives
 * here too: it reads the engine under the same lock.
 */
#include "agent/feed.h"

#include <errno.h>
#include <stdlib.h>

#include "expo/prom_pb.h"

void ks_feed__records(void *feed, const struct ks_record *r, size_t n)
{
	struct ks_feed *f = feed;

	if (!n)
		return;
	if (f->api)
		ks_api__lock(f->api);
	ks_engine__feed(f->e, r, n);
	if (f->prom)
		ks_prom__feed(f->prom, r, n);
	if (f->api)
		ks_api__unlock(f->api);
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

char *ks_feed__metrics(void *feed, size_t *len)
{
	struct ks_feed *f = feed;
	size_t n = 0;
	char *text;

	if (f->prom) {
		text = ks_prom__render(f->prom, f->e, &n);
	} else {
		text = calloc(1, 1);
	}
	if (!text)
		return NULL;
	size_t from = n;

	if (f->live && (ks_live__prom(f->live, &text, &n) ||
			(f->prom && ks_prom__label_text(f->prom, &text, &n,
							from)))) {
		free(text);
		return NULL;
	}
	*len = n;
	return text;
}

/* The live sources write text lines; converting them keeps one place that
 * knows their families, and both formats carry the same ones. */
int ks_feed__metrics_pb(void *feed, char **body, size_t *len,
			struct ks_err *err)
{
	struct ks_feed *f = feed;
	struct ks_pb b = KS_PB_INIT;
	char *text = NULL;
	size_t n = 0;
	int rc = 0;

	if (f->prom)
		rc = ks_prom__render_pb(f->prom, f->e, &b);
	if (!rc && f->live && (rc = ks_live__prom(f->live, &text, &n)) == 0 &&
	    (!f->prom || !(rc = ks_prom__label_text(f->prom, &text, &n, 0))))
		rc = ks_prom_pb__from_text(&b, text, n, err);
	free(text);
	if (!rc && !(*body = (char *)ks_pb__take(&b, len)))
		rc = -ENOMEM;
	if (rc == -ENOMEM)
		ks_err_set(err, ENOMEM, "", "out of memory");
	ks_pb_fini(&b);
	return rc;
}
