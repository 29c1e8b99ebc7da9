/* qemuargs.c - a QEMU command line to its VM's identity and devices.
 *
 * Two passes: the first sorts the arguments of interest by option, each
 * parsed into key=value pairs (QemuOpts or JSON syntax); the second joins
 * them the way QEMU does: a -device names its -netdev or its drive, a
 * -blockdev names its child node, a -mon names its -chardev.  Options we
 * do not know are skipped with their value; a token after an unknown
 * option that does not start with '-' is taken to be its value.
 */
#include "vm/qemuargs.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- option strings ---------------------------------------------------- */

static int qopts_add(struct ks_qopts *o, const char *k, size_t kl,
		     const char *v, size_t vl)
{
	struct ks_qopt *nv = realloc(o->v, (o->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	o->v = nv;
	nv[o->n].key = strndup(k, kl);
	nv[o->n].val = strndup(v, vl);
	if (!nv[o->n].key || !nv[o->n].val) {
		free(nv[o->n].key);
		free(nv[o->n].val);
		return -ENOMEM;
	}
	o->n++;
	return 0;
}

/* A JSON value as an option value: strings as they are, numbers and
 * booleans as QemuOpts would spell them. */
static int json_scalar(const json_t *j, char *buf, size_t size)
{
	if (json_is_string(j))
		snprintf(buf, size, "%s", json_string_value(j));
	else if (json_is_integer(j))
		snprintf(buf, size, "%lld", (long long)json_integer_value(j));
	else if (json_is_true(j))
		snprintf(buf, size, "on");
	else if (json_is_false(j))
		snprintf(buf, size, "off");
	else
		return -EINVAL;
	return 0;
}

static int json_flatten(struct ks_qopts *o, const char *prefix, json_t *obj)
{
	const char *k;
	json_t *v;
	int e;

	json_object_foreach(obj, k, v) {
		char key[256], val[4096];

		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "",
			 k);
		if (json_is_object(v)) {
			if ((e = json_flatten(o, key, v)))
				return e;
			continue;
		}
		if (json_scalar(v, val, sizeof(val)))
			continue;	/* arrays: nothing we read */
		if ((e = qopts_add(o, key, strlen(key), val, strlen(val))))
			return e;
	}
	return 0;
}

static int parse_json(const char *s, struct ks_qopts *o)
{
	json_t *j = json_loads(s, 0, NULL);
	int e;

	if (!json_is_object(j)) {
		json_decref(j);
		return -EINVAL;
	}
	e = json_flatten(o, "", j);
	json_decref(j);
	return e;
}

/* A value runs to the next single comma; ",," stands for ','. */
static const char *opt_value(const char *p, char *out, size_t *outl,
			     size_t cap)
{
	size_t l = 0;

	while (*p) {
		if (*p == ',') {
			if (p[1] != ',')
				break;
			p++;
		}
		if (l + 1 < cap)
			out[l++] = *p;
		p++;
	}
	out[l] = '\0';
	*outl = l;
	return p;
}

static int parse_item(struct ks_qopts *o, const char **pp, bool first,
		      const char *implied_key, char *val, size_t cap)
{
	const char *p = *pp, *k = p;
	size_t kl = strcspn(p, "=,"), vl;
	int e;

	if (p[kl] == '=') {
		*pp = opt_value(p + kl + 1, val, &vl, cap);
		return qopts_add(o, k, kl, val, vl);
	}
	if (first && implied_key) {
		*pp = opt_value(p, val, &vl, cap);
		return qopts_add(o, implied_key, strlen(implied_key), val, vl);
	}
	*pp = p + kl;
	if (kl > 2 && !strncmp(k, "no", 2))
		e = qopts_add(o, k + 2, kl - 2, "off", 3);
	else
		e = qopts_add(o, k, kl, "on", 2);
	return e;
}

int ks_qopts_parse(const char *s, const char *implied_key, struct ks_qopts *o)
{
	size_t cap = strlen(s) + 1;
	bool first = true;
	char *val;
	int e = 0;

	o->v = NULL;
	o->n = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '{') {
		if ((e = parse_json(s, o)))
			ks_qopts_fini(o);
		return e;
	}
	if (!(val = malloc(cap)))
		return -ENOMEM;
	while (*s && !e) {
		if (*s == ',') {	/* empty item */
			s++;
			first = false;
			continue;
		}
		e = parse_item(o, &s, first, implied_key, val, cap);
		first = false;
		if (*s == ',')
			s++;
	}
	free(val);
	if (e)
		ks_qopts_fini(o);
	return e;
}

