// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* record.c - `pybpf record`: sample until the target exits, -d expires
 * or Ctrl-C, then write the profile in the chosen format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "commands.h"
#include "log.h"
#include "output.h"
#include "session.h"

struct record_opts {
	struct session_opts session;
	struct profile_opts profile;
	const char *output;
	const struct output_format *format;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: pybpf record [OPTIONS] (-p PID | -- COMMAND [ARGS...])\n"
"Sample a running Python process (or a command it launches) in the kernel\n"
"and write a profile.\n\n"
"  -p, --pid PID          profile this process\n"
"  -o, --output FILE      where to write (default: profile.<format extension>)\n"
"  -f, --format FORMAT    %s (default flamegraph)\n"
"  -d, --duration SECS    stop after SECS seconds (default: until Ctrl-C or exit)\n"
"  -r, --rate HZ          samples per second (default 100)\n"
"  -t, --threads          a root frame per thread\n"
"  -F, --function         aggregate by function (its first line), not by line\n"
"      --nolineno         no line numbers\n"
"      --full-filenames   full paths instead of file names\n"
"      --max-depth N      frames per stack, at most %d (default %d)\n"
"  -s, --subprocesses     also profile Python child processes (root frame per process)\n"
"      --idle             add time spent off-CPU (sleep, I/O, locks), marked <idle>\n"
"      --tid TID[,TID...] only these threads\n"
"      --thread-name RE   only threads whose name matches RE\n"
"  -v, --verbose          show the BPF counters\n\n"
"Examples:\n"
"  sudo pybpf record -p 1234 -o profile.svg\n"
"  sudo pybpf record -f speedscope -o app.json -- python3 app.py --port 8000\n",
		output_names(), PYBPF_MAX_DEPTH, PYBPF_MAX_DEPTH);
}

static int parse(int argc, char **argv, struct record_opts *o)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "threads", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, r;

	cli_defaults(&o->session);
	o->format = output_find("flamegraph");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+" CLI_COMMON_SHORT "o:f:t", longopts, NULL)) != -1) {
		r = cli_common(opt, optarg, &o->session, &o->profile);
		if (r < 0)
			return r;
		if (r)
			continue;
		switch (opt) {
		case 'o':
			o->output = optarg;
			break;
		case 'f':
			o->format = output_find(optarg);
			if (!o->format) {
				pb_err("unknown format: %s (expected %s)", optarg, output_names());
				return -EINVAL;
			}
			break;
		case 't':
			o->profile.thread_roots = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	return cli_target(&o->session, argc, argv, optind);
}

/* errors: reads that failed; lost: samples that could not be counted */
static void summary(struct session *s, const char *dest)
{
	uint64_t st[STAT_NR + 1], errors, lost;
	int i;

	session_stats(s, st);
	errors = st[STAT_ERR_RUNTIME] + st[STAT_ERR_TSTATE] + st[STAT_ERR_FRAME] +
		 st[STAT_ERR_CODE] + st[STAT_ERR_NAME] + st[STAT_ERR_SYMBOL];
	lost = st[STAT_LOST_COUNTS] + st[STAT_LOST_STACKS] + st[STAT_NR];
	fprintf(stderr, "pybpf: %llu samples, %llu errors, %llu lost, %.1f s -> %s\n",
		(unsigned long long)s->agg.total, (unsigned long long)errors,
		(unsigned long long)lost, session_elapsed(s), dest);
	for (i = 0; i <= STAT_NR; i++) {
		int shown = i >= STAT_ERR_RUNTIME && i != STAT_TRUNCATED;

		if (st[i] && (log_verbose || (shown && st[i])))
			fprintf(stderr, "pybpf:   %10llu  %s\n", (unsigned long long)st[i],
				sampler_stat_name(i));
	}
}

static int write_profile(struct session *s, const struct record_opts *o, const char *path)
{
	struct profile p;
	FILE *f;
	int err;

	err = profile_build(&s->agg, &s->syms, &o->profile, &p);
	if (err) {
		pb_err("failed to build profile: %s", strerror(-err));
		return err;
	}
	p.title = s->proc.cmdline[0] ? s->proc.cmdline : "python";
	p.rate_hz = s->o.rate_hz;
	p.duration_ns = (uint64_t)(session_elapsed(s) * 1e9);
	p.start_unix_ns = s->start_unix_ns;
	p.python_version = s->proc.version;
	f = fopen(path, "w");
	if (!f) {
		err = -errno;
		pb_err("failed to open %s: %s", path, strerror(errno));
		goto out;
	}
	err = o->format->write(f, &p);
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		pb_err("failed to write %s: %s", path, strerror(-err));
out:
	profile_free(&p);
	return err;
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o = {};
	struct session s;
	char defpath[64];
	const char *path;
	uint64_t last_drain;
	int err;

	err = parse(argc, argv, &o);
	if (err)
		return 2;
	snprintf(defpath, sizeof(defpath), "profile.%s", o.format->extension);
	path = o.output ? o.output : defpath;

	err = session_start(&s, &o.session);
	if (err)
		goto out;
	last_drain = now_ns();
	while (session_run(&s, 100)) {
		if (now_ns() - last_drain >= 1000000000ull) {
			session_drain(&s);
			last_drain = now_ns();
		}
	}
	session_finish(&s);
	if (s.target_gone)
		pb_debug("process %d exited", s.proc.pid);
	err = write_profile(&s, &o, path);
	summary(&s, path);
	if (!err && !s.agg.total)
		pb_warn("no samples: the target used no CPU while it was profiled%s",
			thread_filter_active(&o.session.filter) ? ", or no thread matched the filter" : "");
out:
	session_close(&s);
	if (err)
		return 1;
	return s.child ? s.child_code : 0;
}
