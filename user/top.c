// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* top.c - `pybpf top`: a live, py-spy-like table of where time goes.
 * %Own/%Total cover the last refresh, OwnTime/TotalTime the whole run.
 * On a terminal the screen is redrawn in place (keys 1-4 sort, q quits);
 * otherwise a plain snapshot is printed every refresh, for pipes. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "cli.h"
#include "commands.h"
#include "log.h"
#include "output.h"
#include "session.h"

struct row {
	uint32_t pid;                 /* with --all / -s: rows are per process */
	char label[256];
	uint64_t own, total;          /* samples in the last window */
	uint64_t own_all, total_all;  /* samples since the start */
	uint32_t seen;                /* stack generation, to count recursion once */
};

struct top {
	struct session s;
	struct profile_opts popts;
	struct aggregate window;
	struct htab index;            /* label hash -> row index */
	struct row *rows;
	size_t nrows, cap;
	uint64_t window_total;
	uint64_t window_gil;          /* samples of GIL holders in the window */
	double window_secs;
	int sort;                     /* 1..4: %Own, %Total, OwnTime, TotalTime */
	int tty;                      /* stdout is a terminal: redraw in place */
	int keys;                     /* stdin is a terminal: read keys */
	struct termios saved;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: pybpf top [OPTIONS] (-p PID | --all | -- COMMAND [ARGS...])\n"
"Live view of the Python functions a process spends its CPU time in.\n\n"
"  -p, --pid PID          watch this process\n"
"      --all              every CPython process on the host (a PID column)\n"
"      --comm REGEX       with --all: only processes whose command name matches\n"
"  -d, --duration SECS    stop after SECS seconds\n"
"  -r, --rate HZ          samples per second (default 100)\n"
"  -F, --function         one row per function, not per line\n"
"      --nolineno         no line numbers\n"
"      --full-filenames   full paths instead of file names\n"
"      --max-depth N      frames per stack (default %d)\n", PYBPF_MAX_DEPTH);
	cli_common_help(f);
	fprintf(f,
"  -v, --verbose          show the BPF counters in the header\n\n"
"Keys: 1-4 sort by %%Own, %%Total, OwnTime, TotalTime; q quits.\n"
"When stdout is not a terminal, a plain snapshot is printed every second.\n\n"
"Example:\n  sudo pybpf top -p 1234\n");
}

static int per_process(const struct top *t)
{
	return t->s.o.all || t->s.o.subprocesses;
}

static uint64_t row_key(uint32_t pid, const char *label)
{
	return hash_bytes(label, strlen(label), pid);
}

static struct row *row_for(struct top *t, uint32_t pid, const char *label)
{
	uint64_t h = row_key(pid, label);
	int created;
	size_t *idx = htab_put(&t->index, &h, &created);

	if (!idx)
		return NULL;
	if (created) {
		if (t->nrows == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 256;
			struct row *n = realloc(t->rows, cap * sizeof(*n));

			if (!n)
				return NULL;
			t->rows = n;
			t->cap = cap;
		}
		memset(&t->rows[t->nrows], 0, sizeof(struct row));
		t->rows[t->nrows].pid = pid;
		snprintf(t->rows[t->nrows].label, sizeof(t->rows[0].label), "%s", label);
		*idx = t->nrows++;
	}
	return &t->rows[*idx];
}

/* Own time goes to the innermost frame, total time once to every
 * distinct function on the stack (recursion counted once). */
