/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* gil.h - the ABI of the GIL tracer (bpf/gil.bpf.c, user/gil/gil*.c): per-thread
 * GIL statistics, long wait/hold events, and the tracer's own counters.
 *
 * Plain data with fixed-width fields, like bpf/pybpf.h, on which it builds
 * (frames are struct frame_rec, symbol ids come from the same code events).
 */
#ifndef PYBPF_GIL_H
#define PYBPF_GIL_H

#include "pybpf.h"

/* log2 histogram slots of durations in nanoseconds: slot k counts
 * [2^k, 2^(k+1)) ns, slot 0 also 0 ns, the last slot everything above. */
#define GIL_HIST_SLOTS 40

#define GIL_T_SEEDED   1u  /* held the GIL when tracing began (set by userspace) */

/* One thread's GIL history since tracing began, keyed by tid in the
 * `gil_threads` map.  Only the thread itself writes its entry (the probes
 * run in its context), so no atomics; userspace reads cumulative values
 * and takes differences per interval.
 *
 * A wait is the time blocked by the GIL before a take: inside take_gil,
 * plus the time the previous drop_gil spent waiting for another thread to
 * take the GIL over (forced switching).  A hold runs from leaving
 * take_gil to entering drop_gil, which releases the lock at its start.
 * Wait time not yet in wait_ns: handoff_ns, and the time since
 * take_start / drop_start; hold time not yet in hold_ns: since hold_start
 * (until exit_ns if the thread exited meanwhile). */
struct gil_thread {
	__u32 pid;
	__u32 flags;                 /* GIL_T_* */
	__u64 take_start;            /* entered take_gil at, 0 = not in it */
	__u64 hold_start;            /* left take_gil at, 0 = not holding */
	__u64 drop_start;            /* entered drop_gil at, 0 = not in it */
	__u64 handoff_ns;            /* drop_gil time to add to the next take's wait */
	__u64 takes;                 /* completed take_gil calls */
	__u64 wait_ns;               /* their waits */
	__u64 drops;                 /* drop_gil calls (holds ended) */
	__u64 hold_ns;               /* the holds they ended */
	__u64 exit_ns;               /* the thread exited at, 0 = alive: open times end there */
	char comm[16];               /* kernel name at the last drop */
	__u32 wait_hist[GIL_HIST_SLOTS];
	__u32 hold_hist[GIL_HIST_SLOTS];
};

enum gil_event_kind {
	GIL_EV_WAIT = 1,             /* a take_gil call longer than the wait threshold */
	GIL_EV_HOLD = 2,             /* a hold longer than the hold threshold */
};

#define GIL_EV_NO_TSTATE  2u     /* flag: no Python thread state found (no stack) */
#define GIL_EV_UNREADABLE 4u     /* flag: a thread state, but no stack to trust:
				  * unreadable, or an activation being entered
				  * (the sampler's walk leaves such samples out) */

/* A long wait (sent when take_gil returns) or hold (sent when drop_gil is
 * entered), with the thread's Python stack at that moment, innermost
 * frame first.  Shares the ring buffer with struct code_event, after the
 * code events its frames need; the two are told apart by size. */
struct gil_event {
	__u32 pid;
	__u32 tid;
	__u32 kind;                  /* enum gil_event_kind */
	__u32 flags;                 /* STACK_TRUNCATED, GIL_EV_NO_TSTATE, GIL_EV_UNREADABLE */
	__u64 end_ns;                /* bpf_ktime_get_ns() when it ended */
	__u64 duration_ns;
	__u32 depth;                 /* valid entries of frames[] */
	__u32 pad;
	char comm[16];
	struct frame_rec frames[PYBPF_MAX_DEPTH];
};

_Static_assert(sizeof(struct gil_event) != sizeof(struct code_event),
	       "gil_event and code_event share a ring buffer and are told apart by size");

/* Per-CPU counters of the GIL tracer, shown by -v. */
enum gil_stat {
	GIL_STAT_TAKES = 0,          /* take_gil returns counted */
	GIL_STAT_DROPS,              /* drop_gil entries counted */
	GIL_STAT_EVENTS,             /* long wait/hold events sent */
	GIL_STAT_TAKE_UNMATCHED,     /* take_gil returned without a seen entry */
	GIL_STAT_DROP_UNMATCHED,     /* drop_gil without a seen take: hold unknown */
	GIL_STAT_LOST_THREADS,       /* gil_threads map full: thread not counted */
	GIL_STAT_LOST_EVENTS,        /* ring buffer full: long wait/hold not reported */
	GIL_STAT_NO_TSTATE,          /* long wait/hold of a thread without thread state */
	GIL_STAT_UNREADABLE,         /* long wait/hold whose stack was not to be trusted */
	GIL_STAT_NR,
};

#endif /* PYBPF_GIL_H */
