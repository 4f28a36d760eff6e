/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* session.h - one profiling session shared by record and top: check
 * privileges, find or launch the target, run the sampler, keep the
 * symbols and the aggregate, tell when it is over. */
#ifndef PYBPF_SESSION_H
#define PYBPF_SESSION_H

#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include "aggregate.h"
#include "nativeprof.h"
#include "pythreads.h"
#include "proc.h"
#include "sampler.h"
#include "symbols.h"
#include "threadfilter.h"

struct session_opts {
	pid_t pid;               /* -p */
	char **cmd;              /* -- CMD ARGS... (NULL-terminated) */
	uint32_t rate_hz;        /* -r */
	uint32_t max_depth;      /* --max-depth */
	double duration;         /* -d seconds, 0 = until the end */
	struct thread_filter filter; /* --tid, --thread-name */
	int idle;                /* --idle: add off-CPU time */
	int subprocesses;        /* -s: follow Python children */
	int all;                 /* --all: every CPython process on the host */
	int gil_only;            /* --gil: keep only samples of the GIL holder */
	int gil_wait;            /* --gil-wait: stacks weighted by time waiting for the GIL */
	int mark_gil;            /* tell GIL holders apart (top's GIL %) */
	int timeline;            /* keep samples in time order (agg.timeline) */
	int native;              /* --native: native and kernel frames too */
	regex_t *comm_re;        /* --all: only processes whose comm matches */
	pid_t *exclude;          /* --all: never these pids (0-terminated) */
};

struct session {
	struct session_opts o;
	struct sampler *sampler;
	struct symbols syms;
	struct aggregate agg;    /* everything drained so far */
	struct aggregate *window;/* optional second target of drains (top) */
	struct pythread_cache names; /* a drain's reads of threading._active */
	int draining;            /* in sampler_drain: names may use `names` */
	struct pyproc proc;      /* the target (pid 0 with --all) */
	struct pyproc **kids;    /* -s: its Python descendants; --all: every one */
	size_t nkids, capkids;
	struct htab not_python;  /* pid -> exe name hash of children seen not to be CPython */
	uint64_t next_scan_ns;
	uint64_t next_alive_ns;  /* the target's /proc state read again (target_alive_every) */
	uint64_t procs_refused;  /* processes the sampler had no room for */
	int gil_fallback_said;
	uint64_t pushes;         /* records pushed: each starts its free count anew */
	pid_t child;             /* launched CMD, 0 if attached */
	int child_exited, child_code;
	int target_gone;
	uint64_t start_ns, last_ns;
	uint64_t start_unix_ns;  /* wall clock at the start, for profile metadata */
	struct nprof *nprof;     /* --native: resolved native sides */
	uint64_t native_no_mapping; /* NATIVE_STAT_NO_MAPPING at the last refresh */
};

extern volatile sig_atomic_t session_interrupted;    /* the signal (SIGINT, SIGTERM) */
extern volatile sig_atomic_t session_dump_requested;  /* SIGUSR1 */

/* Returns 0 or -errno, having printed the one-line reason. */
int session_start(struct session *s, const struct session_opts *o);
/* Poll code events up to timeout_ms; 1 while the session should go on. */
int session_run(struct session *s, int timeout_ms);
/* Move counted stacks into s->agg (and s->window). */
int session_drain(struct session *s);
/* Drain now, whatever the interval: the BPF sets are filling
 * (sampler_drain_due).  record and the agent check it every poll. */
int session_drain_due(const struct session *s);
/* Final drain of both counts maps and pending events. */
void session_finish(struct session *s);
/* After a rotation has written and cleared the aggregate: forget its
 * stacks, and the symbols, labels and thread names of processes and
 * threads that exited. */
void session_forget(struct session *s);
void session_stats(struct session *s, uint64_t out[SAMPLER_NSTATS]);
/* --native: -v lines (native_stats counters, unwind table sizes) to f;
 * nothing without --native. */
void session_native_report(struct session *s, FILE *f);
double session_elapsed(const struct session *s);
/* A process to profile (from targets.c): into the sampler, its probes
 * (--gil-wait), the aggregate's process labels, its blocked threads
 * (--idle).  0 or -errno. */
int session_add_proc(struct session *s, const struct pyproc *p);
void session_close(struct session *s);

uint64_t now_ns(void);

#endif /* PYBPF_SESSION_H */