const char *ks_qopts_get(const struct ks_qopts *o, const char *key)
{
	for (size_t i = o->n; i-- > 0;)
		if (!strcmp(o->v[i].key, key))
			return o->v[i].val;
	return NULL;
}

void ks_qopts_fini(struct ks_qopts *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].key);
		free(o->v[i].val);
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

/* ---- the command line, sorted by option -------------------------------- */

enum opt_kind {
	O_NAME, O_UUID, O_ACCEL, O_MACHINE, O_SMP, O_NETDEV, O_NIC, O_NET,
	O_DEVICE, O_DRIVE, O_BLOCKDEV, O_CHARDEV, O_MON, O_QMP, O_HDX,
	O_CDROM, O__COUNT
};

struct optdef {
	const char *name;
	int kind;		/* enum opt_kind, or -1: skip the value */
	const char *implied;	/* QemuOpts implied key */
};

static const struct optdef optdefs[] = {
	{ "name", O_NAME, "guest" },
	{ "uuid", O_UUID, NULL },
	{ "accel", O_ACCEL, "accel" },
	{ "machine", O_MACHINE, "type" },
	{ "M", O_MACHINE, "type" },
	{ "smp", O_SMP, "cpus" },
	{ "netdev", O_NETDEV, "type" },
	{ "nic", O_NIC, "type" },
	{ "net", O_NET, "type" },
	{ "device", O_DEVICE, "driver" },
	{ "drive", O_DRIVE, NULL },
	{ "blockdev", O_BLOCKDEV, NULL },
	{ "chardev", O_CHARDEV, "backend" },
	{ "mon", O_MON, "chardev" },
	{ "qmp", O_QMP, NULL },
	{ "qmp-pretty", O_QMP, NULL },
	{ "hda", O_HDX, NULL },
	{ "hdb", O_HDX, NULL },
	{ "hdc", O_HDX, NULL },
	{ "hdd", O_HDX, NULL },
	{ "cdrom", O_CDROM, NULL },
	/* Options with a value we do not read, so it is not taken for an
	 * option (kernel command lines start with '-' now and then). */
	{ "append", -1, NULL }, { "kernel", -1, NULL }, { "initrd", -1, NULL },
	{ "m", -1, NULL }, { "cpu", -1, NULL }, { "serial", -1, NULL },
	{ "monitor", -1, NULL }, { "object", -1, NULL }, { "global", -1, NULL },
	{ "D", -1, NULL }, { "d", -1, NULL }, { "pidfile", -1, NULL },
	{ "display", -1, NULL }, { "vga", -1, NULL }, { "boot", -1, NULL },
	{ "trace", -1, NULL }, { "msg", -1, NULL }, { "L", -1, NULL },
	{ "bios", -1, NULL }, { "numa", -1, NULL }, { "rtc", -1, NULL },
	{ "sandbox", -1, NULL }, { "incoming", -1, NULL }, { "fsdev", -1, NULL },
	{ "virtfs", -1, NULL }, { "fda", -1, NULL }, { "fdb", -1, NULL },
	{ "runas", -1, NULL }, { "chroot", -1, NULL }, { "run-with", -1, NULL },
	{ "overcommit", -1, NULL }, { "k", -1, NULL }, { "audiodev", -1, NULL },
	{ "parallel", -1, NULL }, { "usbdevice", -1, NULL }, { "icount", -1, NULL },
	{ "semihosting-config", -1, NULL }, { "action", -1, NULL },
	{ "compat", -1, NULL }, { "mem-path", -1, NULL }, { "loadvm", -1, NULL },
	{ "add-fd", -1, NULL }, { "spice", -1, NULL }, { "vnc", -1, NULL },
	{ "watchdog-action", -1, NULL }, { "smbios", -1, NULL },
	{ "fw_cfg", -1, NULL }, { "dtb", -1, NULL }, { "iscsi", -1, NULL },
};

