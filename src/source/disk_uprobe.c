/* disk_uprobe.c - vm.physio_ops / vm.physio_bytes per request, by uprobes.
 *
 * For each QEMU binary running a VM, looks in its ELF dynamic symbols for
 * block_acct_start/done/failed and blk_aio_preadv/pwritev/pdiscard
 * (Debian's stripped QEMU exports them, for its modules).  If they are
 * there, defines tracefs uprobe events on them (uprobe_events, group
 * "ksd<our pid>_<n>") fetching the arguments blkprobe.h describes, enables
 * them in a private tracefs instance with the monotonic trace clock and
 * the tgid column, and claims the binary's VMs (claims.h) so the QMP
 * source leaves them alone; a binary that lacks the symbols, or a host
 * without tracefs uprobes, leaves its VMs to QMP.  That choice is per
 * binary, at run time.
 *
 * Each tick drains the instance's trace_pipe, pairs the events into
 * operations (blkprobe.c) and emits one vm.physio_ops record per
 * operation, with its optype, size, byte offset into the guest disk (when
 * its submission was seen) and latency (QEMU's own start time to the
 * completion probe; microsecond resolution, as tracefs prints it), stamped
 * with its completion time on the wall clock; and vm.physio_bytes for the
 * bytes moved.  Failed operations carry errno "failed" (QEMU does not say
 * which error at that point).  The disk is named as discovery names it:
 * the BlockBackend's name (the -drive id) read by the submission probe
 * leads to the device id; an anonymous backend (-blockdev) is named when
 * its VM has only one disk, else "unknown".
 *
 * Cost: every probed call traps into the kernel (a few microseconds),
 * three to four per request; events the buffer could not hold are counted
 * as drops.  Uprobes are host-wide on a binary: VMs not selected by --pid
 * still pay for them.  Needs root (tracefs).
 */
#include "source/source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "replay/tracefs.h"
#include "vm/blkprobe.h"
#include "vm/claims.h"
#include "vm/discovery.h"
#include "vm/elfsym.h"
#include "vm/vmrec.h"
#include "util/clock.h"

#define MAX_AGE_NS (250 * 1000000ULL)
#define MAX_BINARIES 16
#define MAX_READ_PER_TICK (64u << 20)
#define BUFFER_KB "4096"

enum { F_START, F_DONE, F_FAILED, F_PREADV, F_PWRITEV, F_PDISCARD, NFUNCS };

static const char *const funcs[NFUNCS] = {
	"block_acct_start", "block_acct_done", "block_acct_failed",
	"blk_aio_preadv", "blk_aio_pwritev", "blk_aio_pdiscard",
};
static const char *const events[NFUNCS] = {
	"start", "done", "failed", "readv", "writev", "discard",
};
static const char *const args[NFUNCS] = {
	KS_BLKEV_START_ARGS, KS_BLKEV_DONE_ARGS, KS_BLKEV_DONE_ARGS,
	KS_BLKEV_RW_ARGS, KS_BLKEV_RW_ARGS, KS_BLKEV_DISCARD_ARGS,
};

struct binary {
	dev_t dev;
	ino_t ino;
	bool ok;		/* probes defined and enabled */
	bool defined[NFUNCS];
	char group[32];
	struct ks_blkprobe *bp;
};

/* A VM this source covers. */
struct upvm {
	uint64_t serial;
	pid_t pid;
	int bin;		/* index into bins, -1: not ours */
	uint64_t tick;
};

struct up_src {
	struct ks_vmdisc *d;
	uint32_t pid;
	bool verbose;
	char tfs[128];		/* tracefs mount */
	char inst[256];		/* our instance */
	int pipe;		/* its trace_pipe, non-blocking */
	struct binary bins[MAX_BINARIES];
	size_t nbins;
	struct upvm *vms;
	size_t nvms, capvms;
	char *buf;		/* a partial line left from the last read */
	size_t len, cap;
	uint64_t tick;
	int64_t wall_minus_mono;
	/* The tick being read. */
	struct ks_source *s;
	const struct ks_source_sink *sink;
};

static const enum ks_metric metrics[] = {
	KS_M_VM_PHYSIO_OPS, KS_M_VM_PHYSIO_BYTES,
};

/* ---- tracefs ------------------------------------------------------------ */

