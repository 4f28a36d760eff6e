// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* gilreport.c - per-interval GIL statistics from the cumulative
 * per-thread values the BPF side keeps (differences between two reads,
 * open waits and holds counted up to the read), printed as a table, log2
 * histograms or JSON lines; and long waits/holds with their stacks. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gilreport.h"
#include "json.h"
#include "log.h"
#include "sampler.h"

/* Cumulative values of one thread at the end of the last interval. */
struct gil_mark {
	uint64_t takes, drops;
	uint64_t wait_done, hold_done;   /* completed waits / holds */
	uint64_t wait_all, hold_all;     /* plus the open one, up to the read */
	uint32_t wait_hist[GIL_HIST_SLOTS], hold_hist[GIL_HIST_SLOTS];
	char name[32];
};

/* One thread over one interval. */
struct gil_row {
	uint32_t tid;
	const char *name;
	uint64_t takes, drops;
	uint64_t wait_done, hold_done;   /* for the means: waits/holds that ended */
	uint64_t wait_ns, hold_ns;       /* time within the interval */
	int waiting, holding;            /* at the end of the interval */
	uint32_t wait_hist[GIL_HIST_SLOTS], hold_hist[GIL_HIST_SLOTS];
};

/* CLOCK_REALTIME - CLOCK_MONOTONIC (bpf_ktime_get_ns), for wall-clock times */
static int64_t real_offset(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000ll + (r.tv_nsec - m.tv_nsec);
}

void gil_report_init(struct gil_report *r, const struct gil_report_opts *o, FILE *out,
		     const struct pyproc *proc, const struct symbols *syms, const char *mode,
		     uint64_t start_ns)
{
	memset(r, 0, sizeof(*r));
	r->o = *o;
	r->out = out;
	r->proc = proc;
	r->syms = syms;
	r->mode = mode;
	r->start_ns = r->last_ns = start_ns;
	r->real_offset_ns = real_offset();
	htab_init(&r->marks, sizeof(uint32_t), sizeof(struct gil_mark));
}

void gil_report_free(struct gil_report *r)
{
	htab_free(&r->marks);
}

void gil_report_forget(struct gil_report *r, uint32_t tid)
{
	struct gil_mark *m = htab_get(&r->marks, &tid);

	if (m) /* a later thread with this tid starts from zero in BPF too */
		memset(m, 0, sizeof(*m));
}

/* ---- formatting ---------------------------------------------------- */

static const char *dur(char *buf, size_t len, uint64_t ns)
{
	if (!ns)
		snprintf(buf, len, "0");
	else if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}

static const char *clock_str(const struct gil_report *r, uint64_t mono_ns, int ms, char *buf,
			     size_t len)
{
	int64_t real = (int64_t)mono_ns + r->real_offset_ns;
	time_t sec = (time_t)(real / 1000000000ll);
	struct tm tm;
	size_t n;

	localtime_r(&sec, &tm);
	n = strftime(buf, len, "%H:%M:%S", &tm);
	if (ms && n < len)
		snprintf(buf + n, len - n, ".%03d", (int)((real / 1000000) % 1000));
	return buf;
}

static double unix_seconds(const struct gil_report *r, uint64_t mono_ns)
{
	return ((int64_t)mono_ns + r->real_offset_ns) / 1e9;
}

/* Share of span in percent, at most 100: one GIL is held at most all the
 * time.  The fallback probes (PyEval_RestoreThread/SaveThread) miss the
 * forced switches inside the eval loop, so a thread that lost the GIL
 * that way still looks like holding it, and summed holds can exceed the
 * interval. */
static double share(uint64_t ns, uint64_t span)
{
	double pct = span ? 100.0 * ns / span : 0.0;

	return pct > 100.0 ? 100.0 : pct;
}

/* The Python name of a thread where known, else the kernel's (live, or
 * fallback as the BPF side saw it) */
static void thread_name(const struct gil_report *r, uint32_t pid, uint32_t tid,
			const char *fallback, char *buf, size_t len)
{
	buf[0] = 0;
	if (r->name_fn && r->name_fn(r->name_ctx, tid, buf, len))
		buf[0] = 0;
	if (!buf[0])
		proc_thread_comm((pid_t)pid, (pid_t)tid, buf, len);
	if (!buf[0])
		snprintf(buf, len, "%.16s", fallback);
}

