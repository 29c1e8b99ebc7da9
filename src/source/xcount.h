/* xcount.h - reading the exits probe's count-only planes.
 *
 * In count-only mode the exits probe (exitpath.bpf.h) counts each exit
 * in a dense u32 array [plane][slot][reason index] that the skeleton maps
 * into user space; the plane is the parity of the event's wall-clock
 * second.  The reader never writes a plane a writer may be using: it
 * keeps a snapshot of each plane and turns the counters into deltas (u32
 * arithmetic wraps, so overflow is harmless), reading the plane of a
 * second only once that second has ended.  A slot whose thread died is
 * final once the second after its death has been read: then its counters
 * and snapshots are zeroed and it can be handed back to the probe.
 * Latency mode's per-slot histograms (exits.h, ks_lat_slot) have the same
 * two planes and are read in the same pass, seconds and slots.  Pure
 * code on plain memory, so the bookkeeping is unit-tested without BPF.
 */
#ifndef KS_SOURCE_XCOUNT_H
#define KS_SOURCE_XCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/exits.h"

typedef uint32_t ks_xplanes_t[2][KS_XC_SLOTS][KS_XC_NIDX];

/* Called for each nonzero delta of a latency histogram: n exits of slot
 * for dense reason index idx, in log-linear bucket bucket. */
typedef int (*ks_xlat_fn)(void *ctx, uint32_t slot, uint32_t idx,
			  uint32_t bucket, uint32_t n);

struct ks_xcount {
	ks_xplanes_t snap;	/* each plane as last read */
	int64_t done_sec;	/* last wall second read; -1: none yet */
	uint64_t late;		/* seconds read after their plane reopened */
	/* Latency mode's histograms (exits.h, ks_lat_slot), read with the
	 * same planes and seconds when set (ks_xcount__set_lat). */
	volatile struct ks_lat_slot *lat;
	ks_xlat_fn lat_fn;
	uint32_t lsnap[KS_LH_SLOTS][2][KS_LH_ROWS][KS_LH_NB];
};

/* Called for each nonzero delta: n events of slot at dense index idx. */
typedef int (*ks_xcount_fn)(void *ctx, uint32_t slot, uint32_t idx,
			    uint32_t n);

/* A reader with zero snapshots, or NULL (errno set).  Its snapshots are
 * as big as the probe's planes and histograms (3.4 MB), but only the
 * slots in use are ever touched: they are anonymous pages the kernel
 * backs at first touch, so an idle agent pays nothing for them. */
struct ks_xcount *ks_xcount__new(void);
void ks_xcount__free(struct ks_xcount *x);

/* Reads the probe's KS_LH_SLOTS latency slots at lat too, from now on,
 * calling fn (with the read's ctx) per histogram delta. */
void ks_xcount__set_lat(struct ks_xcount *x, volatile struct ks_lat_slot *lat,
			ks_xlat_fn fn);

/* Counting starts in wall-clock second sec (call it before the probe is
 * attached).  The first read then covers every second from sec on: a
 * plane filled before the first read holds earlier seconds as well as the
 * second in progress, and its counts would otherwise be taken, at the
 * next read of that plane, for a second they were not in. */
void ks_xcount__start(struct ks_xcount *x, int64_t sec);

/* Reads what the seconds up to ended_sec (wall clock, s) added, slots
 * below nslots, calling fn per delta; `counts` is the probe's array.
 * The seconds since the last read are read oldest first, each from its
 * plane; one whose plane has been reopened by the second in progress
 * (a read more than a second late) is read anyway, counted in x->late.
 * 0, or the first error fn returns (the rest is still read). */
int ks_xcount__read(struct ks_xcount *x, const volatile ks_xplanes_t *counts,
		    uint32_t nslots, int64_t ended_sec, ks_xcount_fn fn,
		    void *ctx);

/* Whether a slot whose thread died at wall time dead_ns (0: alive) has
 * had its last second read, once the seconds up to done_sec are. */
bool ks_xcount_slot_final(uint64_t dead_ns, int64_t done_sec);

/* Zeroes slot's counters and latency slot (no writer may remain) and
 * their snapshots. */
void ks_xcount__forget(struct ks_xcount *x, volatile ks_xplanes_t *counts,
		       uint32_t slot);

#endif /* KS_SOURCE_XCOUNT_H */
