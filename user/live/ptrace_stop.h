/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* ptrace_stop.h - stop every thread of a process for the few milliseconds
 * of an exact read (`dump --blocking`), and let them all go again. */
#ifndef PYBPF_PTRACE_STOP_H
#define PYBPF_PTRACE_STOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ptrace_task {
	pid_t tid;
	int stopped;             /* reported its stop to us */
	int sig;                 /* a signal it stopped for, given back at detach */
};

struct ptrace_stop {
	pid_t pid;
	struct ptrace_task *tasks;
	size_t n, cap;
	sigset_t saved;          /* our signal mask before the stop window */
	int masked;
};

/* Seize and interrupt every thread of pid (new ones too, until the list
 * holds still) and wait until each has stopped.  SIGINT, SIGTERM, SIGHUP
 * and SIGQUIT stay blocked until ptrace_resume, so they are acted on only
 * after every thread runs again.  On failure the threads already stopped
 * are resumed.  0 or -errno (-EPERM: traced by someone else, or no
 * CAP_SYS_PTRACE). */
int ptrace_stop(struct ptrace_stop *s, pid_t pid);
/* Detach every thread ptrace_stop seized (each continues as it was,
 * with any signal it stopped for), restore the signal mask.  Safe to call
 * on a zeroed or already resumed s. */
void ptrace_resume(struct ptrace_stop *s);
/* The user-mode pc, sp and rbp of thread tid, stopped by s
 * (PTRACE_GETREGS; x86_64), for `dump --native`.  0, -ESRCH (not a
 * thread s stopped) or -errno. */
int ptrace_user_regs(const struct ptrace_stop *s, pid_t tid, uint64_t *pc, uint64_t *sp,
		     uint64_t *bp);

#endif /* PYBPF_PTRACE_STOP_H */
