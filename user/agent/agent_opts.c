// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* agent_opts.c - `pybpf agent`'s command line: --help, and every option
 * checked (durations, sizes, URLs, headers, tags) before the kernel is
 * touched. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "cli.h"
#include "log.h"
#include "otlp.h"
#include "pyroscope.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: pybpf agent --push URL [--otlp URL] [OPTIONS]\n"
"Profile every CPython process on the host, continuously, and push one\n"
"pprof profile per process and interval to Grafana Pyroscope (POST /ingest).\n\n"
"      --push URL         the Pyroscope server, e.g. http://pyroscope:4040\n"
"      --otlp URL         EXPERIMENTAL: also (or instead) OTLP profiles over\n"
"                         HTTP/protobuf to URL/v1development/profiles, e.g.\n"
"                         http://otel-collector:4318 (alpha signal: collectors\n"
"                         need their profiles feature gate; the format changes)\n"
"      --interval DUR     one profile per process every DUR (default 15s;\n"
"                         500ms, 15s, 1m; at least 1s)\n"
"      --header 'K: V'    an HTTP header on every request (repeatable), e.g.\n"
"                         'Authorization: Bearer TOKEN', 'X-Scope-OrgID: team'\n"
"      --header-file FILE one header a line (keeps a token out of the process\n"
"                         list; mode 0600)\n"
"      --tag K=V          a label on every profile (repeatable)\n"
"      --service NAME     the service name (default: the process's container or\n"
"                         systemd unit, else its command name)\n"
"      --per-service      one profile per service and interval, not per process\n"
"                         (the pprof's samples keep pid and comm labels)\n"
"      --comm REGEX       only processes whose command name matches\n"
"      --idle             also off-CPU time: a second profile per process, of\n"
"                         Pyroscope's wall type (on-CPU + off-CPU, leaf <idle>)\n"
"      --native           native (C) and kernel frames too, unwound in the kernel\n"
"                         and merged with the Python ones (as record --native)\n"
"  -r, --rate HZ          samples per second per CPU (default 100)\n"
"      --max-depth N      frames per stack, at most %d (default %d)\n\n"
"Delivery (nothing is lost while the backend is away):\n"
"      --spool DIR        keep queued profiles in DIR (created, mode 0700): they\n"
"                         survive a restart and are resent first (default: memory)\n"
"      --spool-max SIZE   bound of the queue, e.g. 500M, 2G (default 256M with\n"
"                         --spool, 32M in memory); when full the oldest profiles\n"
"                         are dropped, counted and logged\n"
"      --timeout SECS     per request (default 10)\n"
"      --backoff-max SECS longest wait between retries (default 60; 1 s first,\n"
"                         doubling)\n"
"      --flush-timeout SECS  on SIGTERM/SIGINT: time to deliver the queue,\n"
"                         the last interval included (default 10); what is\n"
"                         left stays in --spool DIR for the next start\n"
"      --status-every SECS   a status line in the log every SECS (default 300)\n"
"      --metrics [ADDR]:PORT these counters for Prometheus at GET /metrics\n"
"                         (e.g. :9464, 127.0.0.1:9464)\n"
"  -d, --duration SECS    stop after SECS (default: run until SIGTERM)\n"
"  -v, --verbose          every push in the log\n"
"  SIGUSR1 prints the status line: processes, samples, profiles pushed,\n"
"  queued, dropped, last error.  SIGTERM ends the current interval early,\n"
"  pushes it and exits (status 143).\n\n"
"Examples:\n"
"  sudo pybpf agent --push http://pyroscope:4040 --interval 15s\n"
"  sudo pybpf agent --push https://profiles.example.com \\\n"
"       --header-file /etc/pybpf-agent.headers \\\n"
"       --tag env=prod --comm 'gunicorn|celery'\n"
"  sudo pybpf agent --spool /var/lib/pybpf --push http://pyroscope:4040\n",
		PYBPF_MAX_DEPTH, PYBPF_MAX_DEPTH);
}

/* "500ms", "15s", "15", "2m", "1h" -> seconds */
static int parse_duration(const char *s, const char *what, double min, double *out)
{
	char *end;
	double v, mul = 1;

	errno = 0;
	v = strtod(s, &end);
	if (!strcmp(end, "ms"))
		mul = 0.001;
	else if (!strcmp(end, "m"))
		mul = 60;
	else if (!strcmp(end, "h"))
		mul = 3600;
	else if (*end && strcmp(end, "s"))
		end = NULL;
	if (errno || !end || end == s || !(v * mul >= min) || v * mul > 1e7) {
		pb_err("invalid %s: %s (expected a duration of at least %g s, like 15s or 1m)", what,
		       s, min);
		return -EINVAL;
	}
	*out = v * mul;
	return 0;
}

