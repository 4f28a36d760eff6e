// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* gil.c - `pybpf gil` (being written). */
#include <stdio.h>
#include "commands.h"

int cmd_gil(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "pybpf: gil: not available yet\n");
	return 1;
}
