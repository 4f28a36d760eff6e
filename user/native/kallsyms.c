// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* kallsyms.c - the running kernel's text symbols (kallsyms.h). */
#include <errno.h>
#include <stdio.h>
#include "kallsyms.h"

int kallsyms_each_text(int (*fn)(void *ctx, uint64_t addr, const char *name), void *ctx)
{
	char line[512], name[256], type;
	unsigned long long addr;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr ||
		    (type != 't' && type != 'T' && type != 'w' && type != 'W'))
			continue;
		if (fn(ctx, addr, name))
			break;
	}
	fclose(f);
	return 0;
}
