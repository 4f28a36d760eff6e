/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* dumplocals.h - the locals of a dumped thread's frames (dump --locals). */
#ifndef PYBPF_DUMPLOCALS_H
#define PYBPF_DUMPLOCALS_H

#include <stddef.h>
#include <stdio.h>
#include "proc.h"
#include "pywalk.h"

struct local_var {
	char *name, *repr;
	int is_arg;
};

struct locals_buf {
	struct local_var *v;
	size_t n, cap;
	int failed;              /* out of memory */
};

/* One frame's locals, read before anything is printed; why says why
 * they are not shown (NULL: they are). */
struct frame_locals {
	struct locals_buf lb;
	const char *why;
};

/* Every frame's locals at detail (-l 1, -ll 2; 0 reads none) into fl[0..n):
 * 0 when each was read whole, else -EAGAIN (a frame moved: walk again). */
int dump_locals_read(const struct pyproc *p, int detail, const struct pyframe_ref *frames,
		     size_t n, struct frame_locals *fl);
void dump_locals_free(struct frame_locals *fl, size_t n);
/* py-spy's "Arguments:/Locals:" lines, or the reason they are missing. */
void dump_locals_text(FILE *f, const struct frame_locals *fl);
/* The JSON value of "locals" (an array, or null and a "locals_note"). */
void dump_locals_json(FILE *f, const struct frame_locals *fl);

#endif /* PYBPF_DUMPLOCALS_H */
