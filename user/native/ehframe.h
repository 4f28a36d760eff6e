/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* ehframe.h - compact x86_64 unwind tables (bpf/unwind.h rows) derived
 * from an ELF file's .eh_frame, or its .debug_frame where that is all it
 * has, cached per file by build id. */
#ifndef PYBPF_EHFRAME_H
#define PYBPF_EHFRAME_H

#include <stddef.h>
#include <stdint.h>
#include "unwind.h"

struct elf_file;

/* What a table is made of, for -v and the tests. */
struct ehframe_stats {
	size_t cies, fdes;         /* entries parsed */
	size_t fdes_empty;         /* FDEs covering no bytes */
	size_t bad;                /* entries skipped: truncated, bad CIE, encoding */
	size_t unknown_ops;        /* FDEs cut short by an opcode we do not know */
	size_t state_overflow;     /* remember_state deeper than we keep */
	size_t raw_rows;           /* rows before merging (one per advance) */
	size_t rows_cfa[UNWIND_CFA_NR]; /* rows after merging, by CFA rule */
	size_t rows_rbp_lost;      /* rows after merging whose rbp rule is lost */
};

struct ehframe_table {
	char build_id[65];         /* lowercase hex, "" if the file has none */
	uint64_t file_id;          /* the key of its rows in BPF maps; 0 without
				    * a build id until ehframe_cache_get gives one */
	const char *source;        /* ".eh_frame", ".debug_frame" */
	struct unwind_row *rows;   /* sorted by pc, no two neighbours alike */
	size_t nrows;
	struct ehframe_stats st;
};

/* Which section to read: the default takes .eh_frame, else .debug_frame. */
enum ehframe_source {
	EHFRAME_ANY = 0,
	EHFRAME_EH_FRAME,
	EHFRAME_DEBUG_FRAME,
};

/* Build the table of an open ELF file.  0, -ENOENT (no unwind section),
 * -ENOMEM or -EINVAL (not x86_64). */
int ehframe_build(struct elf_file *ef, enum ehframe_source src, struct ehframe_table **out);
/* Same, opening path. */
int ehframe_load(const char *path, enum ehframe_source src, struct ehframe_table **out);
void ehframe_free(struct ehframe_table *t);

/* The row covering file offset off, or NULL if off lies before the first. */
const struct unwind_row *ehframe_find(const struct ehframe_table *t, uint32_t off);
/* Bytes the rows take in the BPF row array. */
static inline size_t ehframe_bytes(const struct ehframe_table *t)
{
	return t->nrows * sizeof(struct unwind_row);
}
/* 64-bit file id of a build id (hex); never 0. */
uint64_t ehframe_file_id(const char *build_id_hex);
/* The id of a file without a build id: its device, inode, size and mtime
 * (the same file as long as it is not replaced); 0 if stat fails. */
uint64_t ehframe_stat_id(const char *path);

/* Tables shared by every process mapping the same file: keyed by build id
 * (files without one by device, inode, size and mtime). */
struct ehframe_cache;

int ehframe_cache_new(struct ehframe_cache **out);
void ehframe_cache_free(struct ehframe_cache *c);
/* The table of path, built at the first request for its file.  *created
 * (may be NULL) says whether it was built now.  0 or -errno; a file with
 * no unwind section is remembered and answers -ENOENT again. */
int ehframe_cache_get(struct ehframe_cache *c, const char *path,
		      const struct ehframe_table **out, int *created);
/* Same, and the file's id (0 if the file could not be identified) also
 * when there is no table. */
int ehframe_cache_lookup(struct ehframe_cache *c, const char *path,
			 const struct ehframe_table **out, uint64_t *file_id, int *created);
/* Drop the table of file_id (its rows are in BPF maps, or no longer
 * needed): a later request builds it again. */
void ehframe_cache_forget(struct ehframe_cache *c, uint64_t file_id);
/* Totals over the cached tables. */
void ehframe_cache_totals(const struct ehframe_cache *c, size_t *tables, size_t *rows,
			  size_t *bytes);

#endif /* PYBPF_EHFRAME_H */