static uint64_t mean(uint64_t total, uint64_t n)
{
	return n ? total / n : 0;
}

/* ---- interval accounting ------------------------------------------- */

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void mark_of(const struct gil_thread *t, uint64_t now, struct gil_mark *m)
{
	if (t->exit_ns && t->exit_ns < now)
		now = t->exit_ns; /* open times end with the thread */
	m->takes = t->takes;
	m->drops = t->drops;
	m->wait_done = t->wait_ns;
	m->hold_done = t->hold_ns;
	m->wait_all = t->wait_ns + t->handoff_ns +
		      (t->take_start && t->take_start < now ? now - t->take_start : 0) +
		      (t->drop_start && t->drop_start < now ? now - t->drop_start : 0);
	m->hold_all = t->hold_ns + (t->hold_start && t->hold_start < now ? now - t->hold_start : 0);
	memcpy(m->wait_hist, t->wait_hist, sizeof(m->wait_hist));
	memcpy(m->hold_hist, t->hold_hist, sizeof(m->hold_hist));
}

static void row_of(const struct gil_entry *e, const struct gil_mark *cur,
		   const struct gil_mark *prev, struct gil_row *row)
{
	static const struct gil_mark zero;
	int k;

	if (cur->takes < prev->takes || cur->drops < prev->drops)
		prev = &zero; /* the entry was started afresh (tid reused) */
	memset(row, 0, sizeof(*row));
	row->tid = e->tid;
	row->takes = cur->takes - prev->takes;
	row->drops = cur->drops - prev->drops;
	row->wait_done = sub(cur->wait_done, prev->wait_done);
	row->hold_done = sub(cur->hold_done, prev->hold_done);
	row->wait_ns = sub(cur->wait_all, prev->wait_all);
	row->hold_ns = sub(cur->hold_all, prev->hold_all);
	row->waiting = !e->t.exit_ns && (e->t.take_start || e->t.drop_start);
	row->holding = !e->t.exit_ns && e->t.hold_start;
	for (k = 0; k < GIL_HIST_SLOTS; k++) {
		row->wait_hist[k] = cur->wait_hist[k] - (prev == &zero ? 0 : prev->wait_hist[k]);
		row->hold_hist[k] = cur->hold_hist[k] - (prev == &zero ? 0 : prev->hold_hist[k]);
	}
}

static void add_row(struct gil_row *sum, const struct gil_row *row)
{
	int k;

	sum->takes += row->takes;
	sum->drops += row->drops;
	sum->wait_done += row->wait_done;
	sum->hold_done += row->hold_done;
	sum->wait_ns += row->wait_ns;
	sum->hold_ns += row->hold_ns;
	for (k = 0; k < GIL_HIST_SLOTS; k++) {
		sum->wait_hist[k] += row->wait_hist[k];
		sum->hold_hist[k] += row->hold_hist[k];
	}
}