static void account(struct top *t, const struct profile *p)
{
	static uint32_t gen;
	size_t i, j;
	char label[256];

	for (i = 0; i < t->nrows; i++)
		t->rows[i].own = t->rows[i].total = 0;
	for (i = 0; i < p->nstacks; i++) {
		const struct pstack *st = &p->stacks[i];
		struct row *r = NULL;

		gen++;
		for (j = 0; j < st->depth; j++) {
			const struct pframe *f = &p->frames[st->frames[j]];

			if (f->kind != PFRAME_PYTHON && f->kind != PFRAME_UNKNOWN)
				continue;
			pframe_label(f, label, sizeof(label));
			r = row_for(t, per_process(t) ? st->pid : 0, label);
			if (!r)
				return;
			if (r->seen != gen) {
				r->seen = gen;
				r->total += st->count;
				r->total_all += st->count;
			}
		}
		if (r) {
			r->own += st->count;
			r->own_all += st->count;
		}
	}
	t->window_total = p->total;
}

static struct top *sort_ctx;

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	uint64_t kx, ky;

	switch (sort_ctx->sort) {
	case 2: kx = x->total; ky = y->total; break;
	case 3: kx = x->own_all; ky = y->own_all; break;
	case 4: kx = x->total_all; ky = y->total_all; break;
	default: kx = x->own; ky = y->own; break;
	}
	if (kx != ky)
		return kx < ky ? 1 : -1;
	if (x->own_all != y->own_all)
		return x->own_all < y->own_all ? 1 : -1;
	return strcmp(x->label, y->label);
}

static int term_rows(void)
{
	struct winsize ws;

	return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 4 ? ws.ws_row : 40;
}

/* One frame of output; on a terminal every line clears its own tail,
 * so the screen is redrawn without flicker. */
static void draw(struct top *t)
{
	const char *eol = t->tty ? "\033[K\n" : "\n";
	double rate = t->s.o.rate_hz, active;
	size_t i, max = t->tty ? (size_t)term_rows() - 4 : 40;
	uint64_t st[SAMPLER_NSTATS];
	static const char *names[] = { "", "%Own", "%Total", "OwnTime", "TotalTime" };
	char ver[64];

	session_stats(&t->s, st);
	active = t->window_secs > 0 ? 100.0 * t->window_total / (rate * t->window_secs) : 0;
	sort_ctx = t;
	qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_rows);
	htab_clear(&t->index); /* rows moved: rebuild the label index */
	for (i = 0; i < t->nrows; i++) {
		uint64_t h = row_key(t->rows[i].pid, t->rows[i].label);
		size_t *idx = htab_put(&t->index, &h, NULL);

		if (idx)
			*idx = i;
	}
	if (t->tty)
		printf("\033[H");
	if (t->s.o.all)
		printf("pybpf top: all Python processes (%zu found)  %.0fs%s", t->s.nkids,
		       session_elapsed(&t->s), eol);
	else
		printf("pybpf top: pid %d (%.60s)  CPython %s  %.0fs%s", t->s.proc.pid,
		       t->s.proc.cmdline, pyproc_version(&t->s.proc, ver, sizeof(ver)),
		       session_elapsed(&t->s), eol);
	printf("samples %llu (total %llu)  rate %u Hz  threads %zu  active %.0f%%  GIL %.0f%%  errors %llu  lost %llu  sort %s%s",
	       (unsigned long long)t->window_total, (unsigned long long)t->s.agg.total,
	       t->s.o.rate_hz, t->s.agg.threads.len, active,
	       t->window_total ? 100.0 * t->window_gil / t->window_total : 0.0,
	       (unsigned long long)sampler_errors(st), (unsigned long long)sampler_lost(st),
	       names[t->sort], eol);
	if (log_verbose) {
		for (i = 0; i < SAMPLER_NSTATS; i++)
			if (st[i])
				printf("  %llu %s;", (unsigned long long)st[i], sampler_stat_name(i));
		printf("%s", eol);
	}
	printf("%s%s  %%Own   %%Total  OwnTime  TotalTime  Function (filename:line)%s",
	       t->tty ? "\033[7m" : "", per_process(t) ? "    PID" : "",
	       t->tty ? "\033[0m\033[K\n" : "\n");
	for (i = 0; i < t->nrows && i < max; i++) {
		const struct row *r = &t->rows[i];
		double w = t->window_total ? 100.0 / t->window_total : 0;

		if (!r->total_all)
			continue;
		if (per_process(t))
			printf("%7u", r->pid);
		printf("%6.2f  %7.2f  %6.2fs  %8.2fs  %s%s", r->own * w, r->total * w,
		       r->own_all / rate, r->total_all / rate, r->label, eol);
	}
	printf(t->tty ? "\033[J" : "\n");
	fflush(stdout);
}

