/* bpfcost.c - reading run counts and run time of our own BPF programs.
 *
 * The fdinfo of a program's descriptor has a "prog_id:" line; the id
 * gives a fresh descriptor (bpf_prog_get_fd_by_id) whose info holds the
 * counters.  Links and maps have no such line and are passed over.
 */
#include "source/bpfcost.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ks_bpfcost_enable(void)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	return fd < 0 ? -errno : fd;
}

/* The prog_id in DIR/<name> (a process's fdinfo directory), or 0. */
static uint32_t fd_prog_id(const char *dir, const char *name)
{
	char path[384], line[128];
	unsigned long id = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "prog_id: %lu", &id) == 1)
			break;
	fclose(f);
	return (uint32_t)id;
}

const struct ks_bpfcost_prog *ks_bpfcost__find(const struct ks_bpfcost *c,
					       uint32_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->prog[i].id == id)
			return &c->prog[i];
	return NULL;
}

static void add_prog(struct ks_bpfcost *c, uint32_t id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	struct ks_bpfcost_prog *p;
	int fd;

	if (ks_bpfcost__find(c, id) || c->n == KS_BPFCOST_MAX)
		return;
	if ((fd = bpf_prog_get_fd_by_id(id)) < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		p = &c->prog[c->n++];
		p->id = id;
		snprintf(p->name, sizeof(p->name), "%s", info.name);
		p->run_cnt = info.run_cnt;
		p->run_time_ns = info.run_time_ns;
	}
	close(fd);
}

static int cmp_id(const void *a, const void *b)
{
	const struct ks_bpfcost_prog *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int ks_bpfcost__read_pid(struct ks_bpfcost *c, int pid)
{
	char dir[64];
	struct dirent *de;
	uint32_t id;
	DIR *d;

	if (pid > 0)
		snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", pid);
	else
		snprintf(dir, sizeof(dir), "/proc/self/fdinfo");
	c->n = 0;
	if (!(d = opendir(dir)))
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (id = fd_prog_id(dir, de->d_name)))
			add_prog(c, id);
	closedir(d);
	qsort(c->prog, c->n, sizeof(c->prog[0]), cmp_id);
	return 0;
}

int ks_bpfcost__read(struct ks_bpfcost *c)
{
	return ks_bpfcost__read_pid(c, 0);
}
