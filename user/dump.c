// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* dump.c - `pybpf dump` (being written). */
#include <stdio.h>
#include "commands.h"

int cmd_dump(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "pybpf: dump: not available yet\n");
	return 1;
}