static int write_file(const char *path, const char *s, bool append)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | (append ? O_APPEND : O_TRUNC));
	ssize_t n;
	int e = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		e = -errno;
	else if ((size_t)n != strlen(s))
		e = -EIO;
	close(fd);
	return e;
}

static int inst_write(const struct up_src *x, const char *rel, const char *s)
{
	char path[sizeof(x->inst) + 160];

	snprintf(path, sizeof(path), "%s/%s", x->inst, rel);
	return write_file(path, s, false);
}

static int find_tracefs(struct up_src *x)
{
	static const char *const roots[] = { "/sys/kernel/tracing",
					     "/sys/kernel/debug/tracing" };
	char path[256];

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/uprobe_events", roots[i]);
		if (!access(path, W_OK)) {
			snprintf(x->tfs, sizeof(x->tfs), "%s", roots[i]);
			return 0;
		}
	}
	return -ENOENT;
}

static bool dead(int pid)
{
	return pid > 0 && kill(pid, 0) && errno == ESRCH;
}

/* Disables and removes the tracefs instances of kvmscope processes that
 * are gone (a kill -9 skips the clean-up, and their probes would go on
 * firing): an enabled event cannot be removed while an instance uses it. */
static void remove_stale_instances(const struct up_src *x)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	int pid;

	snprintf(path, sizeof(path), "%s/instances", x->tfs);
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "kvmscope-disk-%d", &pid) != 1 ||
		    !dead(pid))
			continue;
		snprintf(path, sizeof(path), "%s/instances/%s/events/enable",
			 x->tfs, de->d_name);
		write_file(path, "0", false);
		snprintf(path, sizeof(path), "%s/instances/%s", x->tfs,
			 de->d_name);
		rmdir(path);
	}
	closedir(d);
}

/* Then removes their uprobe events ("ksd<pid>_<n>/<event>"). */
static void remove_stale(const struct up_src *x)
{
	char path[256], line[1024], cmd[300];
	FILE *f;

	remove_stale_instances(x);
	snprintf(path, sizeof(path), "%s/uprobe_events", x->tfs);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char group[64], event[64];
		int pid;

		if (sscanf(line, "%*c:%63[^/]/%63s", group, event) != 2 ||
		    sscanf(group, "ksd%d_", &pid) != 1 || !dead(pid))
			continue;
		snprintf(cmd, sizeof(cmd), "-:%s/%s\n", group, event);
		write_file(path, cmd, true);
	}
	fclose(f);
}

static int make_instance(struct up_src *x, struct ks_err *err)
{
	char path[sizeof(x->inst) + 16];
	int e;

	snprintf(x->inst, sizeof(x->inst), "%s/instances/kvmscope-disk-%d",
		 x->tfs, (int)getpid());
	if (mkdir(x->inst, 0700) && errno != EEXIST)
		return ks_err_set(err, errno, "disk_uprobe",
				  "cannot make tracefs instance %s: %s",
				  x->inst, strerror(errno));
	/* QEMU stamps requests with CLOCK_MONOTONIC: so must the trace. */
	if ((e = inst_write(x, "trace_clock", "mono")) ||
	    (e = inst_write(x, "options/record-tgid", "1")))
		return ks_err_set(err, -e, "disk_uprobe",
				  "cannot set up tracefs instance: %s",
				  strerror(-e));
	inst_write(x, "buffer_size_kb", BUFFER_KB);
	snprintf(path, sizeof(path), "%s/trace_pipe", x->inst);
	x->pipe = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (x->pipe < 0)
		return ks_err_set(err, errno, "disk_uprobe", "%s: %s", path,
				  strerror(errno));
	return 0;
}

/* ---- binaries ------------------------------------------------------------ */

static void undefine(struct up_src *x, struct binary *b)
{
	char path[160], cmd[128];

	snprintf(path, sizeof(path), "events/%s/enable", b->group);
	inst_write(x, path, "0");
	snprintf(path, sizeof(path), "%s/uprobe_events", x->tfs);
	for (int i = 0; i < NFUNCS; i++) {
		if (!b->defined[i])
			continue;
		snprintf(cmd, sizeof(cmd), "-:%s/%s\n", b->group, events[i]);
		write_file(path, cmd, true);
		b->defined[i] = false;
	}
}

/* Defines and enables the probes on a binary; false if it cannot be
 * probed (then its VMs are QMP's). */
