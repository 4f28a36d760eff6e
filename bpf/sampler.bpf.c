// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* sampler.bpf.c - the perf_event sampler: on every cpu-clock tick in a
 * profiled process, walk the current thread's Python stack and count it
 * in the kernel (no per-sample event reaches userspace).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "pybpf.h"
#include "maps.bpf.h"
#include "python.bpf.h"
#include "stackstore.bpf.h"
#include "counts.bpf.h"
#include "gil.bpf.h"
#include "timeline.bpf.h"
#include "native_sample.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* --native: every stack also gets its native side (native_sample.bpf.h);
 * off, no program does any of it and Python-only stacks keep their keys. */
const volatile __u32 native_mode = 0;

/* How this process's walk marks activations (python.bpf.h). */
static __always_inline __u32 entries_of(const struct proc_info *proc)
{
	if (!native_mode || proc->version < 0x030b)
		return WALK_ENTRIES_NONE;
	return proc->off.frame_is_entry >= 0 ? WALK_ENTRIES_IS_ENTRY : WALK_ENTRIES_SHIM;
}

/* Walk tstate's Python stack into w (scratch held); 0 if there is one. */
static __always_inline int walk_thread(struct walk_ctx *w, struct proc_info *proc, __u32 pid,
				       __u64 tstate)
{
	if (walk_frames(w, proc, pid, tstate))
		return -1;
	if (!w->depth) {
		stat_inc(STAT_EMPTY);
		return -1;
	}
	if (w->flags & STACK_TRUNCATED)
		stat_inc(STAT_TRUNCATED);
	w->hash = stack_hash_end(w->hash, w->depth, w->flags);
	return 0;
}

/* Walk the current thread's Python stack into w; 0 if there is one.  The
 * caller ends with walk_end(w) whatever this returns. */
static __always_inline int walk_current(struct walk_ctx *w, struct proc_info *proc,
					__u32 pid, __u32 tid)
{
	__u64 tstate;

	if (walk_begin(w))
		return -1;
	if (thread_exiting()) {
		stat_inc(STAT_EXITING);
		return -1;
	}
	w->entries = entries_of(proc);
	w->defer = 1; /* every caller counts the stack */
	tstate = find_tstate_w(w, proc, tid);
	if (!tstate) {
		stat_inc(STAT_NO_TSTATE);
		return -1;
	}
	return walk_thread(w, proc, pid, tstate);
}


/* ---- --idle: off-CPU time from the scheduler ------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* exited threads age out */
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct offcpu_entry);
} offcpu SEC(".maps");

/* What a blocking thread's stack is, for a few reads: its innermost frame
 * and that frame's caller, each with its instruction.  Equal signatures at
 * two blocks mean the same stack (the frames, their code and the calls
 * they are in are the same), so the walk of the first serves the second;
 * anything else walks again.  0 if unreadable (always walk). */
static __always_inline __u64 block_signature(struct walk_ctx *w, struct proc_info *proc,
					     __u64 tstate)
{
	const struct py_offsets *o = &proc->off;
	__u32 n = proc->frame_read < PYBPF_FRAME_READ ? proc->frame_read : PYBPF_FRAME_READ;
	__u64 frame, back, sig;

	if (first_frame(proc, tstate, &frame) || !frame ||
	    uread(w->s->frame_buf, n, (void *)frame))
		return 0;
	back = pyframe_back(o, w->s->frame_buf);
	sig = mix64(mix64(frame, buf_u64(w->s->frame_buf, o->frame_lasti, FRAME_MASK)), back);
	if (back && !uread(w->s->frame_buf, n, (void *)back))
		sig = mix64(sig, buf_u64(w->s->frame_buf, o->frame_lasti, FRAME_MASK));
	return sig | 1;
}

/* prev blocks: remember when, and the stack it blocks in -- walked now
 * unless it is the very stack of its last block (prev is current). */
