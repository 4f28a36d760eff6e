/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* nativeseed.h - the native side of a thread that is blocked now, read
 * from userspace without stopping it (--idle --native's threads already
 * asleep when sampling begins, user/sampling/idleseed.c): into the record
 * the BPF side stores for every block (bpf/pybpf.h struct native_stack). */
#ifndef PYBPF_NATIVESEED_H
#define PYBPF_NATIVESEED_H

#include <sys/types.h>
#include "pybpf.h"

struct native_seed;

/* 0 or -ENOMEM. */
int native_seed_new(struct native_seed **out);
void native_seed_free(struct native_seed *sd);
/* Read pid's mappings (before its threads): 0 or -errno. */
int native_seed_maps(struct native_seed *sd, pid_t pid);

/* tid's user stack (registers from /proc/PID/task/TID/syscall, unwound
 * over the .eh_frame rows with process_vm_readv) and kernel stack
 * (/proc/PID/task/TID/stack, names back to addresses by /proc/kallsyms)
 * into st, entry bits zero.  st->user.stop says whether the walk reached
 * the first frame.  0; -EAGAIN when the thread is running or ran while it
 * was read (its registers changed), -errno when unreadable. */
int native_seed_read(struct native_seed *sd, pid_t pid, pid_t tid, struct native_stack *st);

#endif /* PYBPF_NATIVESEED_H */