static bool define(struct up_src *x, struct binary *b, const char *exe)
{
	char path[160], rel[64], *cmd;
	uint64_t off[NFUNCS];
	int n, version, e = 0;

	n = ks_elf_func_offsets(exe, funcs, NFUNCS, off);
	version = ks_elf_qemu_version(exe);
	if (n < 0 || !off[F_START] || !off[F_DONE] || !off[F_PREADV] ||
	    !off[F_PWRITEV] || version <= 0) {
		if (x->verbose)
			fprintf(stderr, "disk_uprobe: %s: no usable block "
				"symbols or version; its VMs use QMP\n", exe);
		return false;
	}
	if (!(b->bp = ks_blkprobe__new(version)))
		return false;
	snprintf(path, sizeof(path), "%s/uprobe_events", x->tfs);
	for (int i = 0; i < NFUNCS && !e; i++) {
		if (!off[i])
			continue;
		if (asprintf(&cmd, "p:%s/%s %s:0x%llx %s\n", b->group, events[i],
			     exe, (unsigned long long)off[i], args[i]) < 0)
			return false;
		e = write_file(path, cmd, true);
		free(cmd);
		b->defined[i] = !e;
	}
	snprintf(rel, sizeof(rel), "events/%s/enable", b->group);
	if (!e)
		e = inst_write(x, rel, "1");
	if (e) {
		if (x->verbose)
			fprintf(stderr, "disk_uprobe: %s: cannot place uprobes: "
				"%s; its VMs use QMP\n", exe, strerror(-e));
		undefine(x, b);
		return false;
	}
	return true;
}

/* The binary a VM runs, probed on first sight; -1 if not probeable. */
static int binary_of(struct up_src *x, const struct ks_vm *vm)
{
	char link[64], exe[PATH_MAX];
	struct binary *b;
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)vm->pid);
	if (stat(link, &st))
		return -1;
	for (size_t i = 0; i < x->nbins; i++)
		if (x->bins[i].dev == st.st_dev && x->bins[i].ino == st.st_ino)
			return x->bins[i].ok ? (int)i : -1;
	if (x->nbins == MAX_BINARIES)
		return -1;
	/* The path, unless the binary was replaced since: then the magic
	 * link still reaches the running one. */
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
		return -1;
	exe[n] = '\0';
	if (strstr(exe, " (deleted)"))
		snprintf(exe, sizeof(exe), "%s", link);
	b = &x->bins[x->nbins];
	memset(b, 0, sizeof(*b));
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	snprintf(b->group, sizeof(b->group), "ksd%d_%zu", (int)getpid(),
		 x->nbins);
	b->ok = define(x, b, exe);
	x->nbins++;
	return b->ok ? (int)(x->nbins - 1) : -1;
}

/* ---- VMs -------------------------------------------------------------------- */

