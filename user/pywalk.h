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
	int owns_gil;
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
/* Name, file and line table of a code object, as the BPF side would copy
 * them, into syms under id.  0 or -errno. */
int pywalk_symbol(const struct pyproc *p, struct symbols *syms, uint64_t code, uint32_t id);

#endif /* PYBPF_PYWALK_H */
