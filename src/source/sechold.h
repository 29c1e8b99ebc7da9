/* sechold.h - events of the second in progress, held for the next read.
 *
 * A live source is read once per whole second, stamped with the last
 * nanosecond of the second just ended.  The read never comes exactly on
 * the boundary (timer slack, the RCU grace period of a generation swap),
 * so the kernel maps it drains already hold a few milliseconds of the next
 * second.  Crediting those to the ended second would bend every subsecond
 * picture at its left edge, so the BPF programs key each event by the low
 * bits of its own wall-clock second (KS_SEC_MASK), and the reader passes
 * each record through here: a record of the ended second (or an earlier
 * one, after a missed read) goes to the sink now; one of a later second is
 * kept, and goes out, restamped, with the read that ends its second.
 * Nothing is dropped: records still held when the source closes are
 * counted as lost.
 */
#ifndef KS_SOURCE_SECHOLD_H
#define KS_SOURCE_SECHOLD_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/keys.h"
#include "engine/record.h"
#include "source/source.h"

/* The BPF keys carry (wall-clock second & KS_SEC_MASK, bpf/keys.h). */

struct ks_sechold;

struct ks_sechold *ks_sechold__new(void);
/* Frees h; returns the events still held (lost: their second never
 * ended while the source ran). */
uint64_t ks_sechold__free(struct ks_sechold *h);

/* Whether an event of second low bits `sec` comes after the second that
 * ends at stamp ts (its last ns): the next or the one after. */
int ks_sechold_is_later(uint32_t sec, uint64_t ts);

/* Emits r (n events, stamped with the read's ts) through s's sink now, or
 * keeps a copy for a later read when sec names a later second.  0, a
 * negative sink error, or -ENOMEM (nothing kept, nothing emitted). */
int ks_sechold__emit(struct ks_sechold *h, struct ks_source *s,
		     const struct ks_source_sink *sink,
		     const struct ks_record *r, uint64_t n, uint32_t sec);

/* The same for a record a converter (bpfrec.h) made with result conv:
 * -EINVAL, a key no probe writes, is counted in s's `bad` and skipped;
 * another error is returned as is. */
int ks_sechold__emit_conv(struct ks_sechold *h, struct ks_source *s,
			  const struct ks_source_sink *sink, int conv,
			  const struct ks_record *r, uint64_t n, uint32_t sec);

/* At the start of a read stamped ts: emits, restamped ts, the records
 * whose second has now ended, and keeps the rest. */
int ks_sechold__release(struct ks_sechold *h, struct ks_source *s,
			const struct ks_source_sink *sink, uint64_t ts);

/* Records and events held now. */
size_t ks_sechold__count(const struct ks_sechold *h);
uint64_t ks_sechold__events(const struct ks_sechold *h);

#endif /* KS_SOURCE_SECHOLD_H */
