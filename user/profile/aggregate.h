/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* aggregate.h - the userspace side of the counts: drained stacks summed
 * per (process, thread, stack), plus thread names; record, top and the
 * profile builder all read this one structure. */
#ifndef PYBPF_AGGREGATE_H
#define PYBPF_AGGREGATE_H

#include <stdint.h>
#include "bigmem.h"
#include "htab.h"
#include "pybpf.h"
#include "nativeprof.h"
#include "profile.h"
#include "symbols.h"

struct agg_key {
	uint32_t pid, tid;
	uint64_t hash;           /* stack hash from the BPF side */
	uint32_t flags;          /* COUNT_* */
	uint32_t pad;
	uint64_t native_hash;    /* --native: its native side's hash, 0 = none */
};

struct agg_val {
	uint64_t count;                   /* samples (off-CPU time in sample periods) */
	uint64_t idle_ns;                 /* off-CPU time not yet a whole period */
	const struct frame_rec *frames;   /* innermost first, owned by the sampler */
	uint32_t depth;
	uint32_t stack_flags;             /* STACK_* */
	const struct nprof_stack *native; /* --native: native and kernel frames, or NULL */
};

struct agg_thread {
	uint32_t pid;
	char name[32];
};

struct agg_process {
	char label[160];         /* "process PID: cmdline" */
	char comm[32];
	char cgroup[128];
	uint32_t nspid;
};

/* One sample or off-CPU interval in time order (-f chrometrace, speedscope). */
struct agg_sample {
	uint64_t time_ns;        /* the kernel's monotonic clock */
	uint64_t dur_ns;         /* 0 for an on-CPU sample */
	struct agg_key key;
};

/* Rows are kept in blocks of a huge page (bigmem.h), in the order they
 * were first counted, and never move: a drain keeps a key's row from one
 * count to the next. */
struct agg_row {
	struct agg_key key;
	struct agg_val val;
};
#define AGG_BLOCK_ROWS (BIGMEM_HUGE / sizeof(struct agg_row))

struct aggregate {
	struct htab stacks;      /* agg_key -> uint32_t row number */
	struct agg_row **blocks; /* row n: blocks[n / AGG_BLOCK_ROWS][n % ...] */
	size_t nrows, nblocks;
	uint32_t gen;            /* new (unique among aggregates) at each
				  * agg_clear: rows handed out before are gone */
	struct agg_sample *timeline; /* in arrival order; NULL unless asked for */
	size_t ntimeline, captimeline;
	struct htab threads;     /* uint32_t tid -> agg_thread */
	struct htab processes;   /* uint32_t pid -> agg_process */
	uint64_t total;
};

/* A drained key's stack: its frames (owned by the sampler), its STACK_*
 * flags and, with --native, its native side (owned by the session's
 * nprof, NULL = none). */
struct agg_stack {
	const struct frame_rec *frames;
	uint32_t depth;
	uint32_t flags;
	const struct nprof_stack *native;
};

void agg_init(struct aggregate *a);
void agg_free(struct aggregate *a);
void agg_clear(struct aggregate *a);
/* Count into k's row; the row, or NULL (ENOMEM). */
struct agg_val *agg_add(struct aggregate *a, const struct agg_key *k, uint64_t count,
			const struct agg_stack *st);
/* agg_add(a, k, ...) soon (htab_prefetch). */
void agg_prefetch(const struct aggregate *a, const struct agg_key *k);
/* Off-CPU nanoseconds, counted as the samples rate_hz would have taken. */
struct agg_val *agg_add_ns(struct aggregate *a, const struct agg_key *k, uint64_t ns,
			   uint32_t rate_hz, const struct agg_stack *st);
/* A row agg_add or agg_add_ns returned is a's while agg_rows_gen(a) is
 * what it was then: a drain keeps it for the key's next count instead
 * of a look-up. */
static inline uint32_t agg_rows_gen(const struct aggregate *a)
{
	return a->gen;
}
/* Count into such a row (agg_add / agg_add_ns without the look-up). */
void agg_row_add(struct aggregate *a, struct agg_val *v, uint64_t count);
void agg_row_add_ns(struct aggregate *a, struct agg_val *v, uint64_t ns, uint32_t rate_hz);
/* Iterate the rows in the order first counted: start with *pos = 0;
 * returns 0 at the end. */
int agg_next(const struct aggregate *a, size_t *pos, const struct agg_key **k,
	     struct agg_val **v);
/* Append to the timeline; -ENOMEM keeps what it has. */
int agg_timeline_add(struct aggregate *a, const struct agg_key *k, uint64_t time_ns,
		     uint64_t dur_ns);
/* Remember a thread's name (first one wins unless replace). */
void agg_thread(struct aggregate *a, uint32_t pid, uint32_t tid, const char *name, int replace);
const char *agg_thread_name(const struct aggregate *a, uint32_t tid);
/* Remember a process's root frame label: "process PID: cmdline", with
 * its pid inside a container when that differs ("process PID [ns N]: ..."). */
void agg_process(struct aggregate *a, uint32_t pid, uint32_t nspid, const char *cmdline,
		 const char *comm, const char *cgroup);

struct profile_opts {
	int no_lineno;           /* --nolineno: no line at all */
	int by_function;         /* -F: line of the function's first line */
	int full_filenames;
	int thread_roots;        /* -t: a root frame per thread */
	int process_roots;       /* -s: a root frame per process */
	uint32_t only_pid;       /* non-zero: only this process's stacks */
};

/* Resolve an aggregate into a profile (frames root first).  The profile
 * points into syms and a; free it with profile_free before either. */
int profile_build(const struct aggregate *a, const struct symbols *syms,
		  const struct profile_opts *o, struct profile *p);
void profile_free(struct profile *p);

#endif /* PYBPF_AGGREGATE_H */
