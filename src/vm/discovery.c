/* discovery.c - the VM table, rebuilt by scanning /proc (see discovery.h).
 *
 * A scan walks /proc once.  Each process is classified by its stat line
 * (comm and start time): a known VM is refreshed; a QEMU is a new VM; any
 * other process has its fds read once for an "anon_inode:kvm-vm" (a KVM
 * VM of any VMM) and is then remembered as "other" until /dev/kvm is next
 * opened - the only way a process becomes a KVM VMM - which the inotify
 * watch reports.  A process that holds /dev/kvm but no VM yet is a
 * candidate and is looked at again every scan.  Without the watch, every
 * process's fds are read every scan: slower, never wrong.
 *
 * Entries not seen by a scan (the process ended, or its pid now names a
 * process with another start time) are freed; views handed out before
 * the scan are invalid after it, as the header says.
 */
#include "vm/discovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vm/procfs.h"
#include "vm/vmdevs.h"
#include "vm/vmwatch.h"
#include "util/clock.h"

enum pkind { PK_OTHER, PK_VM, PK_CAND };

/* What the last scan learned about a process. */
struct pinfo {
	pid_t pid;
	uint8_t kind;		/* enum pkind */
	uint64_t start;
	uint64_t epoch;		/* kvm_epoch when its fds were read */
};

struct entry {
	struct ks_vm vm;	/* the public view */
	struct ks_qemu_cfg cfg;	/* parsed once */
	char *name;
	char *qmp;
	struct ks_vm_nic *nics;
	struct ks_vm_vcpu *vcpus;
	int kvm_vm_fd;		/* -1 until seen */
	unsigned threads;	/* thread count at the last task scan */
	uint64_t seen;		/* scan id */
};

struct ks_vmdisc {
	char procroot[PATH_MAX / 4];
	char devkvm[PATH_MAX / 4];
	char debugfs[PATH_MAX / 4];
	int rootfd;
	struct ks_vmwatch *w;
	struct entry **vms;	/* sorted by pid */
	size_t nvms;
	struct pinfo *procs;	/* last scan's, sorted by pid */
	size_t nprocs;
	uint64_t scan_id, gen, serial, kvm_epoch;
	bool dirty, scanned;
	uint64_t last_scan;	/* CLOCK_MONOTONIC ns */
	struct ks_vmdisc_stats st;
	int refs;		/* shared instance only */
};

static uint64_t clock_ns(clockid_t c)
{
	return (uint64_t)ks_clock_ns(c);
}

/* ---- one VM's details ---------------------------------------------------- */

struct fdscan {
	const struct ks_vmdisc *d;
	int pdir;
	struct ks_vmdevs_tap *taps;
	size_t ntaps, cap;
	int kvm_vm_fd;
	bool devkvm;
	int want_fd;		/* a QMP socket fd to resolve; -1 */
	unsigned long want_ino;
	bool stop_at_vm;	/* classification only */
};

