/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* nativemaps.h - the executable mappings of profiled processes, for the
 * native unwinder: read from /proc/PID/maps (files opened through
 * /proc/PID/map_files, else /proc/PID/root, so other mount namespaces
 * work), each tied to its file's unwind table (user/native/unwindtables.c) and
 * pushed into the BPF trie native_maps (bpf/unwind.h) that
 * native_resolve() searches; refreshed when the maps change (dlopen,
 * munmap, JIT code).  The vdso gets a table built from the process's own
 * copy of it; anonymous executable memory is unwound with frame pointers.
 * The same records symbolize pcs in userspace (native_maps_find). */
#ifndef PYBPF_NATIVEMAPS_H
#define PYBPF_NATIVEMAPS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "unwind.h"

struct unwind_tables;
struct native_maps;

struct native_mapping {
	uint64_t start, end;         /* [start, end) */
	uint64_t pgoff;              /* file offset of start, in bytes */
	uint64_t dev, ino;
	uint64_t file_id;            /* its unwind table's key; 0: none */
	uint32_t kind;               /* enum native_map_kind */
	uint8_t miss;                /* enum unwind_tables_miss, when file_id is set */
	uint8_t held;                /* holds a reference on file_id */
	uint8_t unresolvable;        /* not (all) in native_maps: the trie was full */
	uint8_t kept;                /* private to native_maps_update */
	char *path;                  /* as the process sees it (" (deleted)" cut);
				      * "[vdso]"; "" anonymous; owned */
};

struct native_maps_opts {
	struct unwind_tables *tables; /* NULL: no tables (file ids still set) */
	int lpm_fd;                  /* native_maps; -1: userspace only (tests, dump) */
};

struct native_maps_stats {
	size_t processes;
	size_t mappings;             /* executable mappings known */
	size_t by_kind[3];           /* per enum native_map_kind */
	size_t with_table;           /* mappings whose file has rows in BPF */
	size_t no_table;             /* mappings of files without rows (see unwindtables) */
	size_t unreadable;           /* files that could not be opened or identified */
	size_t vdso_fp;              /* vdso mappings without a table: frame pointers */
	size_t entries;              /* trie entries (blocks) written */
	size_t entries_failed;       /* blocks the trie refused (full): pcs there unresolved */
	size_t refreshes, changes;   /* maps read, and found changed */
};

int native_maps_new(const struct native_maps_opts *o, struct native_maps **out);
/* Forgets every process (their trie entries and table references too). */
void native_maps_free(struct native_maps *nm);

/* Read pid's maps; if the executable mappings changed since the last
 * call, remove the ones that went and add the new ones.  *changed (may be
 * NULL) says whether anything did.  0, -ESRCH (gone) or -errno. */
int native_maps_update(struct native_maps *nm, pid_t pid, int *changed);
/* pid exited: drop its mappings. */
void native_maps_remove(struct native_maps *nm, pid_t pid);

/* The mapping of pid holding addr, or NULL; *off (may be NULL) gets its
 * file offset (the offset bpf/unwind.h and nativesyms use). */
const struct native_mapping *native_maps_find(const struct native_maps *nm, pid_t pid,
					      uint64_t addr, uint64_t *off);
/* A path that opens m's file from here: /proc/PID/map_files/S-E when that
 * works, else /proc/PID/root/PATH.  0 or -ENOENT (anonymous, vdso). */
int native_maps_open_path(pid_t pid, const struct native_mapping *m, char *buf, size_t len);

void native_maps_stats(const struct native_maps *nm, struct native_maps_stats *st);

/* ---- pieces, exposed for the tests ---- */

/* Parse one /proc/PID/maps line; 1 for an executable mapping (filled,
 * m->path allocated), 0 for another, -1 for garbage or ENOMEM. */
int native_maps_parse(const char *line, struct native_mapping *m);
/* Cut [start, end) into aligned power-of-two blocks: trie keys for pid
 * (at most max); how many it takes (can exceed max: then out is partial). */
size_t native_maps_blocks(pid_t pid, uint64_t start, uint64_t end, struct native_map_key *out,
			  size_t max);

#endif /* PYBPF_NATIVEMAPS_H */
