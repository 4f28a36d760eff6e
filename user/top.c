// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* top.c - `pybpf top` (placeholder until the live screen lands). */
#include <stdio.h>
#include "commands.h"

int cmd_top(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "pybpf: top: not yet\n");
	return 1;
}
