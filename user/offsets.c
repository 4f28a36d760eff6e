/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* offsets.c - look up the generated per-version offsets table.
 *
 * This is pybpf's only version switch: everything downstream reads the
 * struct py_offsets it returns and never branches on the version.
 */
#include <stdio.h>

#include "offsets.h"

const struct py_offsets *offsets_find(unsigned major, unsigned minor)
{
	unsigned i;

	for (i = 0; i < offsets_table_len; i++) {
		if (offsets_table[i].major == major &&
		    offsets_table[i].minor == minor)
			return &offsets_table[i].off;
	}
	return NULL;
}

const char *offsets_supported(void)
{
	/* Built from the table on every call, so the message can never
	 * disagree with what offsets_find() accepts.  A version needs at
	 * most 2 * 10 digits + ", ." = 24 bytes. */
	static char buf[1024];
	size_t len = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < offsets_table_len; i++) {
		int n = snprintf(buf + len, sizeof(buf) - len, "%s%u.%u",
				 i ? ", " : "", offsets_table[i].major,
				 offsets_table[i].minor);

		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			break; /* truncated: the list is only for messages */
		len += (size_t)n;
	}
	return buf;
}
