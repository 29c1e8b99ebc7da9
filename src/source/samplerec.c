/* samplerec.c - sampler keys to records, and the loader's parsing (see
 * samplerec.h).
 *
 * Field values are written the way the other sources write theirs, so
 * decompositions line up across metrics: vCPUs in decimal, addresses in
 * lowercase hex without "0x" (as irq vectors), subsecond as the first
 * millisecond of the row (as vm.irqs).
 */
#include "source/samplerec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/symtab.h"
#include "source/bpfrec.h"

#define MS_NS 1000000ULL

static const char *const mode_names[KS_SMODE__COUNT] = {
	[KS_SMODE_HOST] = "host",
	[KS_SMODE_KERNEL] = "kernel",
	[KS_SMODE_USER] = "user",
	[KS_SMODE_GUEST] = "guest",
};

const char *ks_samplerec_mode_name(unsigned int mode)
{
	return mode < KS_SMODE__COUNT ? mode_names[mode] : NULL;
}

/* Rejects what the probe never writes. */
static int key_valid(const struct ks_sample_key *k, uint64_t row_ns)
{
	if (ks_bpfrec_row_ns_valid(row_ns) ||
	    k->row >= KS_NSEC_PER_SEC / row_ns || k->sec > KS_SEC_MASK)
		return -EINVAL;
	if (k->mode >= KS_SMODE__COUNT || !k->tgid ||
	    (k->flags & ~(KS_SMP_CR3 | KS_SMP_RIP | KS_SMP_VCPUID)))
		return -EINVAL;
	/* Guest state is only read for samples in guest mode. */
	if (k->mode == KS_SMODE_HOST && (k->flags & (KS_SMP_CR3 | KS_SMP_RIP)))
		return -EINVAL;
	return 0;
}

static int set_sym(struct ks_record *r, enum ks_field f, uint32_t sym)
{
	if (!sym)
		return -ENOMEM;
	ks_record_set(r, f, sym);
	return 0;
}

/* A guest-driven field: one refused by its VM's key cap is left absent
 * (the symbol table counts it), so the sample still counts wherever the
 * field is not needed. */
static int set_guest(struct ks_record *r, enum ks_field f, uint32_t tgid,
		     uint64_t v)
{
	uint32_t sym = ks_bpfrec_guest_sym(tgid, f, v);

	if (!sym)
		return errno == ENOSPC ? 0 : -ENOMEM;
	ks_record_set(r, f, sym);
	return 0;
}

int ks_samplerec(const struct ks_sample_key *k, uint64_t count, uint64_t ts,
		 uint64_t row_ns, struct ks_record *r)
{
	int e;

	if ((e = key_valid(k, row_ns)))
		return e;
	ks_record_init(r, KS_M_VM_THREAD_SAMPLES, ts, count);
	if (k->vcpu != KS_VCPU_UNKNOWN &&
	    (e = set_sym(r, KS_F_VCPU, ks_bpfrec_dec_sym(k->vcpu))))
		return e;
	if ((e = set_sym(r, KS_F_GUESTMODE,
			 ks_sym_intern(ks_samplerec_mode_name(k->mode)))))
		return e;
	if ((k->flags & KS_SMP_CR3) &&
	    (e = set_guest(r, KS_F_VMMMUCTX, k->tgid, k->cr3)))
		return e;
	if ((k->flags & KS_SMP_RIP) &&
	    (e = set_guest(r, KS_F_GUESTRIP, k->tgid, k->rip)))
		return e;
	ks_record_set(r, KS_F_SUBSECOND, k->row * (row_ns / MS_NS));
	return 0;
}

/* One decimal CPU number at *s; advances *s. */
static int cpu_num(const char **s, unsigned long *v)
{
	char *end;

	if (!isdigit((unsigned char)**s))
		return -EINVAL;
	errno = 0;
	*v = strtoul(*s, &end, 10);
	if (errno)
		return -ERANGE;
	*s = end;
	return 0;
}

int ks_samplerec_cpus(const char *list, bool *on, size_t n)
{
	const char *s = list;
	unsigned long a, b;
	int e;

	memset(on, 0, n * sizeof(*on));
	for (;;) {
		if ((e = cpu_num(&s, &a)))
			return e;
		b = a;
		if (*s == '-') {
			s++;
			if ((e = cpu_num(&s, &b)))
				return e;
			if (b < a)
				return -EINVAL;
		}
		if (b >= n)
			return -ERANGE;
		for (unsigned long c = a; c <= b; c++)
			on[c] = true;
		if (*s != ',')
			break;
		s++;
	}
	if (*s == '\n')
		s++;
	return *s ? -EINVAL : 0;
}

enum ks_sample_isa ks_samplerec_isa(const char *cpuinfo)
{
	static const struct {
		const char *vendor;
		enum ks_sample_isa isa;
	} vendors[] = {
		{ "AuthenticAMD", KS_SISA_SVM },
		{ "HygonGenuine", KS_SISA_SVM },
		{ "GenuineIntel", KS_SISA_VMX },
		{ "CentaurHauls", KS_SISA_VMX },
	};
	const char *line = strstr(cpuinfo, "vendor_id");
	const char *colon;

	if (!line || !(colon = strchr(line, ':')))
		return KS_SISA_UNKNOWN;
	colon++;
	while (*colon == ' ' || *colon == '\t')
		colon++;
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
		size_t len = strlen(vendors[i].vendor);

		if (!strncmp(colon, vendors[i].vendor, len) &&
		    (colon[len] == '\n' || colon[len] == '\0'))
			return vendors[i].isa;
	}
	return KS_SISA_UNKNOWN;
}

enum ks_sample_tdp ks_samplerec_tdp(const char *param)
{
	if (!param)
		return KS_STDP_UNKNOWN;
	if ((param[0] == 'Y' || param[0] == '1') &&
	    (param[1] == '\0' || param[1] == '\n'))
		return KS_STDP_ON;
	if ((param[0] == 'N' || param[0] == '0') &&
	    (param[1] == '\0' || param[1] == '\n'))
		return KS_STDP_OFF;
	return KS_STDP_UNKNOWN;
}
