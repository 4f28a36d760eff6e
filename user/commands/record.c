// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* record.c - `pybpf record`: sample until the target exits, -d expires
 * or Ctrl-C, then write the profile in the chosen format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "commands.h"
#include "log.h"
#include "output.h"
#include "session.h"
#include "stackcache.h"
#include "writeout.h"

struct record_opts {
	struct session_opts session;
	struct writeout_opts out;
	int merge;               /* --all --merge: one file, a root per process */
	double rotate;           /* --rotate SECS: a new set of files every SECS */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: pybpf record [OPTIONS] (-p PID | --all | -- COMMAND [ARGS...])\n"
"Sample a running Python process (or a command it launches) in the kernel\n"
"and write a profile.\n\n"
"  -p, --pid PID          profile this process (a thread id: its process, with\n"
"                         only that thread)\n"
"  -o, --output FILE      where to write (default: profile.<format extension>);\n"
"                         checked before sampling starts, written through a\n"
"                         temporary file renamed into place\n"
"  -f, --format FORMAT    %s (default flamegraph)\n"
"  -d, --duration SECS    stop after SECS seconds (default: until Ctrl-C or exit)\n"
"  -r, --rate HZ          samples per second per CPU (default 100): a thread\n"
"                         running all the time gets HZ samples a second\n"
"  -t, --threads          a root frame per thread\n"
"  -F, --function         aggregate by function (its first line), not by line\n"
"      --nolineno         no line numbers\n"
"      --full-filenames   full paths instead of file names\n"
"      --max-depth N      frames per stack, at most %d (default %d)\n",
		output_names(), PYBPF_MAX_DEPTH, PYBPF_MAX_DEPTH);
	cli_common_help(f);
	fprintf(f,
"  -v, --verbose          show the BPF counters\n\n"
"Fleet mode:\n"
"      --all              every CPython process on the host, now and later;\n"
"                         -o names a directory: one file PID-COMM.EXT per process\n"
"                         (created if missing; a name like x.svg is refused)\n"
"      --merge            with --all: one file, a root frame per process\n"
"      --rotate SECS      write a new set of files every SECS (time-stamped)\n"
"      --comm REGEX       only processes whose command name matches\n"
"      --exclude-pid PIDS never these processes (comma-separated)\n"
"      --min-samples N    leave out processes with fewer samples\n"
"  SIGUSR1 writes what was collected so far and keeps recording.\n\n"
"On a terminal, a status line shows the samples so far, once a second.\n"
"-- COMMAND: pybpf exits with the command's status when it ends by itself;\n"
"when -d ends the recording first, pybpf stops it (SIGTERM), says so and\n"
"exits 0.  After Ctrl-C (SIGINT) the profile is written and the status is 130.\n\n"
"Examples:\n"
"  sudo pybpf record -p 1234 -o profile.svg\n"
"  sudo pybpf record -f speedscope -o app.json -- python3 app.py --port 8000\n"
"  sudo pybpf record --all -d 60 -o profiles/\n"
"  sudo pybpf record --all --rotate 60 -f pprof -o /var/lib/pybpf/\n");
}

static int parse(int argc, char **argv, struct record_opts *o)
{
	enum { OPT_MERGE = 400, OPT_ROTATE, OPT_MIN_SAMPLES };
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "threads", no_argument, NULL, 't' },
		{ "merge", no_argument, NULL, OPT_MERGE },
		{ "rotate", required_argument, NULL, OPT_ROTATE },
		{ "min-samples", required_argument, NULL, OPT_MIN_SAMPLES },
		{ NULL, 0, NULL, 0 },
	};
	int opt, r;

	cli_defaults(&o->session);
	o->out.format = output_find("flamegraph");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+" CLI_COMMON_SHORT "o:f:t", longopts, NULL)) != -1) {
		r = cli_common(opt, optarg, &o->session, &o->out.profile);
		if (r < 0)
			return r;
		if (r)
			continue;
		switch (opt) {
		case 'o':
			o->out.output = optarg;
			break;
		case OPT_MERGE:
			o->merge = 1;
			break;
		case OPT_ROTATE:
			if (cli_seconds(optarg, &o->rotate))
				return -EINVAL;
			break;
		case OPT_MIN_SAMPLES:
			if (cli_u32(optarg, "--min-samples", 0, 0xffffffff, &o->out.min_samples))
				return -EINVAL;
			break;
		case 'f':
			o->out.format = output_find(optarg);
			if (!o->out.format) {
				pb_err("unknown format: %s (expected %s)", optarg, output_names());
				return -EINVAL;
			}
			break;
		case 't':
			o->out.profile.thread_roots = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			cli_try_help();
			return -EINVAL;
		}
	}
	return cli_target(&o->session, argc, argv, optind);
}

