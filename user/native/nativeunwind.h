/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* nativeunwind.h - the userspace native unwinder of `dump --native`: a
 * stopped thread's C stack from its registers, over the same rows
 * (user/native/ehframe.c) and the same step (bpf/unwind_step.h) as the BPF
 * unwinder, reading the target's stack with process_vm_readv. */
#ifndef PYBPF_NATIVEUNWIND_H
#define PYBPF_NATIVEUNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "unwind.h"

struct native_maps;
struct native_unwind;

struct native_walk {
	size_t n;                    /* frames in pcs, innermost first */
	uint32_t stop;               /* enum native_stat: why the walk ended */
	size_t counts[NATIVE_STAT_NR]; /* degradations met (enum native_stat) */
};

/* 0 or -ENOMEM. */
int native_unwind_new(struct native_unwind **out);
void native_unwind_free(struct native_unwind *nu);
/* Read pid's executable mappings (again).  0, -ESRCH or -errno. */
int native_unwind_maps(struct native_unwind *nu, pid_t pid);
/* The mappings (for symbolization: native_maps_find). */
const struct native_maps *native_unwind_mappings(const struct native_unwind *nu);

/* Unwind pid's thread whose registers are regs: at most max pcs into pcs
 * (the innermost is regs->pc, the others return addresses).  Never
 * fails: w->stop says why it ended (NATIVE_STAT_TRUNCATED at max). */
void native_unwind_walk(struct native_unwind *nu, pid_t pid, const struct native_regs *regs,
			uint64_t *pcs, size_t max, struct native_walk *w);

/* A native walk that reached the thread's first frame. */
static inline int native_walk_complete(const struct native_walk *w)
{
	return w->stop == NATIVE_STAT_END_LAST || w->stop == NATIVE_STAT_END_ZERO;
}

#endif /* PYBPF_NATIVEUNWIND_H */
