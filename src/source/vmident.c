/* vmident.c - tgid -> (pid, name) symbols and vcpu_id -> vCPU index,
 * cached per tick.
 *
 * Entries sit in an array indexed by tgid through a util/dict index; an
 * entry remembers the tick its name was last read, so each VMM process costs one discovery lookup (a
 * binary search) or one small read of /proc/PID/comm per tick however
 * many records it produces.  It also holds
 * the process's vcpu_id -> index pairs, a short array (a VM has a few to a
 * few hundred vCPUs), refreshed from discovery at most once per tick and
 * only for processes that produce records.
 */
#include "source/vmident.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/symtab.h"
#include "util/dict.h"

#define DISC_MAX_AGE_NS 1000000000ULL
/* Entries of processes not seen for this many ticks are forgotten (VMs come
 * and go; their pids and names must not stay for good). */
#define IDLE_TICKS 64

struct vmap {
	uint32_t id;		/* KVM vcpu_id */
	uint32_t index;		/* QEMU's vCPU index */
};

struct entry {
	uint32_t tgid;
	uint32_t pid_sym;
	uint32_t vm_sym;
	uint32_t uuid_sym;	/* 0: no UUID known */
	uint64_t tick;		/* tick of the last read of the name */
	uint64_t vtick;		/* tick of the last refresh of vmap */
	uint64_t vstart;	/* start time of the process vmap is of */
	struct vmap *vmap;
	size_t nvmap;
};

struct ks_vmident {
	char root[PATH_MAX / 2];
	struct entry *e;	/* e[id - 1] for the ids of ix */
	size_t n, cap;
	struct ks_dict ix;	/* tgid -> id */
	uint64_t tick;		/* starts at 1, so a new entry is stale */
	struct ks_vmdisc *disc;	/* NULL: vcpu_ids are not mapped */
	ks_vmident_tid_fn tid_vcpu;
	void *tid_ctx;
};

struct ks_vmident *ks_vmident__new(const char *procroot)
{
	struct ks_vmident *vi = calloc(1, sizeof(*vi));

	if (!vi)
		return NULL;
	snprintf(vi->root, sizeof(vi->root), "%s",
		 procroot ? procroot : "/proc");
	vi->ix = (struct ks_dict)KS_DICT_INIT;
	vi->tick = 1;
	return vi;
}

/* Releases what e holds. */
static void entry_fini(struct entry *e)
{
	ks_sym_put(e->pid_sym);
	ks_sym_put(e->vm_sym);
	ks_sym_put(e->uuid_sym);
	free(e->vmap);
}

void ks_vmident__free(struct ks_vmident *vi)
{
	if (!vi)
		return;
	for (size_t i = 0; i < vi->n; i++)
		entry_fini(&vi->e[i]);
	free(vi->e);
	ks_dict__fini(&vi->ix);
	free(vi);
}

static uint64_t tgid_hash(uint32_t tgid)
{
	return ks_dict_hash_u64(tgid);
}

static uint64_t id_hash(void *ctx, uint32_t id)
{
	const struct ks_vmident *vi = ctx;

	return tgid_hash(vi->e[id - 1].tgid);
}

static bool id_eq(void *ctx, uint32_t id, const void *key)
{
	const struct ks_vmident *vi = ctx;

	return vi->e[id - 1].tgid == *(const uint32_t *)key;
}

/* Forgets the entries idle past IDLE_TICKS, packing the rest and indexing
 * them anew (the index keeps its slots, so this cannot fail). */
static void prune(struct ks_vmident *vi)
{
	size_t keep = 0;

	for (size_t i = 0; i < vi->n; i++) {
		struct entry *e = &vi->e[i];
		uint64_t seen = e->tick > e->vtick ? e->tick : e->vtick;

		if (seen + IDLE_TICKS < vi->tick)
			entry_fini(e);
		else
			vi->e[keep++] = *e;
	}
	if (keep == vi->n)
		return;
	vi->n = keep;
	ks_dict__renumber(&vi->ix, keep, id_hash, vi);
}

