/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* target.h - the checks and waits around a traced process for commands
 * that do not run the sampler session (gil): privileges, finding the
 * interpreter of -p PID or of a launched command, telling when it ended. */
#ifndef PYBPF_TARGET_H
#define PYBPF_TARGET_H

#include <stdint.h>
#include <sys/types.h>
#include "proc.h"
#include "threadfilter.h"

/* root, or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE, and a kernel with BTF.
 * 0, or -errno with the reason printed. */
int target_check_kernel(void);

/* pyproc_inspect, waiting while the answer can still change: a shared
 * libpython is mapped by the loader a moment after exec, and a launched
 * command (child != 0) may be a wrapper that execs python (pyenv shims,
 * env).  Sets *child_exited and *child_code if the child ended meanwhile.
 * 0 or -errno; p->err says why. */
int target_inspect(pid_t pid, pid_t child, struct pyproc *p, int *child_exited,
		   int *child_code);

/* -p given a thread id (py-spy users pass them by mistake): *pid becomes
 * its process, *tid the thread, and one line says "N is thread N of
 * process M: <doing> only that thread".  *tid is 0 when *pid is a
 * process (or gone: the caller's own check reports that).  Always 0. */
int target_resolve_pid(pid_t *pid, pid_t *tid, const char *doing);
/* --tid: every thread id must be a thread of pid; -EINVAL (printed) if
 * one is not.  A pid that is gone passes: its own check says so. */
int target_check_tids(pid_t pid, const struct thread_filter *f);

/* Is pid running (not gone, not a zombie)? */
int target_alive(pid_t pid);
/* target_alive(pid), read from /proc at most every 100 ms: yes in between
 * (*next_ns: when it is read next; now_ns on CLOCK_MONOTONIC).  A loop
 * that wakes at every ring buffer record would otherwise read /proc
 * hundreds of times a second (~0.1-1 ms each for a busy process). */
int target_alive_every(pid_t pid, uint64_t now_ns, uint64_t *next_ns);

#endif /* PYBPF_TARGET_H */
