/* nic.c - the nic.vnic_bytes and nic.vnic_packets source.
 *
 * Each tick, for every NIC of every VM discovery knows, reads the host
 * interface's counters (/sys/class/net/IF/statistics/{rx,tx}_{bytes,
 * packets}) and emits what they grew by since the last tick, as records
 * naming the VM, the NIC (its host interface) and the direction - from
 * the GUEST's point of view, as libvirt reports it:
 *
 *   tap      host rx = what the guest sent, host tx = what it received
 *            (the VMM writes the guest's frames into the tap fd, which the
 *            host stack sees arriving on the interface);
 *   macvtap  no swap: the guest's frames leave through the macvtap
 *            interface (host tx = guest sent).
 *
 * A NIC's first sight is its baseline (nothing emitted), so counts start
 * at the tick after a VM or NIC appears; what a VM sent in the last
 * partial second before it ended is lost with its interface.  A counter
 * that goes backwards (the interface was re-created) is a new baseline,
 * counted in the source's stats as bad.  Cost: four small sysfs reads per
 * NIC per tick, whatever the packet rate.
 */
#include "source/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/discovery.h"
#include "vm/vmrec.h"

#define MAX_AGE_NS (250 * 1000000ULL)

enum { RX_BYTES, TX_BYTES, RX_PACKETS, TX_PACKETS, NCTR };

static const char *const ctr_file[NCTR] = {
	"rx_bytes", "tx_bytes", "rx_packets", "tx_packets",
};

/* Last counters of one NIC of one VM. */
struct nicst {
	uint64_t serial;	/* the VM's */
	char ifname[IF_NAMESIZE];
	uint64_t v[NCTR];
	uint64_t tick;		/* last tick it was seen */
};

struct nic_src {
	struct ks_vmdisc *d;
	uint32_t pid;		/* filter; 0: all */
	struct nicst *st;
	size_t n, cap;
	uint64_t tick;
};

static const enum ks_metric metrics[] = {
	KS_M_NIC_VNIC_BYTES, KS_M_NIC_VNIC_PACKETS,
};

static void nic_close(struct ks_source *s)
{
	struct nic_src *x = s->priv;

	if (!x)
		return;
	ks_vmdisc__put(x->d);
	free(x->st);
	free(x);
	s->priv = NULL;
}

static int nic_open(struct ks_source *s, const struct ks_source_opts *o,
		    struct ks_err *err)
{
	struct nic_src *x = calloc(1, sizeof(*x));

	if (!x)
		return ks_err_set(err, ENOMEM, "nic", "out of memory");
	s->priv = x;
	x->pid = o->pid;
	if (!(x->d = ks_vmdisc__shared(err))) {
		nic_close(s);
		return -EIO;
	}
	return 0;
}

static int nic_attach(struct ks_source *s, struct ks_err *err)
{
	(void)s;
	(void)err;
	return 0;
}

static int read_ctr(const char *ifname, int i, uint64_t *v)
{
	char path[128], buf[32], *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s",
		 ifname, ctr_file[i]);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*v = strtoull(buf, &end, 10);
	return end == buf ? -EIO : 0;
}

static struct nicst *find_state(struct nic_src *x, uint64_t serial,
				const char *ifname, bool *fresh)
{
	*fresh = false;
	for (size_t i = 0; i < x->n; i++)
		if (x->st[i].serial == serial &&
		    !strcmp(x->st[i].ifname, ifname))
			return &x->st[i];
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct nicst *nv = realloc(x->st, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		x->st = nv;
		x->cap = cap;
	}
	memset(&x->st[x->n], 0, sizeof(x->st[0]));
	x->st[x->n].serial = serial;
	snprintf(x->st[x->n].ifname, sizeof(x->st[0].ifname), "%s", ifname);
	*fresh = true;
	return &x->st[x->n++];
}

