// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* ptrace_stop.c - stop all threads of a process with PTRACE_SEIZE +
 * PTRACE_INTERRUPT, and detach them all afterwards, also on errors and on
 * termination signals that arrive in between. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include "ptrace_stop.h"

#define LIST_ROUNDS 8          /* re-lists of /proc/PID/task for threads born meanwhile */
#define WAIT_MS 1000           /* per phase: a thread in D state stops only when it leaves it */

static int seized(const struct ptrace_stop *s, pid_t tid)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->tasks[i].tid == tid)
			return 1;
	return 0;
}

/* SEIZE (no stop, no signal sent) then INTERRUPT: unlike SIGSTOP this
 * leaves no job-control trace in the target, and its own signals are
 * kept.  A thread gone meanwhile (-ESRCH) is no error. */
static int seize(struct ptrace_stop *s, pid_t tid)
{
	struct ptrace_task *t;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct ptrace_task *n = realloc(s->tasks, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->tasks = n;
		s->cap = cap;
	}
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL))
		return errno == ESRCH ? 0 : -errno;
	t = &s->tasks[s->n++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) && errno != ESRCH)
		return -errno;
	return 0;
}

/* Seize every thread listed now that is not seized yet; *added counts them. */
static int seize_listed(struct ptrace_stop *s, size_t *added)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	size_t before = s->n;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", s->pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (!err && (e = readdir(dir))) {
		pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);

		if (tid > 0 && !seized(s, tid))
			err = seize(s, tid);
	}
	closedir(dir);
	*added = s->n - before;
	return err;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* Collect stop reports for up to ms milliseconds.  A thread that exited
 * needs no detach; one that stopped for a signal keeps it for detach. */
static void collect(struct ptrace_stop *s, long ms)
{
	size_t i, pending;
	long waited = 0;
	int st;

	for (;;) {
		pending = 0;
		for (i = 0; i < s->n; i++) {
			struct ptrace_task *t = &s->tasks[i];
			pid_t r;

			if (t->stopped || !t->tid)
				continue;
			r = waitpid(t->tid, &st, WNOHANG | __WALL);
			if (r == t->tid && WIFSTOPPED(st)) {
				t->stopped = 1;
				if (st >> 16 == 0)
					t->sig = WSTOPSIG(st); /* signal-delivery-stop */
			} else if (r == t->tid || (r < 0 && errno == ECHILD)) {
				t->tid = 0;    /* exited, or reaped as gone */
			} else {
				pending++;
			}
		}
		if (!pending || waited >= ms)
			return;
		sleep_ms(1);
		waited++;
	}
}

int ptrace_stop(struct ptrace_stop *s, pid_t pid)
{
	sigset_t block;
	size_t added = 1;
	int err = 0, round;

	memset(s, 0, sizeof(*s));
	s->pid = pid;
	/* Blocked, not handled: a Ctrl-C in the window is acted on after
	 * ptrace_resume, once no thread of the target is left stopped. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &block, &s->saved))
		return -errno;
	s->masked = 1;
	for (round = 0; !err && added && round < LIST_ROUNDS; round++)
		err = seize_listed(s, &added);
	if (!err && !s->n)
		err = -ESRCH;
	if (!err)
		collect(s, WAIT_MS);
	if (err)
		ptrace_resume(s);
	return err;
}

void ptrace_resume(struct ptrace_stop *s)
{
	size_t i;

	/* PTRACE_DETACH needs the thread stopped: wait a little more for
	 * those that had not reported yet.  One that still has not is let go
	 * by the kernel when pybpf exits (tracees are detached then). */
	collect(s, WAIT_MS);
	for (i = 0; i < s->n; i++) {
		struct ptrace_task *t = &s->tasks[i];

		if (t->tid && t->stopped)
			ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)t->sig);
	}
	free(s->tasks);
	s->tasks = NULL;
	s->n = s->cap = 0;
	if (s->masked)
		sigprocmask(SIG_SETMASK, &s->saved, NULL);
	s->masked = 0;
}

int ptrace_user_regs(const struct ptrace_stop *s, pid_t tid, uint64_t *pc, uint64_t *sp,
		     uint64_t *bp)
{
	struct user_regs_struct regs;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->tasks[i].tid == tid)
			break;
	if (i == s->n || !s->tasks[i].stopped)
		return -ESRCH; /* not ours, or not stopped: its registers move */
	if (ptrace(PTRACE_GETREGS, tid, NULL, &regs))
		return -errno;
	*pc = regs.rip;
	*sp = regs.rsp;
	*bp = regs.rbp;
	return 0;
}
