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

static bool read_u64(int dirfd, const char *name, uint64_t *v)
{
	char buf[32];
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	*v = strtoull(buf, NULL, 10);
	return true;
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

static void read_vm(struct ks_kc_vm *vm, int dirfd)
{
	uint64_t v;

	vm->nvm++;
	for (int s = 0; s < KS_KC__COUNT; s++)
		if (read_u64(dirfd, names[s], &v)) {
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
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid = vm_dir_pid(de->d_name);
		struct ks_kc_vm *vm;
		int fd;

		if (!pid || !(vm = slot(kc, pid)))
			continue;
		fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		read_vm(vm, fd);
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