static int emit(struct ks_source *s, const struct ks_source_sink *sink,
		const struct ks_vm *vm, const struct ks_vm_nic *nic,
		enum ks_metric m, bool sent, uint64_t value, uint64_t ts)
{
	struct ks_record r;
	int e;

	if (!value)
		return 0;
	ks_record_init(&r, m, ts, value);
	if ((e = ks_vmrec_ident(&r, vm)) ||
	    (e = ks_vmrec_str(&r, KS_F_NIC, nic->ifname)) ||
	    (e = ks_vmrec_str(&r, KS_F_DIRECTION, sent ? "sent" : "received")))
		return e;
	s->st.records++;
	if (m == KS_M_NIC_VNIC_PACKETS)
		s->st.events += value;
	return sink->record(sink->ctx, &r);
}

/* One NIC: read, difference, emit. */
static int one_nic(struct ks_source *s, const struct ks_vm *vm,
		   const struct ks_vm_nic *nic, uint64_t ts,
		   const struct ks_source_sink *sink)
{
	struct nic_src *x = s->priv;
	uint64_t v[NCTR], d[NCTR];
	struct nicst *st;
	bool fresh, back = false, swap;
	int e;

	if (!nic->ifname[0])
		return 0;
	for (int i = 0; i < NCTR; i++)
		if (read_ctr(nic->ifname, i, &v[i]))
			return 0;	/* the interface is gone */
	if (!(st = find_state(x, vm->serial, nic->ifname, &fresh)))
		return -ENOMEM;
	st->tick = x->tick;
	for (int i = 0; i < NCTR; i++) {
		back |= v[i] < st->v[i];
		d[i] = v[i] - st->v[i];
	}
	memcpy(st->v, v, sizeof(v));
	if (fresh)
		return 0;
	if (back) {
		s->st.bad++;
		return 0;
	}
	/* On a tap the host receives what the guest sends. */
	swap = nic->kind == KS_VM_NIC_TAP;
	if ((e = emit(s, sink, vm, nic, KS_M_NIC_VNIC_BYTES, swap,
		      d[RX_BYTES], ts)) ||
	    (e = emit(s, sink, vm, nic, KS_M_NIC_VNIC_BYTES, !swap,
		      d[TX_BYTES], ts)) ||
	    (e = emit(s, sink, vm, nic, KS_M_NIC_VNIC_PACKETS, swap,
		      d[RX_PACKETS], ts)) ||
	    (e = emit(s, sink, vm, nic, KS_M_NIC_VNIC_PACKETS, !swap,
		      d[TX_PACKETS], ts)))
		return e;
	return 0;
}

/* Forgets NICs not seen this tick (their VM ended, or they went). */
static void prune(struct nic_src *x)
{
	size_t n = 0;

	for (size_t i = 0; i < x->n; i++)
		if (x->st[i].tick == x->tick)
			x->st[n++] = x->st[i];
	x->n = n;
}

static int nic_read(struct ks_source *s, uint64_t ts,
		    const struct ks_source_sink *sink)
{
	struct nic_src *x = s->priv;
	int e;

	if ((e = ks_vmdisc__update(x->d, MAX_AGE_NS)) < 0)
		return e;
	x->tick++;
	for (size_t i = 0; i < ks_vmdisc__count(x->d); i++) {
		const struct ks_vm *vm = ks_vmdisc__at(x->d, i);

		if (x->pid && (uint32_t)vm->pid != x->pid)
			continue;
		for (size_t k = 0; k < vm->nnics; k++)
			if ((e = one_nic(s, vm, &vm->nics[k], ts, sink)))
				return e;
	}
	prune(x);
	return 0;
}

const struct ks_source_ops ks_source_nic = {
	.name = "nic",
	.summary = "guest NIC bytes and packets (tap/macvtap counters)",
	.metrics = metrics,
	.nmetrics = sizeof(metrics) / sizeof(metrics[0]),
	.open = nic_open,
	.attach = nic_attach,
	.read = nic_read,
	.close = nic_close,
};
