// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* cli.c - validated option values for every subcommand. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "cli.h"
#include "log.h"
#include "pybpf.h"

int cli_u32(const char *s, const char *what, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		pb_err("invalid %s: %s (expected %u..%u)", what, s, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int cli_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e7) {
		pb_err("invalid duration: %s (expected seconds > 0)", s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

void cli_defaults(struct session_opts *so)
{
	so->rate_hz = 100;
	so->max_depth = PYBPF_MAX_DEPTH;
}

int cli_common(int opt, const char *arg, struct session_opts *so, struct profile_opts *po)
{
	uint32_t pid;

	switch (opt) {
	case 'p':
		if (cli_u32(arg, "pid", 1, 0x7fffffff, &pid))
			return -EINVAL;
		so->pid = (pid_t)pid;
		return 1;
	case 'r':
		return cli_u32(arg, "rate", 1, 100000, &so->rate_hz) ? -EINVAL : 1;
	case 'd':
		return cli_seconds(arg, &so->duration) ? -EINVAL : 1;
	case 'F':
		po->by_function = 1;
		return 1;
	case 'v':
		log_verbose = 1;
		return 1;
	case OPT_NOLINENO:
		po->no_lineno = 1;
		return 1;
	case OPT_FULL_FILENAMES:
		po->full_filenames = 1;
		return 1;
	case OPT_TID:
		return thread_filter_tids(&so->filter, arg) ? -EINVAL : 1;
	case OPT_THREAD_NAME:
		return thread_filter_name(&so->filter, arg) ? -EINVAL : 1;
	case 's':
		so->subprocesses = 1;
		po->process_roots = 1;
		return 1;
	case OPT_IDLE:
		so->idle = 1;
		return 1;
	case OPT_MAX_DEPTH:
		return cli_u32(arg, "max depth", 1, PYBPF_MAX_DEPTH, &so->max_depth) ? -EINVAL : 1;
	}
	return 0;
}

int cli_target(struct session_opts *so, int argc, char **argv, int optind_)
{
	if (optind_ < argc)
		so->cmd = argv + optind_;
	if (!so->pid == !so->cmd) {
		pb_err("give exactly one target: -p PID or -- COMMAND [ARGS...]");
		return -EINVAL;
	}
	return 0;
}
