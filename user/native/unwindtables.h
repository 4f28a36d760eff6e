/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* unwindtables.h - the BPF side's native unwind tables (bpf/native.bpf.h
 * maps unwind_rows and unwind_files) managed from userspace: each ELF
 * file's rows are placed in the global row array once per build id,
 * shared by every mapping of every process, and their room is reused
 * when no mapping holds the file any more.  A file that does not fit, or
 * has no .eh_frame/.debug_frame, is unwound with frame pointers in BPF
 * (native_stats NO_TABLE) and counted here, never an error. */
#ifndef PYBPF_UNWINDTABLES_H
#define PYBPF_UNWINDTABLES_H

#include <stddef.h>
#include <stdint.h>

struct unwind_tables;

struct unwind_tables_opts {
	size_t max_rows;         /* entries of unwind_rows (the map's max_entries) */
	size_t max_files;        /* entries of unwind_files */
	int rows_fd, files_fd;   /* the maps; -1 for bookkeeping only (tests) */
};

/* Why a file has no rows in BPF. */
enum unwind_tables_miss {
	UT_MISS_NONE = 0,
	UT_MISS_NO_TABLE,        /* no unwind section (or nothing usable in it) */
	UT_MISS_FULL,            /* no room in unwind_rows or unwind_files */
	UT_MISS_ERROR,           /* unreadable, not x86_64 ELF, a map update failed */
	UT_MISS_NR,
};

struct unwind_tables_stats {
	size_t files;            /* files with rows in BPF now */
	size_t rows, bytes;      /* their rows, and the bytes those take */
	size_t peak_rows;
	size_t capacity_rows;    /* max_rows */
	size_t free_rows;        /* reusable now (not counting rows waiting for quiesce) */
	size_t largest_free;     /* the biggest table that fits now */
	size_t pending_rows;     /* freed, reusable after unwind_tables_quiesce */
	size_t mappings;         /* references held (mappings using a table) */
	size_t loads, unloads;   /* tables written, and freed */
	size_t missing[UT_MISS_NR]; /* files without rows, by reason (distinct files) */
};

/* 0, -EINVAL (max_rows 0 or above 2^32), -ENOMEM. */
int unwind_tables_new(const struct unwind_tables_opts *o, struct unwind_tables **out);
void unwind_tables_free(struct unwind_tables *ut);

/* A mapping of the ELF file at path starts using its table: built and
 * written to BPF at the first reference to the file, shared after that.
 * 0 with *file_id (the key bpf/unwind.h uses: of the build id, else of
 * the file's identity) and *miss (why the file has no rows in BPF, or
 * UT_MISS_NONE); -errno only when the file cannot even be identified
 * (*file_id 0).  Every 0 return takes a reference: release it. */
int unwind_tables_acquire(struct unwind_tables *ut, const char *path, uint64_t *file_id,
			  enum unwind_tables_miss *miss);
/* Drop a reference; the last one removes the file from unwind_files and
 * its rows become reusable after the next unwind_tables_quiesce. */
void unwind_tables_release(struct unwind_tables *ut, uint64_t file_id);
/* Rows freed before this call may be overwritten from now on: call it when
 * no BPF program can still be reading them (after a synchronize_rcu, such
 * as the sampler's map-in-map swap at each drain).  Files still mapped
 * that were refused for lack of room are loaded now if they fit (read
 * again from the path of their last acquire), or at their next acquire. */
void unwind_tables_quiesce(struct unwind_tables *ut);

void unwind_tables_stats(const struct unwind_tables *ut, struct unwind_tables_stats *st);
/* The -v line: "native unwind tables: 77 files, 639090 rows, 4.9 MiB of
 * 32.0 MiB (peak 5.0 MiB); without rows: 1 no unwind section, 0 unwind
 * table full, 0 unreadable".  snprintf's return. */
int unwind_tables_format(const struct unwind_tables_stats *st, char *buf, size_t len);
/* "no unwind section", "unwind table full", "unreadable" */
const char *unwind_tables_miss_name(enum unwind_tables_miss m);

#endif /* PYBPF_UNWINDTABLES_H */