static __always_inline void switch_out(void *ctx, __u32 tid, __u64 now)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), tstate, sig;
	__u32 pid = pid_tgid >> 32;
	struct offcpu_entry *e, fresh = {};
	struct proc_info *proc;
	struct walk_ctx w = {};

	proc = bpf_map_lookup_elem(&procs, &pid);
	if (!proc || thread_exiting()) /* its last switch: it never runs again */
		return;
	e = bpf_map_lookup_elem(&offcpu, &tid);
	if (!e) {
		fresh.pid = pid;
		bpf_map_update_elem(&offcpu, &tid, &fresh, BPF_ANY);
		e = bpf_map_lookup_elem(&offcpu, &tid);
		if (!e)
			return;
	}
	e->start_ns = now;
	if (walk_begin(&w))
		return; /* nested: keep the previous stack rather than none */
	w.entries = entries_of(proc);
	w.defer = 1;
	tstate = find_tstate(proc, tid);
	sig = tstate ? block_signature(&w, proc, tstate) : 0;
	/* --native: the kernel's path into the block differs from block to
	 * block (sleep, lock, I/O) where the Python signature may not */
	if (native_mode || !sig || sig != e->sig || !e->stack_hash) {
		e->stack_hash = 0;
		e->sig = sig;
		if (tstate && walk_thread(&w, proc, pid, tstate) == 0) {
			if (native_mode) {
				w.pid = pid;
				native_capture(ctx, NULL, &w);
			}
			/* zero-weight count: stores the frames with the key */
			count_stack(&w, tid, COUNT_IDLE, 0);
			e->stack_hash = w.hash;
			e->native_hash = w.native_hash;
		}
	}
	walk_end(&w);
}

/* next runs again: charge its off-CPU time to the stack it blocked in. */
static __always_inline void switch_in(__u32 tid, __u64 now)
{
	struct offcpu_entry *e = bpf_map_lookup_elem(&offcpu, &tid);
	struct walk_ctx w = {};

	__u64 start;

	if (!e || !e->start_ns)
		return;
	/* an exchange: a precharge of the same interval either ran before
	 * (start moved up to its time) or finds 0 and charges nothing */
	start = __sync_lock_test_and_set(&e->start_ns, 0);
	if (start && start < now && e->stack_hash) {
		w.pid = e->pid;
		w.hash = e->stack_hash;
		w.native_hash = e->native_hash;
		if (!count_stack(&w, tid, COUNT_IDLE, now - start))
			timeline_add(w.pid, tid, w.hash, w.native_hash, COUNT_IDLE, now - start, now);
	}
}

/* Kernels before 5.14 call the task state `state` (a long). */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

/* Is prev leaving the CPU to wait (sleep, I/O, a lock), not runnable? */
static __always_inline int blocking(struct task_struct *prev)
{
	if (bpf_core_field_exists(prev->__state))
		return BPF_CORE_READ(prev, __state) != 0; /* TASK_RUNNING */
	return BPF_CORE_READ((struct task_struct___pre514 *)prev, state) != 0;
}

/* A raw tracepoint needs no tracefs: args are (bool preempt,
 * struct task_struct *prev, struct task_struct *next, ...). */
SEC("raw_tp/sched_switch")
int pybpf_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	__u64 now = bpf_ktime_get_ns();

	/* only blocking counts as idle: a thread preempted -- in an interrupt
	 * (preempt set) or on its way back from a syscall (preempt clear,
	 * state still TASK_RUNNING) -- still wants the CPU */
	if (!ctx->args[0] && blocking(prev))
		switch_out(ctx, BPF_CORE_READ(prev, pid), now);
	switch_in(BPF_CORE_READ(next, pid), now);
	return 0;
}

/* Idle mode: a thread blocked since before the last precharge has its
 * open interval charged so far, so a thread that never wakes (a lock held
 * for the whole recording, a long sleep) is in every drain, not only when
 * it runs again.  Any CPU's sample does it, at most every precharge_ns. */
const volatile __u32 idle_mode = 0;
const volatile __u64 precharge_ns = 100000000;
__u64 last_precharge_ns = 0;

struct precharge_ctx {
	__u64 now;
};

static long precharge_one(void *map, __u32 *tid, struct offcpu_entry *e, struct precharge_ctx *c)
{
	struct walk_ctx w = {};
	__u64 start = e->start_ns;

	/* claim [start, now) unless switch_in (an xchg) takes the interval first */
	if (!start || !e->stack_hash || start >= c->now ||
	    __sync_val_compare_and_swap(&e->start_ns, start, c->now) != start)
		return 0;
	w.pid = e->pid;
	w.hash = e->stack_hash;
	w.native_hash = e->native_hash;
	if (!count_stack(&w, *tid, COUNT_IDLE, c->now - start))
		timeline_add(w.pid, *tid, w.hash, w.native_hash, COUNT_IDLE, c->now - start,
			     c->now);
	return 0;
}