/* Options that take no value. */
static const char *const flags[] = {
	"enable-kvm", "nodefaults", "nographic", "daemonize", "S", "s",
	"no-reboot", "no-shutdown", "no-hpet", "no-user-config", "snapshot",
	"full-screen", "no-acpi", "version", "help", "h", "enable-fips",
	"no-fd-bootchk", "only-migratable", "preconfig", "mem-prealloc",
	"portrait", "win2k-hack", "nodefconfig", "no-kvm",
};

struct item {
	int kind;
	int hdx;		/* -hda..-hdd: 0..3 */
	struct ks_qopts o;
};

struct items {
	struct item *v;
	size_t n;
	bool enable_kvm, no_kvm;
};

static const struct optdef *find_opt(const char *name)
{
	for (size_t i = 0; i < sizeof(optdefs) / sizeof(optdefs[0]); i++)
		if (!strcmp(optdefs[i].name, name))
			return &optdefs[i];
	return NULL;
}

static bool is_flag(const char *name)
{
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(flags[i], name))
			return true;
	return false;
}

/* -uuid U, -hda F, -cdrom F: a bare value, with the drive options that
 * -hdX and -cdrom stand for (IDE index 0..3; the CD-ROM is index 2). */
static int plain_item(struct item *x, const char *val)
{
	char idx[4];
	int e;

	e = ks_qopts_parse("", NULL, &x->o) ?:
	    qopts_add(&x->o, "file", 4, val, strlen(val));
	if (e || x->kind == O_UUID)
		return e;
	snprintf(idx, sizeof(idx), "%d", x->kind == O_CDROM ? 2 : x->hdx);
	e = qopts_add(&x->o, "index", 5, idx, strlen(idx));
	if (!e && x->kind == O_CDROM)
		e = qopts_add(&x->o, "media", 5, "cdrom", 5);
	return e;
}

static int add_item(struct items *it, const struct optdef *d,
		    const char *name, const char *val)
{
	struct item *nv = realloc(it->v, (it->n + 1) * sizeof(*nv));
	struct item *x;
	int e;

	if (!nv)
		return -ENOMEM;
	it->v = nv;
	x = &nv[it->n];
	memset(x, 0, sizeof(*x));
	x->kind = d->kind;
	if (d->kind == O_HDX)
		x->hdx = name[2] - 'a';
	if (d->kind == O_HDX || d->kind == O_CDROM || d->kind == O_UUID)
		e = plain_item(x, val);
	else if (d->kind == O_QMP)
		e = !strncmp(val, "unix:", 5) ?
		    ks_qopts_parse(val + 5, "path", &x->o) : -EINVAL;
	else
		e = ks_qopts_parse(val, d->implied, &x->o);
	if (e == -ENOMEM)
		return e;
	if (e)
		return 0;	/* unreadable: leave it out */
	it->n++;
	return 0;
}

static void items_fini(struct items *it)
{
	for (size_t i = 0; i < it->n; i++)
		ks_qopts_fini(&it->v[i].o);
	free(it->v);
}

static int collect(char *const *argv, size_t argc, struct items *it)
{
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i], *name;
		const struct optdef *d;
		int e;

		if (a[0] != '-')
			continue;
		name = a + 1 + (a[1] == '-');
		if (!strcmp(name, "enable-kvm"))
			it->enable_kvm = true;
		if (!strcmp(name, "no-kvm"))
			it->no_kvm = true;
		if (is_flag(name))
			continue;
		d = find_opt(name);
		if (!d) {
			/* Unknown: its value, if any, does not look like an
			 * option. */
			if (i + 1 < argc && argv[i + 1][0] != '-')
				i++;
			continue;
		}
		if (i + 1 >= argc)
			break;
		i++;
		if (d->kind < 0)
			continue;
		if ((e = add_item(it, d, name, argv[i])))
			return e;
	}
	return 0;
}