static int by_hold(const void *a, const void *b)
{
	const struct gil_row *x = a, *y = b;

	if (x->hold_ns != y->hold_ns)
		return x->hold_ns < y->hold_ns ? 1 : -1;
	if (x->wait_ns != y->wait_ns)
		return x->wait_ns < y->wait_ns ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* ---- text ------------------------------------------------------------ */

static void text_row(FILE *f, const struct gil_row *row, const char *tid, uint64_t span)
{
	char b[5][32];

	fprintf(f, "%8s  %-15.15s %8" PRIu64 " %11s %11s %11s %11s %8" PRIu64 " %6.1f\n", tid,
		row->name, row->takes, dur(b[0], 32, row->wait_ns),
		dur(b[1], 32, mean(row->wait_done, row->takes)), dur(b[2], 32, row->hold_ns),
		dur(b[3], 32, mean(row->hold_done, row->drops)), row->drops, share(row->hold_ns, span));
}

static void text_hist(FILE *f, const char *what, const uint32_t *h)
{
	uint32_t max = 0;
	int k, lo = -1, hi = -1;
	char a[32], b[32];

	for (k = 0; k < GIL_HIST_SLOTS; k++) {
		if (!h[k])
			continue;
		if (lo < 0)
			lo = k;
		hi = k;
		if (h[k] > max)
			max = h[k];
	}
	fprintf(f, "  %s, all threads:\n", what);
	if (lo < 0) {
		fprintf(f, "    (none)\n");
		return;
	}
	fprintf(f, "    %21s %9s  distribution\n", "range", "count");
	for (k = lo; k <= hi; k++) {
		int bar = (int)((uint64_t)h[k] * 40 / max);

		fprintf(f, "    %9s .. %-9s %9u  |%-40.*s|\n", dur(a, 32, k ? (uint64_t)1 << k : 0),
			dur(b, 32, (uint64_t)1 << (k + 1)), h[k], bar,
			"****************************************");
	}
}

static void text_interval(struct gil_report *r, uint64_t now, struct gil_row *rows, size_t n,
			  const struct gil_row *total)
{
	uint64_t span = now - r->last_ns;
	char tid[16], clk[32];
	size_t i;
	FILE *f = r->out;

	fprintf(f, "%s  pid %d (%s)  CPython %s  %.2f s: GIL held %.1f %%, %" PRIu64
		   " takes, %" PRIu64 " drops\n",
		clock_str(r, now, 0, clk, sizeof(clk)), r->proc->pid, r->proc->comm,
		r->proc->version, span / 1e9, share(total->hold_ns, span),
		total->takes, total->drops);
	fprintf(f, "%8s  %-15s %8s %11s %11s %11s %11s %8s %6s\n", "TID", "NAME", "TAKES",
		"WAIT TOTAL", "WAIT MEAN", "HOLD TOTAL", "HOLD MEAN", "DROPS", "HOLD%");
	for (i = 0; i < n; i++) {
		snprintf(tid, sizeof(tid), "%u", rows[i].tid);
		text_row(f, &rows[i], tid, span);
	}
	text_row(f, total, "", span);
	if (r->o.hist) {
		text_hist(f, "GIL wait (take_gil)", total->wait_hist);
		text_hist(f, "GIL hold", total->hold_hist);
	}
	fputc('\n', f);
}

/* ---- JSON ------------------------------------------------------------ */

static void json_hist(FILE *f, const char *key, const uint32_t *h)
{
	int k, first = 1;

	fprintf(f, ",\"%s\":[", key);
	for (k = 0; k < GIL_HIST_SLOTS; k++) {
		if (!h[k])
			continue;
		fprintf(f, "%s[%" PRIu64 ",%u]", first ? "" : ",", k ? (uint64_t)1 << k : 0, h[k]);
		first = 0;
	}
	fputc(']', f);
}

static void json_row(struct gil_report *r, FILE *f, const struct gil_row *row, uint64_t span)
{
	fprintf(f, "\"takes\":%" PRIu64 ",\"wait_ns\":%" PRIu64 ",\"wait_mean_ns\":%" PRIu64
		   ",\"hold_ns\":%" PRIu64 ",\"hold_mean_ns\":%" PRIu64 ",\"drops\":%" PRIu64
		   ",\"hold_pct\":%.2f,\"wait_pct\":%.2f",
		row->takes, row->wait_ns, mean(row->wait_done, row->takes), row->hold_ns,
		mean(row->hold_done, row->drops), row->drops, share(row->hold_ns, span),
		span ? 100.0 * row->wait_ns / span : 0.0);
	if (r->o.hist) {
		json_hist(f, "wait_hist", row->wait_hist);
		json_hist(f, "hold_hist", row->hold_hist);
	}
}

static void json_interval(struct gil_report *r, uint64_t now, struct gil_row *rows, size_t n,
			  const struct gil_row *total)
{
	uint64_t span = now - r->last_ns;
	FILE *f = r->out;
	size_t i;

	fprintf(f, "{\"type\":\"interval\",\"time\":%.3f,\"elapsed\":%.3f,\"interval\":%.3f,"
		   "\"pid\":%d,\"python\":",
		unix_seconds(r, now), (now - r->start_ns) / 1e9, span / 1e9, r->proc->pid);
	json_string(f, r->proc->version);
	fprintf(f, ",\"probes\":");
	json_string(f, r->mode);
	fprintf(f, ",\"threads\":[");
	for (i = 0; i < n; i++) {
		fprintf(f, "%s{\"tid\":%u,\"name\":", i ? "," : "", rows[i].tid);
		json_string(f, rows[i].name);
		fprintf(f, ",\"holding\":%s,\"waiting\":%s,", rows[i].holding ? "true" : "false",
			rows[i].waiting ? "true" : "false");
		json_row(r, f, &rows[i], span);
		fputc('}', f);
	}
	fprintf(f, "],\"total\":{");
	json_row(r, f, total, span);
	fprintf(f, "}}\n");
}

int gil_report_interval(struct gil_report *r, uint64_t now, const struct gil_entry *e, size_t n)
{
	struct gil_row *rows = calloc(n ? n : 1, sizeof(*rows)), total = { .name = "total" };
	struct gil_mark cur;
	size_t i, nrows = 0;
	int created;

	if (!rows)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct gil_mark *prev = htab_put(&r->marks, &e[i].tid, &created);
		struct gil_row *row = &rows[nrows];

		if (!prev) {
			free(rows);
			return -ENOMEM;
		}
		mark_of(&e[i].t, now, &cur);
		row_of(&e[i], &cur, prev, row);
		/* exited: the name it had at its last drop */
		thread_name(r, (uint32_t)r->proc->pid, e[i].tid, e[i].t.comm, cur.name,
			    sizeof(cur.name));
		if (!cur.name[0])
			memcpy(cur.name, prev->name, sizeof(cur.name));
		*prev = cur;
		row->name = prev->name[0] ? prev->name : "?";
		if (r->o.only_tid && e[i].tid != r->o.only_tid)
			continue;
		if (row->takes || row->drops || row->wait_ns || row->hold_ns) {
			add_row(&total, row);
			nrows++;
		}
	}
	qsort(rows, nrows, sizeof(*rows), by_hold);
	if (r->o.json)
		json_interval(r, now, rows, nrows, &total);
	else
		text_interval(r, now, rows, nrows, &total);
	fflush(r->out);
	free(rows);
	r->last_ns = now;
	r->intervals++;
	return 0;
}

