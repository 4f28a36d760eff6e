// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* cli.c - validated option values for every subcommand. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"
#include "log.h"
#include "pybpf.h"
#include "target.h"

const char *cli_prog = "pybpf";

void cli_try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", cli_prog);
}

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

static int cli_comm(struct session_opts *so, const char *arg)
{
	static regex_t re;

	if (regcomp(&re, arg, REG_EXTENDED | REG_NOSUB)) {
		pb_err("invalid --comm regular expression: %s", arg);
		return -EINVAL;
	}
	so->comm_re = &re;
	return 1;
}

static int cli_exclude(struct session_opts *so, const char *arg)
{
	static pid_t pids[257];
	struct thread_filter f = {};   /* same "N[,N...]" syntax as --tid */
	size_t i;

	if (thread_filter_tids(&f, arg))
		return -EINVAL;
	for (i = 0; i < f.ntids && i < 256; i++)
		pids[i] = (pid_t)f.tids[i];
	pids[i] = 0;
	so->exclude = pids;
	return 1;
}

void cli_common_help(FILE *f)
{
	fputs("  -s, --subprocesses     also profile Python child processes (root frame per process)\n"
	      "      --gil              only samples of threads holding the GIL\n"
	      "      --gil-wait         time spent waiting for the GIL, per stack (uprobes on\n"
	      "                         take_gil/drop_gil: a few microseconds per GIL switch;\n"
	      "                         not CPython 2.7, whose GIL has no take_gil)\n"
	      "      --idle             add time spent off-CPU (sleep, I/O, locks), marked <idle>\n"
	      "      --native           native (C) frames unwound in the kernel, merged with the\n"
	      "                         Python ones, and kernel frames\n"
	      "      --tid TID[,TID...] only these threads (each one of the target's)\n"
	      "      --thread-name RE   only threads whose name matches RE\n", f);
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
		/* with --nolineno a frame is its function already, and no line
		 * (not even the first) is shown */
		po->by_function = !po->no_lineno;
		return 1;
	case 'v':
		log_verbose = 1;
		return 1;
	case OPT_NOLINENO:
		po->no_lineno = 1;
		po->by_function = 0;
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
	case OPT_ALL:
		so->all = 1;
		po->process_roots = 1;
		return 1;
	case OPT_COMM:
		return cli_comm(so, arg);
	case OPT_EXCLUDE_PID:
		return cli_exclude(so, arg);
	case OPT_GIL:
		so->gil_only = 1;
		return 1;
	case OPT_GIL_WAIT:
		so->gil_wait = 1;
		return 1;
	case OPT_NATIVE:
		so->native = 1;
		return 1;
	case OPT_IDLE:
		so->idle = 1;
		return 1;
	case OPT_MAX_DEPTH:
		return cli_u32(arg, "max depth", 1, PYBPF_MAX_DEPTH, &so->max_depth) ? -EINVAL : 1;
	case '?':
	case ':':
		cli_try_help(); /* getopt said what was wrong */
		return -EINVAL;
	}
	return 0;
}

int cli_target(struct session_opts *so, int argc, char **argv, int optind_)
{
	if (optind_ < argc)
		so->cmd = argv + optind_;
	if ((so->pid != 0) + (so->cmd != NULL) + (so->all != 0) != 1) {
		pb_err("give exactly one target: -p PID, --all or -- COMMAND [ARGS...]");
		return -EINVAL;
	}
	if (so->pid) {
		pid_t tid;

		target_resolve_pid(&so->pid, &tid, "profiling");
		if (tid && so->filter.ntids < THREAD_FILTER_TIDS)
			so->filter.tids[so->filter.ntids++] = (uint32_t)tid;
		/* with -s a --tid may be a child's thread, known only later */
		return so->subprocesses ? 0 : target_check_tids(so->pid, &so->filter);
	}
	return 0;
}
