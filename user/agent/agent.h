/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* agent.h - `pybpf agent`: its options (agent_opts.c), the sampling side
 * (agent.c), the sender thread that pushes the spool to the backends
 * (agent_push.c) and the --metrics endpoint (agent_metrics.c). */
#ifndef PYBPF_AGENT_H
#define PYBPF_AGENT_H

#include <pthread.h>
#include <stdint.h>
#include "session.h"
#include "spool.h"

/* Spooled items say where they go: META_PYROSCOPE + the /ingest query,
 * or META_OTLP + a description (the body is the whole request). */
#define META_PYROSCOPE "pyroscope "
#define META_OTLP "otlp "

struct pusher_opts {
	const char *url;          /* --push base URL, no trailing slash; NULL without */
	const char *otlp_url;     /* --otlp: the full URL of the profiles endpoint, or NULL */
	const char *const *headers;
	size_t nheaders;
	double timeout;           /* seconds per request */
	double backoff_max;       /* seconds */
};

/* Counters the status line shows; written by both threads (atomics). */
struct agent_stats {
	uint64_t profiles;        /* made and queued */
	uint64_t pushed;          /* accepted by the backend */
	uint64_t rejected;        /* refused for good (4xx): dropped */
	uint64_t failures;        /* attempts that failed and will be retried */
	uint64_t processes;       /* live profiled processes (set by the sampling loop) */
	uint64_t samples;         /* samples drained so far (likewise) */
	char last_error[256];     /* under lock */
	pthread_mutex_t lock;
};

struct pusher {
	struct pusher_opts o;
	struct spool *spool;
	struct agent_stats *stats;
	pthread_t thread;
	int started;
	volatile int stop;        /* leave now */
	volatile int draining;    /* leave once the spool is empty or at deadline_ns */
	volatile uint64_t deadline_ns;
};

/* Start the sender thread (signals blocked in it).  0 or -errno. */
int pusher_start(struct pusher *p, const struct pusher_opts *o, struct spool *spool,
		 struct agent_stats *stats);
/* Deliver what the spool holds within seconds, then stop the thread. */
void pusher_flush_stop(struct pusher *p, double seconds);

#define MAX_LIST 64          /* --header, --tag */

/* `pybpf agent`'s options (agent_opts.c). */
struct agent_opts {
	struct session_opts session;
	struct pusher_opts push;
	double interval;                 /* --interval */
	const char *headers[MAX_LIST];   /* --header, --header-file */
	char *owned[MAX_LIST];           /* the --header-file lines among them */
	size_t nowned;
	const char *tags[MAX_LIST];      /* --tag */
	size_t ntags;
	const char *service;             /* --service */
	const char *spool_dir;           /* --spool */
	uint64_t spool_max;              /* --spool-max bytes */
	double status_every;             /* --status-every */
	double flush;                    /* --flush-timeout */
	const char *metrics;             /* --metrics [ADDR]:PORT */
	int per_service;                 /* --per-service */
	char url[2048];                  /* --push */
	char otlp_url[2048];             /* --otlp, with its path */
};

/* Parse argv; 0, or -EINVAL with the reason printed (exit status 2). */
int agent_parse(int argc, char **argv, struct agent_opts *o);
void agent_opts_free(struct agent_opts *o);

struct metrics;

/* --metrics [ADDR]:PORT: Prometheus text format at GET /metrics, served by
 * a thread of its own.  0 or -errno (printed). */
int metrics_start(struct metrics **m, const char *addr, struct agent_stats *stats,
		  struct spool *spool);
void metrics_stop(struct metrics *m);

void agent_stat_add(uint64_t *counter, uint64_t n);
void agent_stat_set(uint64_t *counter, uint64_t v);
uint64_t agent_stat_get(const uint64_t *counter);
void agent_set_error(struct agent_stats *st, const char *err);

#endif /* PYBPF_AGENT_H */