/* ---- joining ------------------------------------------------------------ */

static int set_str(char **dst, const char *src)
{
	char *s;

	if (!src)
		return 0;
	if (!(s = strdup(src)))
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static const char *accel_word(const char *s, char *buf, size_t size)
{
	size_t l = strcspn(s, ":");

	if (l >= size)
		l = size - 1;
	memcpy(buf, s, l);
	buf[l] = '\0';
	return buf;
}

static void set_accel(struct ks_qemu_cfg *cfg, const char *v)
{
	char w[32];

	if (!v)
		return;
	accel_word(v, w, sizeof(w));
	if (!strcmp(w, "kvm"))
		cfg->accel = KS_QEMU_ACCEL_KVM;
	else if (!strcmp(w, "tcg"))
		cfg->accel = KS_QEMU_ACCEL_TCG;
	else if (*w)
		cfg->accel = KS_QEMU_ACCEL_OTHER;
}

static int do_identity(struct ks_qemu_cfg *cfg, const struct items *it)
{
	const char *v;
	int e;

	if (it->enable_kvm)
		cfg->accel = KS_QEMU_ACCEL_KVM;
	for (size_t i = 0; i < it->n; i++) {
		const struct ks_qopts *o = &it->v[i].o;

		switch (it->v[i].kind) {
		case O_NAME:
			if ((e = set_str(&cfg->name, ks_qopts_get(o, "guest"))))
				return e;
			v = ks_qopts_get(o, "debug-threads");
			if (v)
				cfg->debug_threads = !strcmp(v, "on") ||
						     !strcmp(v, "true");
			break;
		case O_UUID:
			if ((e = set_str(&cfg->uuid, ks_qopts_get(o, "file"))))
				return e;
			break;
		case O_ACCEL:
			set_accel(cfg, ks_qopts_get(o, "accel"));
			break;
		case O_MACHINE:
			set_accel(cfg, ks_qopts_get(o, "accel"));
			break;
		case O_SMP:
			v = ks_qopts_get(o, "cpus");
			if (v)
				cfg->smp = (unsigned)strtoul(v, NULL, 10);
			break;
		}
	}
	if (it->no_kvm)
		cfg->accel = KS_QEMU_ACCEL_TCG;
	return 0;
}

/* fd=N or fds=N:M:... into nic->fds. */
static void parse_fds(struct ks_qemu_nic *nic, const struct ks_qopts *o)
{
	const char *v = ks_qopts_get(o, "fds");
	char *end;

	if (!v)
		v = ks_qopts_get(o, "fd");
	while (v && *v && nic->nfds < sizeof(nic->fds) / sizeof(nic->fds[0])) {
		long fd = strtol(v, &end, 10);

		if (end == v || fd < 0 || fd > 0x7fffffff)
			break;
		nic->fds[nic->nfds++] = (int)fd;
		v = *end == ':' ? end + 1 : NULL;
	}
}

static struct ks_qemu_nic *new_nic(struct ks_qemu_cfg *cfg)
{
	struct ks_qemu_nic *nv = realloc(cfg->nics,
					 (cfg->nnics + 1) * sizeof(*nv));

	if (!nv)
		return NULL;
	cfg->nics = nv;
	memset(&nv[cfg->nnics], 0, sizeof(nv[0]));
	return &nv[cfg->nnics++];
}

static struct ks_qemu_nic *nic_by_netdev(struct ks_qemu_cfg *cfg,
					 const char *id)
{
	for (size_t i = 0; i < cfg->nnics; i++)
		if (cfg->nics[i].netdev && !strcmp(cfg->nics[i].netdev, id))
			return &cfg->nics[i];
	return NULL;
}

/* A backend: -netdev, the backend half of -nic, or -net TYPE. */
static int add_backend(struct ks_qemu_cfg *cfg, const struct ks_qopts *o,
		       const char *id)
{
	struct ks_qemu_nic *n = new_nic(cfg);

	if (!n)
		return -ENOMEM;
	parse_fds(n, o);
	return set_str(&n->netdev, id) ?:
	       set_str(&n->type, ks_qopts_get(o, "type")) ?:
	       set_str(&n->ifname, ks_qopts_get(o, "ifname"));
}

/* A front end: -device with netdev=, or the device half of -nic. */
static int add_frontend(struct ks_qemu_nic *n, const char *mac,
			const char *model, const char *device)
{
	return set_str(&n->mac, mac) ?: set_str(&n->model, model) ?:
	       set_str(&n->device, device);
}

static int do_nic(struct ks_qemu_cfg *cfg, const struct ks_qopts *o,
		  unsigned *nicno)
{
	const char *id = ks_qopts_get(o, "id");
	char auto_id[32];
	int e;

	/* QEMU names a -nic's netdev after the option's id, else this. */
	snprintf(auto_id, sizeof(auto_id), "__org.qemu.nic%u", (*nicno)++);
	if (!id)
		id = auto_id;
	if ((e = add_backend(cfg, o, id)))
		return e;
	return add_frontend(&cfg->nics[cfg->nnics - 1],
			    ks_qopts_get(o, "mac"), ks_qopts_get(o, "model"),
			    NULL);
}

/* Legacy -net: "nic" entries are front ends, the rest back ends; they
 * meet on a hub, paired here in the order given. */
static int do_legacy_net(struct ks_qemu_cfg *cfg, const struct items *it)
{
	size_t fronts = 0;
	char id[32];
	int e;

	for (size_t i = 0; i < it->n; i++) {
		const struct ks_qopts *o = &it->v[i].o;
		const char *t = ks_qopts_get(o, "type");

		if (it->v[i].kind != O_NET || !t || !strcmp(t, "nic"))
			continue;
		snprintf(id, sizeof(id), "hub.net%zu", cfg->nnics);
		if ((e = add_backend(cfg, o, ks_qopts_get(o, "id") ?: id)))
			return e;
	}
	for (size_t i = 0; i < it->n; i++) {
		const struct ks_qopts *o = &it->v[i].o;
		const char *t = ks_qopts_get(o, "type");
		struct ks_qemu_nic *n = NULL;

		if (it->v[i].kind != O_NET || !t || strcmp(t, "nic"))
			continue;
		/* The next back end without a front end, else a bare NIC. */
		for (; fronts < cfg->nnics && !n; fronts++)
			if (!cfg->nics[fronts].model && !cfg->nics[fronts].mac)
				n = &cfg->nics[fronts];
		if (!n && !(n = new_nic(cfg)))
			return -ENOMEM;
		if ((e = add_frontend(n, ks_qopts_get(o, "macaddr"),
				      ks_qopts_get(o, "model") ?: "nic", NULL)))
			return e;
	}
	return 0;
}

static int do_nics(struct ks_qemu_cfg *cfg, const struct items *it)
{
	unsigned nicno = 0;
	int e;

	for (size_t i = 0; i < it->n; i++) {
		const struct ks_qopts *o = &it->v[i].o;

		switch (it->v[i].kind) {
		case O_NETDEV:
			e = add_backend(cfg, o, ks_qopts_get(o, "id"));
			break;
		case O_NIC:
			e = do_nic(cfg, o, &nicno);
			break;
		default:
			continue;
		}
		if (e)
			return e;
	}
	for (size_t i = 0; i < it->n; i++) {
		const struct ks_qopts *o = &it->v[i].o;
		const char *nd = ks_qopts_get(o, "netdev");
		struct ks_qemu_nic *n;

		if (it->v[i].kind != O_DEVICE || !nd)
			continue;
		n = nic_by_netdev(cfg, nd);
		if (!n) {
			if (!(n = new_nic(cfg)))
				return -ENOMEM;
			if ((e = set_str(&n->netdev, nd)))
				return e;
		}
		if ((e = add_frontend(n, ks_qopts_get(o, "mac"),
				      ks_qopts_get(o, "driver"),
				      ks_qopts_get(o, "id"))))
			return e;
	}
	return do_legacy_net(cfg, it);
}

/* ---- disks -------------------------------------------------------------- */

/* QEMU's -drive interface types, as blockdev.c names them, with the
 * number of units per bus (0: one bus). */
static const struct {
	const char *name;
	int max_devs;
} iftypes[] = {
	{ "none", 0 }, { "ide", 2 }, { "scsi", 7 }, { "floppy", 0 },
	{ "pflash", 0 }, { "mtd", 0 }, { "sd", 0 }, { "virtio", 0 },
	{ "xen", 0 },
};
#define NIFTYPES (sizeof(iftypes) / sizeof(iftypes[0]))
#define IF_IDE 1
#define IF_SCSI 2

struct unit {
	int type, bus, unit;
};

struct units {
	struct unit *v;
	size_t n;
};

static bool unit_used(const struct units *u, int type, int bus, int unit)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].type == type && u->v[i].bus == bus &&
		    u->v[i].unit == unit)
			return true;
	return false;
}

