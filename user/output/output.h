/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* output.h - one interface for every profile file format.
 *
 * record picks a writer by name and hands it the finished profile; a
 * writer never sees maps, symbols or options beyond what is here.
 */
#ifndef PYBPF_OUTPUT_H
#define PYBPF_OUTPUT_H

#include <stdio.h>
#include "profile.h"
#include "utf8.h"

struct output_format {
	const char *name;        /* -f value */
	const char *extension;   /* default file extension, e.g. "svg" */
	/* Write p to f.  Returns 0 or -errno. */
	int (*write)(FILE *f, const struct profile *p);
	int timeline;            /* reads profile.timeline: record samples in time order */
};

/* NULL if name is not a known format. */
const struct output_format *output_find(const char *name);
/* Comma-separated list of format names, for --help and errors. */
const char *output_names(void);

/* "name (file:line)" as used by collapsed output and flame graph labels;
 * "name (file)" when line is 0; just the name for synthetic frames.
 * Returns the length snprintf would have written. */
int pframe_label(const struct pframe *f, char *buf, size_t len);

int write_collapsed(FILE *f, const struct profile *p);
int write_raw(FILE *f, const struct profile *p);
int write_flamegraph(FILE *f, const struct profile *p);
int write_speedscope(FILE *f, const struct profile *p);
/* Chrome's Trace Event Format (out_chrometrace.c); needs the timeline. */
int write_chrometrace(FILE *f, const struct profile *p);
/* Indices of p->timeline grouped by thread (pid, tid), in time order within
 * each; malloc'd, NULL on ENOMEM. */
size_t *timeline_by_thread(const struct profile *p);
/* gzip-compressed perftools.profiles.Profile protobuf (out_pprof.c). */
int write_pprof(FILE *f, const struct profile *p);

#endif /* PYBPF_OUTPUT_H */