/* "256M", "2G", "500K", "1048576" -> bytes */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v;
	uint64_t mul = 1;

	errno = 0;
	v = strtod(s, &end);
	if (*end == 'K' || *end == 'k')
		mul = 1ull << 10;
	else if (*end == 'M' || *end == 'm')
		mul = 1ull << 20;
	else if (*end == 'G' || *end == 'g')
		mul = 1ull << 30;
	if (mul > 1)
		end += 1 + (end[1] == 'i' || end[1] == 'B') + (end[1] == 'i' && end[2] == 'B');
	if (errno || end == s || *end || !(v * (double)mul >= 1024) || v * (double)mul > 1e15) {
		pb_err("invalid --spool-max: %s (expected a size of at least 1K, like 500M or 2G)", s);
		return -EINVAL;
	}
	*out = (uint64_t)(v * (double)mul);
	return 0;
}

static int add_header(struct agent_opts *o, size_t *n, const char *h, const char *where)
{
	if (!strchr(h, ':') || h[0] == ':' || strpbrk(h, "\r\n")) {
		pb_err("invalid header in %s: %s (expected 'Name: value')", where, h);
		return -EINVAL;
	}
	if (*n == MAX_LIST) {
		pb_err("too many headers (at most %d)", MAX_LIST);
		return -EINVAL;
	}
	o->headers[(*n)++] = h;
	return 0;
}

/* --header-file: one "Name: value" a line; blank lines and # comments
 * skipped.  A token stays out of the command line (and the process list). */
static int header_file(struct agent_opts *o, size_t *n, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	int err = 0;

	if (!f) {
		err = -errno;
		pb_err("failed to open --header-file %s: %s", path, strerror(-err));
		return err;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char *h;

		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		h = strdup(line);
		err = h ? add_header(o, n, h, path) : -ENOMEM;
		if (!err)
			o->owned[o->nowned++] = h;  /* add_header bounds it to MAX_LIST */
		else
			free(h);
	}
	fclose(f);
	return err;
}

