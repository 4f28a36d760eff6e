/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* debugoffsets.h - the offsets a CPython 3.13+ interpreter publishes about
 * itself: _Py_DebugOffsets, the first member of _PyRuntime (cookie
 * "xdebugpy").  Read from the target, validated, and laid over the
 * generated per-minor table, so a new release is profiled the day it ships. */
#ifndef PYBPF_DEBUGOFFSETS_H
#define PYBPF_DEBUGOFFSETS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "offsets.h"
#include "pybpf.h"

#define DEBUG_OFFSETS_COOKIE "xdebugpy"
#define DEBUG_OFFSETS_MAX    2048   /* bytes read: room for layouts to grow */

struct debug_offsets {
	uint64_t version;            /* PY_VERSION_HEX of the interpreter */
	int free_threaded;
	unsigned layout_minor;       /* the layout used to read it (3.13, 3.14...) */
	int newer_than_known;        /* a minor newer than any layout we know */
	size_t nvalues;
	uint64_t values[DEBUG_OFFSETS_MAX / 8];
};

/* Is there a cookie at the start of buf? */
int debug_offsets_present(const uint8_t *buf, size_t len);

/* Decode and validate a raw copy of _Py_DebugOffsets (len bytes from the
 * start of _PyRuntime).  0, or -EPROTO with a one-line reason in err. */
int debug_offsets_parse(const uint8_t *buf, size_t len, struct debug_offsets *d,
			char *err, size_t errlen);

/* Overwrite the fields of *off and *uoff that the struct gives (and the
 * few derived from them).  0, or -EPROTO with a reason when a field pybpf
 * needs is missing from this layout. */
int debug_offsets_apply(const struct debug_offsets *d, struct py_offsets *off,
			struct py_user_offsets *uoff, char *err, size_t errlen);

/* The value of "section.field" (e.g. "thread_state.current_frame"), or -1
 * if the layout has no such field. */
int64_t debug_offsets_get(const struct debug_offsets *d, const char *name);

#endif /* PYBPF_DEBUGOFFSETS_H */