void ks_vmident__tick(struct ks_vmident *vi)
{
	vi->tick++;
	if (!(vi->tick % IDLE_TICKS))
		prune(vi);
	/* A failed rescan keeps the previous view: still the best map. */
	if (vi->disc)
		ks_vmdisc__update(vi->disc, DISC_MAX_AGE_NS);
}

void ks_vmident__set_discovery(struct ks_vmident *vi, struct ks_vmdisc *d,
			       ks_vmident_tid_fn tid_vcpu, void *ctx)
{
	vi->disc = d;
	vi->tid_vcpu = tid_vcpu;
	vi->tid_ctx = ctx;
	if (d)
		ks_vmdisc__update(d, DISC_MAX_AGE_NS);
}

/* tgid's entry, made if new; NULL when out of memory.  Adding an entry
 * may move the others. */
static struct entry *lookup(struct ks_vmident *vi, uint32_t tgid)
{
	uint32_t id = ks_dict__find(&vi->ix, tgid_hash(tgid), id_eq, vi,
				    &tgid);

	if (id)
		return &vi->e[id - 1];
	if (ks_dict__room(&vi->ix, &vi->e, &vi->cap, vi->n, sizeof(*vi->e),
			  id_hash, vi))
		return NULL;
	vi->e[vi->n] = (struct entry){ .tgid = tgid };
	ks_dict__set(&vi->ix, ks_dict__slot(&vi->ix, tgid_hash(tgid), id_eq,
					    vi, &tgid), (uint32_t)++vi->n);
	return &vi->e[vi->n - 1];
}

/* Sets *held to a reference on s (length n, cut to what the symbol table
 * takes, as vm/vmrec.c does, so both name a VM alike), releasing the one
 * it held.  0 or -ENOMEM. */
static int hold_n(uint32_t *held, const char *s, size_t n)
{
	uint32_t id = ks_sym_get_n(s, n > KS_SYM_MAXLEN ? KS_SYM_MAXLEN : n);

	ks_sym_put(*held);
	*held = id;
	return id ? 0 : -ENOMEM;
}

static int hold(uint32_t *held, const char *s)
{
	return hold_n(held, s, strlen(s));
}

static void drop(uint32_t *held)
{
	ks_sym_put(*held);
	*held = 0;
}

/* Names e by discovery's view if it is a discovered VM.  1 if it is, 0 if
 * not, or -ENOMEM. */
static int disc_name(struct ks_vmident *vi, struct entry *e)
{
	const struct ks_vm *vm;

	if (!vi->disc || !(vm = ks_vmdisc__find(vi->disc, (pid_t)e->tgid)))
		return 0;
	if (hold(&e->vm_sym, vm->name))
		return -ENOMEM;
	drop(&e->uuid_sym);
	if (vm->uuid && hold(&e->uuid_sym, vm->uuid))
		return -ENOMEM;
	return 1;
}

/* Names e: discovery's name and UUID for a VM it knows (so records match
 * those of the NIC and disk sources), else the comm and no UUID; keeps the
 * old name when the process is gone. */
