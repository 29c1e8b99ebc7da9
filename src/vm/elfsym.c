/* elfsym.c - exported function offsets from an ELF file (see elfsym.h).
 *
 * The file is mapped read-only; every table is checked to lie inside the
 * mapping before it is read.  Symbols are looked up by a linear pass over
 * each symbol table (QEMU exports ~10k functions: a pass takes well under
 * a millisecond, and it is done once per binary).
 */
#include "vm/elfsym.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct img {
	const uint8_t *p;
	size_t len;
};

static const void *at(const struct img *m, uint64_t off, uint64_t size)
{
	if (off > m->len || size > m->len - off)
		return NULL;
	return m->p + off;
}

/* The file offset of virtual address va, from the PT_LOAD segments. */
static uint64_t va_to_off(const struct img *m, const Elf64_Ehdr *eh,
			  uint64_t va)
{
	const Elf64_Phdr *ph = at(m, eh->e_phoff,
				  (uint64_t)eh->e_phnum * sizeof(*ph));

	for (unsigned i = 0; ph && i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr &&
		    va < ph[i].p_vaddr + ph[i].p_filesz)
			return va - ph[i].p_vaddr + ph[i].p_offset;
	return 0;
}

static int scan_symtab(const struct img *m, const Elf64_Ehdr *eh,
		       const Elf64_Shdr *sh, const Elf64_Shdr *strsh,
		       const char *const *names, size_t n, uint64_t *offs)
{
	const Elf64_Sym *sym = at(m, sh->sh_offset, sh->sh_size);
	const char *str = at(m, strsh->sh_offset, strsh->sh_size);
	size_t nsym = sh->sh_size / sizeof(*sym);
	int found = 0;

	if (!sym || !str || sh->sh_entsize != sizeof(*sym))
		return 0;
	for (size_t i = 0; i < nsym; i++) {
		const char *nm;

		if (ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC ||
		    sym[i].st_shndx == SHN_UNDEF || !sym[i].st_value ||
		    sym[i].st_name >= strsh->sh_size)
			continue;
		nm = str + sym[i].st_name;
		if (!memchr(nm, '\0', strsh->sh_size - sym[i].st_name))
			continue;
		for (size_t k = 0; k < n; k++) {
			if (offs[k] || strcmp(nm, names[k]))
				continue;
			offs[k] = va_to_off(m, eh, sym[i].st_value);
			found += offs[k] != 0;
		}
	}
	return found;
}

static int scan(const struct img *m, const char *const *names, size_t n,
		uint64_t *offs)
{
	const Elf64_Ehdr *eh = at(m, 0, sizeof(*eh));
	const Elf64_Shdr *sh;
	int found = 0;

	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_shentsize != sizeof(*sh))
		return -ENOEXEC;
	sh = at(m, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(*sh));
	if (!sh)
		return -ENOEXEC;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if ((sh[i].sh_type != SHT_DYNSYM && sh[i].sh_type != SHT_SYMTAB) ||
		    sh[i].sh_link >= eh->e_shnum)
			continue;
		found += scan_symtab(m, eh, &sh[i], &sh[sh[i].sh_link], names,
				     n, offs);
	}
	return found;
}

static int map_file(const char *path, struct img *m)
{
	struct stat st;
	void *p;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		close(fd);
		return -ENOEXEC;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	m->p = p;
	m->len = (size_t)st.st_size;
	return 0;
}

int ks_elf_qemu_version(const char *path)
{
	static const char tag[] = "QEMU emulator version ";
	unsigned maj, min, mic = 0;
	const char *p;
	char buf[32];
	struct img m;
	int rc;

	if ((rc = map_file(path, &m)))
		return rc;
	p = memmem(m.p, m.len, tag, sizeof(tag) - 1);
	rc = -ENOENT;
	if (p) {
		size_t left = m.len - (size_t)(p - (const char *)m.p) -
			      (sizeof(tag) - 1);

		snprintf(buf, sizeof(buf), "%.*s", (int)(left < 31 ? left : 31),
			 p + sizeof(tag) - 1);
		if (sscanf(buf, "%u.%u.%u", &maj, &min, &mic) >= 2 && maj < 100 &&
		    min < 100 && mic < 100)
			rc = (int)(maj * 10000 + min * 100 + mic);
	}
	munmap((void *)m.p, m.len);
	return rc;
}

int ks_elf_func_offsets(const char *path, const char *const *names,
			size_t n, uint64_t *offs)
{
	struct img m;
	int rc;

	memset(offs, 0, n * sizeof(*offs));
	if ((rc = map_file(path, &m)))
		return rc;
	rc = scan(&m, names, n, offs);
	munmap((void *)m.p, m.len);
	return rc;
}
