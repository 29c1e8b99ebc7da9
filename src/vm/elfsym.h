/* elfsym.h - where a binary's exported functions are, for uprobes.
 *
 * A uprobe is placed by file offset in an ELF binary.  Debian's QEMU is
 * stripped, but as it supports modules it exports most of its functions
 * in .dynsym (block_acct_start, blk_aio_preadv, ...), so the offsets can
 * be found without debug info.  This reads the ELF headers and the
 * dynamic (and, if present, full) symbol table of a 64-bit little-endian
 * ELF file and turns each wanted function's address into a file offset
 * through the program headers.  Bounded and checked throughout: a
 * truncated or hostile file gives an error, never a wild read.
 */
#ifndef KS_VM_ELFSYM_H
#define KS_VM_ELFSYM_H

#include <stddef.h>
#include <stdint.h>

/* Fills offs[i] with the file offset of the defined function names[i],
 * or 0 if the binary does not export it.  Returns the number found, or a
 * negative errno (-ENOEXEC: not a 64-bit little-endian ELF file). */
int ks_elf_func_offsets(const char *path, const char *const *names,
			size_t n, uint64_t *offs);

/* The version a QEMU binary says it is ("QEMU emulator version 7.2.22"
 * in its .rodata) as major * 10000 + minor * 100 + micro, or a negative
 * errno (-ENOENT if the string is not there). */
int ks_elf_qemu_version(const char *path);

#endif /* KS_VM_ELFSYM_H */
