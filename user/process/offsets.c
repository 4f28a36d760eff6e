/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* offsets.c - look up the generated per-version offsets table.
 *
 * This is pybpf's only version switch: everything downstream reads the
 * offsets of the entry it returns and never branches on the version.
 */
#include <stdio.h>

#include "offsets.h"

const struct offsets_entry *offsets_find(unsigned major, unsigned minor, int free_threaded)
{
	unsigned i;

	for (i = 0; i < offsets_table_len; i++) {
		if (offsets_table[i].major == major &&
		    offsets_table[i].minor == minor &&
		    offsets_table[i].free_threaded == (unsigned)!!free_threaded)
			return &offsets_table[i];
	}
	return NULL;
}

/* The rule for a minor newer than the newest known: its unpublished facts
 * are taken to be those of the newest known minor, and the process is
 * profiled with a warning (proc.c); the live check of the offsets and
 * _Py_DebugOffsets' own validation guard the rest. */
const struct offsets_entry *offsets_base(unsigned major, unsigned minor, int free_threaded,
					int *exact)
{
	const struct offsets_entry *best = NULL;
	int pass;
	unsigned i;

	*exact = 0;
	if (major != 3 || minor < 13)
		return NULL;
	for (pass = 0; pass < 2 && !best; pass++) {
		unsigned ft = pass ? 0 : (unsigned)!!free_threaded;

		for (i = 0; i < offsets_table_len; i++) {
			const struct offsets_entry *e = &offsets_table[i];

			if (e->major == 3 && e->minor >= 13 && e->minor <= minor &&
			    e->free_threaded == ft && (!best || e->minor > best->minor))
				best = e;
		}
	}
	if (!best)
		return NULL;
	*exact = best->minor == minor && best->free_threaded == (unsigned)!!free_threaded;
	return best;
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
		int n;

		if (offsets_table[i].free_threaded)
			continue;
		n = snprintf(buf + len, sizeof(buf) - len, "%s%u.%u", i ? ", " : "",
			     offsets_table[i].major, offsets_table[i].minor);

		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			break; /* truncated: the list is only for messages */
		len += (size_t)n;
	}
	return buf;
}
