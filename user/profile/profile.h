/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* profile.h - the resolved profile every output writer reads.
 *
 * A profile is a table of unique frames and a list of stacks (root
 * first, as indices into that table) with their sample counts.  It is
 * built from drained BPF maps by profile.c; writers only render it.
 */
#ifndef PYBPF_PROFILE_H
#define PYBPF_PROFILE_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

enum pframe_kind {
	PFRAME_PYTHON = 0,   /* a Python function */
	PFRAME_THREAD,       /* synthetic root: "thread TID (name)" (-t) */
	PFRAME_PROCESS,      /* synthetic root: "process PID: cmdline" */
	PFRAME_TRUNCATED,    /* marker: frames beyond --max-depth were cut */
	PFRAME_UNKNOWN,      /* a frame whose code object could not be read */
	PFRAME_IDLE,         /* leaf marker: off-CPU time (--idle) */
	PFRAME_NATIVE,       /* a native (C) function: file its library's base name,
			      * path the library (--native) */
	PFRAME_KERNEL,       /* a kernel function (--native) */
};

struct pframe {
	const char *name;    /* qualified function name, or the synthetic label */
	const char *file;    /* file as displayed (basename unless --full-filenames), may be "" */
	const char *path;    /* full path as in co_filename, may be "" */
	uint32_t line;       /* line of the sampled instruction; 0 = none (--nolineno, -F) */
	uint32_t first_line; /* co_firstlineno, 0 if unknown */
	uint32_t kind;       /* enum pframe_kind */
};

/* Where native or kernel code sat in its process: an executable mapping
 * of a file, anonymous memory or the kernel (pprof's Mapping). */
struct pmapping {
	uint64_t start, limit;     /* [start, limit) in the address space */
	uint64_t offset;           /* file offset mapped at start */
	const char *file;          /* the path the process maps, "[vdso]", "[anon]",
				    * "[kernel.kallsyms]" */
	const char *build_id;      /* GNU build id, lowercase hex; "" unknown */
	uint32_t symbolized;       /* names come from the file's symbol table */
};

/* The code address of one frame of a stack (native and kernel frames):
 * the sampled pc for the innermost frame, a return address minus 1 (inside
 * the call instruction, in the caller's function) for the others. */
struct paddr {
	uint64_t addr;
	const struct pmapping *map; /* NULL: no address (Python, synthetic frames) */
};

#define PSTACK_TRUNCATED 1u
#define PSTACK_OFFCPU    2u  /* time off the CPU (--idle, --gil-wait), not CPU time */

struct pstack {
	uint32_t pid;
	uint32_t tid;
	const char *thread_name;   /* never NULL */
	uint32_t depth;
	const uint32_t *frames;    /* depth indices into profile.frames, root first */
	uint64_t count;            /* samples */
	uint32_t flags;            /* PSTACK_* */
	/* the process (NULL/0 when unknown) */
	const char *comm;          /* its command name */
	const char *cgroup;        /* its cgroup */
	uint32_t nspid;            /* its pid inside its pid namespace */
	const struct paddr *addrs; /* NULL, or depth entries in step with frames (--native) */
};

/* A sample in time order: on-CPU (dur_ns 0: one sampling period) or an
 * off-CPU interval, of stacks[stack]. */
struct psample {
	uint64_t time_ns;          /* monotonic clock; only differences mean anything */
	uint64_t dur_ns;
	uint32_t stack;
	uint32_t pad;
};

struct profile {
	struct pframe *frames;
	size_t nframes;
	struct pstack *stacks;
	size_t nstacks;
	uint64_t total;            /* sum of stacks[].count */
	struct psample *timeline;  /* sorted by time; NULL unless recorded */
	size_t ntimeline;
	/* metadata for titles and headers */
	const char *title;         /* e.g. the profiled command line */
	uint32_t rate_hz;          /* sampling rate */
	uint64_t duration_ns;      /* wall time covered */
	uint64_t start_unix_ns;    /* when recording started */
	const char *python_version;/* e.g. "3.11.7", may be "" */
	char **owned;              /* strings the builder allocated (NULL-terminated) */
};

#endif /* PYBPF_PROFILE_H */
