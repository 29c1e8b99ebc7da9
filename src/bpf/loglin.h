/* loglin.h - the one log-linear bucket scheme, shared by BPF and user space.
 *
 * Every distribution in kvmscope (exit latency, disk size and offset,
 * subsecond offset) is counted in the same buckets, in the kernel and in the
 * agent, so distributions from any source, CPU, second or host merge exactly
 * by adding counts index by index.  The scheme is base-2 log-linear with
 * 2^KS_LL_SUB_BITS linear sub-buckets per power of two: values below
 * KS_LL_SUB are exact, and above that a bucket is at most 1/16 = 6.25% of its
 * lower bound wide.  The index is computed with shifts and compares only:
 * BPF has no division worth using, and clang 14 crashes on __builtin_clzll
 * for the BPF target, so log2 is the classic shift cascade.
 *
 * This header must compile both in BPF programs (vmlinux.h types) and in
 * user space (<stdint.h>), so it uses only its own fixed-width typedefs.
 */
#ifndef KS_BPF_LOGLIN_H
#define KS_BPF_LOGLIN_H

#ifdef __BPF__
typedef __u64 ks_ll_u64;
typedef __u32 ks_ll_u32;
#else
#include <stdint.h>
typedef uint64_t ks_ll_u64;
typedef uint32_t ks_ll_u32;
#endif

#define KS_LL_SUB_BITS 4
#define KS_LL_SUB (1u << KS_LL_SUB_BITS)
/* Exponents KS_LL_SUB_BITS..63 each get KS_LL_SUB buckets, plus the exact
 * buckets 0..KS_LL_SUB-1 below them. */
#define KS_LL_NBUCKETS ((64 - KS_LL_SUB_BITS + 1) * KS_LL_SUB)

/* floor(log2(v)) for v > 0, by a shift cascade. */
static inline ks_ll_u32 ks_ll_log2(ks_ll_u64 v)
{
#ifndef __BPF__
	/* User space has the instruction; only BPF needs the cascade.
	 * v | 1 keeps log2(0) == 0, as the cascade gives. */
	return 63u - (ks_ll_u32)__builtin_clzll(v | 1);
#else
	ks_ll_u32 r = 0, s;

	s = (v > 0xffffffffULL) << 5; v >>= s; r |= s;
	s = (v > 0xffffULL) << 4; v >>= s; r |= s;
	s = (v > 0xffULL) << 3; v >>= s; r |= s;
	s = (v > 0xfULL) << 2; v >>= s; r |= s;
	s = (v > 0x3ULL) << 1; v >>= s; r |= s;
	r |= (ks_ll_u32)(v >> 1);
	return r;
#endif
}

/* Bucket index of value v: 0 .. KS_LL_NBUCKETS-1. */
static inline ks_ll_u32 ks_ll_index(ks_ll_u64 v)
{
	ks_ll_u32 e, sub;

	if (v < KS_LL_SUB)
		return (ks_ll_u32)v;
	e = ks_ll_log2(v);
	sub = (ks_ll_u32)(v >> (e - KS_LL_SUB_BITS)) & (KS_LL_SUB - 1);
	return (e - KS_LL_SUB_BITS + 1) * KS_LL_SUB + sub;
}

/* Smallest value that falls in bucket idx. */
static inline ks_ll_u64 ks_ll_lo(ks_ll_u32 idx)
{
	ks_ll_u32 e, sub;

	if (idx < KS_LL_SUB)
		return idx;
	e = idx / KS_LL_SUB + KS_LL_SUB_BITS - 1;
	sub = idx % KS_LL_SUB;
	return (ks_ll_u64)(KS_LL_SUB + sub) << (e - KS_LL_SUB_BITS);
}

/* Largest value that falls in bucket idx (inclusive, as CA's ranges are). */
static inline ks_ll_u64 ks_ll_hi(ks_ll_u32 idx)
{
	if (idx + 1 >= KS_LL_NBUCKETS)
		return ~0ULL;
	return ks_ll_lo(idx + 1) - 1;
}

#endif /* KS_BPF_LOGLIN_H */