static int add_tap(struct fdscan *s, int fd, const char *ifname,
		   enum ks_vm_nic_kind kind)
{
	if (s->ntaps == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct ks_vmdevs_tap *nv = realloc(s->taps, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->taps = nv;
		s->cap = cap;
	}
	s->taps[s->ntaps].fd = fd;
	s->taps[s->ntaps].kind = kind;
	snprintf(s->taps[s->ntaps].ifname, sizeof(s->taps[0].ifname), "%s",
		 ifname);
	s->ntaps++;
	return 0;
}

/* /dev/tapN is the macvtap whose ifindex is N. */
static int macvtap_fd(struct fdscan *s, int fd, const char *target)
{
	char name[IF_NAMESIZE], *end;
	unsigned long idx = strtoul(target + 8, &end, 10);

	if (end == target + 8 || *end || !if_indextoname((unsigned)idx, name))
		return 0;
	return add_tap(s, fd, name, KS_VM_NIC_MACVTAP);
}

static int on_fd(void *ctx, int fd, const char *target)
{
	struct fdscan *s = ctx;
	char ifname[IF_NAMESIZE];

	if (!strcmp(target, "anon_inode:kvm-vm")) {
		if (s->kvm_vm_fd < 0 || fd < s->kvm_vm_fd)
			s->kvm_vm_fd = fd;
		return s->stop_at_vm;
	}
	if (!strcmp(target, s->d->devkvm)) {
		s->devkvm = true;
		return 0;
	}
	if (s->stop_at_vm)
		return 0;
	if (fd == s->want_fd)
		ks_proc_socket_ino(target, &s->want_ino);
	if (!strcmp(target, "/dev/net/tun")) {
		if (ks_proc_fd_iff(s->pdir, fd, ifname, sizeof(ifname)))
			return 0;	/* not attached (yet) */
		return add_tap(s, fd, ifname, KS_VM_NIC_TAP);
	}
	if (!strncmp(target, "/dev/tap", 8))
		return macvtap_fd(s, fd, target);
	return 0;
}

struct taskscan {
	struct ks_vm_vcpu *v;
	size_t n, cap;
};

static int add_vcpu(struct taskscan *t, uint32_t index, pid_t tid)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct ks_vm_vcpu *nv = realloc(t->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = cap;
	}
	t->v[t->n++] = (struct ks_vm_vcpu){ index, tid };
	return 0;
}

static int on_task(void *ctx, pid_t tid, const char *comm)
{
	int64_t idx = ks_vmdevs_vcpu_of_comm(comm);

	return idx < 0 ? 0 : add_vcpu(ctx, (uint32_t)idx, tid);
}

static int cmp_vcpu(const void *a, const void *b)
{
	const struct ks_vm_vcpu *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/* KVM's debugfs: <debugfs>/kvm/<pid>-<vmfd>/vcpuN/pid holds vCPU N's
 * thread (N is KVM's vcpu_id, which QEMU makes the APIC id: equal to the
 * index on ordinary topologies). */
static int debugfs_vcpus(const struct ks_vmdisc *d, const struct entry *e,
			 struct taskscan *t)
{
	char path[PATH_MAX], buf[32];
	struct dirent *de;
	DIR *dir;
	int dfd, rc = 0;

	snprintf(path, sizeof(path), "%s/kvm/%d-%d", d->debugfs,
		 (int)e->vm.pid, e->kvm_vm_fd);
	if (!(dir = opendir(path)))
		return 0;
	dfd = dirfd(dir);
	while (!rc && (de = readdir(dir))) {
		char rel[300], *end;
		unsigned long n = 0, tid;

		if (strncmp(de->d_name, "vcpu", 4))
			continue;
		n = strtoul(de->d_name + 4, &end, 10);
		if (end == de->d_name + 4 || *end)
			continue;
		snprintf(rel, sizeof(rel), "%s/pid", de->d_name);
		if (ks_proc_read(dfd, rel, buf, sizeof(buf)) <= 0)
			continue;
		tid = strtoul(buf, &end, 10);
		if (end != buf && tid > 0)
			rc = add_vcpu(t, (uint32_t)n, (pid_t)tid);
	}
	closedir(dir);
	return rc;
}

/* Whether the vCPU threads must be looked for again: not if every vCPU
 * the command line asks for has its thread and no thread came or went
 * (a vCPU names its thread just after it starts, so an incomplete set is
 * always looked at again). */
static bool vcpus_settled(const struct entry *e, unsigned threads)
{
	/* QEMU without -smp runs one vCPU. */
	unsigned want = e->vm.smp ? e->vm.smp : e->vm.qemu ? 1 : 0;

	return want && e->vm.nvcpus == want && threads == e->threads;
}

static int scan_vcpus(const struct ks_vmdisc *d, struct entry *e, int pdir,
		      unsigned threads, struct taskscan *t)
{
	int rc = 0;

	if (vcpus_settled(e, threads)) {
		t->v = malloc(e->vm.nvcpus * sizeof(*t->v));
		if (!t->v)
			return -ENOMEM;
		memcpy(t->v, e->vcpus, e->vm.nvcpus * sizeof(*t->v));
		t->n = t->cap = e->vm.nvcpus;
		return 0;
	}
	e->threads = threads;
	/* QEMU names its threads only with debug-threads=on; reading a
	 * hundred unnamed threads a second would find nothing. */
	if (!e->vm.qemu || e->cfg.debug_threads)
		rc = ks_proc_tasks(pdir, on_task, t);
	if (rc == -ENOMEM)
		return rc;
	if (t->n == 0 && e->kvm_vm_fd >= 0 && *d->debugfs)
		rc = debugfs_vcpus(d, e, t);
	if (rc == -ENOMEM)
		return rc;
	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), cmp_vcpu);
	return 0;
}

