/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* sampler.h - the BPF side as plain C: load and attach the sampler,
 * push process records, receive code objects, drain counted stacks.
 * sampler.c is the only file that sees the skeleton. */
#ifndef PYBPF_SAMPLER_H
#define PYBPF_SAMPLER_H

#include <stdint.h>
#include <sys/types.h>
#include "pybpf.h"

struct sampler;
struct native_sampler;

/* A sample or off-CPU interval in time order (the timeline ring). */
typedef void (*sampler_timeline_fn)(void *ctx, const struct timeline_rec *r);

struct sampler_opts {
	uint32_t rate_hz;        /* samples per second per CPU */
	uint32_t max_procs;      /* procs map size */
	uint32_t max_stacks;     /* stack chunks map size */
	uint32_t max_counts;     /* counts map size */
	uint32_t max_codes;      /* code objects map size */
	int idle;                /* --idle: also count off-CPU time (sched_switch) */
	int gil_wait;            /* --gil-wait: load the take_gil/drop_gil probes */
	int native;              /* --native: native and kernel frames (nativesample.h) */
	sampler_timeline_fn timeline_fn; /* non-NULL: samples in time order, to it
					  * (with the code events' ctx) */
};

/* A code object seen for the first time (ring buffer record). */
typedef void (*sampler_code_fn)(void *ctx, const struct code_event *ev);
/* What a drain's callbacks keep of a key from one drain to the next, in
 * the key's count slot: zeroed before the stack fn has the key, and
 * given to the memo fn only while the slot names the same key (its set
 * not retired since) and the key's stack is still kept (no forget
 * since).  The sampler prefetches what p[] points at, a few keys ahead. */
struct sampler_memo {
	void *p[2];
	uint32_t gen[2];
	uint32_t kind;       /* the callbacks': 0, nothing kept */
	uint32_t valid;      /* the sampler's: the slot set's memo gen it was made in */
};

/* One drained (pid, tid, stack) with its count; frames innermost first,
 * valid for the life of the sampler; nat: its native side (--native), or
 * NULL; valid as long as frames; memo: the key's (above). */
typedef void (*sampler_stack_fn)(void *ctx, const struct count_key *key, uint64_t count,
				 const struct frame_rec *frames, uint32_t depth, uint32_t flags,
				 const struct native_stack *nat, struct sampler_memo *memo);
/* The stack fn gets for key a few keys later: it may start that memory
 * on its way (htab_prefetch); a drain of many keys is mostly misses. */
typedef void (*sampler_prefetch_fn)(void *ctx, const struct count_key *key);
/* A count of a key the stack fn had before, with only its memo: 1 if it
 * was counted from the memo alone, 0 if not (the memo stale or empty;
 * the stack fn then gets it whole). */
typedef int (*sampler_memo_fn)(void *ctx, struct sampler_memo *memo, uint64_t count);

struct sampler_drain_fns {
	sampler_stack_fn stack;
	sampler_prefetch_fn prefetch; /* or NULL */
	sampler_memo_fn memo;         /* or NULL: every count to stack */
	void *ctx;
};

int sampler_open(const struct sampler_opts *opts, sampler_code_fn code_fn, void *ctx,
		 struct sampler **out);
void sampler_close(struct sampler *s);

int sampler_add_proc(struct sampler *s, pid_t pid, const struct proc_info *info);
int sampler_remove_proc(struct sampler *s, pid_t pid);
/* Is pid still in the procs map?  (The BPF side drops it on exec.) */
int sampler_has_proc(struct sampler *s, pid_t pid);

/* --gil-wait: probe take_gil and drop_gil (file offsets of every copy)
 * in path for pid.  0 or -errno (printed). */
int sampler_attach_gil(struct sampler *s, pid_t pid, const char *path,
		       const uint64_t *take, size_t ntake, const uint64_t *drop, size_t ndrop);

/* Where the interpreter keeps no count of its code objects (before
 * 3.12): count pid's code objects freed with a uprobe at off in path
 * (PyCode_Type's tp_dealloc), the counter proc_info.code_free_probe
 * says to use, from epoch on; attach before pushing that record.  0 or
 * -errno (told with -v: the walk then reads more, nothing is lost);
 * -ENOSPC past CODE_FREE_PROBES_MAX processes (sampler.c). */
int sampler_attach_code_free(struct sampler *s, pid_t pid, const char *path, uint64_t off,
			     uint64_t epoch);
