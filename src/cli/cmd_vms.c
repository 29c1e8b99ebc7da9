/* cmd_vms.c - `kvmscope vms`: the VMs discovery sees on this host.
 *
 * Prints each VM's identity (pid, name, UUID, accelerator), its vCPU
 * threads, NICs (host interface, guest MAC) and disks (QEMU device id,
 * image), as a table or with --json as one JSON object.  --follow keeps
 * watching and prints a line per VM that appears or goes away, as
 * discovery notices it (within a second, sooner with the change
 * signals); operators use it to see what kvmscope will instrument, and
 * tests use it to check discovery against real QEMU processes.
 * --scan-stats N scans N times and prints the CPU cost per scan.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "vm/discovery.h"
#include "util/clock.h"

#define PROG "kvmscope vms"

/* The NAME column is as wide as the longest name, between these; a longer
 * name is cut, with "~" at the end, unless --wide (or --json). */
#define NAME_MIN 4
#define NAME_MAX 32

struct vms_opts {
	bool json, follow, no_watch, wide;
	unsigned long scan_stats;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvmscope vms [-j] [-w] [-f] [--scan-stats N]\n"
"\n"
"Lists the virtual machines running on this host: processes holding a\n"
"KVM VM, and QEMU processes (also TCG guests, which need no /dev/kvm).\n"
"For each: VMM pid, name (QEMU -name, libvirt's domain name; else\n"
"comm-pid), UUID, accelerator, vCPU threads (named threads, else KVM\n"
"debugfs), NICs (host tap/macvtap interface and guest MAC), disks (QEMU\n"
"device id, image file) and QMP socket.  Reading other users' processes\n"
"needs root.\n"
"\n"
"  -j, --json          one JSON object {\"vms\": [...]}\n"
"  -w, --wide          names in full: the NAME column is otherwise at most\n"
"                      32 characters, a longer name cut with a final '~'\n"
"  -f, --follow        keep watching; print a line (JSON with -j) per VM\n"
"                      that appears or goes away, until interrupted\n"
"      --scan-stats N  scan N times, then print the CPU time per scan\n"
"      --no-watch      without the change signals (inotify on /dev/kvm,\n"
"                      proc connector): every scan reads every fd\n"
"  -h, --help          this text\n");
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *nic_json(const struct ks_vm_nic *n)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "ifname", n->ifname,
			 "kind", n->kind == KS_VM_NIC_MACVTAP ? "macvtap" : "tap",
			 "mac", str_or_null(n->mac), "netdev",
			 str_or_null(n->netdev), "model", str_or_null(n->model),
			 "device", str_or_null(n->device));
}

static json_t *disk_json(const struct ks_qemu_disk *k)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:b}", "id", str_or_null(k->id),
			 "drive", str_or_null(k->drive), "file",
			 str_or_null(k->file), "iface", str_or_null(k->iface),
			 "readonly", k->readonly);
}

static json_t *vm_json(const struct ks_vm *vm)
{
	json_t *vc = json_array(), *nics = json_array(), *disks = json_array();

	for (size_t i = 0; i < vm->nvcpus; i++)
		json_array_append_new(vc, json_pack("{s:I, s:I}", "index",
			(json_int_t)vm->vcpus[i].index, "tid",
			(json_int_t)vm->vcpus[i].tid));
	for (size_t i = 0; i < vm->nnics; i++)
		json_array_append_new(nics, nic_json(&vm->nics[i]));
	for (size_t i = 0; i < vm->ndisks; i++)
		json_array_append_new(disks, disk_json(&vm->disks[i]));
	return json_pack("{s:I, s:s, s:b, s:o, s:s, s:s, s:b, s:o, s:I, s:o, "
			 "s:o, s:o}",
			 "pid", (json_int_t)vm->pid, "name", vm->name,
			 "named", vm->named, "uuid", str_or_null(vm->uuid),
			 "comm", vm->comm, "accel", ks_vm_accel_name(vm->accel),
			 "qemu", vm->qemu, "qmp", str_or_null(vm->qmp),
			 "smp", (json_int_t)vm->smp, "vcpus", vc, "nics", nics,
			 "disks", disks);
}

