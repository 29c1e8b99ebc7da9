/* bench_prom_cardinality.c - /metrics' cardinality budget per host: series,
 * scrape bytes and agent CPU per scrape at 0, 10 and 50 VMs.
 *
 * Each VM is fed what a busy 4-vCPU Linux guest shows over a while, so that
 * every label set the exporter would create for it exists (the worst case
 * per VM; an idle VM has fewer): on every vCPU 10 exit reasons, 6 injected
 * and 6 APIC-accepted vectors, 3 sample modes, 2 userspace exit reasons,
 * port and MMIO accesses both ways; 2 disks x 3 operation types with
 * latencies, sizes and offsets; one NIC both ways; its vCPU count.  Numeric
 * fields spread over every bucket the families export (latencies 100 ns to
 * 10 ms, sizes 512 B to 1 MiB, offsets to 64 GiB, every millisecond), so
 * every classic bucket line and native span is written.  Exit reasons and
 * vectors are those of the recorded traces in tests/data.
 *
 * Printed per VM count: label sets (ks_prom series), samples (the lines
 * Prometheus stores as series: every bucket, _sum and _count), text and
 * protobuf bytes, and the CPU time of one render of each (the median of
 * RUNS, CPU time of this thread: the agent renders a scrape under its
 * API lock on one thread; the HTTP layer's cost is not included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/symtab.h"
#include "expo/prom.h"
#include "expo/protobuf.h"

#define RUNS 15
#define VCPUS 4

static const char *const reasons[] = {
	"io", "hlt", "npf", "cpuid", "interrupt", "msr_write", "msr_read",
	"preemption_timer", "ept_misconfig", "external_interrupt",
};
static const char *const vectors[] = { "ec", "ef", "f1", "fb", "fd", "22" };
static const char *const modes[] = { "kernel", "user", "host" };
static const char *const uexits[] = { "KVM_EXIT_IO", "KVM_EXIT_MMIO" };
static const char *const dirs[] = { "sent", "received" };
static const char *const optypes[] = { "read", "write", "flush" };

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Log-uniform in [lo, hi). */
static uint64_t spread(uint64_t lo, uint64_t hi)
{
	double f = (double)(rnd() >> 11) / 9007199254740992.0;

	return (uint64_t)((double)lo * __builtin_pow((double)hi / (double)lo, f));
}

struct feeder {
	struct ks_prom *p;
	struct ks_record r;
	uint32_t vm, uuid;
};

static struct ks_record *rec(struct feeder *f, enum ks_metric m)
{
	ks_record_init(&f->r, m, rnd() % (1000 * KS_NSEC_PER_SEC), 1 + rnd() % 7);
	ks_record_set(&f->r, KS_F_VM, f->vm);
	ks_record_set(&f->r, KS_F_VMUUID, f->uuid);
	ks_record_set_subsecond(&f->r);
	return &f->r;
}

static void sym(struct ks_record *r, enum ks_field fl, const char *s)
{
	ks_record_set(r, fl, ks_sym_intern(s));
}

static void feed(struct feeder *f)
{
	ks_prom__feed(f->p, &f->r, 1);
}

static void one_vcpu(struct feeder *f, const char *vcpu)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(*reasons); i++)
		for (int k = 0; k < 40; k++) {
			sym(rec(f, KS_M_VM_EXITS), KS_F_VCPU, vcpu);
			sym(&f->r, KS_F_VLEAVEREASON, reasons[i]);
			ks_record_set(&f->r, KS_F_LATENCY, spread(100, 10000000));
			feed(f);
		}
	for (size_t i = 0; i < 6; i++) {
		sym(rec(f, KS_M_VM_IRQS), KS_F_VCPU, vcpu);
		sym(&f->r, KS_F_IRQVECTOR, vectors[i]);
		feed(f);
		sym(rec(f, KS_M_VM_APIC_IRQS), KS_F_VCPU, vcpu);
		sym(&f->r, KS_F_IRQVECTOR, vectors[i]);
		sym(&f->r, KS_F_DELIVERYMODE, "Fixed");
		feed(f);
	}
	for (size_t i = 0; i < 3; i++) {
		sym(rec(f, KS_M_VM_THREAD_SAMPLES), KS_F_VCPU, vcpu);
		sym(&f->r, KS_F_GUESTMODE, modes[i]);
		feed(f);
	}
	for (size_t i = 0; i < 2; i++) {
		sym(rec(f, KS_M_VM_USERSPACE_EXITS), KS_F_VCPU, vcpu);
		sym(&f->r, KS_F_UEXITREASON, uexits[i]);
		feed(f);
		sym(rec(f, KS_M_VM_PIO_OPS), KS_F_VCPU, vcpu);
		sym(&f->r, KS_F_DIRECTION, dirs[i]);
		feed(f);
		sym(rec(f, KS_M_VM_MMIO_OPS), KS_F_VCPU, vcpu);
		sym(&f->r, KS_F_DIRECTION, dirs[i]);
		feed(f);
	}
}

