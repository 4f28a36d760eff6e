/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* gil.bpf.h - GIL wait and hold times from probes on entry and return of
 * take_gil and drop_gil: the per-thread state machine, kept apart
 * from any one program so that every tool attaching those probes
 * (`pybpf gil`, a flame graph of GIL waits) measures the same way.
 *
 * hold = take_gil return -> drop_gil entry (drop_gil releases the lock at
 *        its start)
 * wait = take_gil entry -> take_gil return, plus the previous drop_gil's
 *        own duration: after a forced switch request, drop_gil waits
 *        until another thread has taken the GIL; that thread is then
 *        neither holding nor running, it is blocked by the GIL too
 *
 * The same probes on PyEval_RestoreThread / PyEval_SaveThread (the
 * fallback for stripped interpreters) measure the same state machine on
 * the GIL releases around blocking calls only.
 */
#ifndef PYBPF_GIL_BPF_H
#define PYBPF_GIL_BPF_H

#include "gil.h"

/* tid -> struct gil_thread; userspace prunes threads that exited */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct gil_thread);
} gil_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GIL_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} gil_stats SEC(".maps");

static const struct gil_thread gil_thread_zero;

static __always_inline void gil_stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&gil_stats, &which);

	if (v)
		*v += 1;  /* per-CPU slot */
}

/* floor(log2(v)), 0 for 0 and 1, capped to the last histogram slot */
static __always_inline __u32 gil_slot(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xffffffffull) << 5; v >>= s; r |= s;
	s = (v > 0xffff) << 4; v >>= s; r |= s;
	s = (v > 0xff) << 3; v >>= s; r |= s;
	s = (v > 0xf) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	r |= (v >> 1);
	return r < GIL_HIST_SLOTS ? r : GIL_HIST_SLOTS - 1;
}

/* The calling thread's entry, created on first sight if create is set.
 * A tid left behind by a thread of another process is started afresh. */
static __always_inline struct gil_thread *gil_thread_get(__u32 pid, __u32 tid, int create)
{
	struct gil_thread *t = bpf_map_lookup_elem(&gil_threads, &tid);

	if (t && t->pid == pid)
		return t;
	if (!create)
		return NULL;
	if (bpf_map_update_elem(&gil_threads, &tid, &gil_thread_zero, t ? BPF_EXIST : BPF_NOEXIST) &&
	    !t) {
		gil_stat_inc(GIL_STAT_LOST_THREADS);
		return NULL;
	}
	t = bpf_map_lookup_elem(&gil_threads, &tid);
	if (t)
		t->pid = pid;
	return t;
}

/* take_gil entered */
static __always_inline void gil_take_begin(struct gil_thread *t, __u64 now)
{
	t->take_start = now;
}

/* take_gil returned: the thread holds the GIL from now.  Returns 1 and
 * the wait if its start was seen, else 0. */
static __always_inline int gil_take_end(struct gil_thread *t, __u64 now, __u64 *wait)
{
	__u64 start = t->take_start, handoff = t->handoff_ns;

	t->hold_start = now;
	t->take_start = 0;
	t->handoff_ns = 0;
	if (!start || start > now) {
		gil_stat_inc(GIL_STAT_TAKE_UNMATCHED);
		return 0;
	}
	*wait = now - start + handoff;
	t->takes++;
	t->wait_ns += *wait;
	t->wait_hist[gil_slot(*wait)]++;
	gil_stat_inc(GIL_STAT_TAKES);
	return 1;
}

/* drop_gil entered: the hold ends.  Returns 1 and the hold if its start
 * is known (a take seen, or the holder when tracing began, which userspace
 * seeds), else 0: a thread blocked in take_gil while the probes were
 * attached takes the GIL unseen. */
static __always_inline int gil_drop_begin(struct gil_thread *t, __u64 now, __u64 *hold)
{
	__u64 start = t->hold_start;

	t->drop_start = now;
	t->hold_start = 0;
	t->drops++;
	gil_stat_inc(GIL_STAT_DROPS);
	if (!start || start > now) {
		gil_stat_inc(GIL_STAT_DROP_UNMATCHED);
		return 0;
	}
	*hold = now - start;
	t->hold_ns += *hold;
	t->hold_hist[gil_slot(*hold)]++;
	return 1;
}

/* drop_gil returned: its duration (the handoff) counts as wait */
static __always_inline void gil_drop_end(struct gil_thread *t, __u64 now)
{
	if (t->drop_start && t->drop_start <= now)
		t->handoff_ns += now - t->drop_start;
	t->drop_start = 0;
}

/* The thread exits: a wait or hold still open ends here. */
static __always_inline void gil_thread_exit(struct gil_thread *t, __u64 now)
{
	t->exit_ns = now;
}

#endif /* PYBPF_GIL_BPF_H */
