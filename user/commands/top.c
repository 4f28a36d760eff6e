// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* top.c - `pybpf top`: a live, py-spy-like table of where time goes.
 * %Own/%Total cover the last refresh, OwnTime/TotalTime the whole run
 * (or since R).  On a terminal the screen is redrawn in place, every line
 * cut to the terminal's width, and keys sort, regroup and reset it;
 * otherwise a plain snapshot is printed every refresh, for pipes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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
#include "utf8.h"

struct row {
	uint32_t pid;                 /* with --all / -s: rows are per process */
	char label[256];
	uint64_t own, total;          /* samples in the last window */
	uint64_t own_all, total_all;  /* samples since the start or the last R */
	uint32_t seen;                /* stack generation, to count recursion once */
};

struct top {
	struct session s;
	struct profile_opts popts;
	struct aggregate window;
	/* Drained early (the BPF sets filling, session_drain_due) since the
	 * last refresh: the next window's, kept apart from the one shown. */
	struct aggregate early;
	/* Every window since the start or the last R: L regroups the rows,
	 * and their totals are recounted from this under the new labels. */
	struct aggregate since;
	struct htab index;            /* label hash -> row index */
	struct row *rows;
	size_t nrows, cap;
	uint64_t window_total;
	uint64_t window_gil;          /* samples of GIL holders in the window */
	double window_secs;
	int sort;                     /* 1..4: %Own, %Total, OwnTime, TotalTime */
	int lines;                    /* a row per line (1) or per function (0): L */
	int fn_first_line;            /* -F: per-function rows keep the first line */
	int help;                     /* the key help is on screen */
	int tty;                      /* stdout is a terminal: redraw in place */
	int keys;                     /* stdin is a terminal: read keys */
	int final;                    /* the last screen, drawn after leaving the alternate one */
	unsigned width, height;       /* of the terminal, 0 = no limit (a pipe) */
	unsigned used;                /* screen lines drawn so far in this frame */
	size_t nthreads;              /* kept for the last screen, drawn after the exit */
	struct termios saved;
};

enum { WINDOW = 1, TOTALS = 2 };  /* what account() adds to */

static volatile sig_atomic_t resized;

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
"Keys: 1-4 sort by %%Own, %%Total, OwnTime, TotalTime; L toggles line numbers\n"
"(a row per line or per function); R resets OwnTime and TotalTime; ? shows\n"
"the keys; q quits.  When the process exits, its last screen stays.\n"
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
 * distinct function on the stack (recursion counted once).  `what` says
 * whether p is the last window (percentages), totals, or both. */
static void account(struct top *t, const struct profile *p, int what)
{
	static uint32_t gen;
	size_t i, j;
	char label[256];

	if (what & WINDOW) {
		for (i = 0; i < t->nrows; i++)
			t->rows[i].own = t->rows[i].total = 0;
		t->window_total = p->total;
	}
	for (i = 0; i < p->nstacks; i++) {
		const struct pstack *st = &p->stacks[i];
		struct row *r = NULL;

		gen++;
		for (j = 0; j < st->depth; j++) {
			const struct pframe *f = &p->frames[st->frames[j]];

			if (f->kind != PFRAME_PYTHON && f->kind != PFRAME_UNKNOWN &&
			    f->kind != PFRAME_NATIVE && f->kind != PFRAME_KERNEL)
				continue;
			pframe_label(f, label, sizeof(label));
			r = row_for(t, per_process(t) ? st->pid : 0, label);
			if (!r)
				return;
			if (r->seen != gen) {
				r->seen = gen;
				r->total += what & WINDOW ? st->count : 0;
				r->total_all += what & TOTALS ? st->count : 0;
			}
		}
		if (r) {
			r->own += what & WINDOW ? st->count : 0;
			r->own_all += what & TOTALS ? st->count : 0;
		}
	}
}

static void account_agg(struct top *t, const struct aggregate *a, int what)
{
	struct profile p;

	if (profile_build(a, &t->s.syms, &t->popts, &p) == 0) {
		account(t, &p, what);
		profile_free(&p);
	}
}