static struct upvm *vm_state(struct up_src *x, const struct ks_vm *vm)
{
	for (size_t i = 0; i < x->nvms; i++)
		if (x->vms[i].serial == vm->serial)
			return &x->vms[i];
	if (x->nvms == x->capvms) {
		size_t cap = x->capvms ? x->capvms * 2 : 8;
		struct upvm *nv = realloc(x->vms, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		x->vms = nv;
		x->capvms = cap;
	}
	x->vms[x->nvms] = (struct upvm){ vm->serial, vm->pid,
					 binary_of(x, vm), 0 };
	if (x->vms[x->nvms].bin >= 0 && ks_claim_disk(vm->serial))
		return NULL;
	return &x->vms[x->nvms++];
}

static struct upvm *vm_by_pid(struct up_src *x, uint32_t pid)
{
	for (size_t i = 0; i < x->nvms; i++)
		if ((uint32_t)x->vms[i].pid == pid)
			return &x->vms[i];
	return NULL;
}

static void forget_vm(struct up_src *x, size_t i)
{
	struct upvm *v = &x->vms[i];

	if (v->bin >= 0) {
		ks_unclaim_disk(v->serial);
		ks_blkprobe__forget(x->bins[v->bin].bp, (uint32_t)v->pid);
	}
	x->vms[i] = x->vms[--x->nvms];
}

static int track_vms(struct up_src *x)
{
	for (size_t i = 0; i < ks_vmdisc__count(x->d); i++) {
		const struct ks_vm *vm = ks_vmdisc__at(x->d, i);
		struct upvm *v;

		if (!vm->qemu || (x->pid && (uint32_t)vm->pid != x->pid))
			continue;
		if (!(v = vm_state(x, vm)))
			return -ENOMEM;
		v->tick = x->tick;
	}
	for (size_t i = 0; i < x->nvms;)
		if (x->vms[i].tick != x->tick)
			forget_vm(x, i);
		else
			i++;
	return 0;
}

/* ---- records ------------------------------------------------------------------ */

/* Discovery's name for the disk QEMU's BlockBackend name points at. */
static const char *disk_name(const struct ks_vm *vm, const char *bb)
{
	for (size_t i = 0; *bb && i < vm->ndisks; i++)
		if (vm->disks[i].drive && !strcmp(vm->disks[i].drive, bb))
			return vm->disks[i].id;
	if (*bb)
		return bb;
	return vm->ndisks == 1 ? vm->disks[0].id : "unknown";
}

static int emit(struct up_src *x, const struct ks_vm *vm,
		const struct ks_blkop *op)
{
	const char *disk = disk_name(vm, op->disk);
	const char *optype = ks_bs_op_name(op->op);
	struct ks_record r;
	uint64_t ts = (uint64_t)((int64_t)op->ts + x->wall_minus_mono);
	int e;

	ks_record_init(&r, KS_M_VM_PHYSIO_OPS, ts, 1);
	if ((e = ks_vmrec_ident(&r, vm)) ||
	    (e = ks_vmrec_str(&r, KS_F_DISK, disk)) ||
	    (e = ks_vmrec_str(&r, KS_F_OPTYPE, optype)) ||
	    (op->failed && (e = ks_vmrec_str(&r, KS_F_ERRNO, "failed"))))
		return e;
	ks_record_set(&r, KS_F_LATENCY, op->latency);
	if (op->op != KS_BS_FLUSH)
		ks_record_set(&r, KS_F_SIZE, op->bytes);
	if (op->has_offset)
		ks_record_set(&r, KS_F_OFFSET, op->offset);
	x->s->st.records++;
	x->s->st.events++;
	if ((e = x->sink->record(x->sink->ctx, &r)))
		return e;
	if (op->failed || !op->bytes)
		return 0;
	r.metric = KS_M_VM_PHYSIO_BYTES;
	r.value = op->bytes;
	r.present &= ~((1u << KS_F_LATENCY) | (1u << KS_F_SIZE) |
		       (1u << KS_F_OFFSET));
	x->s->st.records++;
	return x->sink->record(x->sink->ctx, &r);
}

static int one_event(struct up_src *x, const struct ks_tfs_event *te)
{
	const struct ks_vm *vm;
	struct upvm *v;
	struct ks_blkev ev;
	struct ks_blkop op;
	int rc;

	if (!te->has_tgid || !(v = vm_by_pid(x, te->tgid)) || v->bin < 0)
		return 0;	/* a process we do not record */
	if (ks_blkev_parse(te->name, te->name_len, te->fields, te->fields_len,
			   &ev)) {
		x->s->st.bad++;
		return 0;
	}
	ev.tgid = te->tgid;
	ev.tid = te->tid;
	ev.ts = te->ts;
	rc = ks_blkprobe__feed(x->bins[v->bin].bp, &ev, &op);
	if (rc <= 0)
		return rc;
	if (!(vm = ks_vmdisc__find(x->d, v->pid)))
		return 0;
	return emit(x, vm, &op);
}

/* Handles the complete lines in the buffer; keeps a partial last one. */
static int lines(struct up_src *x)
{
	size_t start = 0;
	int e = 0;

	for (size_t i = 0; i < x->len && !e; i++) {
		struct ks_tfs_event te;
		uint64_t lost = 0;

		if (x->buf[i] != '\n')
			continue;
		switch (ks_tfs_parse_line(x->buf + start, i - start, &te, &lost)) {
		case KS_TFS_EVENT:
			e = one_event(x, &te);
			break;
		case KS_TFS_LOST:
			x->s->st.drops += lost;
			break;
		case KS_TFS_MALFORMED:
			x->s->st.bad++;
			break;
		case KS_TFS_HEADER:
			break;
		}
		start = i + 1;
	}
	memmove(x->buf, x->buf + start, x->len - start);
	x->len -= start;
	return e;
}

static int drain(struct up_src *x)
{
	size_t total = 0;
	ssize_t n;
	int e;

	while (total < MAX_READ_PER_TICK) {
		if (x->cap - x->len < 65536) {
			size_t cap = x->cap ? x->cap * 2 : 262144;
			char *nb;

			if (cap > KS_TFS_MAXLINE * 4)
				x->len = 0;	/* a line this long is not ours */
			else if (!(nb = realloc(x->buf, cap)))
				return -ENOMEM;
			else {
				x->buf = nb;
				x->cap = cap;
			}
		}
		n = read(x->pipe, x->buf + x->len, x->cap - x->len);
		if (n <= 0)
			break;	/* EAGAIN: drained */
		x->len += (size_t)n;
		total += (size_t)n;
		if ((e = lines(x)))
			return e;
	}
	return 0;
}

/* ---- the source ------------------------------------------------------------------ */

static void up_close(struct ks_source *s)
{
	struct up_src *x = s->priv;

	if (!x)
		return;
	while (x->nvms)
		forget_vm(x, x->nvms - 1);
	for (size_t i = 0; i < x->nbins; i++) {
		undefine(x, &x->bins[i]);
		ks_blkprobe__free(x->bins[i].bp);
	}
	if (x->pipe >= 0)
		close(x->pipe);
	if (x->inst[0])
		rmdir(x->inst);
	free(x->vms);
	free(x->buf);
	ks_vmdisc__put(x->d);
	free(x);
	s->priv = NULL;
}

static int up_open(struct ks_source *s, const struct ks_source_opts *o,
		   struct ks_err *err)
{
	struct up_src *x = calloc(1, sizeof(*x));
	int e;

