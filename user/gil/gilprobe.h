/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* gilprobe.h - where `pybpf gil` puts its probes: take_gil/drop_gil of
 * the interpreter (or of its separate debug file), else the exported
 * functions around them; and whether there is a GIL at all. */
#ifndef PYBPF_GILPROBE_H
#define PYBPF_GILPROBE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "proc.h"

#define GIL_MAX_SITES 8   /* copies of one function (take_gil, take_gil.constprop.0, ...) */

struct gil_probes {
	char path[PATH_MAX + 32];      /* the file to probe, through /proc/PID/root */
	char symbols_from[PATH_MAX];   /* the file the symbols came from (binary or debug file) */
	const char *take_fn, *drop_fn; /* "take_gil", or the fallback's function names */
	uint64_t take[GIL_MAX_SITES];  /* file offsets of the take function's copies */
	uint64_t drop[GIL_MAX_SITES];
	size_t ntake, ndrop;
	int fallback;                  /* PyEval_RestoreThread / PyEval_SaveThread */
};

/* What the fallback cannot see; for --help and the start-up line. */
extern const char gil_fallback_missing[];

/* Find take_gil/drop_gil in p's interpreter, or in its separate debug file
 * (build-id or .gnu_debuglink, under /usr/lib/debug), else fall back to the
 * exported PyEval_RestoreThread/PyEval_SaveThread.  0 or -errno, with the
 * reason printed (-ENOTSUP: a GIL that is not traced, see gil_traceable). */
int gil_probes_find(const struct pyproc *p, struct gil_probes *out);

/* 0 if p's GIL has no take_gil/drop_gil by design (CPython 2.7). */
int gil_traceable(const struct pyproc *p);

/* 1 if p is a free-threaded build (3.13t+: _Py_DebugOffsets.free_threaded),
 * which has no GIL. */
int gil_free_threaded(const struct pyproc *p);

#endif /* PYBPF_GILPROBE_H */
