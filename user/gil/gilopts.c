// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* gilopts.c - `pybpf gil`'s options: parsed and range-checked before
 * anything touches the kernel, and its --help. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "gilopts.h"
#include "gilprobe.h"
#include "log.h"
#include "target.h"

enum {
	OPT_THRESHOLD = 256,
	OPT_WAIT_MS,
	OPT_HOLD_MS,
	OPT_HIST,
	OPT_JSON,
	OPT_DEPTH,
	OPT_FULLNAMES,
};

/* text broken at spaces into lines of at most width columns, no final newline */
static void wrap(FILE *f, const char *text, size_t width)
{
	size_t col = 0, n;

	while (*text) {
		n = strcspn(text, " ");
		if (col && col + 1 + n > width) {
			fputc('\n', f);
			col = 0;
		} else if (col) {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, n, f);
		col += n;
		text += n;
		text += strspn(text, " ");
	}
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: pybpf gil [OPTIONS] (-p PID | -- COMMAND [ARGS...])\n"
"Who holds the GIL, who waits for it, and for how long: uprobes on the\n"
"interpreter's take_gil and drop_gil time every take, wait and hold of every\n"
"thread, without stopping or changing the process.\n\n"
"  -p, --pid PID          trace this process (a thread id: its process, that\n"
"                         thread's rows only)\n"
"  -i, --interval SECS    print the statistics every SECS seconds (default 5)\n"
"  -d, --duration SECS    stop after SECS seconds (default: until Ctrl-C or exit)\n"
"      --threshold-ms MS  print every single wait or hold of at least MS ms, with\n"
"                         the thread's Python stack at its end\n"
"      --wait-ms MS       the same for waits only\n"
"      --hold-ms MS       the same for holds only\n"
"      --hist             add log2 histograms of wait and hold times\n"
"      --json             one JSON object per line: per interval, per long wait/hold\n"
"      --max-depth N      frames per stack, at most %d (default %d)\n"
"      --full-filenames   full paths in stacks\n"
"  -v, --verbose          show the BPF counters at the end\n\n"
"Per thread and interval: TAKES completed take_gil calls; WAIT TOTAL time\n"
"blocked by the GIL (in take_gil, plus in drop_gil handing the GIL over to a\n"
"waiting thread on a forced switch), WAIT MEAN per completed take; HOLD TOTAL\n"
"time holding the GIL (from leaving take_gil to entering drop_gil), HOLD MEAN\n"
"per completed hold; DROPS drop_gil calls; HOLD%% share of the interval holding\n"
"(at most 100).  NAME is the threading module's name (as record -t and dump\n"
"show it), read again every interval for threads that start later; the\n"
"kernel's thread name where Python has none.  Totals cover waits and holds\n"
"still going on when the interval ends.\n\n"
"Cost: uprobes cost microseconds per hit, paid by the traced thread: a GIL\n"
"take plus drop (4 probe hits) costs about 3 us.  Threads contending for the\n"
"GIL switch ~200 times a second (< 0.1 %%); a lone busy thread never switches;\n"
"code releasing the GIL around very short calls pays most (a loop of 1 us\n"
"os.fstat calls runs about 3x slower while traced).\n\n"
"Stripped interpreters (e.g. Debian's /usr/bin/python3.X) without a debug file\n"
"(found by build-id or .gnu_debuglink under /usr/lib/debug): the exported\n"
"PyEval_RestoreThread and PyEval_SaveThread are traced instead;\n",
		PYBPF_MAX_DEPTH, PYBPF_MAX_DEPTH);
	wrap(f, gil_fallback_missing, 78);
	fprintf(f,
".\nFree-threaded builds (3.13t) have no GIL: pybpf says so and exits 0.\n"
"CPython 2.7's GIL is a plain lock without take_gil/drop_gil: pybpf says it\n"
"does not trace it and exits 1 (record --gil marks its holder all the same).\n\n"
"Examples:\n"
"  sudo pybpf gil -p 1234\n"
"  sudo pybpf gil -p 1234 --threshold-ms 5\n"
"  sudo pybpf gil -p 1234 --hist --json -d 10\n"
"  sudo pybpf gil -- python3 app.py\n\n"
"-- COMMAND: exits with its status when it ends by itself; when -d ends the\n"
"tracing first, pybpf stops it, says so and exits 0.  Ctrl-C: status 130.\n");
}

/* A positive number of unit (what for the error), at most 1e7 */
static int parse_positive(const char *s, const char *what, const char *unit, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e7) {
		pb_err("invalid %s: %s (expected %s > 0)", what, s, unit);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_ms(const char *s, const char *what, uint64_t *ns)
{
	double ms;

	if (parse_positive(s, what, "milliseconds", &ms))
		return -EINVAL;
	*ns = (uint64_t)(ms * 1e6);
	return 0;
}

int gil_parse(int argc, char **argv, struct gil_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "threshold-ms", required_argument, NULL, OPT_THRESHOLD },
		{ "wait-ms", required_argument, NULL, OPT_WAIT_MS },
		{ "hold-ms", required_argument, NULL, OPT_HOLD_MS },
		{ "hist", no_argument, NULL, OPT_HIST },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "max-depth", required_argument, NULL, OPT_DEPTH },
		{ "full-filenames", no_argument, NULL, OPT_FULLNAMES },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t pid;
	int opt, err = 0;

	o->interval = 5;
	o->max_depth = PYBPF_MAX_DEPTH;
	optind = 1;
	while (!err && (opt = getopt_long(argc, argv, "+p:i:d:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			err = cli_u32(optarg, "pid", 1, 0x7fffffff, &pid);
			o->pid = (pid_t)pid;
			break;
		case 'i':
			err = parse_positive(optarg, "interval", "seconds", &o->interval);
			break;
		case 'd':
			err = cli_seconds(optarg, &o->duration);
			break;
		case 'v':
			log_verbose = 1;
			break;
		case OPT_THRESHOLD:
			err = parse_ms(optarg, "threshold", &o->wait_threshold_ns);
			o->hold_threshold_ns = o->wait_threshold_ns;
			break;
		case OPT_WAIT_MS:
			err = parse_ms(optarg, "wait threshold", &o->wait_threshold_ns);
			break;
		case OPT_HOLD_MS:
			err = parse_ms(optarg, "hold threshold", &o->hold_threshold_ns);
			break;
		case OPT_HIST:
			o->report.hist = 1;
			break;
		case OPT_JSON:
			o->report.json = 1;
			break;
		case OPT_DEPTH:
			err = cli_u32(optarg, "max depth", 1, PYBPF_MAX_DEPTH, &o->max_depth);
			break;
		case OPT_FULLNAMES:
			o->report.full_filenames = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			cli_try_help();
			return -EINVAL;
		}
	}
	if (err)
		return err;
	if (optind < argc)
		o->cmd = argv + optind;
	if (!o->pid == !o->cmd) {
		pb_err("give exactly one target: -p PID or -- COMMAND [ARGS...]");
		return -EINVAL;
	}
	if (o->pid) {
		pid_t tid;

		target_resolve_pid(&o->pid, &tid, "tracing");
		o->report.only_tid = (uint32_t)tid;
	}
	return 0;
}
