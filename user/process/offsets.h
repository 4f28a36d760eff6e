/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* offsets.h - the one place that maps a CPython version to its struct layout.
 *
 * The table itself is generated (offsets_table.c, by tools/gen-offsets.py);
 * callers only ask for a version and get NULL when it is not supported.
 */
#ifndef PYBPF_OFFSETS_H
#define PYBPF_OFFSETS_H

#include "pybpf.h"

struct offsets_entry {
	unsigned major;
	unsigned minor;
	unsigned free_threaded;      /* a --disable-gil build (PEP 703) */
	struct py_offsets off;
};

/* Defined in the generated offsets_table.c. */
extern const struct offsets_entry offsets_table[];
extern const unsigned offsets_table_len;

/* Offsets of CPython major.minor (free-threaded or not), or NULL if the
 * table has no such build. */
const struct py_offsets *offsets_find(unsigned major, unsigned minor, int free_threaded);

/* The facts _Py_DebugOffsets does not publish (3.13+: frame owner values,
 * tag bits, str state bits, and what dump needs beyond it), for a build
 * whose struct layouts come from its _Py_DebugOffsets: the table's entry
 * for that minor, else the newest one before it (of the same kind, else
 * the default build's).  *exact is 0 when the entry is another minor's or
 * kind's.  NULL below 3.13. */
const struct py_offsets *offsets_base(unsigned major, unsigned minor, int free_threaded,
				      int *exact);

/* Supported versions for messages, e.g. "3.7, 3.8, 3.9"; static storage. */
const char *offsets_supported(void);

#endif /* PYBPF_OFFSETS_H */
