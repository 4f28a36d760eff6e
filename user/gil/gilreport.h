/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* gilreport.h - what `pybpf gil` prints: per-thread GIL statistics per
 * interval (table, histograms or JSON lines) and long waits/holds with
 * their Python stacks.  Fed plain map entries and events by gil.c. */
#ifndef PYBPF_GILREPORT_H
#define PYBPF_GILREPORT_H

#include <stdint.h>
#include <stdio.h>
#include "gil.h"
#include "htab.h"
#include "proc.h"
#include "symbols.h"

struct gil_report_opts {
	int json;                    /* one JSON object per line */
	int hist;                    /* log2 histograms of wait and hold */
	int full_filenames;          /* stacks of long waits/holds */
	uint32_t only_tid;           /* -p TID: only this thread, 0 = all */
};

/* A thread's name as the user knows it (threading's); 0 with buf set, or
 * -ENOENT to fall back to the kernel's comm. */
typedef int (*gil_name_fn)(void *ctx, uint32_t tid, char *buf, size_t len);

/* One entry of the gil_threads map, read at the end of an interval. */
struct gil_entry {
	uint32_t tid;
	struct gil_thread t;
};

struct gil_report {
	struct gil_report_opts o;
	FILE *out;
	const struct pyproc *proc;
	const struct symbols *syms;
	const char *mode;            /* which functions are probed */
	struct htab marks;           /* tid -> struct gil_mark at the last interval end */
	uint64_t start_ns;           /* tracing began (CLOCK_MONOTONIC) */
	uint64_t last_ns;            /* the last interval ended */
	int64_t real_offset_ns;      /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	unsigned intervals;
	uint64_t events[3];          /* long waits/holds printed, by enum gil_event_kind */
	gil_name_fn name_fn;         /* optional: Python thread names */
	void *name_ctx;
};

void gil_report_init(struct gil_report *r, const struct gil_report_opts *o, FILE *out,
		     const struct pyproc *proc, const struct symbols *syms, const char *mode,
		     uint64_t start_ns);
void gil_report_free(struct gil_report *r);
/* Print the interval that ends at now_ns from the map's entries (read at
 * now_ns).  0 or -ENOMEM. */
int gil_report_interval(struct gil_report *r, uint64_t now_ns, const struct gil_entry *e,
			size_t n);
/* Forget a thread that exited (after its last interval was printed). */
void gil_report_forget(struct gil_report *r, uint32_t tid);
/* Print one long wait or hold. */
void gil_report_event(struct gil_report *r, const struct gil_event *ev);
/* The closing line on stderr; the BPF counters too with -v (or when
 * something was lost).  gil_stats[GIL_STAT_NR], walk_stats[STAT_NR]. */
void gil_report_summary(struct gil_report *r, uint64_t now_ns, const uint64_t *gil_stats,
			const uint64_t *walk_stats);

#endif /* PYBPF_GILREPORT_H */