/* ---- long waits and holds ------------------------------------------ */

struct frame_text {
	const char *name, *file, *path;
	uint32_t line;
};

static void frame_text(const struct gil_report *r, const struct frame_rec *fr,
		       struct frame_text *out)
{
	const struct symbol *sym = symbols_get(r->syms, fr->sym_id);

	memset(out, 0, sizeof(*out));
	out->file = out->path = "";
	if (!sym) {
		out->name = "<unknown>";
		return;
	}
	out->name = sym->name;
	out->file = r->o.full_filenames ? sym->path : sym->base;
	out->path = sym->path;
	out->line = symbol_line(sym, fr->lasti);
}

void gil_report_event(struct gil_report *r, const struct gil_event *ev)
{
	const char *kind = ev->kind == GIL_EV_WAIT ? "wait" : "hold";
	uint32_t depth = ev->depth < PYBPF_MAX_DEPTH ? ev->depth : PYBPF_MAX_DEPTH, i, n;
	struct frame_text ft;
	char name[32], clk[32], d[32];
	FILE *f = r->out;

	if (r->o.only_tid && ev->tid != r->o.only_tid)
		return;
	thread_name(r, ev->pid, ev->tid, ev->comm, name, sizeof(name));
	if (ev->kind == GIL_EV_WAIT || ev->kind == GIL_EV_HOLD)
		r->events[ev->kind]++;
	if (r->o.json) {
		fprintf(f, "{\"type\":\"%s\",\"time\":%.6f,\"elapsed\":%.6f,\"pid\":%u,\"tid\":%u,"
			   "\"name\":",
			kind, unix_seconds(r, ev->end_ns), (ev->end_ns - r->start_ns) / 1e9, ev->pid,
			ev->tid);
		json_string(f, name);
		fprintf(f, ",\"duration_ns\":%" PRIu64 ",\"python_thread\":%s,\"truncated\":%s,"
			   "\"stack_unreadable\":%s,\"stack\":[",
			(uint64_t)ev->duration_ns, ev->flags & GIL_EV_NO_TSTATE ? "false" : "true",
			ev->flags & STACK_TRUNCATED ? "true" : "false",
			ev->flags & GIL_EV_UNREADABLE ? "true" : "false");
		for (i = 0, n = 0; i < depth; i++) { /* innermost first */
			if (!frame_runs_code(&ev->frames[i]))
				continue;
			frame_text(r, &ev->frames[i], &ft);
			fprintf(f, "%s{\"name\":", n++ ? "," : "");
			json_string(f, ft.name);
			fprintf(f, ",\"file\":");
			json_string(f, ft.path);
			fprintf(f, ",\"line\":%u}", ft.line);
		}
		fprintf(f, "]}\n");
		fflush(f);
		return;
	}
	fprintf(f, "%s  long %s %s  tid %u (%s): ", clock_str(r, ev->end_ns, 1, clk, sizeof(clk)),
		kind, dur(d, sizeof(d), ev->duration_ns), ev->tid, name);
	if (ev->flags & GIL_EV_NO_TSTATE)
		fprintf(f, "(no Python thread state)");
	else if (ev->flags & GIL_EV_UNREADABLE)
		fprintf(f, "(Python stack unreadable)");
	else if (!depth)
		fprintf(f, "(no Python frames)");
	if (ev->flags & STACK_TRUNCATED)
		fprintf(f, "<truncated>;");
	for (i = depth, n = 0; i-- > 0;) { /* root first, as in collapsed stacks */
		if (!frame_runs_code(&ev->frames[i]))
			continue;
		if (n++)
			fputc(';', f);
		frame_text(r, &ev->frames[i], &ft);
		if (ft.line)
			fprintf(f, "%s (%s:%u)", ft.name, ft.file, ft.line);
		else if (ft.file[0])
			fprintf(f, "%s (%s)", ft.name, ft.file);
		else
			fprintf(f, "%s", ft.name);
	}
	fputc('\n', f);
	fflush(f);
}

