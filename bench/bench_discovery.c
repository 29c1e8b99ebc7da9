/* bench_discovery.c - the cost of one VM discovery scan at 0, 10 and 50 VMs.
 *
 * Stand-ins for QEMU are real processes: this program re-executed with
 * argv[0] "qemu-system-x86_64" and a QEMU command line (-name guest=...,
 * -uuid, -smp 2), its comm set to "qemu-system-x86" and two threads named
 * as QEMU names its vCPU threads ("CPU 0/KVM", "CPU 1/KVM"), so discovery
 * finds each by its comm, parses its command line and lists its threads
 * and fds, as it does for a QEMU under TCG (no /dev/kvm is needed).  For
 * each count the bench scans (src/vm/discovery.c, ks_vmdisc__scan) until
 * the stand-ins are all found with their 2 vCPUs (the bench fails if not),
 * then times SCANS scans: the median CPU time of the scanning thread and
 * the median wall time, per scan.  VMs already on the host count too; their
 * number is printed.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm/discovery.h"

#define SCANS 41
#define MAXVM 50

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *vcpu_thread(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "CPU %d/KVM", (int)(intptr_t)arg);
	prctl(PR_SET_NAME, name);
	for (;;)
		pause();
	return NULL;
}

/* The stand-in: QEMU's comm and vCPU threads, then nothing until killed. */
static int stand_in(void)
{
	pthread_t t;

	prctl(PR_SET_NAME, "qemu-system-x86");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int i = 0; i < 2; i++)
		pthread_create(&t, NULL, vcpu_thread, (void *)(intptr_t)i);
	for (;;)
		pause();
	return 0;
}

static pid_t spawn(int i)
{
	char name[64], uuid[64];
	pid_t pid;

	snprintf(name, sizeof(name), "guest=bench-vm%02d,debug-threads=on", i);
	snprintf(uuid, sizeof(uuid), "6b0d7a4e-0000-4000-8000-%012d", i);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "qemu-system-x86_64", "-name", name, "-uuid",
				 uuid, "-smp", "2", "-m", "1024", "-machine",
				 "q35,accel=tcg", "-nographic", NULL };

		execv("/proc/self/exe", argv);
		_exit(127);
	}
	return pid;
}

/* Processes on the host, as a scan sees them. */
static long nprocs(void)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	long n = 0;

	while (dir && (de = readdir(dir)))
		n += de->d_name[0] >= '1' && de->d_name[0] <= '9';
	if (dir)
		closedir(dir);
	return n;
}

static int cmp_d(const void *p, const void *q)
{
	double a = *(const double *)p, b = *(const double *)q;

	return (a > b) - (a < b);
}

/* VMs named bench-vm* with 2 vCPUs each. */
static size_t ours(struct ks_vmdisc *d, size_t *others)
{
	size_t n = 0;

	*others = 0;
	for (size_t i = 0; i < ks_vmdisc__count(d); i++) {
		const struct ks_vm *vm = ks_vmdisc__at(d, i);

		if (!strncmp(vm->name, "bench-vm", 8) && vm->nvcpus == 2)
			n++;
		else if (strncmp(vm->name, "bench-vm", 8))
			(*others)++;
	}
	return n;
}

static int measure(struct ks_vmdisc *d, int nvm)
{
	double cpu[SCANS], wall[SCANS];
	size_t others = 0, found = 0;

	for (int tries = 0; tries < 200; tries++) {
		if (ks_vmdisc__scan(d))
			return 1;
		if ((found = ours(d, &others)) == (size_t)nvm)
			break;
		usleep(20000);
	}
	if (found != (size_t)nvm) {
		fprintf(stderr, "bench_discovery: found %zu of %d stand-ins\n",
			found, nvm);
		return 1;
	}
	for (int i = 0; i < SCANS; i++) {
		double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		double w0 = clock_s(CLOCK_MONOTONIC);

		if (ks_vmdisc__scan(d))
			return 1;
		wall[i] = clock_s(CLOCK_MONOTONIC) - w0;
		cpu[i] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	qsort(cpu, SCANS, sizeof(cpu[0]), cmp_d);
	qsort(wall, SCANS, sizeof(wall[0]), cmp_d);
	printf("discovery_scan_ms_%dvm %.3f (CPU, median of %d scans; wall "
	       "%.3f; %zu VMs found, %zu of them the host's own)\n", nvm,
	       cpu[SCANS / 2] * 1e3, SCANS, wall[SCANS / 2] * 1e3,
	       found + others, others);
	return 0;
}

int main(int argc, char **argv)
{
	static const int counts[] = { 0, 10, 50 };
	struct ks_vmdisc_opts o = { "/proc", "", "/sys/kernel/debug", true };
	pid_t pids[MAXVM];
	struct ks_vmdisc *d;
	struct ks_err err;
	int n = 0, rc = 0;

	if (argc > 0 && !strncmp(argv[0], "qemu-system-", 12))
		return stand_in();
	if (!(d = ks_vmdisc__new(&o, &err))) {
		fprintf(stderr, "bench_discovery: %s\n", err.msg);
		return 1;
	}
	printf("discovery: stand-ins are real processes with QEMU's comm, "
	       "command line and 2 vCPU threads each, among the host's "
	       "%ld processes\n", nprocs());
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]) && !rc; c++) {
		while (n < counts[c])
			if ((pids[n] = spawn(n)) > 0)
				n++;
		rc = measure(d, counts[c]);
	}
	for (int i = 0; i < n; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	ks_vmdisc__free(d);
	return rc;
}
