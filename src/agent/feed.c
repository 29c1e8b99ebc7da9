/* feed.c - records into the engine and the Prometheus aggregator together.
 *
 * Both take the same records in the same critical section, so a scrape and
 * a CA value request never see one without the other.  The exposition is
 * built by the aggregator (its series and the engine's counters) and then
 * extended with the live sources' lines.
 */
#include "agent/feed.h"

#include <stdlib.h>

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
	if (f->live && ks_live__prom(f->live, &text, &n)) {
		free(text);
		return NULL;
	}
	*len = n;
	return text;
}
