/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pywalk.h - the userspace walker: every thread state of a process and
 * each one's frames, read with process_vm_readv (the target keeps
 * running).  For `dump`, where idle threads never reach the sampler. */
#ifndef PYBPF_PYWALK_H
#define PYBPF_PYWALK_H

#include <stddef.h>
#include <stdint.h>
#include "proc.h"
#include "symbols.h"

struct pythread {
	uint64_t tstate;
	uint64_t thread_id;      /* pthread_self() of the thread */
	int32_t tid;             /* kernel thread id, 0 if unknown */
	uint32_t status;         /* _status (3.12+), PY_TSTATUS_* */
	int owns_gil;
	int picked;              /* the state the sampler charges its thread's
				  * samples to, of the thread's states (one per
				  * interpreter it entered: bpf/pythread.h) */
};

struct pyframe_ref {
	uint64_t frame;          /* PyFrameObject / _PyInterpreterFrame */
	uint64_t code;
	uint32_t lasti;          /* byte offset of the instruction */
};

/* Up to max thread states of every interpreter.  0 or -errno. */
int pywalk_threads(const struct pyproc *p, struct pythread *out, size_t max, size_t *n);
/* Frames of one thread, innermost first; *truncated when more than max. */
int pywalk_frames(const struct pyproc *p, const struct pythread *t, struct pyframe_ref *out,
		  size_t max, size_t *n, int *truncated);
/* Walks of a thread's chain after the first, when their checks fail. */
#define PYWALK_TRIES 5

/* Frames of one thread as pywalk_frames, then the same chain read again
 * in one copy (the thread's frame pointer, each frame's address, code
 * object, instruction and caller; the innermost frame's instruction, which
 * moves while the thread runs, is taken from the copy); *consistent says
 * whether the two agreed, within 1 + PYWALK_TRIES walks.  Without
 * agreement out holds the last walk.  0 or -ENOMEM. */
int pywalk_stack(const struct pyproc *p, const struct pythread *t, struct pyframe_ref *out,
		 size_t max, size_t *n, int *truncated, int *consistent);
/* The code object and instruction of the frame at frame, decoded from
 * buf (its first PYBPF_FRAME_READ bytes, + 8 readable) or read now
 * (pywalk_frame_at).  0; 1 when the frame runs no Python code (an entry
 * shim, no code object); -EIO when unreadable. */
int pywalk_frame_decode(const struct pyproc *p, uint64_t frame, const uint8_t *buf,
			struct pyframe_ref *r);
int pywalk_frame_at(const struct pyproc *p, uint64_t frame, struct pyframe_ref *r);
/* Name, file and line table of a code object, as the BPF side would copy
 * them, into syms under id.  0 or -errno. */
int pywalk_symbol(const struct pyproc *p, struct symbols *syms, uint64_t code, uint32_t id);

#endif /* PYBPF_PYWALK_H */