/* Detach the code-free probe of every process that frees code objects
 * faster than it pays to count them (sampler.c CODE_FREES_MAX); now_ns
 * a monotonic clock.  Call often (every poll): the rate is taken over
 * a quarter of a second at least. */
void sampler_check_code_frees(struct sampler *s, uint64_t now_ns);

/* Deliver pending code events; waits up to timeout_ms for the first. */
int sampler_poll(struct sampler *s, int timeout_ms);
/* Detach from every event: no program starts after it returns (one still
 * running is waited for by the next drain's map swap). */
void sampler_stop(struct sampler *s);
/* Hand every count since the last drain to f: to f->memo first where
 * there is one, else with its key and stack to f->stack. */
int sampler_drain(struct sampler *s, const struct sampler_drain_fns *f);
/* Should the caller drain now, before its interval is up?  Yes when new
 * stacks or keys came so fast that the BPF sets are filling (stack sets
 * three quarters full, the count slot set half taken): waiting would
 * lose samples. */
int sampler_drain_due(const struct sampler *s);
/* The slowest drain so far and the last one that had keys: how many keys
 * each read, in how many ns, and where they went. */
struct sampler_drain_cost {
	uint64_t keys, ns;
	uint64_t cpu_ns;     /* of ns, the drain's own CPU time (the rest: waiting) */
	uint64_t swap_ns;    /* waiting for running programs; a rotation (countslots.h) */
	uint64_t maps_ns;    /* taking the counts from their slots */
	uint64_t stacks_ns;  /* the stack cache: reading stacks back, deleting them */
	uint64_t fn_ns;      /* the callbacks: the profile's work */
	uint64_t memo_keys;  /* of keys, counted from their memos alone */
	uint64_t memo_ns;    /* of fn_ns, those */
};
void sampler_drain_cost(const struct sampler *s, struct sampler_drain_cost *slowest,
			struct sampler_drain_cost *last);
/* How many times the counts' slot sets were rotated (countslots.h). */
uint64_t sampler_count_rotations(const struct sampler *s);
/* What the stack cache received (stackcache.h). */
const struct stack_cache_stats *sampler_stack_stats(const struct sampler *s);
/* The BPF side's counters (enum pybpf_stat), then two that userspace adds. */
enum {
	SAMPLER_LOST_USER = STAT_NR,    /* counts whose stack could not be read back */
	SAMPLER_RECURSION_MISSES,       /* the kernel skipped a program: it would have nested */
	SAMPLER_NSTATS,
};

/* The summary's two sums: reads that failed, samples that were lost. */
/* Is the counter one of a failure (shown even without -v when not 0),
 * not of work done? */
int sampler_stat_is_failure(int stat);
uint64_t sampler_errors(const uint64_t st[SAMPLER_NSTATS]);
uint64_t sampler_lost(const uint64_t st[SAMPLER_NSTATS]);

/* Sum of the per-CPU counters, and the userspace ones. */
void sampler_stats(struct sampler *s, uint64_t out[SAMPLER_NSTATS]);
/* What the sampler knows of a thread: its PyThreadState and kernel name
 * at first sight; 0 or -ENOENT. */
int sampler_thread(struct sampler *s, uint32_t tid, struct thread_entry *te);

/* Drop the stacks read so far but not used by the last drain (a rotation,
 * once nothing points at them): a stack seen again is stored again by the
 * BPF side with its first count in the (emptied) counts map, so nothing is
 * lost and memory stays flat. */
void sampler_forget_stacks(struct sampler *s);
/* A new symbol id, from the counter the BPF side draws from. */
uint32_t sampler_new_symbol_id(struct sampler *s);
/* --idle: tid of pid is blocked in this stack (innermost first) since
 * before sampling began; charge it from now on as if the scheduler
 * program had seen it block; its thread state is remembered as the BPF
 * lookup would (names); native_hash (--native) is its native side in
 * native_stacks (native_sampler_seed), 0 for none.  Nothing if the
 * program has seen the thread already.  0 or -errno. */
int sampler_idle_seed(struct sampler *s, pid_t pid, pid_t tid, uint64_t tstate,
		      const struct frame_rec *frames, uint32_t depth, uint32_t flags,
		      uint64_t native_hash);

/* --native: the mappings, tables and native stacks (NULL without). */
struct native_sampler *sampler_native(struct sampler *s);
/* --native: (re)read pid's mappings; 0 (also without --native) or -errno. */
int sampler_native_update(struct sampler *s, pid_t pid);

/* Names for enum pybpf_stat, for -v and summaries. */
const char *sampler_stat_name(int stat);

#endif /* PYBPF_SAMPLER_H */