/* After L or R: the rows again, from the totals and the last window. */
static void rebuild(struct top *t)
{
	t->nrows = 0;
	htab_clear(&t->index);
	account_agg(t, &t->since, TOTALS);
	account_agg(t, &t->window, WINDOW);
}

/* Only the stacks: top's rows need no thread names or process labels. */
static void merge(struct aggregate *dst, const struct aggregate *src)
{
	size_t pos = 0;
	const struct agg_key *k;
	struct agg_val *v;

	while (agg_next(src, &pos, &k, &v)) {
		struct agg_stack st = { v->frames, v->depth, v->stack_flags, v->native };

		if (v->count)
			agg_add(dst, k, v->count, &st);
	}
}

static void set_grouping(struct top *t)
{
	t->popts.no_lineno = !t->lines && !t->fn_first_line;
	t->popts.by_function = !t->lines && t->fn_first_line;
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

static void sort_rows(struct top *t)
{
	size_t i;

	sort_ctx = t;
	qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_rows);
	htab_clear(&t->index); /* rows moved: rebuild the label index */
	for (i = 0; i < t->nrows; i++) {
		uint64_t h = row_key(t->rows[i].pid, t->rows[i].label);
		size_t *idx = htab_put(&t->index, &h, NULL);

		if (idx)
			*idx = i;
	}
}

static void term_size(struct top *t)
{
	struct winsize ws;

	t->width = t->height = 0;
	if (!t->tty)
		return;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		t->width = ws.ws_col;
		t->height = ws.ws_row;
	} else {
		t->width = 80;
		t->height = 24;
	}
}

/* Columns a character takes on a terminal: East Asian wide and
 * fullwidth ones take two (CJK function names are legal Python),
 * combining marks none.  A table of the common blocks, so the cut does
 * not depend on the locale pybpf runs under. */
static unsigned cell_width(uint32_t c)
{
	if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f))
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf && c != 0x303f) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

/* One screen line.  On a terminal it is cut to the width (a wrapped line
 * pushes the header off the top) and clears what an older, longer frame
 * left behind; control characters in names become spaces so they cannot
 * move the cursor.  attr: an SGR attribute for the whole line, or NULL. */
static void put_line(struct top *t, const char *attr, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t avail = strlen(s), n;
	unsigned cols = 0, w;
	char enc[4];

	t->used++;
	if (!t->width) {
		printf("%s\n", s);
		return;
	}
	if (attr)
		fputs(attr, stdout);
	while (avail) {
		uint32_t c = utf8_get(p, avail, &n);

		if (c < 0x20 || (c >= 0x7f && c < 0xa0))
			c = ' ';
		w = cell_width(c);
		if (cols + w > t->width)
			break;
		fwrite(enc, 1, utf8_put(enc, c), stdout);
		cols += w;
		p += n;
		avail -= n;
	}
	if (attr)
		fputs("\033[0m", stdout);
	/* at the last column the cursor waits to wrap, and an erase there
	 * would take the last character with it */
	fputs(cols < t->width ? "\033[K\n" : "\n", stdout);
}

