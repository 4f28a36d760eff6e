/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* elffile.h - what pybpf reads from an interpreter's ELF file: symbols,
 * the first loadable segment, read-only data at an address. */
#ifndef PYBPF_ELFFILE_H
#define PYBPF_ELFFILE_H

#include <stdint.h>
#include <stddef.h>

struct elf_file;

/* Open path; returns 0 or -errno. */
int elf_open(const char *path, struct elf_file **out);
void elf_close(struct elf_file *ef);

/* Value of a symbol from .symtab or .dynsym; 0 if absent. */
uint64_t elf_symbol(struct elf_file *ef, const char *name);
/* p_vaddr of the PT_LOAD segment that maps file offset off (page aligned). */
int elf_load_vaddr(struct elf_file *ef, uint64_t off, uint64_t *vaddr);
/* Copy len bytes of file content at virtual address addr. 0 or -errno. */
int elf_read(struct elf_file *ef, uint64_t addr, void *buf, size_t len);
/* Find a NUL-terminated "<prefix>..." string in .rodata made of
 * [0-9a-z+.] after the prefix, e.g. "3.9." -> "3.9.18". 0 or -ENOENT. */
int elf_find_version(struct elf_file *ef, const char *prefix, char *out, size_t len);
/* Does DT_NEEDED name a library whose name contains sub? */
int elf_needs(struct elf_file *ef, const char *sub);

/* ---- probe points and separate debug files (gil) ---- */

/* Addresses of the functions (STT_FUNC) named name, or name plus a suffix
 * of a whole copy GCC made of it (.constprop.N, .isra.N, .lto_priv.N; not
 * .part.N or .cold, which are pieces), from .symtab and .dynsym, without
 * duplicates; at most max.  Returns how many. */
size_t elf_functions(struct elf_file *ef, const char *name, uint64_t *addrs, size_t max);
/* File offset of the byte at virtual address vaddr (PT_LOAD).  0 or -ENOENT. */
int elf_file_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *off);
/* The same, in an executable segment only: where a uprobe can go. */
int elf_code_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *off);
/* The GNU build-id note as lowercase hex.  0 or -ENOENT. */
int elf_build_id(struct elf_file *ef, char *hex, size_t len);
/* The file name in .gnu_debuglink.  0 or -ENOENT. */
int elf_debuglink(struct elf_file *ef, char *name, size_t len);

/* ---- sections (native unwind tables) ---- */

/* e_machine of the ELF header (EM_X86_64, ...); 0 if unreadable. */
int elf_machine(struct elf_file *ef);
/* Contents and link-time address of section name (decompressed if
 * SHF_COMPRESSED); the data lives as long as ef.  0 or -ENOENT. */
int elf_section_data(struct elf_file *ef, const char *name, const uint8_t **data,
		     size_t *size, uint64_t *addr);

/* ---- every function symbol (native symbolization) ---- */

/* Called per defined function symbol (STT_FUNC, STT_GNU_IFUNC) with its
 * name, value (link-time address), size and binding (STB_*); non-zero
 * stops the iteration. */
typedef int (*elf_func_cb)(void *ctx, const char *name, uint64_t value, uint64_t size,
			   int bind);
/* Visit the functions of .symtab (dynsym = 0) or .dynsym (dynsym = 1).
 * 0, -ENOENT (no such table, or a .symtab without data), or the
 * callback's non-zero value. */
int elf_each_function(struct elf_file *ef, int dynsym, elf_func_cb cb, void *ctx);

#endif /* PYBPF_ELFFILE_H */