static void one_vm(struct ks_prom *p, int v)
{
	struct feeder f = { .p = p };
	char name[64];

	snprintf(name, sizeof(name), "vm%02d", v);
	f.vm = ks_sym_intern(name);
	snprintf(name, sizeof(name), "00000000-0000-4000-8000-0000000000%02d", v);
	f.uuid = ks_sym_intern(name);
	for (int c = 0; c < VCPUS; c++) {
		snprintf(name, sizeof(name), "%d", c);
		one_vcpu(&f, name);
	}
	for (int d = 0; d < 2; d++)
		for (size_t o = 0; o < 3; o++)
			for (int k = 0; k < 40; k++) {
				sym(rec(&f, KS_M_VM_PHYSIO_OPS), KS_F_DISK,
				    d ? "vdb" : "vda");
				sym(&f.r, KS_F_OPTYPE, optypes[o]);
				ks_record_set(&f.r, KS_F_LATENCY,
					      spread(2000, 20000000));
				ks_record_set(&f.r, KS_F_SIZE, spread(512, 1 << 20));
				ks_record_set(&f.r, KS_F_OFFSET,
					      spread(1 << 20, 1ULL << 36));
				feed(&f);
				sym(rec(&f, KS_M_VM_PHYSIO_BYTES), KS_F_DISK,
				    d ? "vdb" : "vda");
				sym(&f.r, KS_F_OPTYPE, optypes[o]);
				feed(&f);
			}
	for (size_t i = 0; i < 2; i++) {
		sym(rec(&f, KS_M_NIC_VNIC_BYTES), KS_F_NIC, "vnet0");
		sym(&f.r, KS_F_DIRECTION, dirs[i]);
		feed(&f);
		sym(rec(&f, KS_M_NIC_VNIC_PACKETS), KS_F_NIC, "vnet0");
		sym(&f.r, KS_F_DIRECTION, dirs[i]);
		feed(&f);
	}
	rec(&f, KS_M_VM_VCPUS)->value = VCPUS;
	feed(&f);
}

static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static size_t samples(const char *t)
{
	size_t n = 0;

	for (const char *l = t; *l; l = strchr(l, '\n') + 1) {
		n += *l != '#';
		if (!strchr(l, '\n'))
			break;
	}
	return n;
}

static int measure(int nvms)
{
	struct ks_prom *p = ks_prom__new(0);
	double ttext[RUNS], tpb[RUNS];
	size_t tlen = 0, plen = 0, nsamples = 0;

	if (!p)
		return 1;
	ks_prom__set_hostname(p, "bench-host");
	for (int v = 0; v < nvms; v++)
		one_vm(p, v);
	for (int i = 0; i < RUNS; i++) {
		struct ks_pb b = KS_PB_INIT;
		double t0 = cpu_us();
		char *t = ks_prom__render(p, NULL, &tlen);
		double t1 = cpu_us();

		if (!t || ks_prom__render_pb(p, NULL, &b))
			return 1;
		tpb[i] = cpu_us() - t1;
		ttext[i] = t1 - t0;
		plen = b.len;
		nsamples = samples(t);
		free(t);
		ks_pb_fini(&b);
	}
	qsort(ttext, RUNS, sizeof(double), cmp);
	qsort(tpb, RUNS, sizeof(double), cmp);
	printf("prom_vms_%d_label_sets %zu\n", nvms, ks_prom__nseries(p));
	printf("prom_vms_%d_samples %zu\n", nvms, nsamples);
	printf("prom_vms_%d_text_bytes %zu\n", nvms, tlen);
	printf("prom_vms_%d_protobuf_bytes %zu\n", nvms, plen);
	printf("prom_vms_%d_text_render_cpu_ms %.3f\n", nvms,
	       ttext[RUNS / 2] / 1e3);
	printf("prom_vms_%d_protobuf_render_cpu_ms %.3f\n", nvms,
	       tpb[RUNS / 2] / 1e3);
	if (nvms)
		printf("prom_vms_%d_samples_per_vm %.1f\n", nvms,
		       (double)nsamples / nvms);
	ks_prom__free(p);
	return 0;
}

int main(void)
{
	static const int vms[] = { 0, 10, 50 };

	for (size_t i = 0; i < sizeof(vms) / sizeof(*vms); i++)
		if (measure(vms[i]))
			return 1;
	printf("prom_series_cap %d (label sets; kvmscope_prom_series_dropped_"
	       "total counts the rest)\n", KS_PROM_MAX_SERIES_DEFAULT);
	ks_sym_reset();
	return 0;
}