static void term_setup(struct top *t)
{
	struct termios raw;

	t->tty = isatty(STDOUT_FILENO);
	if (!t->tty)
		return;
	printf("\033[?1049h\033[?25l"); /* alternate screen, hide cursor */
	t->keys = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0;
	if (!t->keys)
		return;
	raw = t->saved;
	raw.c_lflag &= ~(ICANON | ECHO);
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
}

static void term_restore(struct top *t)
{
	if (!t->tty)
		return;
	printf("\033[?25h\033[?1049l");
	fflush(stdout);
	if (t->keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
}

/* 0 to go on, 1 to quit */
static int read_keys(struct top *t)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char c;

	if (!t->keys)
		return 0;
	while (poll(&pfd, 1, 0) > 0 && read(STDIN_FILENO, &c, 1) == 1) {
		if (c == 'q' || c == 'Q')
			return 1;
		if (c >= '1' && c <= '4') {
			t->sort = c - '0';
			draw(t);
		}
	}
	return 0;
}

static int parse(int argc, char **argv, struct top *t, struct session_opts *so)
{
	static const struct option longopts[] = { CLI_COMMON_LONG, { NULL, 0, NULL, 0 } };
	int opt, r;

	cli_defaults(so);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+" CLI_COMMON_SHORT, longopts, NULL)) != -1) {
		r = cli_common(opt, optarg, so, &t->popts);
		if (r < 0)
			return r;
		if (r)
			continue;
		if (opt == 'h') {
			usage(stdout);
			exit(0);
		}
		usage(stderr);
		return -EINVAL;
	}
	return cli_target(so, argc, argv, optind);
}

static uint64_t gil_samples(const struct aggregate *a)
{
	size_t pos = 0;
	const void *k;
	void *v;
	uint64_t n = 0;

	while (htab_next(&a->stacks, &pos, &k, &v))
		if (((const struct agg_key *)k)->flags & COUNT_GIL)
			n += ((const struct agg_val *)v)->count;
	return n;
}

static void refresh(struct top *t, uint64_t *last)
{
	struct profile p;
	uint64_t now = now_ns();

	agg_clear(&t->window);
	session_drain(&t->s);
	t->window_gil = gil_samples(&t->window);
	t->window_secs = (double)(now - *last) / 1e9;
	*last = now;
	if (profile_build(&t->window, &t->s.syms, &t->popts, &p) == 0) {
		account(t, &p);
		profile_free(&p);
	}
	draw(t);
}

int cmd_top(int argc, char **argv)
{
	struct session_opts so = {};
	struct top *t = calloc(1, sizeof(*t));
	uint64_t last;
	int err, quit = 0;

	if (!t)
		return 1;
	t->sort = 1;
	htab_init(&t->index, sizeof(uint64_t), sizeof(size_t));
	agg_init(&t->window);
	err = parse(argc, argv, t, &so);
	if (err) {
		free(t);
		return 2;
	}
	so.mark_gil = 1; /* the header shows the GIL holder's share */
	err = session_start(&t->s, &so);
	if (!err) {
		t->s.window = &t->window;
		term_setup(t);
		last = now_ns();
		while (!quit && session_run(&t->s, 100)) {
			quit = read_keys(t);
			if (now_ns() - last >= 1000000000ull)
				refresh(t, &last);
		}
		if (!quit)
			refresh(t, &last);
		term_restore(t);
	}
	session_close(&t->s);
	agg_free(&t->window);
	htab_free(&t->index);
	free(t->rows);
	free(t);
	return err ? 1 : 0;
}
