/* kvmcounters.c - reading KVM's per-VM statistics from debugfs.
 *
 * One directory per VM, named "<pid>-<vmfd>"; anything else in KVM's
 * debugfs directory (the host-wide sums, which have the same names) is
 * skipped.  A VM that goes away between the listing and the reads leaves
 * its statistics marked absent instead of failing the whole read.
 */
#include "vm/kvmcounters.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const names[KS_KC__COUNT] = {
	[KS_KC_EXITS] = "exits",
	[KS_KC_HALT_EXITS] = "halt_exits",
	[KS_KC_IO_EXITS] = "io_exits",
	[KS_KC_MMIO_EXITS] = "mmio_exits",
	[KS_KC_IRQ_INJECTIONS] = "irq_injections",
};

const char *ks_kc_stat_name(enum ks_kc_stat s)
{
	return s < KS_KC__COUNT ? names[s] : "?";
}

/* "<pid>-<fd>": the pid, or 0 for any other name. */
static pid_t vm_dir_pid(const char *name)
{
	char *end;
	long pid = strtol(name, &end, 10);

	if (end == name || *end != '-' || pid <= 0 || pid > 0x3fffffff)
		return 0;
	for (end++; *end; end++)
		if (*end < '0' || *end > '9')
			return 0;
	return (pid_t)pid;
}

/* The first failure of a read, kept to say why a VM went missing. */
static void note_err(struct ks_kvmcounters *kc, int e, const char *what,
		     const char *dir, const char *name)
{
	if (kc->err)
		return;
	kc->err = e ? e : EIO;
	snprintf(kc->err_what, sizeof(kc->err_what), "%s %.40s%s%.40s", what,
		 dir, *name ? "/" : "", name);
}

/* 0, or a negative errno.  A read interrupted by a signal is tried again. */
static int read_u64(int dirfd, const char *name, uint64_t *v)
{
	char buf[32];
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		int e = n < 0 ? -errno : -ENODATA;

		close(fd);
		return e;
	}
	close(fd);
	buf[n] = '\0';
	*v = strtoull(buf, NULL, 10);
	return 0;
}

static struct ks_kc_vm *slot(struct ks_kvmcounters *kc, pid_t pid)
{
	for (size_t i = 0; i < kc->n; i++)
		if (kc->vm[i].pid == pid)
			return &kc->vm[i];
	if (kc->n == KS_KC_MAXVM) {
		kc->dropped++;
		return NULL;
	}
	memset(&kc->vm[kc->n], 0, sizeof(kc->vm[0]));
	kc->vm[kc->n].pid = pid;
	return &kc->vm[kc->n++];
}

static void read_vm(struct ks_kvmcounters *kc, struct ks_kc_vm *vm,
		    int dirfd, const char *dname)
{
	uint64_t v = 0;
	int e;

	vm->nvm++;
	for (int s = 0; s < KS_KC__COUNT; s++) {
		if ((e = read_u64(dirfd, names[s], &v))) {
			note_err(kc, -e, "read", dname, names[s]);
			continue;
		}
		vm->v[s] += v;
		vm->have[s] = true;
	}
}

static int cmp_pid(const void *a, const void *b)
{
	const struct ks_kc_vm *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int ks_kvmcounters__read(struct ks_kvmcounters *kc, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	kc->n = kc->dropped = 0;
	kc->err = 0;
	kc->err_what[0] = '\0';
	if (!d) {
		note_err(kc, errno, "open", dir, "");
		return -kc->err;
	}
	while ((de = readdir(d))) {
		pid_t pid = vm_dir_pid(de->d_name);
		struct ks_kc_vm *vm;
		int fd;

		if (!pid || !(vm = slot(kc, pid)))
			continue;
		fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			note_err(kc, errno, "open", de->d_name, "");
			continue;
		}
		read_vm(kc, vm, fd, de->d_name);
		close(fd);
	}
	closedir(d);
	qsort(kc->vm, kc->n, sizeof(kc->vm[0]), cmp_pid);
	return 0;
}

const struct ks_kc_vm *ks_kvmcounters__find(const struct ks_kvmcounters *kc,
					    pid_t pid)
{
	for (size_t i = 0; i < kc->n; i++)
		if (kc->vm[i].pid == pid)
			return &kc->vm[i];
	return NULL;
}
