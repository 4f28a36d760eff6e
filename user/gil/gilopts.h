/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* gilopts.h - the command line of `pybpf gil`: options, defaults,
 * validation, --help. */
#ifndef PYBPF_GILOPTS_H
#define PYBPF_GILOPTS_H

#include <stdint.h>
#include <sys/types.h>
#include "gilreport.h"

struct gil_opts {
	pid_t pid;
	char **cmd;                  /* -- COMMAND ARGS..., NULL-terminated */
	double interval;             /* -i seconds */
	double duration;             /* -d seconds, 0 = until the end */
	uint64_t wait_threshold_ns;  /* --wait-ms / --threshold-ms, 0 = off */
	uint64_t hold_threshold_ns;  /* --hold-ms / --threshold-ms, 0 = off */
	uint32_t max_depth;
	struct gil_report_opts report;
};

/* Parse argv (argv[0] = "gil"); --help prints and exits 0.  0, or
 * -EINVAL with the reason printed. */
int gil_parse(int argc, char **argv, struct gil_opts *o);

#endif /* PYBPF_GILOPTS_H */