static int iftype(const char *s)
{
	for (size_t i = 0; i < NIFTYPES; i++)
		if (!strcmp(iftypes[i].name, s))
			return (int)i;
	return -1;
}

static long num_opt(const struct ks_qopts *o, const char *k, long def)
{
	const char *v = ks_qopts_get(o, k);
	char *end;
	long n;

	if (!v)
		return def;
	n = strtol(v, &end, 10);
	return end == v || *end || n < 0 || n > 0xffff ? def : n;
}

/* The id QEMU gives a -drive without one ("virtio0", "ide1-cd0"),
 * following blockdev.c's drive_new(): the first free unit of its type. */
static int drive_auto_id(struct units *u, const struct ks_qopts *o,
			 int type, char *id, size_t size)
{
	int max = iftypes[type].max_devs;
	long bus = num_opt(o, "bus", 0), unit = num_opt(o, "unit", -1);
	long index = num_opt(o, "index", -1);
	const char *media = ks_qopts_get(o, "media"), *ms = "";
	struct unit *nv;

	if (index >= 0) {
		unit = max ? index % max : index;
		bus = max ? index / max : 0;
	}
	if (unit < 0) {
		for (unit = 0; unit_used(u, type, (int)bus, (int)unit);) {
			if (max && ++unit >= max) {
				unit -= max;
				bus++;
			} else if (!max) {
				unit++;
			}
		}
	}
	if (!(nv = realloc(u->v, (u->n + 1) * sizeof(*nv))))
		return -ENOMEM;
	u->v = nv;
	nv[u->n++] = (struct unit){ type, (int)bus, (int)unit };
	if (type == IF_IDE || type == IF_SCSI)
		ms = media && !strcmp(media, "cdrom") ? "-cd" : "-hd";
	if (max)
		snprintf(id, size, "%s%ld%s%ld", iftypes[type].name, bus, ms,
			 unit);
	else
		snprintf(id, size, "%s%s%ld", iftypes[type].name, ms, unit);
	return 0;
}

