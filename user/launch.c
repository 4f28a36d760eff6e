// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* launch.c - fork/exec with a close-on-exec pipe, so the parent knows
 * when the new program image exists and can be inspected. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "launch.h"
#include "log.h"

int launch(char *const argv[], pid_t *pid)
{
	int fds[2], child_errno = 0;
	ssize_t n;
	pid_t p;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	p = fork();
	if (p < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (p == 0) {
		close(fds[0]);
		execvp(argv[0], argv);
		child_errno = errno;
		if (write(fds[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	do
		n = read(fds[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n > 0) {
		waitpid(p, NULL, 0);
		pb_err("failed to run %s: %s", argv[0], strerror(child_errno));
		return -child_errno;
	}
	*pid = p;
	return 0;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

int launch_reaped(pid_t pid, int *code)
{
	int status;
	pid_t r = waitpid(pid, &status, WNOHANG);

	if (r != pid)
		return 0;
	*code = exit_code(status);
	return 1;
}

int launch_stop(pid_t pid, int grace_ms, int *code)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int waited;

	if (launch_reaped(pid, code))
		return 0;
	kill(pid, SIGTERM);
	for (waited = 0; waited < grace_ms; waited += 10) {
		if (launch_reaped(pid, code))
			return 0;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	while (!launch_reaped(pid, code))
		nanosleep(&ts, NULL);
	return 0;
}
