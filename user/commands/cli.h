/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* cli.h - option parsing shared by the subcommands: numbers with range
 * checks and the options every profiling command takes. */
#ifndef PYBPF_CLI_H
#define PYBPF_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <stdint.h>
#include "aggregate.h"
#include "session.h"

/* "pybpf record" etc., set by main.c before dispatching: getopt's own
 * messages and the --help hint name the subcommand. */
extern const char *cli_prog;
/* After getopt's "unrecognized option" line: one line pointing at --help
 * (not the whole help, which buries the error). */
void cli_try_help(void);

/* Parse a number in [min, max]; prints "pybpf: invalid <what>: <s>". */
int cli_u32(const char *s, const char *what, uint32_t min, uint32_t max, uint32_t *out);
int cli_seconds(const char *s, double *out);

/* Long options common to record and top; values >= 256 are theirs. */
enum {
	OPT_NOLINENO = 256,
	OPT_FULL_FILENAMES,
	OPT_MAX_DEPTH,
	OPT_TID,
	OPT_THREAD_NAME,
	OPT_IDLE,
	OPT_NATIVE,
	OPT_ALL,
	OPT_COMM,
	OPT_EXCLUDE_PID,
	OPT_GIL,
	OPT_GIL_WAIT,
	OPT_COMMON_LAST,
};

#define CLI_COMMON_SHORT "p:r:d:Fvhs"
#define CLI_COMMON_LONG                                              \
	{ "pid", required_argument, NULL, 'p' },                      \
	{ "rate", required_argument, NULL, 'r' },                     \
	{ "duration", required_argument, NULL, 'd' },                 \
	{ "function", no_argument, NULL, 'F' },                       \
	{ "verbose", no_argument, NULL, 'v' },                        \
	{ "help", no_argument, NULL, 'h' },                           \
	{ "nolineno", no_argument, NULL, OPT_NOLINENO },              \
	{ "full-filenames", no_argument, NULL, OPT_FULL_FILENAMES },  \
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },      \
	{ "tid", required_argument, NULL, OPT_TID },                  \
	{ "thread-name", required_argument, NULL, OPT_THREAD_NAME },  \
	{ "idle", no_argument, NULL, OPT_IDLE },                      \
	{ "native", no_argument, NULL, OPT_NATIVE },                  \
	{ "subprocesses", no_argument, NULL, 's' },                   \
	{ "all", no_argument, NULL, OPT_ALL },                        \
	{ "comm", required_argument, NULL, OPT_COMM },                \
	{ "exclude-pid", required_argument, NULL, OPT_EXCLUDE_PID },  \
	{ "gil", no_argument, NULL, OPT_GIL },                        \
	{ "gil-wait", no_argument, NULL, OPT_GIL_WAIT }

/* Help lines of the options every profiling command shares. */
void cli_common_help(FILE *f);
/* Handle one common option; 1 if it was one, 0 if not, <0 on error
 * (getopt's '?' included: the --help hint is printed). */
int cli_common(int opt, const char *arg, struct session_opts *so, struct profile_opts *po);
/* Defaults, then the target check after parsing: exactly one of -p and
 * -- CMD; -p given a thread id becomes its process with that thread only;
 * every --tid must be a thread of -p.  argv/optind as left by getopt_long. */
void cli_defaults(struct session_opts *so);
int cli_target(struct session_opts *so, int argc, char **argv, int optind_);

#endif /* PYBPF_CLI_H */