/* A drive or node that a -device can name. */
struct bnode {
	char *name;		/* drive id or node-name */
	const struct ks_qopts *o;
	bool drive;		/* a -drive (else a -blockdev) */
	int type;		/* -drive if= type */
	bool used;		/* named by a -device */
};

struct bnodes {
	struct bnode *v;
	size_t n;
};

static struct bnode *bnode_find(const struct bnodes *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->v[i].name, name))
			return &b->v[i];
	return NULL;
}

/* The image file under a node: its own filename, its file child's. */
static const char *bnode_file(const struct bnodes *b, const struct bnode *n,
			      int depth)
{
	const char *f, *child;

	if (!n || depth > 16)
		return NULL;
	if ((f = ks_qopts_get(n->o, "filename")) ||
	    (f = ks_qopts_get(n->o, "file.filename")))
		return f;
	child = ks_qopts_get(n->o, "file");
	if (!child)
		return NULL;
	if (n->drive)
		return child;	/* -drive file=PATH */
	return bnode_file(b, bnode_find(b, child), depth + 1);
}

static int bnode_add(struct bnodes *b, const char *name,
		     const struct ks_qopts *o, bool drive, int type)
{
	struct bnode *nv = realloc(b->v, (b->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	b->v = nv;
	nv[b->n] = (struct bnode){ strdup(name), o, drive, type, false };
	if (!nv[b->n].name)
		return -ENOMEM;
	b->n++;
	return 0;
}

static void bnodes_fini(struct bnodes *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].name);
	free(b->v);
}

