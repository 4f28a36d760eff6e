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

/* The one command pybpf launched, for launch_status() and the message */
static pid_t launched;
static const char *launched_name = "";
static int launched_code;

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
	launched = p;
	launched_name = argv[0];
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
	if (pid == launched)
		launched_code = *code;
	return 1;
}

int launch_stop(pid_t pid, int grace_ms, int *code)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int waited;

	if (launch_reaped(pid, code))
		return 0;
	kill(pid, SIGTERM);
	if (pid == launched)
		pb_info("stopped %s (pid %d): the recording ended before it did", launched_name, pid);
	for (waited = 0; !launch_reaped(pid, code); waited += 10) {
		if (waited == grace_ms)
			kill(pid, SIGKILL);
		nanosleep(&ts, NULL);
	}
	/* ended by pybpf, not by itself: not its status to pass on */
	*code = 0;
	if (pid == launched)
		launched_code = 0;
	return 0;
}

int launch_status(void)
{
	return launched ? launched_code : 0;
}
