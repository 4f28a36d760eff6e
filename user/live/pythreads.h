/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pythreads.h - the Python name of a thread (threading.Thread.name), read
 * from the live process; callers fall back to the kernel's comm. */
#ifndef PYBPF_PYTHREADS_H
#define PYBPF_PYTHREADS_H

#include <stddef.h>
#include "proc.h"
#include "pywalk.h"

/* The threading module's name of thread t of p into buf (always
 * NUL-terminated, control characters as '?', cut with "..."); frames are
 * t's, innermost first, as pywalk_frames gives them.  0, -ENOENT when the
 * interpreter has no name for it, -EINVAL for bad arguments. */
int pythread_name(const struct pyproc *p, const struct pythread *t,
		  const struct pyframe_ref *frames, size_t nframes, char *buf, size_t len);

#endif /* PYBPF_PYTHREADS_H */