static int drive_item(struct bnodes *b, struct units *u,
		      const struct item *x)
{
	const struct ks_qopts *o = &x->o;
	const char *ifs = ks_qopts_get(o, "if"), *id = ks_qopts_get(o, "id");
	int type = ifs ? iftype(ifs) : IF_IDE;
	char auto_id[64];
	int e;

	if (type < 0)
		return 0;
	if (!id) {
		if ((e = drive_auto_id(u, o, type, auto_id, sizeof(auto_id))))
			return e;
		id = auto_id;
	} else if ((e = drive_auto_id(u, o, type, auto_id, sizeof(auto_id)))) {
		return e;	/* it still takes its unit */
	}
	return bnode_add(b, id, o, true, type);
}

static struct ks_qemu_disk *new_disk(struct ks_qemu_cfg *cfg)
{
	struct ks_qemu_disk *nv = realloc(cfg->disks,
					  (cfg->ndisks + 1) * sizeof(*nv));

	if (!nv)
		return NULL;
	cfg->disks = nv;
	memset(&nv[cfg->ndisks], 0, sizeof(nv[0]));
	return &nv[cfg->ndisks++];
}

static bool is_on(const char *v)
{
	return v && (!strcmp(v, "on") || !strcmp(v, "true") ||
		     !strcmp(v, "yes"));
}

static int add_disk(struct ks_qemu_cfg *cfg, const struct bnodes *b,
		    struct bnode *n, const char *devid, const char *iface)
{
	struct ks_qemu_disk *d = new_disk(cfg);
	const char *media = ks_qopts_get(n->o, "media");

	if (!d)
		return -ENOMEM;
	n->used = true;
	d->readonly = is_on(ks_qopts_get(n->o, "readonly")) ||
		      is_on(ks_qopts_get(n->o, "read-only")) ||
		      (media && !strcmp(media, "cdrom"));
	return set_str(&d->id, devid ? devid : n->name) ?:
	       set_str(&d->drive, n->name) ?:
	       set_str(&d->file, bnode_file(b, n, 0)) ?:
	       set_str(&d->iface, iface);
}

static int collect_bnodes(const struct items *it, struct bnodes *b)
{
	struct units u = { NULL, 0 };
	int e = 0;

	for (size_t i = 0; i < it->n && !e; i++) {
		const struct item *x = &it->v[i];
		const char *nn;

		if (x->kind == O_DRIVE || x->kind == O_HDX || x->kind == O_CDROM)
			e = drive_item(b, &u, x);
		else if (x->kind == O_BLOCKDEV &&
			 (nn = ks_qopts_get(&x->o, "node-name")))
			e = bnode_add(b, nn, &x->o, false, 0);
	}
	free(u.v);
	return e;
}

static int do_disks(struct ks_qemu_cfg *cfg, const struct items *it)
{
	struct bnodes b = { NULL, 0 };
	int e = collect_bnodes(it, &b);

	/* Devices first: their ids name the disks. */
	for (size_t i = 0; i < it->n && !e; i++) {
		const struct ks_qopts *o = &it->v[i].o;
		const char *dr = ks_qopts_get(o, "drive");
		struct bnode *n;

		if (it->v[i].kind != O_DEVICE || !dr || !(n = bnode_find(&b, dr)))
			continue;
		e = add_disk(cfg, &b, n, ks_qopts_get(o, "id"),
			     ks_qopts_get(o, "driver"));
	}
	/* Then drives that made their own device (if=virtio, ide, ...), and
	 * if=none drives no device uses (QEMU still counts their I/O). */
	for (size_t i = 0; i < b.n && !e; i++)
		if (b.v[i].drive && !b.v[i].used)
			e = add_disk(cfg, &b, &b.v[i], NULL,
				     iftypes[b.v[i].type].name);
	bnodes_fini(&b);
	return e;
}