static int print_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!s) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	printf("%s\n", s);
	free(s);
	return 0;
}

/* Prints name in a column of width w, cut with '~' if longer. */
static void print_name(const char *name, int w)
{
	if ((int)strlen(name) <= w)
		printf(" %-*s", w, name);
	else
		printf(" %.*s~", w - 1, name);
}

static int name_width(const struct ks_vmdisc *d, const struct vms_opts *o)
{
	int w = NAME_MIN;

	for (size_t i = 0; i < ks_vmdisc__count(d); i++) {
		int n = (int)strlen(ks_vmdisc__at(d, i)->name);

		if (n > w)
			w = n;
	}
	return !o->wide && w > NAME_MAX ? NAME_MAX : w;
}

static void print_vm_text(const struct ks_vm *vm, int w)
{
	printf("%-8d", (int)vm->pid);
	print_name(vm->name, w);
	printf(" %-7s %-36s", ks_vm_accel_name(vm->accel),
	       vm->uuid ? vm->uuid : "-");
	printf("  vcpus:");
	for (size_t i = 0; i < vm->nvcpus; i++)
		printf("%s%u=%d", i ? "," : "", vm->vcpus[i].index,
		       (int)vm->vcpus[i].tid);
	if (!vm->nvcpus)
		printf("-");
	printf("  nics:");
	for (size_t i = 0; i < vm->nnics; i++)
		printf("%s%s%s%s", i ? "," : "", vm->nics[i].ifname,
		       vm->nics[i].mac ? "/" : "",
		       vm->nics[i].mac ? vm->nics[i].mac : "");
	if (!vm->nnics)
		printf("-");
	printf("  disks:");
	for (size_t i = 0; i < vm->ndisks; i++)
		printf("%s%s", i ? "," : "", vm->disks[i].id);
	if (!vm->ndisks)
		printf("-");
	printf("\n");
}

static int list(struct ks_vmdisc *d, const struct vms_opts *o)
{
	int w = name_width(d, o);
	json_t *arr;

	if (o->json) {
		arr = json_array();
		for (size_t i = 0; i < ks_vmdisc__count(d); i++)
			json_array_append_new(arr, vm_json(ks_vmdisc__at(d, i)));
		return print_json(json_pack("{s:o}", "vms", arr));
	}
	printf("%-8s %-*s %-7s %-36s  %s\n", "PID", w, "NAME", "ACCEL",
	       "UUID", "DEVICES");
	for (size_t i = 0; i < ks_vmdisc__count(d); i++)
		print_vm_text(ks_vmdisc__at(d, i), w);
	return 0;
}

/* ---- --follow ------------------------------------------------------------ */

struct seen {
	uint64_t serial;
	int pid;
	char name[128];
};

static bool has_serial(const struct seen *v, size_t n, uint64_t serial)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].serial == serial)
			return true;
	return false;
}

static uint64_t wall_ms(void)
{
	return (uint64_t)ks_clock_wall_ns() / 1000000;
}

static void event(const struct vms_opts *o, const char *what,
		  const struct ks_vm *vm, const struct seen *gone)
{
	if (o->json) {
		json_t *j = vm ? vm_json(vm) :
			    json_pack("{s:i, s:s}", "pid", gone->pid, "name",
				      gone->name);

		print_json(json_pack("{s:I, s:s, s:o}", "time_ms",
				     (json_int_t)wall_ms(), "event", what,
				     "vm", j));
	} else if (vm) {
		/* One VM a line: its name whole, no column to keep. */
		printf("%s ", what);
		print_vm_text(vm, (int)strlen(vm->name));
	} else {
		printf("%s %-8d %s\n", what, gone->pid, gone->name);
	}
	fflush(stdout);
}

/* Reports the difference between the last set and the current one, and
 * makes the current one the last. */
static int diff(struct ks_vmdisc *d, const struct vms_opts *o,
		struct seen **lastp, size_t *nlast)
{
	size_t n = ks_vmdisc__count(d);
	struct seen *cur = calloc(n + 1, sizeof(*cur));

