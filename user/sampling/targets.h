/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* targets.h - which processes a session profiles (targets.c). */
#ifndef PYBPF_TARGETS_H
#define PYBPF_TARGETS_H

#include <stddef.h>
#include <sys/types.h>

struct session;
struct pyproc;

/* The session's process with this pid (the target or a follower), or NULL. */
struct pyproc *targets_find(struct session *s, pid_t pid);
/* Inspect s->proc (-p or the launched command); 0 or -errno, reason printed. */
int targets_inspect(struct session *s);
/* -s, --all: at most every 0.25 s (0.5 s for --all) look for new
 * CPython processes, hand them to the sampler, and mark exited ones. */
void targets_scan(struct session *s);
/* After a rotation: forget exited processes; returns how many. */
size_t targets_forget(struct session *s);
void targets_free(struct session *s);

#endif /* PYBPF_TARGETS_H */