	if (!x)
		return ks_err_set(err, ENOMEM, "disk_uprobe", "out of memory");
	s->priv = x;
	x->pipe = -1;
	x->pid = o->pid;
	x->verbose = o->verbose;
	if (find_tracefs(x)) {
		up_close(s);
		return ks_err_set(err, EACCES, "disk_uprobe",
				  "no writable tracefs uprobe_events (needs root "
				  "and CONFIG_UPROBE_EVENTS)");
	}
	remove_stale(x);
	if ((e = make_instance(x, err))) {
		up_close(s);
		return e;
	}
	if (!(x->d = ks_vmdisc__shared(err))) {
		up_close(s);
		return -EIO;
	}
	return 0;
}

static int up_attach(struct ks_source *s, struct ks_err *err)
{
	(void)s;
	(void)err;
	return 0;
}

/* Says which VMs this source leaves to QMP, and the latency resolution. */
static void update_note(struct ks_source *s, const struct up_src *x)
{
	size_t left = 0;

	for (size_t i = 0; i < x->nvms; i++)
		left += x->vms[i].bin < 0;
	snprintf(s->note, sizeof(s->note), "latency at microsecond "
		 "resolution (tracefs text)%s", left ?
		 "; VMs whose QEMU binary exports no block functions are left "
		 "to disk_qmp" : "");
}

static int up_read(struct ks_source *s, uint64_t ts,
		   const struct ks_source_sink *sink)
{
	struct up_src *x = s->priv;
	int e;

	(void)ts;	/* each record carries its own completion time */
	x->tick++;
	x->s = s;
	x->sink = sink;
	x->wall_minus_mono = (int64_t)ks_clock_wall_offset(
		(uint64_t)x->wall_minus_mono);
	/* Events before the rescan, so that a VM that just ended (and the
	 * view of it) is still there for its last ones - unless another
	 * source rescanned earlier in this tick. */
	if ((e = drain(x)))
		return e;
	if ((e = ks_vmdisc__update(x->d, MAX_AGE_NS)) < 0 ||
	    (e = track_vms(x)))
		return e;
	update_note(s, x);
	return 0;
}

const struct ks_source_ops ks_source_disk_uprobe = {
	.name = "disk_uprobe",
	.summary = "guest disk operations with offset, size and latency "
		   "(uprobes on QEMU's block layer)",
	.metrics = metrics,
	.nmetrics = sizeof(metrics) / sizeof(metrics[0]),
	.open = up_open,
	.attach = up_attach,
	.read = up_read,
	.close = up_close,
};
