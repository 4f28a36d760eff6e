// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* agent_push.c - the agent's sender thread: takes the oldest spooled
 * profile, POSTs it to Pyroscope's /ingest, removes it once accepted.
 * A backend that is down, slow (timeout) or answers 5xx, 408 or 429
 * keeps the profile first in line and is retried with exponential
 * backoff (1 s, doubling up to --backoff-max); any other 4xx means the
 * backend will never take that profile: it is dropped, counted and
 * logged, so one bad profile cannot block the queue. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agent.h"
#include "http.h"
#include "log.h"
#include "pyroscope.h"
#include "session.h"

#define BACKOFF_FIRST_MS 1000

void agent_stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

void agent_stat_set(uint64_t *counter, uint64_t v)
{
	__atomic_store_n(counter, v, __ATOMIC_RELAXED);
}

uint64_t agent_stat_get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void agent_set_error(struct agent_stats *st, const char *err)
{
	pthread_mutex_lock(&st->lock);
	snprintf(st->last_error, sizeof(st->last_error), "%s", err);
	pthread_mutex_unlock(&st->lock);
}

static int retryable(int status)
{
	return status < 0 || status >= 500 || status == 408 || status == 429;
}

/* One attempt at the oldest profile: 1 sent or dropped, 0 nothing to
 * send, -1 failed (kept for a retry). */
static int push_one(struct pusher *p, struct http *h, char *err, size_t errlen)
{
	char *meta, *url, type[128];
	void *body, *form = NULL;
	size_t len, formlen = 0;
	uint64_t seq;
	int status, r;

	r = spool_take(p->spool, &seq, &meta, &body, &len);
	if (r == -ENOENT)
		return 0;
	if (r)
		return r == -EIO ? 1 : -1;
	if (!strncmp(meta, META_OTLP, strlen(META_OTLP)) && p->o.otlp_url) {
		/* OTLP/HTTP, binary protobuf: the body is the request */
		url = strdup(p->o.otlp_url);
		snprintf(type, sizeof(type), "application/x-protobuf");
		form = body;
		formlen = len;
		body = NULL;
	} else if (!strncmp(meta, META_PYROSCOPE, strlen(META_PYROSCOPE)) && p->o.url) {
		if (asprintf(&url, "%s/ingest?%s", p->o.url, meta + strlen(META_PYROSCOPE)) < 0) {
			url = NULL;
		} else if (pyro_multipart(body, len, &form, &formlen, type, sizeof(type))) {
			free(url);
			url = NULL;
		}
	} else {
		/* spooled by a run with another backend: this one has nowhere to send it */
		pb_warn("spooled profile (%s) is for a backend this run does not push to: dropped", meta);
		spool_done(p->spool, seq, 1);
		agent_stat_add(&p->stats->rejected, 1);
		r = 1;
		goto out;
	}
	if (!url) {
		snprintf(err, errlen, "out of memory");
		spool_done(p->spool, seq, 0);
		r = -1;
		goto out;
	}
	status = http_post(h, url, type, form, formlen, err, errlen);
	if (status >= 200 && status <= 299) {
		spool_done(p->spool, seq, 1);
		agent_stat_add(&p->stats->pushed, 1);
		pb_debug("pushed %s (%zu bytes): HTTP %d", meta, len, status);
		r = 1;
	} else if (!retryable(status)) {
		spool_done(p->spool, seq, 1);
		agent_stat_add(&p->stats->rejected, 1);
		agent_set_error(p->stats, err);
		pb_err("the backend refused a profile (%s): %s; dropped, %llu so far", meta, err,
		       (unsigned long long)agent_stat_get(&p->stats->rejected));
		r = 1;
	} else {
		spool_done(p->spool, seq, 0);
		agent_stat_add(&p->stats->failures, 1);
		agent_set_error(p->stats, err);
		r = -1;
	}
out:
	free(url);
	free(form);
	free(meta);
	free(body);
	return r;
}

static void *run(void *arg)
{
	struct pusher *p = arg;
	struct http *h = http_new(p->o.headers, p->o.nheaders, (long)(p->o.timeout * 1000));
	uint64_t backoff = 0, max_ms = (uint64_t)(p->o.backoff_max * 1000), last_said = 0;
	char err[256], said[16] = "";

	if (!h) {
		pb_err("failed to start the HTTP client: out of memory");
		return NULL;
	}
	while (!p->stop) {
		int r;

		if (p->draining && now_ns() >= p->deadline_ns)
			break;
		r = push_one(p, h, err, sizeof(err));
		if (r > 0) {
			if (backoff) {
				size_t n;
				uint64_t bytes, dropped;

				spool_counts(p->spool, &n, &bytes, &dropped);
				pb_info("push: the backend answers again; %zu profile(s) still queued", n);
			}
			backoff = 0;
			last_said = 0;
			continue;
		}
		if (r == 0) {
			if (p->draining)
				break;       /* everything delivered */
			spool_wait(p->spool, 500, 1);
			continue;
		}
		backoff = backoff ? backoff * 2 : BACKOFF_FIRST_MS;
		if (backoff > max_ms)
			backoff = max_ms;
		/* the first failure, a different kind of failure, then once a
		 * minute while it lasts */
		if (!last_said || strncmp(err, said, sizeof(said) - 1) ||
		    now_ns() - last_said >= 60000000000ull || log_verbose) {
			snprintf(said, sizeof(said), "%.15s", err);
			pb_warn("push failed: %s; profiles stay queued, retrying in %.1f s", err,
				(double)backoff / 1000);
			last_said = now_ns();
		}
		if (p->draining && now_ns() + backoff * 1000000ull > p->deadline_ns)
			backoff = (p->deadline_ns - now_ns()) / 1000000ull + 1;
		spool_wait(p->spool, (int)backoff, 0);
	}
	http_free(h);
	return NULL;
}

int pusher_start(struct pusher *p, const struct pusher_opts *o, struct spool *spool,
		 struct agent_stats *stats)
{
	sigset_t all, old;
	int err;

	memset(p, 0, sizeof(*p));
	p->o = *o;
	p->spool = spool;
	p->stats = stats;
	/* SIGINT, SIGTERM and SIGUSR1 go to the sampling loop, never here */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&p->thread, NULL, run, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pb_err("failed to start the sender thread: %s", strerror(err));
		return -err;
	}
	p->started = 1;
	return 0;
}

void pusher_flush_stop(struct pusher *p, double seconds)
{
	if (!p->started)
		return;
	p->deadline_ns = now_ns() + (uint64_t)(seconds * 1e9);
	p->draining = 1;
	spool_wake(p->spool);
	pthread_join(p->thread, NULL);
	p->started = 0;
}
