/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pythread.h - a thread's Python state: which of a thread's states its
 * samples belong to, where its innermost frame is, who holds the GIL.
 * The one description the BPF walker (bpf/python.bpf.h) and the userspace
 * one (user/live/pywalk.c: dump, gil, --idle's seeds) share, as
 * pyframe.h is for frames.
 *
 * Reads of the target go through the includer's primitive:
 *   py_rctx_t                    what a read needs (nothing in BPF, the
 *                                pid in userspace)
 *   PY_READ(rc, dst, len, addr)  0 when len bytes at addr were copied
 * BPF's loops (over thread lists, over frames) stay with each walker:
 * these are their steps. */
#ifndef PYBPF_PYTHREAD_H
#define PYBPF_PYTHREAD_H

#include "pybpf.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

static __always_inline __u64 py_read_u64(py_rctx_t rc, __u64 addr)
{
	__u64 v = 0;

	if (PY_READ(rc, &v, sizeof(v), addr))
		return 0;
	return v;
}

/* Where the thread's innermost frame pointer is kept: tstate->cframe->
 * current_frame (3.11, 3.12: the cframe lives on the C stack), else
 * tstate->frame (PyFrameObject *frame up to 3.10, _PyInterpreterFrame
 * *current_frame from 3.13).  *slot 0: no cframe, so no frame.  -1 if the
 * thread state could not be read. */
static __always_inline int py_frame_slot(py_rctx_t rc, const struct py_offsets *o, __u64 tstate,
					 __u64 *slot)
{
	__u64 cframe = 0;

	*slot = tstate + o->tstate_frame;
	if (o->tstate_cframe < 0)
		return 0;
	if (PY_READ(rc, &cframe, sizeof(cframe), tstate + o->tstate_cframe))
		return -1;
	*slot = cframe ? cframe + o->cframe_current_frame : 0;
	return 0;
}

/* The thread's innermost frame into *frame (0: none).  -1 if unreadable. */
static __always_inline int py_first_frame(py_rctx_t rc, const struct py_offsets *o, __u64 tstate,
					  __u64 *frame)
{
	__u64 slot;

	*frame = 0;
	if (py_frame_slot(rc, o, tstate, &slot))
		return -1;
	return slot && PY_READ(rc, frame, sizeof(*frame), slot) ? -1 : 0;
}

/* Whose a thread state is: its thread_id (the owner's pthread_self())
 * and, from 3.12, its _status, read only when the thread_id is want's
 * (every time when want is 0).  -1 if unreadable. */
struct py_tstate_id {
	__u64 thread_id;
	__u32 status;        /* PY_TSTATUS_*; 0 before 3.12 */
};

static __always_inline int py_tstate_id(py_rctx_t rc, const struct py_offsets *o, __u64 tstate,
					__u64 want, struct py_tstate_id *id)
{
	id->status = 0;
	if (PY_READ(rc, &id->thread_id, sizeof(id->thread_id), tstate + o->tstate_thread_id))
		return -1;
	if (o->tstate_status >= 0 && (!want || id->thread_id == want) &&
	    PY_READ(rc, &id->status, sizeof(id->status), tstate + o->tstate_status))
		return -1;
	return 0;
}

/* A deleted state keeps its thread_id (3.12+: unbound): not the thread's. */
static __always_inline int py_tstate_live(const struct py_tstate_id *id)
{
	return !(id->status & PY_TSTATUS_UNBOUND);
}

/* A thread owns one state per interpreter it entered (subinterpreters),
 * all with its thread_id.  The one its samples belong to, of the live
 * ones met in list order (newest interpreter first): the GIL holder's
 * current state when it is one of them (before 3.12, where nothing else
 * tells; `current`), else the active one (3.12+ _status: so is none while
 * the thread has released the GIL), else the first with a frame, else
 * the first.  Before 3.12 the first is taken and the scan may stop. */
struct py_pick {
	__u64 found;         /* the current or active state */
	__u64 with_frame;    /* the first one with a frame */
	__u64 first;         /* the first one */
	__u32 multi;         /* the thread has more than one */
};

/* Does the pick still need to know whether this state has a frame? */
static __always_inline int py_pick_wants_frame(const struct py_pick *p,
					       const struct py_offsets *o)
{
	return o->tstate_status >= 0 && !p->with_frame;
}

/* Add a live state of the thread; 1 when nothing later can change the
 * pick (a scan may stop there). */
static __always_inline int py_pick_add(struct py_pick *p, const struct py_offsets *o,
				       __u64 tstate, __u32 status, int current, int has_frame)
{
	if (p->first)
		p->multi = 1;
	else
		p->first = tstate;
	if (current || o->tstate_status < 0) {
		if (current || !p->found)
			p->found = tstate;
		return 1;
	}
	if ((status & PY_TSTATUS_ACTIVE) && !p->found)
		p->found = tstate;
	if (!p->with_frame && has_frame)
		p->with_frame = tstate;
	return 0;
}

static __always_inline __u64 py_pick_result(const struct py_pick *p)
{
	return p->found ? p->found : p->with_frame ? p->with_frame : p->first;
}

/* Who holds the GIL at gil (&_PyRuntime.ceval.gil 3.7-3.11,
 * interp->ceval.gil 3.12+; 2.7 and 3.6 have no locked flag, gil_locked
 * < 0, and gil is &_PyThreadState_Current, NULL while the GIL is free):
 * its thread state, 0 if none or unreadable. */
static __always_inline __u64 py_gil_holder(py_rctx_t rc, const struct py_offsets *o, __u64 gil)
{
	__s32 locked = 1;

	if (!gil)
		return 0;
	if (o->gil_locked >= 0 &&
	    (PY_READ(rc, &locked, sizeof(locked), gil + o->gil_locked) || !locked))
		return 0;
	return py_read_u64(rc, gil + o->gil_last_holder);
}

#endif /* PYBPF_PYTHREAD_H */
