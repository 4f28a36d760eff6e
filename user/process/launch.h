/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* launch.h - start `-- CMD ARGS...` for record/top and reap it. */
#ifndef PYBPF_LAUNCH_H
#define PYBPF_LAUNCH_H

#include <sys/types.h>

/* Fork and exec argv; returns once exec succeeded (0) or failed (-errno,
 * with the reason printed). */
int launch(char *const argv[], pid_t *pid);
/* Non-blocking reap: 1 and the exit code (128+signal) once it exited. */
int launch_reaped(pid_t pid, int *exit_code);
/* Ask the child to stop (SIGTERM, then SIGKILL after grace_ms) and reap
 * it.  If it was still running, one line says pybpf stopped it, and
 * *exit_code is 0: the recording ended (-d, Ctrl-C), not the command. */
int launch_stop(pid_t pid, int grace_ms, int *exit_code);
/* The exit status pybpf passes on for the command it launched: its own
 * if it ended by itself, 0 if none was launched or pybpf stopped it. */
int launch_status(void);

#endif /* PYBPF_LAUNCH_H */