	if (!cur)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct ks_vm *vm = ks_vmdisc__at(d, i);

		cur[i].serial = vm->serial;
		cur[i].pid = (int)vm->pid;
		snprintf(cur[i].name, sizeof(cur[i].name), "%s", vm->name);
		if (!has_serial(*lastp, *nlast, vm->serial))
			event(o, "added", vm, NULL);
	}
	for (size_t i = 0; i < *nlast; i++)
		if (!has_serial(cur, n, (*lastp)[i].serial))
			event(o, "removed", NULL, &(*lastp)[i]);
	free(*lastp);
	*lastp = cur;
	*nlast = n;
	return 0;
}

static int follow(struct ks_vmdisc *d, const struct vms_opts *o)
{
	struct seen *last = NULL;
	size_t nlast = 0;
	int rc = 0;

	while (!stop && !rc) {
		struct pollfd p = { .fd = ks_vmdisc__fd(d), .events = POLLIN };
		/* Wake for a change signal, else rescan twice a second so
		 * that an end is seen well within a second either way. */
		int r = poll(&p, p.fd >= 0, 500);

		if (r < 0 && errno != EINTR)
			break;
		if (ks_vmdisc__update(d, 450 * 1000000ULL) < 0)
			rc = -ENOMEM;
		else
			rc = diff(d, o, &last, &nlast);
	}
	free(last);
	if (rc)
		fprintf(stderr, PROG ": out of memory\n");
	return rc ? 1 : 0;
}

static int scan_stats(struct ks_vmdisc *d, unsigned long n)
{
	const struct ks_vmdisc_stats *st = ks_vmdisc__stats(d);
	uint64_t first = st->last_cpu_ns;

	for (unsigned long i = 0; i < n; i++)
		if (ks_vmdisc__scan(d))
			return 1;
	printf("{\"vms\":%zu,\"procs\":%llu,\"scans\":%lu,"
	       "\"first_scan_cpu_ns\":%llu,\"mean_cpu_ns\":%llu,"
	       "\"max_cpu_ns\":%llu,\"fd_scans_last\":%llu,\"watch\":%u}\n",
	       ks_vmdisc__count(d), (unsigned long long)st->procs, n,
	       (unsigned long long)first,
	       (unsigned long long)((st->total_cpu_ns - first) / (n ? n : 1)),
	       (unsigned long long)st->max_cpu_ns,
	       (unsigned long long)st->fd_scans, st->watch);
	return 0;
}

static int parse(int argc, char **argv, struct vms_opts *o)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "wide", no_argument, NULL, 'w' },
		{ "follow", no_argument, NULL, 'f' },
		{ "scan-stats", required_argument, NULL, 'S' },
		{ "no-watch", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "jwfh", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'w': o->wide = true; break;
		case 'f': o->follow = true; break;
		case 'W': o->no_watch = true; break;
		case 'S':
			errno = 0;
			o->scan_stats = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-' ||
			    o->scan_stats == 0 || o->scan_stats > 1000000) {
				fprintf(stderr, PROG ": --scan-stats '%s' must "
					"be a whole number from 1 to 1000000\n",
					optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	return -1;
}

int cmd_vms(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ks_vmdisc_opts dopts;
	struct vms_opts o;
	struct ks_vmdisc *d;
	struct ks_err err;
	int rc;

	if ((rc = parse(argc, argv, &o)) >= 0)
		return rc;
	ks_vmdisc_opts_init(&dopts);
	/* A one-off listing needs no change signals. */
	dopts.no_watch = o.no_watch || (!o.follow && !o.scan_stats);
	ks_err_clear(&err);
	if (!(d = ks_vmdisc__new(&dopts, &err))) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 1;
	}
	if (ks_vmdisc__scan(d)) {
		fprintf(stderr, PROG ": out of memory\n");
		ks_vmdisc__free(d);
		return 1;
	}
	if (o.scan_stats) {
		rc = scan_stats(d, o.scan_stats);
	} else if (o.follow) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		rc = follow(d, &o);
	} else {
		rc = list(d, &o);
	}
	ks_vmdisc__free(d);
	return rc;
}