/* ---- monitors ----------------------------------------------------------- */

static bool control_mode(const struct ks_qopts *o)
{
	const char *m = ks_qopts_get(o, "mode");

	return m && !strcmp(m, "control");
}

static int use_chardev(struct ks_qemu_cfg *cfg, const struct items *it,
		       const char *id)
{
	for (size_t i = 0; i < it->n; i++) {
		const struct ks_qopts *o = &it->v[i].o;
		const char *cid = ks_qopts_get(o, "id");
		const char *be = ks_qopts_get(o, "backend");
		const char *v;

		if (it->v[i].kind != O_CHARDEV || !cid || strcmp(cid, id))
			continue;
		if (!be || (strcmp(be, "socket") && strcmp(be, "unix")))
			return 0;
		if ((v = ks_qopts_get(o, "path")) ||
		    (v = ks_qopts_get(o, "addr.path")) ||
		    (v = ks_qopts_get(o, "addr.data.path")))
			return set_str(&cfg->qmp, v);
		if ((v = ks_qopts_get(o, "fd")) ||
		    (v = ks_qopts_get(o, "addr.str")))
			cfg->qmp_fd = (int)strtol(v, NULL, 10);
		return 0;
	}
	return 0;
}

static int do_monitors(struct ks_qemu_cfg *cfg, const struct items *it)
{
	int e;

	cfg->qmp_fd = -1;
	for (size_t i = 0; i < it->n && !cfg->qmp && cfg->qmp_fd < 0; i++) {
		const struct ks_qopts *o = &it->v[i].o;
		const char *ch = ks_qopts_get(o, "chardev");

		if (it->v[i].kind == O_QMP) {
			if ((e = set_str(&cfg->qmp, ks_qopts_get(o, "path"))))
				return e;
		} else if (it->v[i].kind == O_MON && ch && control_mode(o)) {
			if ((e = use_chardev(cfg, it, ch)))
				return e;
		}
	}
	return 0;
}

/* ---- the whole line ----------------------------------------------------- */

bool ks_qemu_is_qemu(const char *argv0, const char *comm)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;

	base = base ? base + 1 : argv0;
	if (base && (!strncmp(base, "qemu-system-", 12) ||
		     !strcmp(base, "qemu-kvm")))
		return true;
	/* The comm is cut to 15 bytes: "qemu-system-x86". */
	return comm && (!strncmp(comm, "qemu-system-", 12) ||
			!strcmp(comm, "qemu-kvm"));
}

int ks_qemu_cfg_parse(char *const *argv, size_t argc, struct ks_qemu_cfg *cfg)
{
	struct items it = { NULL, 0, false, false };
	int e;

	memset(cfg, 0, sizeof(*cfg));
	cfg->qmp_fd = -1;
	e = collect(argv, argc, &it) ?: do_identity(cfg, &it) ?:
	    do_nics(cfg, &it) ?: do_disks(cfg, &it) ?: do_monitors(cfg, &it);
	items_fini(&it);
	if (e)
		ks_qemu_cfg_fini(cfg);
	return e;
}

void ks_qemu_cfg_fini(struct ks_qemu_cfg *cfg)
{
	for (size_t i = 0; i < cfg->nnics; i++) {
		struct ks_qemu_nic *n = &cfg->nics[i];

		free(n->netdev);
		free(n->type);
		free(n->ifname);
		free(n->mac);
		free(n->model);
		free(n->device);
	}
	for (size_t i = 0; i < cfg->ndisks; i++) {
		free(cfg->disks[i].id);
		free(cfg->disks[i].drive);
		free(cfg->disks[i].file);
		free(cfg->disks[i].iface);
	}
	free(cfg->nics);
	free(cfg->disks);
	free(cfg->name);
	free(cfg->uuid);
	free(cfg->qmp);
	memset(cfg, 0, sizeof(*cfg));
	cfg->qmp_fd = -1;
}