static __always_inline void idle_precharge(void)
{
	struct precharge_ctx c = { .now = bpf_ktime_get_ns() };
	__u64 last = last_precharge_ns;

	if (c.now - last < precharge_ns ||
	    __sync_val_compare_and_swap(&last_precharge_ns, last, c.now) != last)
		return;
	bpf_for_each_map_elem(&offcpu, precharge_one, &c, 0);
}

/* --native: the sample's native side into w->native_hash.  The user
 * registers are the sample's if it hit user mode (a user-space pc; cs is a
 * 2-byte field the context cannot be read at), else those saved at entry. */
static __always_inline void sample_native(struct bpf_perf_event_data *ctx, struct walk_ctx *w)
{
	struct native_regs ur = {
		.pc = ctx->regs.ip, .sp = ctx->regs.sp, .bp = ctx->regs.bp,
	};

	native_capture(ctx, ur.pc < 0x800000000000ull ? &ur : NULL, w);
}

SEC("perf_event")
int pybpf_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct walk_ctx w = {};
	struct proc_info *proc;

	if (idle_mode)
		idle_precharge();
	proc = bpf_map_lookup_elem(&procs, &pid);
	if (!proc)
		return 0;
	stat_inc(STAT_SAMPLES);
	if (!walk_current(&w, proc, pid, tid)) {
		__u32 flags = proc->want_gil && holds_gil(proc, w.tstate) ? COUNT_GIL : 0;

		if (native_mode)
			sample_native(ctx, &w);
		if (!count_stack(&w, tid, flags, 1)) {
			stat_inc(STAT_STACKS);
			timeline_add(pid, tid, w.hash, w.native_hash, flags, 1, 0);
		}
	} else if (native_mode && w.s && !w.depth && !w.s->stale) {
		/* --native: a thread without Python frames (a C thread, a thread
		 * state with no frame yet, or one unreadable) counts with its
		 * native stack alone, under Python stack hash 0; not a sample
		 * left out entering the eval loop (walk_from_caller) */
		w.pid = pid;
		w.hash = 0;
		w.flags = 0;
		w.entries = WALK_ENTRIES_NONE;
		sample_native(ctx, &w);
		if (w.native_hash && !count_stack(&w, tid, 0, 1)) {
			stat_inc(STAT_STACKS);
			timeline_add(pid, tid, 0, w.native_hash, 0, 1, 0);
		}
	}
	walk_end(&w);
	return 0;
}
/* ---- exec: a profiled process that execs is no longer the same program;
 * drop its record at once so no sample reads the new image with the old
 * offsets (userspace re-inspects it if it is followed). */
SEC("raw_tp/sched_process_exec")
int pybpf_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&procs, &pid);
	return 0;
}

/* ---- code objects freed, where CPython keeps no count of its own
 * (before 3.12): a uprobe on PyCode_Type's tp_dealloc (code_dealloc)
 * bumps the process's count as a code object starts to be freed, before
 * its memory can be reused, so a walk that reads the same count as the
 * one that cached a code object's name may trust the cache with no read
 * of the target (walk_gen_tag).  Userspace attaches it before it pushes
 * the record that says to trust it. */
SEC("uprobe")
int pybpf_code_free(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct proc_info *proc = bpf_map_lookup_elem(&procs, &pid);

	if (proc)
		__sync_fetch_and_add(&proc->code_frees, 1);
	return 0;
}

/* ---- --gil-wait: stacks weighted by the time spent waiting for the GIL.
 * Probes on take_gil/drop_gil (entry and return) drive the same state
 * machine as `pybpf gil` (gil.bpf.h); at take_gil's return the thread's
 * Python stack gets the wait.  With --native the stacks are taken where
 * the wait starts, at take_gil's entry, as switch_out takes a block's:
 * the native side is the path into take_gil (the kernel part is empty:
 * a uprobe stops the thread in user mode). */

struct gil_wait_stack {
	__u64 stack_hash;
	__u64 native_hash;
};

