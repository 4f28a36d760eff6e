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
	struct py_offsets off;
};

/* Defined in the generated offsets_table.c. */
extern const struct offsets_entry offsets_table[];
extern const unsigned offsets_table_len;

/* Offsets of CPython major.minor, or NULL if that version is unsupported. */
const struct py_offsets *offsets_find(unsigned major, unsigned minor);

/* Supported versions for messages, e.g. "3.7, 3.8, 3.9"; static storage. */
const char *offsets_supported(void);

#endif /* PYBPF_OFFSETS_H */
