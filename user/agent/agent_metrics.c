// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* agent_metrics.c - `pybpf agent --metrics [ADDR]:PORT`: the status
 * line's counters in Prometheus's text exposition format, at GET
 * /metrics.  One thread, one connection at a time, a short read timeout:
 * a scraper is the only client, and a stuck one cannot hold it long. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "agent.h"
#include "log.h"

struct metrics {
	int fd;
	pthread_t thread;
	volatile int stop;
	struct agent_stats *stats;
	struct spool *spool;
};

static int render(struct metrics *m, char *buf, size_t len)
{
	struct agent_stats *st = m->stats;
	uint64_t bytes, dropped;
	size_t n;

	spool_counts(m->spool, &n, &bytes, &dropped);
	return snprintf(buf, len,
		"# HELP pybpf_agent_processes Python processes being profiled.\n"
		"# TYPE pybpf_agent_processes gauge\npybpf_agent_processes %llu\n"
		"# HELP pybpf_agent_samples_total Samples taken (on-CPU, and off-CPU periods with --idle).\n"
		"# TYPE pybpf_agent_samples_total counter\npybpf_agent_samples_total %llu\n"
		"# HELP pybpf_agent_profiles_total Profiles made and queued.\n"
		"# TYPE pybpf_agent_profiles_total counter\npybpf_agent_profiles_total %llu\n"
		"# HELP pybpf_agent_pushed_total Profiles the backend accepted.\n"
		"# TYPE pybpf_agent_pushed_total counter\npybpf_agent_pushed_total %llu\n"
		"# HELP pybpf_agent_rejected_total Profiles the backend refused for good (4xx), dropped.\n"
		"# TYPE pybpf_agent_rejected_total counter\npybpf_agent_rejected_total %llu\n"
		"# HELP pybpf_agent_push_failures_total Push attempts that failed and were retried.\n"
		"# TYPE pybpf_agent_push_failures_total counter\npybpf_agent_push_failures_total %llu\n"
		"# HELP pybpf_agent_dropped_total Profiles dropped from a full spool.\n"
		"# TYPE pybpf_agent_dropped_total counter\npybpf_agent_dropped_total %llu\n"
		"# HELP pybpf_agent_queued_profiles Profiles waiting in the spool.\n"
		"# TYPE pybpf_agent_queued_profiles gauge\npybpf_agent_queued_profiles %zu\n"
		"# HELP pybpf_agent_queued_bytes Bytes waiting in the spool.\n"
		"# TYPE pybpf_agent_queued_bytes gauge\npybpf_agent_queued_bytes %llu\n",
		(unsigned long long)agent_stat_get(&st->processes),
		(unsigned long long)agent_stat_get(&st->samples),
		(unsigned long long)agent_stat_get(&st->profiles),
		(unsigned long long)agent_stat_get(&st->pushed),
		(unsigned long long)agent_stat_get(&st->rejected),
		(unsigned long long)agent_stat_get(&st->failures), (unsigned long long)dropped, n,
		(unsigned long long)bytes);
}

static void answer(struct metrics *m, int c)
{
	struct timeval tv = { .tv_sec = 1 };
	char req[2048], body[4096], head[256];
	ssize_t n;
	int len, hl, ok;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = recv(c, req, sizeof(req) - 1, 0);
	if (n <= 0)
		return;
	req[n] = 0;
	ok = !strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET /metrics?", 13);
	len = ok ? render(m, body, sizeof(body)) : snprintf(body, sizeof(body), "see /metrics\n");
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
		      "Content-Length: %d\r\nConnection: close\r\n\r\n",
		      ok ? "200 OK" : "404 Not Found", len);
	if (send(c, head, (size_t)hl, MSG_NOSIGNAL) == hl)
		send(c, body, (size_t)len, MSG_NOSIGNAL);
}

static void *run(void *arg)
{
	struct metrics *m = arg;
	struct pollfd pfd = { .fd = m->fd, .events = POLLIN };

	while (!m->stop) {
		int c;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		answer(m, c);
		close(c);
	}
	return NULL;
}

/* ":9464", "127.0.0.1:9464", "9464" */
static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	char *end;
	long port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_ANY);
	port = strtol(colon ? colon + 1 : s, &end, 10);
	if (*end || end == (colon ? colon + 1 : s) || port < 0 || port > 65535)
		return -EINVAL;
	sa->sin_port = htons((uint16_t)port);
	if (colon && colon != s) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		if (!strcmp(host, "localhost"))
			snprintf(host, sizeof(host), "127.0.0.1");
		if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			return -EINVAL;
	}
	return 0;
}

int metrics_start(struct metrics **out, const char *addr, struct agent_stats *stats,
		  struct spool *spool)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct sockaddr_in sa;
	sigset_t all, old;
	int err, one = 1;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->stats = stats;
	m->spool = spool;
	if (parse_addr(addr, &sa)) {
		pb_err("invalid --metrics address: %s (expected [IPv4]:PORT, like :9464)", addr);
		free(m);
		return -EINVAL;
	}
	m->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(m->fd, 8)) {
		err = -errno;
		pb_err("failed to listen on --metrics %s: %s", addr, strerror(-err));
		if (m->fd >= 0)
			close(m->fd);
		free(m);
		return err;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&m->thread, NULL, run, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pb_err("failed to start the metrics thread: %s", strerror(-err));
		close(m->fd);
		free(m);
		return err;
	}
	*out = m;
	return 0;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	m->stop = 1;
	pthread_join(m->thread, NULL);
	close(m->fd);
	free(m);
}