int agent_parse(int argc, char **argv, struct agent_opts *o)
{
	enum { OPT_PUSH = 500, OPT_INTERVAL, OPT_HEADER, OPT_TAG, OPT_SERVICE, OPT_SPOOL,
	       OPT_SPOOL_MAX, OPT_TIMEOUT, OPT_BACKOFF, OPT_FLUSH, OPT_STATUS, OPT_AIDLE,
	       OPT_ACOMM, OPT_DEPTH, OPT_HEADER_FILE, OPT_METRICS, OPT_PER_SERVICE, OPT_OTLP,
	       OPT_ANATIVE };
	static const struct option longopts[] = {
		{ "push", required_argument, NULL, OPT_PUSH },
		{ "otlp", required_argument, NULL, OPT_OTLP },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "header", required_argument, NULL, OPT_HEADER },
		{ "header-file", required_argument, NULL, OPT_HEADER_FILE },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "comm", required_argument, NULL, OPT_ACOMM },
		{ "idle", no_argument, NULL, OPT_AIDLE },
		{ "native", no_argument, NULL, OPT_ANATIVE },
		{ "spool", required_argument, NULL, OPT_SPOOL },
		{ "spool-max", required_argument, NULL, OPT_SPOOL_MAX },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "backoff-max", required_argument, NULL, OPT_BACKOFF },
		{ "flush-timeout", required_argument, NULL, OPT_FLUSH },
		{ "status-every", required_argument, NULL, OPT_STATUS },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "per-service", no_argument, NULL, OPT_PER_SERVICE },
		{ "rate", required_argument, NULL, 'r' },
		{ "max-depth", required_argument, NULL, OPT_DEPTH },
		{ "duration", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static regex_t comm_re;
	size_t nheaders = 0;
	int opt;

	cli_defaults(&o->session);
	o->session.all = 1;
	o->interval = 15;
	o->push.timeout = 10;
	o->push.backoff_max = 60;
	o->status_every = 300;
	o->flush = 10;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+r:d:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_PUSH:
			snprintf(o->url, sizeof(o->url), "%s", optarg);
			while (o->url[0] && o->url[strlen(o->url) - 1] == '/')
				o->url[strlen(o->url) - 1] = 0;
			if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8)) {
				pb_err("invalid --push URL: %s (expected http://HOST[:PORT] or https://...)",
				       optarg);
				return -EINVAL;
			}
			break;
		case OPT_OTLP:
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8)) {
				pb_err("invalid --otlp URL: %s (expected http://HOST:4318 or https://...)",
				       optarg);
				return -EINVAL;
			}
			snprintf(o->otlp_url, sizeof(o->otlp_url), "%s", optarg);
			while (o->otlp_url[0] && o->otlp_url[strlen(o->otlp_url) - 1] == '/')
				o->otlp_url[strlen(o->otlp_url) - 1] = 0;
			/* an OTLP endpoint base gets the signal's path, a full URL is kept */
			if (strlen(o->otlp_url) < 9 ||
			    strcmp(o->otlp_url + strlen(o->otlp_url) - 9, "/profiles"))
				snprintf(o->otlp_url + strlen(o->otlp_url),
					 sizeof(o->otlp_url) - strlen(o->otlp_url), "%s", OTLP_PATH);
			break;
		case OPT_INTERVAL:
			if (parse_duration(optarg, "--interval", 1, &o->interval))
				return -EINVAL;
			break;
		case OPT_HEADER:
			if (add_header(o, &nheaders, optarg, "--header"))
				return -EINVAL;
			break;
		case OPT_HEADER_FILE:
			if (header_file(o, &nheaders, optarg))
				return -EINVAL;
			break;
		case OPT_TAG:
			if (pyro_tag_check(optarg))
				return -EINVAL;
			if (o->ntags == MAX_LIST) {
				pb_err("too many --tag options (at most %d)", MAX_LIST);
				return -EINVAL;
			}
			o->tags[o->ntags++] = optarg;
			break;
		case OPT_SERVICE:
			o->service = optarg;
			break;
		case OPT_ACOMM:
			if (regcomp(&comm_re, optarg, REG_EXTENDED | REG_NOSUB)) {
				pb_err("invalid --comm regular expression: %s", optarg);
				return -EINVAL;
			}
			o->session.comm_re = &comm_re;
			break;
		case OPT_AIDLE:
			o->session.idle = 1;
			break;
		case OPT_ANATIVE:
			o->session.native = 1;
			break;
		case OPT_SPOOL:
			o->spool_dir = optarg;
			break;
		case OPT_SPOOL_MAX:
			if (parse_size(optarg, &o->spool_max))
				return -EINVAL;
			break;
		case OPT_TIMEOUT:
			if (parse_duration(optarg, "--timeout", 0.1, &o->push.timeout))
				return -EINVAL;
			break;
		case OPT_BACKOFF:
			if (parse_duration(optarg, "--backoff-max", 1, &o->push.backoff_max))
				return -EINVAL;
			break;
		case OPT_FLUSH:
			if (parse_duration(optarg, "--flush-timeout", 0.1, &o->flush))
				return -EINVAL;
			break;
		case OPT_PER_SERVICE:
			o->per_service = 1;
			break;
		case OPT_METRICS:
			o->metrics = optarg;
			break;
		case OPT_STATUS:
			if (parse_duration(optarg, "--status-every", 1, &o->status_every))
				return -EINVAL;
			break;
		case 'r':
			if (cli_u32(optarg, "rate", 1, 100000, &o->session.rate_hz))
				return -EINVAL;
			break;
		case OPT_DEPTH:
			if (cli_u32(optarg, "--max-depth", 1, PYBPF_MAX_DEPTH, &o->session.max_depth))
				return -EINVAL;
			break;
		case 'd':
			if (parse_duration(optarg, "--duration", 0.1, &o->session.duration))
				return -EINVAL;
			break;
		case 'v':
			log_verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			cli_try_help();
			return -EINVAL;
		}
	}
	if (optind < argc) {
		pb_err("unexpected argument: %s (agent profiles every process; no -p or COMMAND)",
		       argv[optind]);
		cli_try_help();
		return -EINVAL;
	}
	if (!o->url[0] && !o->otlp_url[0]) {
		pb_err("--push URL is required (the Pyroscope server), or --otlp URL");
		cli_try_help();
		return -EINVAL;
	}
	if (!o->spool_max)
		o->spool_max = o->spool_dir ? 256ull << 20 : 32ull << 20;
	o->push.url = o->url[0] ? o->url : NULL;
	o->push.otlp_url = o->otlp_url[0] ? o->otlp_url : NULL;
	o->push.headers = o->headers;
	o->push.nheaders = nheaders;
	return 0;
}

void agent_opts_free(struct agent_opts *o)
{
	while (o->nowned)
		free(o->owned[--o->nowned]);
}