/* errors: reads that failed; lost: samples that could not be counted */
static void summary(struct session *s, const char *dest, uint64_t rotated)
{
	uint64_t st[SAMPLER_NSTATS], errors, lost;
	int i;

	session_stats(s, st);
	errors = sampler_errors(st);
	lost = sampler_lost(st);
	fprintf(stderr, "pybpf: %llu samples, %llu errors, %llu lost, %.1f s -> %s\n",
		(unsigned long long)(s->agg.total + rotated), (unsigned long long)errors,
		(unsigned long long)lost, session_elapsed(s), dest);
	if (!s->o.all && s->proc.free_threaded)
		fprintf(stderr, "pybpf:   CPython %s: free-threaded build, threads run Python in parallel\n",
			s->proc.version);
	if (s->procs_refused)
		fprintf(stderr, "pybpf:   %10llu  processes not profiled: process map full\n",
			(unsigned long long)s->procs_refused);
	/* -v: every counter, zeros too, so a user sees what is checked;
	 * otherwise the failures that happened */
	for (i = 0; i < SAMPLER_NSTATS; i++) {
		int shown = sampler_stat_is_failure(i);

		if (log_verbose || (shown && st[i]))
			fprintf(stderr, "pybpf:   %10llu  %s\n", (unsigned long long)st[i],
				sampler_stat_name(i));
	}
	if (log_verbose) {
		const struct stack_cache_stats *sc;
		struct sampler_drain_cost c[2];
		int k;

		sampler_drain_cost(s->sampler, &c[0], &c[1]);
		for (k = 0; k < 2; k++)
			fprintf(stderr, "pybpf:   %s drain: %llu keys (%llu from memos) in %.2f ms (cpu %.2f; wait %.2f, counts %.2f, stacks %.2f, profile %.2f of which memos %.2f)\n",
				k ? "last" : "slowest", (unsigned long long)c[k].keys,
				(unsigned long long)c[k].memo_keys, c[k].ns / 1e6, c[k].cpu_ns / 1e6,
				c[k].swap_ns / 1e6, c[k].maps_ns / 1e6, c[k].stacks_ns / 1e6,
				c[k].fn_ns / 1e6, c[k].memo_ns / 1e6);
		fprintf(stderr, "pybpf:   count slot sets rotated %llu times\n",
			(unsigned long long)sampler_count_rotations(s->sampler));
		sc = sampler_stack_stats(s->sampler);
		fprintf(stderr, "pybpf:   stack cache: %llu stacks and %llu chunks received, %llu incomplete, key sets emptied %llu times\n",
			(unsigned long long)sc->stacks, (unsigned long long)sc->chunks,
			(unsigned long long)sc->broken, (unsigned long long)sc->flushes);
		session_native_report(s, stderr);
	}
}

/* "20261122T001502" (UTC) for rotated file names; a second write in the
 * same second gets "-2", "-3"... rather than overwriting the first. */
static void stamp_now(char *buf, size_t len)
{
	static char last[32];
	static int repeat;
	time_t t = time(NULL);
	struct tm tm;

	strftime(buf, len, "%Y%m%dT%H%M%S", gmtime_r(&t, &tm));
	if (strcmp(buf, last) == 0) {
		snprintf(buf + strlen(buf), len - strlen(buf), "-%d", ++repeat + 1);
		return;
	}
	snprintf(last, sizeof(last), "%s", buf);
	repeat = 0;
}

static int write_set(struct session *s, struct record_opts *o, int rotating, int *files)
{
	char stamp[32];

	if (rotating)
		stamp_now(stamp, sizeof(stamp));
	return writeout(s, &o->out, rotating ? stamp : NULL, files);
}

/* On a terminal only: one line, rewritten in place once a second, so a
 * long recording is visibly alive; cleared before anything else prints. */