static enum ks_vm_accel accel_of(const struct entry *e)
{
	if (e->kvm_vm_fd >= 0)
		return KS_VM_ACCEL_KVM;
	if (!e->vm.qemu)
		return KS_VM_ACCEL_UNKNOWN;
	/* A QEMU told to use KVM that has no VM fd yet is still starting. */
	if (e->cfg.accel == KS_QEMU_ACCEL_KVM)
		return KS_VM_ACCEL_KVM;
	return e->cfg.accel == KS_QEMU_ACCEL_OTHER ? KS_VM_ACCEL_UNKNOWN :
						     KS_VM_ACCEL_TCG;
}

/* A relative socket path was relative to QEMU's working directory when
 * it bound the socket; that is still its cwd unless it moved (-daemonize
 * goes to "/"), so the joined path is only taken if a socket is there. */
static int resolve_qmp(struct entry *e, int pdir, const char *path)
{
	char cwd[PATH_MAX], full[PATH_MAX * 2];
	struct stat st;
	ssize_t n;

	if (path[0] == '/') {
		e->qmp = strdup(path);
		return e->qmp ? 0 : -ENOMEM;
	}
	n = readlinkat(pdir, "cwd", cwd, sizeof(cwd) - 1);
	if (n <= 0)
		return 0;
	cwd[n] = '\0';
	snprintf(full, sizeof(full), "%s/%s", strcmp(cwd, "/") ? cwd : "",
		 path);
	if (stat(full, &st) || !S_ISSOCK(st.st_mode))
		return 0;
	e->qmp = strdup(full);
	return e->qmp ? 0 : -ENOMEM;
}

static bool vcpus_equal(const struct taskscan *t, const struct entry *e)
{
	return t->n == e->vm.nvcpus &&
	       (!t->n || !memcmp(t->v, e->vcpus, t->n * sizeof(*t->v)));
}

/* Re-reads what can change; bumps the generation if anything did. */
static int refresh(struct ks_vmdisc *d, struct entry *e, int pdir,
		   unsigned threads)
{
	struct fdscan s = { .d = d, .pdir = pdir, .kvm_vm_fd = -1,
			    .want_fd = e->qmp ? -1 : e->cfg.qmp_fd };
	struct taskscan t = { NULL, 0, 0 };
	struct ks_vm_nic *nics = NULL;
	size_t nnics = 0;
	bool changed;
	int fdrc;

	fdrc = ks_proc_fds(pdir, on_fd, &s);
	if (fdrc == -ENOMEM)
		goto fail;
	e->kvm_vm_fd = s.kvm_vm_fd;
	if (!e->qmp && e->cfg.qmp && resolve_qmp(e, pdir, e->cfg.qmp))
		goto fail;
	if (!e->qmp && s.want_ino) {
		char path[PATH_MAX];

		if (!ks_proc_unix_path(pdir, s.want_ino, path, sizeof(path)) &&
		    !(e->qmp = strdup(path)))
			goto fail;
	}
	if (ks_vmdevs_nics(&e->cfg, s.taps, s.ntaps, fdrc == 0, &nics, &nnics))
		goto fail;
	if (scan_vcpus(d, e, pdir, threads, &t))
		goto fail;
	changed = !ks_vmdevs_nics_equal(nics, nnics, e->nics, e->vm.nnics) ||
		  !vcpus_equal(&t, e) || accel_of(e) != e->vm.accel ||
		  (e->qmp != NULL) != (e->vm.qmp != NULL);
	free(e->nics);
	free(e->vcpus);
	e->nics = nics;
	e->vm.nics = nics;
	e->vm.nnics = nnics;
	e->vcpus = t.v;
	e->vm.vcpus = t.v;
	e->vm.nvcpus = t.n;
	e->vm.accel = accel_of(e);
	e->vm.qmp = e->qmp;
	if (changed)
		d->gen++;
	free(s.taps);
	return 0;
fail:
	free(s.taps);
	free(nics);
	free(t.v);
	return -ENOMEM;
}

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	ks_qemu_cfg_fini(&e->cfg);
	free(e->name);
	free(e->qmp);
	free(e->nics);
	free(e->vcpus);
	free(e);
}

