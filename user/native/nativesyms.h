/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* nativesyms.h - native symbolization: a file offset in an ELF file (as
 * bpf/unwind.h keys code: pc - vm_start + vm_pgoff) -> the function there,
 * from the file's .symtab, else the .symtab of its separate debug file
 * (by build id or .gnu_debuglink), else its .dynsym.  One table per file,
 * cached by build id and shared by every process mapping it.  C++ names
 * are demangled (foo::bar(), not _ZN3foo3barEv) when the table is built. */
#ifndef PYBPF_NATIVESYMS_H
#define PYBPF_NATIVESYMS_H

#include <stddef.h>
#include <stdint.h>

struct native_syms;

/* One file's functions, sorted by file offset. */
struct nsym_file {
	uint64_t file_id;        /* ehframe_file_id of its build id (else a stat id) */
	char build_id[65];       /* its GNU build id, lowercase hex; "" none */
	char name[64];           /* base name used for "<name>+0xOFF" */
	const char *source;      /* ".symtab", "debug file", ".dynsym" or "none" */
	char debug_path[4096];   /* the separate debug file used, or "" (PATH_MAX) */
	size_t nsyms;
	struct nsym *syms;       /* private */
	char *names;             /* private */
	size_t names_len;
};

int native_syms_new(struct native_syms **out);
void native_syms_free(struct native_syms *ns);
/* Also look for debug files under dir (like /usr/lib/debug: holds
 * .build-id/xx/yyyy.debug and path-mirrored debuglink files).
 * /usr/lib/debug is always searched, last. 0 or -ENOMEM. */
int native_syms_debug_dir(struct native_syms *ns, const char *dir);

/* The table of the ELF file opened at path (a /proc/PID/map_files or
 * /proc/PID/root path is fine), named shown_as (the path the process
 * maps; its base name prefixes unknown addresses).  Built at the first
 * request for its build id.  0 or -errno (the file is not ELF...). */
int native_syms_file(struct native_syms *ns, const char *path, const char *shown_as,
		     const struct nsym_file **out);

/* The function holding file offset off, and off's distance from its
 * start; NULL when no symbol covers it. */
const char *nsym_lookup(const struct nsym_file *f, uint64_t off, uint64_t *delta);
/* "name", or "<file>+0xOFF" with no symbol; the length (snprintf's). */
int nsym_format(const struct nsym_file *f, uint64_t off, char *buf, size_t len);

/* Cached tables, their functions and the bytes they take (for -v). */
void native_syms_totals(const struct native_syms *ns, size_t *files, size_t *syms,
			size_t *bytes);

#endif /* PYBPF_NATIVESYMS_H */