static void status_line(struct session *s, const struct record_opts *o, uint64_t rotated,
			int clear)
{
	uint64_t st[SAMPLER_NSTATS];
	char who[64];

	if (clear) {
		fputs("\r\033[K", stderr);
		return;
	}
	session_stats(s, st);
	if (o->session.all)
		snprintf(who, sizeof(who), "%zu Python processes", s->nkids);
	else
		snprintf(who, sizeof(who), "%d", s->proc.pid);
	fprintf(stderr, "\r\033[KSampling %s at %u Hz: %llu samples, %llu errors, %.0f s; "
			"Ctrl-C to stop and write %s",
		who, o->session.rate_hz, (unsigned long long)(s->agg.total + rotated),
		(unsigned long long)sampler_errors(st), session_elapsed(s), o->out.output);
	fflush(stderr);
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o = {};
	struct session s;
	char defpath[64], dest[PATH_MAX + 32];
	uint64_t last_drain, last_rotate, last_status, rotated = 0, drain_ns = 1000000000ull;
	const char *drain_ms = getenv("PYBPF_DRAIN_MS"); /* tests: drain far more often */
	int err, files = 0, written = 0, poll_ms = 100, tty = isatty(STDERR_FILENO), shown = 0;

	err = parse(argc, argv, &o);
	if (err)
		return 2;
	o.out.per_process = o.session.all && !o.merge;
	o.session.timeline = o.out.format->timeline;
	o.out.profile.process_roots |= o.session.all && o.merge;
	snprintf(defpath, sizeof(defpath), o.out.per_process ? "pybpf-profiles" : "profile.%s",
		 o.out.format->extension);
	if (!o.out.output)
		o.out.output = defpath;
	/* a profile that cannot be written is known before it is collected */
	if (writeout_check(&o.out))
		return 1;

	err = session_start(&s, &o.session);
	if (err)
		goto out;
	if (drain_ms && atoi(drain_ms) > 0) {
		drain_ns = (uint64_t)atoi(drain_ms) * 1000000ull;
		poll_ms = atoi(drain_ms) < poll_ms ? atoi(drain_ms) : poll_ms;
	}
	last_drain = last_rotate = last_status = now_ns();
	while (session_run(&s, poll_ms)) {
		if (now_ns() - last_drain >= drain_ns || session_drain_due(&s)) {
			session_drain(&s);
			last_drain = now_ns();
		}
		if (o.rotate > 0 && now_ns() - last_rotate >= (uint64_t)(o.rotate * 1e9)) {
			/* drained just now: the next interval starts from zero */
			session_drain(&s);
			if (shown)
				status_line(&s, &o, rotated, 1);
			if (write_set(&s, &o, 1, &files) == 0)
				written += files;
			rotated += s.agg.total;
			agg_clear(&s.agg);
			session_forget(&s);
			last_rotate = now_ns();
		}
		if (session_dump_requested) {
			session_dump_requested = 0;
			session_drain(&s);
			if (shown)
				status_line(&s, &o, rotated, 1);
			if (write_set(&s, &o, o.rotate > 0, &files) == 0) {
				pb_info("SIGUSR1: wrote %d file(s) to %s", files, o.out.output);
				written += o.rotate > 0 ? files : 0; /* else rewritten below */
			}
		}
		if (tty && now_ns() - last_status >= 1000000000ull) {
			status_line(&s, &o, rotated, 0);
			shown = 1;
			last_status = now_ns();
		}
	}
	if (shown)
		status_line(&s, &o, rotated, 1);
	session_finish(&s);
	if (s.target_gone)
		pb_debug("process %d exited", s.proc.pid);
	err = write_set(&s, &o, o.rotate > 0, &files);
	written += err ? 0 : files;
	/* never name a file that was not written */
	if (o.out.per_process || o.rotate > 0)
		snprintf(dest, sizeof(dest), "%s (%d file%s)", o.out.output, written,
			 written == 1 ? "" : "s");
	else
		snprintf(dest, sizeof(dest), "%s", err ? "nothing written" : o.out.output);
	summary(&s, dest, rotated);
	if (!err && !s.agg.total && !rotated)
		pb_warn("no samples: the target used no CPU while it was profiled%s",
			thread_filter_active(&o.session.filter) ? ", or no thread matched the filter" : "");
out:
	session_close(&s);
	if (err)
		return 1;
	if (session_interrupted)
		return 128 + session_interrupted; /* Ctrl-C: 130, as the shell expects */
	return s.child ? s.child_code : 0;
}
