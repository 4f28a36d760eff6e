// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* out_chrometrace.c - Chrome's Trace Event Format (JSON object form), read
 * by chrome://tracing, Perfetto's UI and speedscope: each thread's
 * samples in time order as nested begin/end slices.
 *
 * - Threads ("tid") within processes ("pid"), named by "M" metadata
 *   events (process_name: the process's command, thread_name: the
 *   thread's name), ordered by pid then tid.
 * - Per thread, the samples of profile.timeline in time order.  A sample
 *   covers one sampling period (an off-CPU interval, its length); a frame
 *   stays open while consecutive samples keep it (same function at the
 *   same depth, whatever the line), so a function that runs for 300 ms
 *   is one 300 ms slice.  A gap longer than a period between samples
 *   (the thread neither ran nor, with --idle, was charged) closes every
 *   slice: nothing is drawn where nothing was seen.
 * - "ts" in microseconds from the first sample of the profile; slices
 *   carry the function's file and first-seen line in "args".
 * - Synthetic process and thread roots are left out (the track is the
 *   thread); <idle>, <GIL wait> and <truncated> are slices like frames.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "output.h"

struct trace {
	FILE *f;
	const struct profile *p;
	uint64_t t0, period;
	int first;               /* no comma before the first event */
	uint32_t open[4096];     /* frame indices open on the current thread, root first */
	uint32_t nopen;
};

static int same_function(const struct pframe *a, const struct pframe *b)
{
	return a->kind == b->kind && a->first_line == b->first_line &&
	       strcmp(a->name, b->name) == 0 &&
	       strcmp(a->path ? a->path : "", b->path ? b->path : "") == 0;
}

static void event_head(struct trace *t, const char *ph, uint32_t pid, uint32_t tid, uint64_t ns)
{
	fprintf(t->f, "%s\n{\"ph\":\"%s\",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32
		",\"ts\":%" PRIu64 ".%03" PRIu64, t->first ? "" : ",", ph, pid, tid,
		(ns - t->t0) / 1000, (ns - t->t0) % 1000);
	t->first = 0;
}

static void meta(struct trace *t, const char *what, uint32_t pid, uint32_t tid, const char *name)
{
	fprintf(t->f, "%s\n{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32
		",\"args\":{\"name\":", t->first ? "" : ",", what, pid, tid);
	json_string(t->f, name);
	fputs("}}", t->f);
	t->first = 0;
}

static void begin(struct trace *t, const struct pstack *s, uint32_t frame, uint64_t ns)
{
	const struct pframe *fr = &t->p->frames[frame];

	event_head(t, "B", s->pid, s->tid, ns);
	fputs(",\"cat\":\"python\",\"name\":", t->f);
	json_string(t->f, fr->name);
	if (fr->kind == PFRAME_PYTHON) {
		fputs(",\"args\":{\"file\":", t->f);
		json_string(t->f, fr->path && fr->path[0] ? fr->path : fr->file);
		fprintf(t->f, ",\"line\":%" PRIu32 "}", fr->line);
	}
	fputc('}', t->f);
}

/* Close open slices down to depth keep, innermost first. */
static void close_to(struct trace *t, const struct pstack *s, uint32_t keep, uint64_t ns)
{
	while (t->nopen > keep) {
		t->nopen--;
		event_head(t, "E", s->pid, s->tid, ns);
		fputc('}', t->f);
	}
}

/* Index of the first frame of s on the thread's track (after the roots). */
static uint32_t first_frame(const struct profile *p, const struct pstack *s)
{
	uint32_t k = 0;

	while (k < s->depth && (p->frames[s->frames[k]].kind == PFRAME_PROCESS ||
				p->frames[s->frames[k]].kind == PFRAME_THREAD))
		k++;
	return k;
}

/* One thread: its samples idx[0..n) in time order.  Event times never go
 * back on a track (an off-CPU interval may overlap the sample before). */
static void put_thread(struct trace *t, const size_t *idx, size_t n)
{
	const struct profile *p = t->p;
	const struct pstack *s = &p->stacks[p->timeline[idx[0]].stack];
	uint64_t end = 0, start = 0;
	size_t i;

	meta(t, "thread_name", s->pid, s->tid, s->thread_name);
	t->nopen = 0;
	for (i = 0; i < n; i++) {
		const struct psample *ps = &p->timeline[idx[i]];
		uint32_t k, d = 0, first;

		s = &p->stacks[ps->stack];
		first = first_frame(p, s);
		start = ps->time_ns > start ? ps->time_ns : start;
		if (t->nopen && start > end + t->period)
			close_to(t, s, 0, end);
		while (d < t->nopen && first + d < s->depth &&
		       same_function(&p->frames[t->open[d]], &p->frames[s->frames[first + d]]))
			d++;
		close_to(t, s, d, start);
		for (k = first + d; k < s->depth && t->nopen < sizeof(t->open) / sizeof(t->open[0]); k++) {
			begin(t, s, s->frames[k], start);
			t->open[t->nopen++] = s->frames[k];
		}
		if (start + (ps->dur_ns ? ps->dur_ns : t->period) > end)
			end = start + (ps->dur_ns ? ps->dur_ns : t->period);
	}
	close_to(t, s, 0, end);
}

static int cmp_thread(const void *a, const void *b, void *ctx)
{
	const struct profile *p = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct pstack *x = &p->stacks[p->timeline[i].stack];
	const struct pstack *y = &p->stacks[p->timeline[j].stack];

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return i < j ? -1 : i > j;   /* time order within a thread */
}

/* Timeline indices grouped by thread, time order kept (shared with
 * speedscope's writer); NULL on ENOMEM. */
size_t *timeline_by_thread(const struct profile *p)
{
	size_t *idx = calloc(p->ntimeline ? p->ntimeline : 1, sizeof(*idx)), i;

	if (!idx)
		return NULL;
	for (i = 0; i < p->ntimeline; i++)
		idx[i] = i;
	qsort_r(idx, p->ntimeline, sizeof(*idx), cmp_thread, (void *)p);
	return idx;
}

int write_chrometrace(FILE *f, const struct profile *p)
{
	struct trace *t;
	uint32_t last_pid = 0;
	size_t i, j, *idx;

	if (!p->timeline)
		return -EINVAL;  /* recorded without one: nothing in time order */
	for (i = 0; i < p->ntimeline; i++)
		if (p->timeline[i].stack >= p->nstacks)
			return -EINVAL;
	t = calloc(1, sizeof(*t));
	idx = timeline_by_thread(p);
	if (!t || !idx) {
		free(t);
		free(idx);
		return -ENOMEM;
	}
	t->f = f;
	t->p = p;
	t->first = 1;
	t->t0 = p->ntimeline ? p->timeline[0].time_ns : 0;
	t->period = 1000000000ull / (p->rate_hz ? p->rate_hz : 100);
	fputs("{\"traceEvents\":[", f);
	for (i = 0; i < p->ntimeline; i = j) {
		const struct pstack *s = &p->stacks[p->timeline[idx[i]].stack];

		for (j = i + 1; j < p->ntimeline; j++) {
			const struct pstack *o = &p->stacks[p->timeline[idx[j]].stack];

			if (o->pid != s->pid || o->tid != s->tid)
				break;
		}
		if (i == 0 || s->pid != last_pid)
			meta(t, "process_name", s->pid, 0, s->comm && s->comm[0] ? s->comm : "python");
		last_pid = s->pid;
		put_thread(t, idx + i, j - i);
	}
	fputs("\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"exporter\":\"pybpf\",\"title\":", f);
	json_string(f, p->title && p->title[0] ? p->title : "pybpf profile");
	fprintf(f, ",\"rate_hz\":%" PRIu32 "}}\n", p->rate_hz);
	free(idx);
	free(t);
	if (fflush(f) == EOF)
		return -errno;
	return ferror(f) ? -EIO : 0;
}