/* Reads the command line of a QEMU; a zombie or a process that just
 * ended gives -ENOENT/-ENODATA, which makes it no VM this scan. */
static int read_cfg(struct ks_vmdisc *d, struct entry *e, int pdir)
{
	char *buf, **argv;
	size_t argc;
	int cut, rc;

	rc = ks_proc_cmdline(pdir, &buf, &argv, &argc, &cut);
	if (rc)
		return rc;
	d->st.cut_cmdlines += cut != 0;
	if (!ks_qemu_is_qemu(argv[0], e->vm.comm)) {
		/* A QEMU-named comm whose command line says otherwise (a
		 * wrapper that has not exec'd yet) is not a VM. */
		rc = -ENOENT;
	} else {
		rc = ks_qemu_cfg_parse(argv, argc, &e->cfg);
	}
	free(argv);
	free(buf);
	return rc;
}

const char *ks_vm_default_name(char *buf, size_t size, const char *comm,
			       size_t n, pid_t pid)
{
	snprintf(buf, size, "%.*s-%d", (int)(n > 64 ? 64 : n), comm, (int)pid);
	return buf;
}

static int set_identity(struct entry *e)
{
	char buf[96];

	if (e->cfg.name && *e->cfg.name) {
		e->name = strdup(e->cfg.name);
		e->vm.named = true;
	} else {
		e->name = strdup(ks_vm_default_name(buf, sizeof(buf),
				 e->vm.comm, strlen(e->vm.comm), e->vm.pid));
	}
	if (!e->name)
		return -ENOMEM;
	/* UUIDs compare as lowercase, as libvirt prints them. */
	for (char *p = e->cfg.uuid; p && *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	e->vm.name = e->name;
	e->vm.uuid = e->cfg.uuid;
	e->vm.smp = e->cfg.smp;
	e->vm.disks = e->cfg.disks;
	e->vm.ndisks = e->cfg.ndisks;
	return 0;
}

/* A new VM entry for pid; NULL with *rc set (-ENOMEM, or another errno if
 * it turned out not to be a VM). */
static struct entry *entry_new(struct ks_vmdisc *d, pid_t pid,
			       const struct ks_proc_stat *ps, bool qemu,
			       int pdir, int *rc)
{
	struct entry *e = calloc(1, sizeof(*e));

	*rc = -ENOMEM;
	if (!e)
		return NULL;
	e->kvm_vm_fd = -1;
	e->cfg.qmp_fd = -1;
	e->vm.pid = pid;
	e->vm.start = ps->start;
	e->vm.qemu = qemu;
	/* The kernel's comm is 15 bytes; a longer one is cut. */
	memcpy(e->vm.comm, ps->comm,
	       strnlen(ps->comm, sizeof(e->vm.comm) - 1));
	if ((qemu && (*rc = read_cfg(d, e, pdir))) ||
	    (*rc = set_identity(e)) ||
	    (*rc = refresh(d, e, pdir, ps->threads))) {
		entry_free(e);
		return NULL;
	}
	e->vm.serial = ++d->serial;
	return e;
}

/* ---- the table ------------------------------------------------------------ */

static int cmp_entry_pid(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a;
	const struct entry *y = *(struct entry *const *)b;

	return (x->vm.pid > y->vm.pid) - (x->vm.pid < y->vm.pid);
}

static struct entry *find_entry(const struct ks_vmdisc *d, pid_t pid)
{
	size_t lo = 0, hi = d->nvms;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (d->vms[mid]->vm.pid == pid)
			return d->vms[mid];
		if (d->vms[mid]->vm.pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_pinfo(const void *a, const void *b)
{
	const struct pinfo *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static const struct pinfo *find_pinfo(const struct ks_vmdisc *d, pid_t pid)
{
	struct pinfo key = { .pid = pid };

	return d->nprocs ? bsearch(&key, d->procs, d->nprocs, sizeof(key),
				   cmp_pinfo) : NULL;
}

/* The scan being built. */
struct scan {
	struct pinfo *procs;
	size_t n, cap;
	struct entry **added;
	size_t nadded, capadded;
};

static int push(void **v, size_t *n, size_t *cap, size_t size,
		const void *item)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		void *nv = realloc(*v, c * size);

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	memcpy((char *)*v + *n * size, item, size);
	(*n)++;
	return 0;
}

/* Reads a non-QEMU process's fds for a KVM VM. */
static enum pkind classify_fds(struct ks_vmdisc *d, int pdir)
{
	struct fdscan s = { .d = d, .pdir = pdir, .kvm_vm_fd = -1,
			    .want_fd = -1, .stop_at_vm = true };

	d->st.fd_scans++;
	ks_proc_fds(pdir, on_fd, &s);
	if (s.kvm_vm_fd >= 0)
		return PK_VM;
	return s.devkvm ? PK_CAND : PK_OTHER;
}

static int examine(struct ks_vmdisc *d, struct scan *sc, pid_t pid)
{
	struct pinfo pi = { .pid = pid, .kind = PK_OTHER };
	const struct pinfo *old;
	struct ks_proc_stat ps;
	struct entry *e;
	bool qemu;
	int pdir, rc = 0;

	if ((pdir = ks_proc_open(d->rootfd, pid)) < 0)
		return 0;
	if (ks_proc_stat(pdir, &ps))
		goto out;
	pi.start = ps.start;
	d->st.procs++;
	e = find_entry(d, pid);
	if (e && e->vm.start == pi.start) {
		pi.kind = PK_VM;
		e->seen = d->scan_id;
		rc = refresh(d, e, pdir, ps.threads);
		goto keep;
	}
	qemu = ks_qemu_is_qemu(NULL, ps.comm);
	old = find_pinfo(d, pid);
	if (!qemu && old && old->start == pi.start && old->kind == PK_OTHER &&
	    old->epoch == d->kvm_epoch) {
		pi = *old;
		goto keep;
	}
	if (!qemu) {
		pi.epoch = d->kvm_epoch;
		pi.kind = *d->devkvm ? classify_fds(d, pdir) : PK_OTHER;
		if (pi.kind != PK_VM)
			goto keep;
	}
	e = entry_new(d, pid, &ps, qemu, pdir, &rc);
	if (!e) {
		/* Not a VM after all (a wrapper, a zombie): look again next
		 * scan, unless memory ran out. */
		pi.kind = PK_CAND;
		if (rc != -ENOMEM)
			rc = 0;
		goto keep;
	}
	e->seen = d->scan_id;
	pi.kind = PK_VM;
	rc = push((void **)&sc->added, &sc->nadded, &sc->capadded,
		  sizeof(e), &e);
	if (rc)
		entry_free(e);
keep:
	if (!rc)
		rc = push((void **)&sc->procs, &sc->n, &sc->cap, sizeof(pi), &pi);
out:
	close(pdir);
	return rc;
}

/* Drops entries the scan did not see, adds the new ones, re-sorts. */
static int commit(struct ks_vmdisc *d, struct scan *sc)
{
	size_t n = 0, total;
	struct entry **v;

	for (size_t i = 0; i < d->nvms; i++) {
		if (d->vms[i]->seen == d->scan_id) {
			d->vms[n++] = d->vms[i];
			continue;
		}
		entry_free(d->vms[i]);
		d->st.removed++;
		d->gen++;
	}
	total = n + sc->nadded;
	v = realloc(d->vms, (total + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (sc->nadded)
		memcpy(v + n, sc->added, sc->nadded * sizeof(*v));
	d->vms = v;
	d->nvms = total;
	if (sc->nadded) {
		d->st.added += sc->nadded;
		d->gen++;
		qsort(d->vms, d->nvms, sizeof(*d->vms), cmp_entry_pid);
	}
	if (sc->n)
		qsort(sc->procs, sc->n, sizeof(*sc->procs), cmp_pinfo);
	free(d->procs);
	d->procs = sc->procs;
	d->nprocs = sc->n;
	free(sc->added);
	return 0;
}

static void scan_abort(struct scan *sc)
{
	for (size_t i = 0; i < sc->nadded; i++)
		entry_free(sc->added[i]);
	free(sc->added);
	free(sc->procs);
}

static int walk(struct ks_vmdisc *d, struct scan *sc)
{
	int fd = openat(d->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;	/* nothing to see: no VMs */
	}
	while (!rc && (de = readdir(dir))) {
		char *end;
		long pid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT_MAX)
			continue;
		rc = examine(d, sc, (pid_t)pid);
	}
	closedir(dir);
	return rc;
}

int ks_vmdisc__scan(struct ks_vmdisc *d)
{
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), cpu;
	struct scan sc = { 0 };
	int rc;

	d->scan_id++;
	d->st.procs = d->st.fd_scans = 0;
	/* Without the /dev/kvm watch, nobody says when a process becomes
	 * a KVM VMM: look at every process every scan. */
	if (!(d->st.watch & 1u))
		d->kvm_epoch++;
	rc = walk(d, &sc);
	if (!rc)
		rc = commit(d, &sc);
	if (rc) {
		/* Keep the old view; entries refreshed this scan stay. */
		for (size_t i = 0; i < d->nvms; i++)
			d->vms[i]->seen = d->scan_id;
		scan_abort(&sc);
		return rc;
	}
	d->dirty = false;
	d->scanned = true;
	d->last_scan = clock_ns(CLOCK_MONOTONIC);
	cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	d->st.scans++;
	d->st.last_cpu_ns = cpu;
	d->st.total_cpu_ns += cpu;
	if (cpu > d->st.max_cpu_ns)
		d->st.max_cpu_ns = cpu;
	return 0;
}

/* ---- change signals ------------------------------------------------------- */

static void on_signal(void *ctx, enum ks_vmwatch_event ev, pid_t pid)
{
	struct ks_vmdisc *d = ctx;
	struct ks_proc_stat ps;
	int pdir, rc;

	switch (ev) {
	case KS_VMW_KVM_OPEN:
	case KS_VMW_OVERRUN:
		d->kvm_epoch++;
		break;
	case KS_VMW_KVM_CLOSE:
		break;
	case KS_VMW_EXIT:
		if (!find_entry(d, pid))
			return;
		break;
	case KS_VMW_EXEC:
		if ((pdir = ks_proc_open(d->rootfd, pid)) < 0)
			return;
		rc = ks_proc_stat(pdir, &ps);
		close(pdir);
		if (rc || !ks_qemu_is_qemu(NULL, ps.comm))
			return;
		break;
	}
	if (!d->dirty)
		d->st.signals++;
	d->dirty = true;
}

int ks_vmdisc__update(struct ks_vmdisc *d, uint64_t max_age_ns)
{
	int rc;

	if (d->w)
		ks_vmwatch__drain(d->w, on_signal, d);
	if (d->scanned && !d->dirty &&
	    clock_ns(CLOCK_MONOTONIC) - d->last_scan < max_age_ns)
		return 0;
	rc = ks_vmdisc__scan(d);
	return rc ? rc : 1;
}

int ks_vmdisc__fd(const struct ks_vmdisc *d)
{
	return d->w ? ks_vmwatch__fd(d->w) : -1;
}

/* ---- life cycle and views --------------------------------------------------- */

void ks_vmdisc_opts_init(struct ks_vmdisc_opts *o)
{
	o->procroot = "/proc";
	o->devkvm = "/dev/kvm";
	o->debugfs = "/sys/kernel/debug";
	o->no_watch = false;
}

struct ks_vmdisc *ks_vmdisc__new(const struct ks_vmdisc_opts *o,
				 struct ks_err *err)
{
	struct ks_vmdisc_opts def;
	struct ks_vmdisc *d;
	struct stat st;

	if (!o) {
		ks_vmdisc_opts_init(&def);
		o = &def;
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		ks_err_set(err, ENOMEM, "discovery", "out of memory");
		return NULL;
	}
	snprintf(d->procroot, sizeof(d->procroot), "%s", o->procroot);
	/* No /dev/kvm, no KVM VMs: only QEMU processes need looking at. */
	if (o->devkvm && *o->devkvm && !stat(o->devkvm, &st))
		snprintf(d->devkvm, sizeof(d->devkvm), "%s", o->devkvm);
	snprintf(d->debugfs, sizeof(d->debugfs), "%s",
		 o->debugfs ? o->debugfs : "");
	d->rootfd = open(d->procroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->rootfd < 0) {
		ks_err_set(err, errno, "procroot", "cannot open %s: %s",
			   d->procroot, strerror(errno));
		free(d);
		return NULL;
	}
	if (!o->no_watch) {
		d->w = ks_vmwatch__new(*d->devkvm ? d->devkvm : "", true);
		if (!d->w) {
			ks_err_set(err, ENOMEM, "discovery", "out of memory");
			ks_vmdisc__free(d);
			return NULL;
		}
		d->st.watch = ks_vmwatch__active(d->w);
	}
	return d;
}

void ks_vmdisc__free(struct ks_vmdisc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nvms; i++)
		entry_free(d->vms[i]);
	free(d->vms);
	free(d->procs);
	ks_vmwatch__free(d->w);
	if (d->rootfd >= 0)
		close(d->rootfd);
	free(d);
}

uint64_t ks_vmdisc__generation(const struct ks_vmdisc *d)
{
	return d->gen;
}

size_t ks_vmdisc__count(const struct ks_vmdisc *d)
{
	return d->nvms;
}

const struct ks_vm *ks_vmdisc__at(const struct ks_vmdisc *d, size_t i)
{
	return i < d->nvms ? &d->vms[i]->vm : NULL;
}

const struct ks_vm *ks_vmdisc__find(const struct ks_vmdisc *d, pid_t pid)
{
	const struct entry *e = find_entry(d, pid);

	return e ? &e->vm : NULL;
}

const struct ks_vmdisc_stats *ks_vmdisc__stats(const struct ks_vmdisc *d)
{
	return &d->st;
}

static struct ks_vmdisc *shared;

struct ks_vmdisc *ks_vmdisc__shared(struct ks_err *err)
{
	if (!shared && !(shared = ks_vmdisc__new(NULL, err)))
		return NULL;
	shared->refs++;
	return shared;
}

void ks_vmdisc__put(struct ks_vmdisc *d)
{
	if (!d)
		return;
	if (d != shared || --d->refs > 0)
		return;
	ks_vmdisc__free(d);
	shared = NULL;
}
