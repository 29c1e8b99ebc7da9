/* vmdevs.c - thread names to vCPUs, descriptors to NICs (see vmdevs.h). */
#include "vm/vmdevs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "<prefix><digits><suffix>" exactly; the digits' value or -1. */
static int64_t match_num(const char *s, const char *prefix,
			 const char *suffix)
{
	size_t pl = strlen(prefix);
	int64_t v = 0;
	const char *p;

	if (strncmp(s, prefix, pl))
		return -1;
	p = s + pl;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > 0xffffff)
			return -1;
	}
	return strcmp(p, suffix) ? -1 : v;
}

int64_t ks_vmdevs_vcpu_of_comm(const char *comm)
{
	static const char *const pats[][2] = {
		{ "CPU ", "/KVM" }, { "CPU ", "/TCG" }, { "CPU ", "/HVF" },
		{ "fc_vcpu ", "" }, { "vcpu", "" }, { "crosvm_vcpu", "" },
	};
	int64_t v;

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		if ((v = match_num(comm, pats[i][0], pats[i][1])) >= 0)
			return v;
	return -1;
}

static bool is_tap_netdev(const struct ks_qemu_nic *n)
{
	return n->type && (!strcmp(n->type, "tap") ||
			   !strcmp(n->type, "bridge"));
}

/* Interfaces, one per name, lowest fd first. */
struct iface {
	const struct ks_vmdevs_tap *t;
	bool taken;
};

static int cmp_fd(const void *a, const void *b)
{
	const struct iface *x = a, *y = b;

	return (x->t->fd > y->t->fd) - (x->t->fd < y->t->fd);
}

static size_t unique_ifaces(const struct ks_vmdevs_tap *taps, size_t ntaps,
			    struct iface *out)
{
	size_t n = 0;

	for (size_t i = 0; i < ntaps; i++) {
		size_t j;

		for (j = 0; j < n; j++)
			if (!strcmp(out[j].t->ifname, taps[i].ifname))
				break;
		if (j == n)
			out[n++] = (struct iface){ &taps[i], false };
		else if (taps[i].fd < out[j].t->fd)
			out[j].t = &taps[i];
	}
	qsort(out, n, sizeof(*out), cmp_fd);
	return n;
}

/* The interface a netdev names by fd or ifname, or NULL. */
static struct iface *claimed(const struct ks_qemu_nic *n,
			     const struct ks_vmdevs_tap *taps, size_t ntaps,
			     struct iface *ifs, size_t nifs)
{
	const char *name = NULL;

	for (size_t k = 0; k < n->nfds && !name; k++)
		for (size_t i = 0; i < ntaps; i++)
			if (taps[i].fd == n->fds[k])
				name = taps[i].ifname;
	if (!name && !n->nfds)
		name = n->ifname;
	for (size_t i = 0; name && i < nifs; i++)
		if (!ifs[i].taken && !strcmp(ifs[i].t->ifname, name))
			return &ifs[i];
	return NULL;
}

static void fill(struct ks_vm_nic *o, const struct ks_vmdevs_tap *t,
		 const struct ks_qemu_nic *n)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (t) {
		snprintf(o->ifname, sizeof(o->ifname), "%s", t->ifname);
		o->kind = t->kind;
		o->fd = t->fd;
	} else if (n && n->ifname) {
		snprintf(o->ifname, sizeof(o->ifname), "%s", n->ifname);
	}
	if (n) {
		o->mac = n->mac;
		o->netdev = n->netdev;
		o->model = n->model;
		o->device = n->device;
	}
}

static size_t from_cmdline(const struct ks_qemu_cfg *cfg,
			   struct ks_vm_nic *out)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nnics; i++)
		if (is_tap_netdev(&cfg->nics[i]) && cfg->nics[i].ifname)
			fill(&out[n++], NULL, &cfg->nics[i]);
	return n;
}

int ks_vmdevs_nics(const struct ks_qemu_cfg *cfg,
		   const struct ks_vmdevs_tap *taps, size_t ntaps,
		   bool fds_known, struct ks_vm_nic **out, size_t *nout)
{
	size_t nifs, n = 0, max = ntaps + (cfg ? cfg->nnics : 0);
	struct iface *ifs = calloc(ntaps + 1, sizeof(*ifs));
	const struct ks_qemu_nic **owner;
	struct ks_vm_nic *o = calloc(max + 1, sizeof(*o));

	owner = calloc(ntaps + 1, sizeof(*owner));
	if (!ifs || !o || !owner) {
		free(ifs);
		free(o);
		free(owner);
		return -ENOMEM;
	}
	if (!fds_known) {
		n = cfg ? from_cmdline(cfg, o) : 0;
		goto done;
	}
	nifs = unique_ifaces(taps, ntaps, ifs);
	/* Netdevs that say which interface is theirs. */
	for (size_t i = 0; cfg && i < cfg->nnics; i++) {
		struct iface *f = claimed(&cfg->nics[i], taps, ntaps, ifs, nifs);

		if (f) {
			f->taken = true;
			owner[f - ifs] = &cfg->nics[i];
		}
	}
	/* Tap netdevs that do not: the rest, in order. */
	for (size_t i = 0, j = 0; cfg && i < cfg->nnics; i++) {
		const struct ks_qemu_nic *c = &cfg->nics[i];
		bool has = false;

		for (size_t k = 0; k < nifs; k++)
			has |= owner[k] == c;
		if (has || !is_tap_netdev(c) || c->nfds || c->ifname)
			continue;
		while (j < nifs && (ifs[j].taken || ifs[j].t->kind != KS_VM_NIC_TAP))
			j++;
		if (j == nifs)
			break;
		ifs[j].taken = true;
		owner[j] = c;
	}
	for (size_t k = 0; k < nifs; k++)
		fill(&o[n++], ifs[k].t, owner[k]);
done:
	free(ifs);
	free(owner);
	*out = o;
	*nout = n;
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool ks_vmdevs_nics_equal(const struct ks_vm_nic *a, size_t na,
			  const struct ks_vm_nic *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].ifname, b[i].ifname) || a[i].kind != b[i].kind ||
		    !str_eq(a[i].mac, b[i].mac) ||
		    !str_eq(a[i].netdev, b[i].netdev) ||
		    !str_eq(a[i].device, b[i].device))
			return false;
	return true;
}