static int read_name(struct ks_vmident *vi, struct entry *e)
{
	char path[PATH_MAX], buf[64];
	ssize_t n;
	int fd;

	if ((fd = disc_name(vi, e)))
		return fd < 0 ? fd : 0;
	snprintf(path, sizeof(path), "%s/%u/comm", vi->root, e->tgid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
		n--;
	if (n <= 0)
		return 0;
	/* A live process discovery does not know (yet): named as discovery
	 * will name it, so its first seconds and the rest are one VM; a UUID
	 * from before would name the wrong one (a reused pid). */
	drop(&e->uuid_sym);
	return hold(&e->vm_sym, ks_vm_default_name(path, sizeof(path), buf,
						   (size_t)n, (pid_t)e->tgid));
}

int ks_vmident__get(struct ks_vmident *vi, uint32_t tgid,
		    struct ks_ident *out)
{
	struct entry *e;

	out->pid_sym = out->vm_sym = out->uuid_sym = 0;
	if (!tgid)
		return 0;
	if (!(e = lookup(vi, tgid)))
		return -ENOMEM;
	if (!e->pid_sym) {
		char pid[16];

		snprintf(pid, sizeof(pid), "%u", tgid);
		if (hold(&e->pid_sym, pid))
			return -ENOMEM;
	}
	if (e->tick != vi->tick) {
		e->tick = vi->tick;
		if (read_name(vi, e))
			return -ENOMEM;
	}
	out->pid_sym = e->pid_sym;
	out->vm_sym = e->vm_sym;
	out->uuid_sym = e->uuid_sym;
	return 0;
}

int ks_vmident__fallback(struct ks_vmident *vi, uint32_t tgid,
			 const char *name, size_t n)
{
	struct entry *e;
	char buf[96];

	if (!tgid || !n)
		return 0;
	if (!(e = lookup(vi, tgid)))
		return -ENOMEM;
	return e->vm_sym ? 0 : hold(&e->vm_sym, ks_vm_default_name(buf,
				    sizeof(buf), name, n, (pid_t)tgid));
}

const char *ks_vmident__name(struct ks_vmident *vi, uint32_t tgid)
{
	struct ks_ident id;

	if (ks_vmident__get(vi, tgid, &id) || !id.vm_sym)
		return NULL;
	return ks_sym_str(id.vm_sym);
}

/* Sets id -> index in e's map, replacing an older pair of either. */
static int vmap_set(struct entry *e, uint32_t id, uint32_t index)
{
	struct vmap *m;
	size_t keep = 0;

	for (size_t i = 0; i < e->nvmap; i++)
		if (e->vmap[i].id != id && e->vmap[i].index != index)
			e->vmap[keep++] = e->vmap[i];
	e->nvmap = keep;
	if (!(m = realloc(e->vmap, (e->nvmap + 1) * sizeof(*m))))
		return -ENOMEM;
	e->vmap = m;
	m[e->nvmap++] = (struct vmap){ id, index };
	return 0;
}

/* Joins discovery's threads of e's VM with the probe's thread map. */
static int vmap_refresh(struct ks_vmident *vi, struct entry *e)
{
	const struct ks_vm *vm = ks_vmdisc__find(vi->disc, (pid_t)e->tgid);
	int err;

	if (!vm)
		return 0;
	/* The pid now names another process: forget the old one's map. */
	if (vm->start != e->vstart) {
		e->nvmap = 0;
		e->vstart = vm->start;
	}
	for (size_t i = 0; i < vm->nvcpus; i++) {
		int64_t id = vi->tid_vcpu(vi->tid_ctx,
					  (uint32_t)vm->vcpus[i].tid);

		if (id < 0 || id >= KS_VCPU_UNKNOWN)
			continue;
		if ((err = vmap_set(e, (uint32_t)id, vm->vcpus[i].index)))
			return err;
	}
	return 0;
}

int ks_vmident__vcpu(struct ks_vmident *vi, uint32_t tgid, uint32_t vcpu_id,
		     uint32_t *index, bool *mapped)
{
	struct entry *e;
	int err;

	*index = vcpu_id;
	if (mapped)
		*mapped = false;
	if (!vi->disc || !tgid || vcpu_id == KS_VCPU_UNKNOWN)
		return 0;
	if (!(e = lookup(vi, tgid)))
		return -ENOMEM;
	if (e->vtick != vi->tick) {
		e->vtick = vi->tick;
		if ((err = vmap_refresh(vi, e)))
			return err;
	}
	for (size_t i = 0; i < e->nvmap; i++) {
		if (e->vmap[i].id == vcpu_id) {
			*index = e->vmap[i].index;
			if (mapped)
				*mapped = true;
			break;
		}
	}
	return 0;
}
