/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* nativesample.h - the userspace half of `record --native`/`top --native`
 * below the skeleton (sampler.c hands it the maps' fds): the processes'
 * mappings (user/native/nativemaps.c) and the unwind tables (user/native/unwindtables.c)
 * the BPF unwinder reads, and the native_stacks map (bpf/pybpf.h struct
 * native_stack) read back once per native hash, cached like the Python
 * stacks, and deleted from BPF. */
#ifndef PYBPF_NATIVESAMPLE_H
#define PYBPF_NATIVESAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "pybpf.h"

struct native_sampler;
struct native_maps;

struct native_sampler_opts {
	int rows_fd, files_fd;   /* unwind_rows, unwind_files */
	int lpm_fd;              /* native_maps */
	int stacks_fd;           /* native_stacks */
	int stats_fd;            /* native_stats (per CPU) */
	size_t max_rows, max_files;
};

int native_sampler_new(const struct native_sampler_opts *o, struct native_sampler **out);
void native_sampler_free(struct native_sampler *ns);

/* pid's mappings into the trie, its files' tables into the row array
 * (at attach and at every drain: only a change costs more than the read
 * of /proc/PID/maps).  0 or -errno. */
int native_sampler_update(struct native_sampler *ns, pid_t pid);
void native_sampler_remove(struct native_sampler *ns, pid_t pid);
/* After a counts-map swap: no program still reads rows freed before. */
void native_sampler_quiesce(struct native_sampler *ns);

/* The native side counted under hash (read from BPF once, then cached;
 * marked used by drain), or NULL when unreadable. */
const struct native_stack *native_sampler_get(struct native_sampler *ns, uint64_t hash,
					      uint64_t drain);
/* Drop cached native sides not used by drain (see sampler_forget_stacks). */
void native_sampler_forget(struct native_sampler *ns, uint64_t drain);

/* --idle's threads already blocked at start (user/sampling/idleseed.c):
 * the native side of pid's thread tid read from userspace (nativeseed.h),
 * its activation bits entry, stored in native_stacks as the sched_switch
 * program stores a block's; *hash its key.  0, or -errno (the seed is
 * then Python only; counted either way).  seed_begin reads pid's
 * mappings first; when it fails, each of pid's seeds fails (counted). */
int native_sampler_seed_begin(struct native_sampler *ns, pid_t pid);
int native_sampler_seed(struct native_sampler *ns, pid_t pid, pid_t tid,
			const __u64 entry[PYBPF_ENTRY_WORDS], uint64_t *hash);

/* native_stats summed over CPUs (enum native_stat), then userspace's own
 * counts. */
enum {
	NATIVE_SAMPLER_UNREADABLE = NATIVE_STAT_NR, /* native sides not readable */
	NATIVE_SAMPLER_SEEDS,           /* blocked at start: native side read */
	NATIVE_SAMPLER_SEEDS_PARTIAL,   /* of those, the walk ended early */
	NATIVE_SAMPLER_SEEDS_FAILED,    /* blocked at start: Python only */
	NATIVE_SAMPLER_NSTATS
};
void native_sampler_stats(struct native_sampler *ns, uint64_t out[NATIVE_SAMPLER_NSTATS]);
const char *native_sampler_stat_name(int stat);
/* The -v line of the unwind tables' size (unwind_tables_format). */
int native_sampler_tables(struct native_sampler *ns, char *buf, size_t len);

/* For symbolization: the mappings known now (exited processes kept
 * until native_sampler_remove). */
const struct native_maps *native_sampler_maps(const struct native_sampler *ns);

#endif /* PYBPF_NATIVESAMPLE_H */