/* ---- the end ---------------------------------------------------------- */

static const char *const gil_stat_names[GIL_STAT_NR] = {
	[GIL_STAT_TAKES] = "takes timed",
	[GIL_STAT_DROPS] = "drops timed",
	[GIL_STAT_EVENTS] = "long waits/holds sent",
	[GIL_STAT_TAKE_UNMATCHED] = "takes whose start was not seen (in take_gil at attach)",
	[GIL_STAT_DROP_UNMATCHED] = "drops whose hold start was not known",
	[GIL_STAT_LOST_THREADS] = "threads not counted: map full",
	[GIL_STAT_LOST_EVENTS] = "long waits/holds lost: ring buffer full",
	[GIL_STAT_NO_TSTATE] = "long waits/holds without a Python thread state",
	[GIL_STAT_UNREADABLE] = "long waits/holds whose Python stack was unreadable",
};

void gil_report_summary(struct gil_report *r, uint64_t now_ns, const uint64_t *gil_stats,
			const uint64_t *walk_stats)
{
	int i;

	fprintf(stderr, "pybpf: %" PRIu64 " takes, %" PRIu64 " drops, %" PRIu64 " long waits and %"
			PRIu64 " long holds reported, %.1f s\n",
		gil_stats[GIL_STAT_TAKES], gil_stats[GIL_STAT_DROPS], r->events[GIL_EV_WAIT],
		r->events[GIL_EV_HOLD], (now_ns - r->start_ns) / 1e9);
	for (i = 0; i < GIL_STAT_NR; i++)
		if (gil_stats[i] && (log_verbose || i == GIL_STAT_LOST_THREADS ||
				     i == GIL_STAT_LOST_EVENTS))
			fprintf(stderr, "pybpf:   %10" PRIu64 "  %s\n", gil_stats[i], gil_stat_names[i]);
	for (i = 0; log_verbose && i < STAT_NR; i++)
		if (walk_stats[i])
			fprintf(stderr, "pybpf:   %10" PRIu64 "  stack walker: %s\n", walk_stats[i],
				sampler_stat_name(i));
}