static void line(struct top *t, const char *attr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void line(struct top *t, const char *attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put_line(t, attr, buf);
}

static size_t thread_count(const struct session *s)
{
	size_t n = 0, i;

	if (s->proc.pid > 0 && !s->proc.gone)
		n += proc_thread_count(s->proc.pid);
	for (i = 0; i < s->nkids; i++)
		if (!s->kids[i]->gone)
			n += proc_thread_count(s->kids[i]->pid);
	return n;
}

static void draw_header(struct top *t)
{
	double rate = t->s.o.rate_hz, active;
	uint64_t st[SAMPLER_NSTATS];
	static const char *names[] = { "", "%Own", "%Total", "OwnTime", "TotalTime" };
	char ver[64], counters[1024];
	size_t i, len = 0;

	session_stats(&t->s, st);
	if (!t->final)
		t->nthreads = thread_count(&t->s);
	active = t->window_secs > 0 ? 100.0 * t->window_total / (rate * t->window_secs) : 0;
	if (t->s.o.all)
		line(t, NULL, "pybpf top: all Python processes (%zu found)  %.0fs", t->s.nkids,
		     session_elapsed(&t->s));
	else
		line(t, NULL, "pybpf top: pid %d  CPython %s  %.0fs  (%s)", t->s.proc.pid,
		     pyproc_version(&t->s.proc, ver, sizeof(ver)), session_elapsed(&t->s),
		     t->s.proc.cmdline);
	line(t, NULL, "samples %llu (total %llu)  threads %zu  active %.0f%%  GIL %.0f%%",
	     (unsigned long long)t->window_total, (unsigned long long)t->since.total,
	     t->nthreads, active,
	     t->window_total ? 100.0 * t->window_gil / t->window_total : 0.0);
	line(t, NULL, "rate %u Hz  errors %llu  lost %llu  sort %s  rows per %s",
	     t->s.o.rate_hz, (unsigned long long)sampler_errors(st),
	     (unsigned long long)sampler_lost(st), names[t->sort],
	     t->lines ? "line" : "function");
	if (t->keys && !t->final)
		line(t, NULL, "Press q to quit, ? for help");
	if (log_verbose) {
		counters[0] = 0;
		for (i = 0; i < SAMPLER_NSTATS && len < sizeof(counters); i++)
			if (st[i])
				len += snprintf(counters + len, sizeof(counters) - len, "  %llu %s;",
						(unsigned long long)st[i], sampler_stat_name(i));
		line(t, NULL, "%s", counters);
	}
	/* the column says what the rows show: --nolineno and L drop the line */
	line(t, t->tty ? "\033[7m" : NULL,
	     "%s  %%Own   %%Total  OwnTime  TotalTime  Function (filename%s)",
	     per_process(t) ? "    PID " : "", t->popts.no_lineno ? "" : ":line");
}

static void draw_help(struct top *t)
{
	line(t, NULL, "pybpf top: keys");
	line(t, NULL, "  1  sort by %%Own: own time in the last second");
	line(t, NULL, "  2  sort by %%Total: time in the function and its callees, last second");
	line(t, NULL, "  3  sort by OwnTime: own time since the start (or R)");
	line(t, NULL, "  4  sort by TotalTime: total time since the start (or R)");
	line(t, NULL, "  L  toggle line numbers: a row per line or per function (now per %s)",
	     t->lines ? "line" : "function");
	line(t, NULL, "  R  reset OwnTime and TotalTime");
	line(t, NULL, "  ?  this help");
	line(t, NULL, "  q  quit");
	line(t, NULL, "%s", "");
	line(t, NULL, "Press any key to return");
}

/* One frame of output.  On a terminal it starts at the top left and
 * erases below its end, so the screen is redrawn without flicker, and it
 * never takes the last line (a newline there would scroll the header
 * away); the last screen of a run leaves room for the exit message. */
static void draw(struct top *t)
{
	double rate = t->s.o.rate_hz;
	size_t i, max;
	unsigned room;

	term_size(t);
	t->used = 0;
	sort_rows(t);
	if (t->tty && !t->final)
		printf("\033[H");
	if (t->help && !t->final) {
		draw_help(t);
	} else {
		draw_header(t);
		room = t->height > t->used + 2 ? t->height - t->used - 2 : 0;
		max = t->tty ? room + (t->final ? 0 : 1) : 40;
		for (i = 0; i < t->nrows && max; i++) {
			const struct row *r = &t->rows[i];
			double w = t->window_total ? 100.0 / t->window_total : 0;
			char pid[16] = "";

			if (!r->total_all && !r->total)
				continue;
			if (per_process(t))
				snprintf(pid, sizeof(pid), "%7u ", r->pid);
			line(t, NULL, "%s%6.2f  %7.2f  %6.2fs  %8.2fs  %s", pid, r->own * w,
			     r->total * w, r->own_all / rate, r->total_all / rate, r->label);
			max--;
		}
	}
	if (t->tty && !t->final)
		printf("\033[J");
	else if (!t->tty)
		printf("\n");
	fflush(stdout);
}

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

static void term_setup(struct top *t)
{
	struct sigaction sa = { .sa_handler = on_winch };
	struct termios raw;

	t->tty = isatty(STDOUT_FILENO);
	if (!t->tty)
		return;
	/* no SA_RESTART: the poll wakes up and the next frame fits at once */
	sigaction(SIGWINCH, &sa, NULL);
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
		if (t->help) {
			t->help = 0;  /* any key leaves the help */
		} else if (c >= '1' && c <= '4') {
			t->sort = c - '0';
		} else if (c == 'l' || c == 'L') {
			t->lines = !t->lines;
			set_grouping(t);
			rebuild(t);
		} else if (c == 'r' || c == 'R') {
			agg_clear(&t->since);
			rebuild(t);
		} else if (c == '?' || c == 'h') {
			t->help = 1;
		} else {
			continue;
		}
		draw(t);
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
	const struct agg_key *k;
	struct agg_val *v;
	uint64_t n = 0;

	while (agg_next(a, &pos, &k, &v))
		if (k->flags & COUNT_GIL)
			n += v->count;
	return n;
}

/* A drain before the refresh is due: into t->early, not the window on
 * screen (L and R rebuild the rows from it). */
static void drain_early(struct top *t)
{
	t->s.window = &t->early;
	session_drain(&t->s);
	t->s.window = &t->window;
}

/* The early drains' stacks and the threads they named, into the new
 * window. */
static void take_early(struct top *t)
{
	size_t pos = 0;
	const void *k;
	void *v;

	merge(&t->window, &t->early);
	while (htab_next(&t->early.threads, &pos, &k, &v)) {
		const struct agg_thread *th = v;

		agg_thread(&t->window, th->pid, *(const uint32_t *)k, th->name, 0);
	}
	agg_clear(&t->early);
}

static void refresh(struct top *t, uint64_t *last, int show)
{
	uint64_t now = now_ns();

	agg_clear(&t->window);
	take_early(t);
	session_drain(&t->s);
	merge(&t->since, &t->window);
	t->window_gil = gil_samples(&t->window);
	t->window_secs = (double)(now - *last) / 1e9;
	*last = now;
	account_agg(t, &t->window, WINDOW | TOTALS);
	if (show)
		draw(t);
}

/* The run is over: leave the terminal as it was, but with the last table
 * on it (drawn again on the normal screen) and why it ended. */
static void finish(struct top *t, uint64_t *last)
{
	pid_t pid = t->s.child ? t->s.child : t->s.proc.pid;
	int exited = t->s.target_gone || t->s.child_exited;

	t->final = 1;
	t->help = 0;
	refresh(t, last, !t->tty);
	term_restore(t);
	if (t->tty)
		draw(t);
	if (exited && t->tty)
		printf("process %d exited\n", pid);
	else if (exited)
		fprintf(stderr, "pybpf top: process %d exited\n", pid);
	fflush(stdout);
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
	agg_init(&t->early);
	agg_init(&t->since);
	err = parse(argc, argv, t, &so);
	if (err) {
		err = 2;
		goto out;
	}
	if (isatty(STDOUT_FILENO)) /* a frame in one write, not a line at a time */
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	t->lines = !t->popts.no_lineno && !t->popts.by_function;
	t->fn_first_line = t->popts.by_function && !t->popts.no_lineno;
	so.mark_gil = 1; /* the header shows the GIL holder's share */
	if (session_start(&t->s, &so)) {
		err = 1;
		goto close;
	}
	t->s.window = &t->window;
	term_setup(t);
	last = now_ns();
	while (!quit && session_run(&t->s, 100)) {
		quit = read_keys(t);
		if (!quit && resized) {
			resized = 0;
			draw(t);
		}
		if (!quit && now_ns() - last >= 1000000000ull)
			refresh(t, &last, 1);
		else if (!quit && session_drain_due(&t->s))
			drain_early(t);
	}
	if (quit || (session_interrupted && t->tty))
		term_restore(t);
	else
		finish(t, &last);
close:
	session_close(&t->s);
out:
	agg_free(&t->since);
	agg_free(&t->early);
	agg_free(&t->window);
	htab_free(&t->index);
	free(t->rows);
	free(t);
	return err;
}
