/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* writeout.h - where record's profiles go: one file, or one file per
 * process in a directory (--all), with a time stamp when rotating. */
#ifndef PYBPF_WRITEOUT_H
#define PYBPF_WRITEOUT_H

#include <stdint.h>
#include "aggregate.h"
#include "output.h"
#include "session.h"

struct writeout_opts {
	const char *output;              /* file, or directory with per_process */
	const struct output_format *format;
	struct profile_opts profile;
	int per_process;                 /* --all without --merge */
	uint32_t min_samples;            /* --min-samples: skip smaller processes */
};

/* Before sampling: can the output be written?  A single file's directory
 * must exist and take a new file; per process, the directory is created
 * now, and a name with a file extension is refused (one file per process
 * needs a directory: --merge writes one file).  0 or -errno (printed). */
int writeout_check(const struct writeout_opts *o);

/* Write what s->agg holds, each file through a temporary file in the same
 * directory renamed into place: a reader never sees half a profile, and
 * a failed write leaves an older one untouched.  stamp (may be NULL) goes into the names.
 * *files counts the files written.  0 or -errno (printed). */
int writeout(struct session *s, const struct writeout_opts *o, const char *stamp, int *files);

#endif /* PYBPF_WRITEOUT_H */