/* --gil-wait --native: tid -> the stacks of the wait it is in (deleted
 * when the wait ends) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct gil_wait_stack);
} gil_wait_stacks SEC(".maps");

/* take_gil entered: the thread's Python and native stacks, stored with a
 * zero-weight count (as switch_out's), for take_gil's return to count. */
static __always_inline void gil_wait_capture(struct pt_regs *ctx, __u32 pid, __u32 tid)
{
	struct native_regs ur = {
		.pc = PT_REGS_IP(ctx), .sp = PT_REGS_SP(ctx), .bp = PT_REGS_FP(ctx),
	};
	struct gil_wait_stack ws = {};
	struct walk_ctx w = {};
	struct proc_info *proc = bpf_map_lookup_elem(&procs, &pid);

	if (proc && walk_current(&w, proc, pid, tid) == 0) {
		native_capture(ctx, &ur, &w);
		count_stack(&w, tid, COUNT_GILWAIT, 0);
		ws.stack_hash = w.hash;
		ws.native_hash = w.native_hash;
	}
	walk_end(&w);
	if (bpf_map_update_elem(&gil_wait_stacks, &tid, &ws, BPF_ANY))
		native_stat_inc(NATIVE_STAT_LOST); /* the wait is counted Python only */
}

/* take_gil returns: the stacks its entry took into w (0), or -1: none,
 * walk now */
static __always_inline int gil_wait_stacks_of(struct walk_ctx *w, __u32 pid, __u32 tid)
{
	struct gil_wait_stack *ws = bpf_map_lookup_elem(&gil_wait_stacks, &tid);
	int found = ws && ws->stack_hash;

	if (found) {
		w->pid = pid;
		w->hash = ws->stack_hash;
		w->native_hash = ws->native_hash;
	}
	if (ws)
		bpf_map_delete_elem(&gil_wait_stacks, &tid);
	return found ? 0 : -1;
}

static __always_inline struct gil_thread *gil_current(__u32 *pid, __u32 *tid, int create)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	*pid = pid_tgid >> 32;
	*tid = (__u32)pid_tgid;
	if (!bpf_map_lookup_elem(&procs, pid))
		return NULL;
	return gil_thread_get(*pid, *tid, create);
}

SEC("uprobe")
int pybpf_take_enter(struct pt_regs *ctx)
{
	__u32 pid, tid;
	struct gil_thread *t = gil_current(&pid, &tid, 1);

	if (!t)
		return 0;
	gil_take_begin(t, bpf_ktime_get_ns());
	if (native_mode)
		gil_wait_capture(ctx, pid, tid);
	return 0;
}

SEC("uretprobe")
int pybpf_take_exit(struct pt_regs *ctx)
{
	__u32 pid, tid;
	struct gil_thread *t = gil_current(&pid, &tid, 0);
	struct walk_ctx w = {};
	struct proc_info *proc;
	__u64 wait;

	if (!t || !gil_take_end(t, bpf_ktime_get_ns(), &wait)) {
		if (native_mode)
			bpf_map_delete_elem(&gil_wait_stacks, &tid);
		return 0;
	}
	if (native_mode && gil_wait_stacks_of(&w, pid, tid) == 0) {
		if (!count_stack(&w, tid, COUNT_GILWAIT, wait))
			timeline_add(pid, tid, w.hash, w.native_hash, COUNT_GILWAIT, wait,
				     bpf_ktime_get_ns());
		return 0;
	}
	proc = bpf_map_lookup_elem(&procs, &pid);
	if (proc && walk_current(&w, proc, pid, tid) == 0 &&
	    !count_stack(&w, tid, COUNT_GILWAIT, wait))
		timeline_add(pid, tid, w.hash, 0, COUNT_GILWAIT, wait, 0);
	walk_end(&w);
	return 0;
}

SEC("uprobe")
int pybpf_drop_enter(struct pt_regs *ctx)
{
	__u32 pid, tid;
	struct gil_thread *t = gil_current(&pid, &tid, 1);
	__u64 hold;

	if (t)
		gil_drop_begin(t, bpf_ktime_get_ns(), &hold);
	return 0;
}

SEC("uretprobe")
int pybpf_drop_exit(struct pt_regs *ctx)
{
	__u32 pid, tid;
	struct gil_thread *t = gil_current(&pid, &tid, 0);

	if (t)
		gil_drop_end(t, bpf_ktime_get_ns());
	return 0;
}
