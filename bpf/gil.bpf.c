// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* gil.bpf.c - `pybpf gil`: uprobes on take_gil (entry, return) and
 * drop_gil (entry, return) of the traced process's interpreter time every GIL
 * wait and hold per thread (bpf/gil.bpf.h); a wait or hold longer than its
 * threshold is sent to userspace with the thread's Python stack, walked
 * here by the same code as the sampler's (bpf/python.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "pybpf.h"
#include "maps.bpf.h"
#include "python.bpf.h"
#include "gil.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Report single waits / holds at least this long; 0 = never. */
const volatile __u64 wait_threshold_ns = 0;
const volatile __u64 hold_threshold_ns = 0;

/* Walk the current thread's Python stack into the scratch chunks; a walk
 * that fails (the thread state unreadable, or an activation being entered
 * whose caller does not link up either) leaves no frames, and the event
 * says its stack is unknown, not that there is none. */
static __always_inline void walk_current(struct walk_ctx *w, struct proc_info *proc,
					 __u32 pid, __u32 tid)
{
	__u64 tstate = find_tstate(proc, tid);

	if (!tstate) {
		w->flags |= GIL_EV_NO_TSTATE;
		gil_stat_inc(GIL_STAT_NO_TSTATE);
		return;
	}
	if (walk_frames(w, proc, pid, tstate)) {
		w->flags |= GIL_EV_UNREADABLE;
		gil_stat_inc(GIL_STAT_UNREADABLE);
	}
}

/* Send one long wait or hold with the stack.  The walk runs first: the
 * code events it sends precede this event in the ring buffer. */
static __noinline void report(__u32 pid, __u32 tid, __u32 kind, __u64 now, __u64 duration)
{
	struct walk_ctx w = {};
	struct proc_info *proc;
	struct gil_event *ev;
	__u32 c, n;

	proc = bpf_map_lookup_elem(&procs, &pid);
	if (!proc || walk_begin(&w))
		return;
	walk_current(&w, proc, pid, tid);

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		gil_stat_inc(GIL_STAT_LOST_EVENTS);
		walk_end(&w);
		return;
	}
	ev->pid = pid;
	ev->tid = tid;
	ev->kind = kind;
	ev->flags = w.flags;
	ev->end_ns = now;
	ev->duration_ns = duration;
	ev->depth = w.depth;
	ev->pad = 0;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	n = (w.depth + PYBPF_CHUNK_FRAMES - 1) / PYBPF_CHUNK_FRAMES;
	for (c = 0; c < PYBPF_MAX_CHUNKS; c++) {
		if (c >= n)
			break;
		bpf_probe_read_kernel(&ev->frames[c * PYBPF_CHUNK_FRAMES],
				      PYBPF_CHUNK_FRAMES * sizeof(struct frame_rec),
				      &w.s->frames[c * PYBPF_CHUNK_FRAMES]);
	}
	bpf_ringbuf_submit(ev, 0);
	gil_stat_inc(GIL_STAT_EVENTS);
	walk_end(&w);
}

/* The calling thread's entry, created on first sight if its process is
 * traced (the probes are attached for one pid, this is a second guard). */
static __always_inline struct gil_thread *current_thread(__u64 pid_tgid)
{
	__u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct gil_thread *t = gil_thread_get(pid, tid, 0);

	if (!t && bpf_map_lookup_elem(&procs, &pid)) {
		t = gil_thread_get(pid, tid, 1);
		if (t)
			bpf_get_current_comm(t->comm, sizeof(t->comm));
	}
	return t;
}

SEC("uprobe")
int gil_take_enter(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct gil_thread *t;

	t = current_thread(pid_tgid);
	if (t)
		gil_take_begin(t, bpf_ktime_get_ns());
	return 0;
}

SEC("uretprobe")
int gil_take_exit(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns(), wait;
	struct gil_thread *t;

	t = current_thread(pid_tgid);
	if (!t || !gil_take_end(t, now, &wait))
		return 0;
	if (wait_threshold_ns && wait >= wait_threshold_ns)
		report(pid_tgid >> 32, (__u32)pid_tgid, GIL_EV_WAIT, now, wait);
	return 0;
}

SEC("uprobe")
int gil_drop_enter(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns(), hold;
	struct gil_thread *t;

	t = current_thread(pid_tgid);
	if (!t)
		return 0;
	bpf_get_current_comm(t->comm, sizeof(t->comm)); /* names change after start */
	if (!gil_drop_begin(t, now, &hold))
		return 0;
	if (hold_threshold_ns && hold >= hold_threshold_ns)
		report(pid_tgid >> 32, (__u32)pid_tgid, GIL_EV_HOLD, now, hold);
	return 0;
}

SEC("uretprobe")
int gil_drop_exit(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct gil_thread *t;

	t = gil_thread_get(pid_tgid >> 32, (__u32)pid_tgid, 0);
	if (t)
		gil_drop_end(t, bpf_ktime_get_ns());
	return 0;
}

/* Every thread exit on the system: a hash lookup for those not traced.
 * A raw tracepoint needs no tracefs. */
SEC("raw_tp/sched_process_exit")
int gil_thread_gone(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct gil_thread *t;

	t = gil_thread_get(pid_tgid >> 32, (__u32)pid_tgid, 0);
	if (!t)
		return 0;
	gil_thread_exit(t, bpf_ktime_get_ns());
	bpf_get_current_comm(t->comm, sizeof(t->comm)); /* its final name */
	return 0;
}
