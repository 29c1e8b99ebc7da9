/* xcount.c - deltas of the exits probe's count-only planes (xcount.h).
 *
 * The counters are read with relaxed atomic loads: the probe keeps
 * incrementing the other plane meanwhile, and a plane's own writers are
 * done once its second has ended (up to the plane timer's lateness, which
 * the caller covers by reading after the boundary).
 */
#include "source/xcount.h"

#include <string.h>
#include <sys/mman.h>

#define NSEC_PER_SEC 1000000000ULL

/* mmap, not malloc: malloc may place it in the heap (glibc's threshold
 * for its own mmap grows with the big blocks freed before, libbpf's BTF
 * among them) and its zeroing would then touch all 3.4 MB at start. */
struct ks_xcount *ks_xcount__new(void)
{
	struct ks_xcount *x = mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (x == MAP_FAILED)
		return NULL;
	x->done_sec = -1;
	return x;
}

void ks_xcount__free(struct ks_xcount *x)
{
	if (x)
		munmap(x, sizeof(*x));
}

/* Deltas of one plane against its snapshot, which then catches up. */
static int read_plane(struct ks_xcount *x, const volatile ks_xplanes_t *c,
		      uint32_t plane, uint32_t nslots, ks_xcount_fn fn,
		      void *ctx)
{
	int e = 0, r;

	for (uint32_t s = 0; s < nslots; s++) {
		for (uint32_t i = 0; i < KS_XC_NIDX; i++) {
			uint32_t now = __atomic_load_n(&(*c)[plane][s][i],
						       __ATOMIC_RELAXED);
			uint32_t d = now - x->snap[plane][s][i];

			if (!d)
				continue;
			x->snap[plane][s][i] = now;
			if ((r = fn(ctx, s, i, d)) && !e)
				e = r;
		}
	}
	return e;
}

/* Deltas of one plane of the latency histograms, as read_plane. */
static int read_lat_plane(struct ks_xcount *x, uint32_t plane,
			  uint32_t nslots, void *ctx)
{
	int e = 0, r;

	for (uint32_t s = 0; s < nslots && s < KS_LH_SLOTS; s++) {
		volatile struct ks_lat_slot *ls = &x->lat[s];

		for (uint32_t row = 0; row < KS_LH_ROWS; row++) {
			/* Set before its row is first counted in. */
			uint32_t idx = __atomic_load_n(&ls->row_idx[row],
						       __ATOMIC_ACQUIRE);
			uint32_t *snap = x->lsnap[s][plane][row];

			if (!idx)
				continue;
			for (uint32_t b = 0; b < KS_LH_NB; b++) {
				uint32_t now = __atomic_load_n(
					&ls->h[plane][row][b], __ATOMIC_RELAXED);
				uint32_t d = now - snap[b];

				if (!d)
					continue;
				snap[b] = now;
				if ((r = x->lat_fn(ctx, s, idx - 1, KS_LH_B0 + b,
						   d)) && !e)
					e = r;
			}
		}
	}
	return e;
}

void ks_xcount__set_lat(struct ks_xcount *x, volatile struct ks_lat_slot *lat,
			ks_xlat_fn fn)
{
	x->lat = lat;
	x->lat_fn = fn;
}

void ks_xcount__start(struct ks_xcount *x, int64_t sec)
{
	if (x->done_sec < 0)
		x->done_sec = sec - 1;
}

int ks_xcount__read(struct ks_xcount *x, const volatile ks_xplanes_t *counts,
		    uint32_t nslots, int64_t ended_sec, ks_xcount_fn fn,
		    void *ctx)
{
	int64_t from = x->done_sec < 0 ? ended_sec : x->done_sec + 1;
	int e = 0, r;

	if (nslots > KS_XC_SLOTS)
		nslots = KS_XC_SLOTS;
	/* Two planes hold everything: older seconds are in them already. */
	if (from < ended_sec - 1) {
		x->late += (uint64_t)(ended_sec - 1 - from);
		from = ended_sec - 1;
	}
	for (int64_t sec = from; sec <= ended_sec; sec++) {
		/* Its plane is the current second's too: reopened. */
		if (sec < ended_sec)
			x->late++;
		if ((r = read_plane(x, counts, (uint32_t)(sec & 1), nslots,
				    fn, ctx)) && !e)
			e = r;
		if (x->lat && (r = read_lat_plane(x, (uint32_t)(sec & 1),
						  nslots, ctx)) && !e)
			e = r;
	}
	if (ended_sec > x->done_sec)
		x->done_sec = ended_sec;
	return e;
}

bool ks_xcount_slot_final(uint64_t dead_ns, int64_t done_sec)
{
	/* One more second than the death's: its plane's late writers (at
	 * most the plane timer's lateness) are surely done. */
	return dead_ns && done_sec >= (int64_t)(dead_ns / NSEC_PER_SEC) + 1;
}

void ks_xcount__forget(struct ks_xcount *x, volatile ks_xplanes_t *counts,
		       uint32_t slot)
{
	if (slot >= KS_XC_SLOTS)
		return;
	for (int p = 0; p < 2; p++)
		for (uint32_t i = 0; i < KS_XC_NIDX; i++) {
			(*counts)[p][slot][i] = 0;
			x->snap[p][slot][i] = 0;
		}
	if (x->lat && slot < KS_LH_SLOTS) {
		memset((void *)&x->lat[slot], 0, sizeof(x->lat[slot]));
		memset(x->lsnap[slot], 0, sizeof(x->lsnap[slot]));
	}
}
