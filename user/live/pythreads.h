/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pythreads.h - the Python name of a thread (threading.Thread.name), read
 * from the live process; callers fall back to the kernel's comm. */
#ifndef PYBPF_PYTHREADS_H
#define PYBPF_PYTHREADS_H

#include <stddef.h>
#include "htab.h"
#include "proc.h"
#include "pywalk.h"

/* threading._active of each interpreter seen, read once for many names
 * (a drain meeting many new threads): per (process, interpreter), each
 * thread's ident and Thread.  Zero it, then pythread_cache_init. */
struct pythread_cache {
	struct htab snaps;
};
void pythread_cache_init(struct pythread_cache *c);
/* Forget what was read: names asked for after it read it again. */
void pythread_cache_clear(struct pythread_cache *c);
void pythread_cache_free(struct pythread_cache *c);

/* The threading module's name of thread t of p into buf (always
 * NUL-terminated, control characters as '?', cut with "..."); frames are
 * t's, innermost first, as pywalk_frames gives them; cache NULL or one
 * that saves reading threading._active again for the next thread.  0,
 * -ENOENT when the interpreter has no name for it, -EINVAL for bad
 * arguments. */
int pythread_name(const struct pyproc *p, const struct pythread *t,
		  const struct pyframe_ref *frames, size_t nframes, struct pythread_cache *cache,
		  char *buf, size_t len);

#endif /* PYBPF_PYTHREADS_H */
