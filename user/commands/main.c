// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* main.c - pybpf's entry: a table of subcommands. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "commands.h"
#include "launch.h"
#include "offsets.h"

#define PYBPF_VERSION "0.1.0"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "record", cmd_record, "sample a process and write a profile (flame graph, speedscope, ...)" },
	{ "top", cmd_top, "live view of the functions a process spends its time in" },
	{ "dump", cmd_dump, "print the current Python stack of every thread" },
	{ "gil", cmd_gil, "who holds the GIL, who waits, and for how long (uprobes)" },
	{ "agent", cmd_agent, "profile every Python process continuously, push to Pyroscope" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: pybpf COMMAND [OPTIONS]\n"
		   "CPython profiler that unwinds Python stacks in the kernel (eBPF).\n\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nCPython versions: %s.  `pybpf COMMAND --help` for options.\n",
		offsets_supported());
}

/* A command that succeeded exits as the shell expects of what it ran:
 * 128+N after signal N (Ctrl-C: 130, with the profile written), else the
 * status of a launched command that ended by itself (0 when pybpf
 * stopped it because -d expired). */
static int run(size_t i, int argc, char **argv)
{
	static char prog[32];
	int rc;

	snprintf(prog, sizeof(prog), "pybpf %s", commands[i].name);
	cli_prog = prog;
	argv[0] = prog; /* getopt's messages: "pybpf record: unrecognized option" */
	rc = commands[i].fn(argc, argv);
	if (rc)
		return rc;
	if (session_interrupted)
		return 128 + session_interrupted;
	return launch_status();
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("pybpf %s\n", PYBPF_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return run(i, argc - 1, argv + 1);
	fprintf(stderr, "pybpf: unknown command: %s (try pybpf --help)\n", argv[1]);
	return 2;
}
