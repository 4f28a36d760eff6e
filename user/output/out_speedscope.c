/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* out_speedscope.c - speedscope's JSON file format: the profile's frame
 * table as shared.frames and one "sampled" profile per thread.
 *
 * Follows https://www.speedscope.app/file-format-schema.json (checked by
 * tests/integration/check_speedscope.js with speedscope's own importer):
 *
 * - shared.frames is the profile's frame table in its order, so sample
 *   entries are pframe indices.  Python frames carry "file" (the full
 *   co_filename path, the display file if the path is unknown) and "line"
 *   (omitted when 0); synthetic frames only a name.
 * - One profile per (pid, tid), ordered by pid then tid, named
 *   "pid P thread T (name)", unit "none" (weights are sample counts),
 *   startValue 0 and endValue the sum of its weights.
 * - A leading synthetic process or thread root frame is left out of the
 *   samples: the profile already is that thread, and speedscope's views
 *   read better without a frame every stack shares.
 *
 * With a timeline (record -f speedscope keeps one), each thread's samples
 * are in time order instead, unit "nanoseconds": a sample weighs one
 * sampling period, an off-CPU interval its length, and startValue is the
 * thread's first sample from the profile's first, so speedscope's "Time
 * Order" view is true to time (gaps where the thread was not seen are
 * left out, as in every sampled profile).
 *
 * Strings are escaped per RFC 8259; invalid UTF-8 becomes U+FFFD so the
 * file always parses, valid non-ASCII text is passed through.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "output.h"

#define SCHEMA_URL "https://www.speedscope.app/file-format-schema.json"

static void put_frame(FILE *f, const struct pframe *fr)
{
	const char *file = fr->path && fr->path[0] ? fr->path : fr->file;

	fputs("{\"name\":", f);
	if (fr->kind == PFRAME_KERNEL || fr->kind == PFRAME_NATIVE) {
		char label[512];

		pframe_label(fr, label, sizeof(label)); /* "[k] func", "func (lib)" */
		json_string(f, label);
	} else {
		json_string(f, fr->name);
	}
	if ((fr->kind == PFRAME_PYTHON || fr->kind == PFRAME_NATIVE) && file && file[0]) {
		fputs(",\"file\":", f);
		json_string(f, file);
		if (fr->line)
			fprintf(f, ",\"line\":%" PRIu32, fr->line);
	}
	fputc('}', f);
}

/* A sample as written: a stack, its weight and (with a timeline) when. */
struct entry {
	uint32_t stack;
	uint64_t weight;
	uint64_t time_ns;
};

/* Stacks grouped by thread, profile order kept within a thread. */
static int cmp_stack_idx(const void *a, const void *b, void *ctx)
{
	const struct profile *p = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct pstack *x = &p->stacks[i];
	const struct pstack *y = &p->stacks[j];

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* Every sample to write, grouped by thread: the stacks with their counts,
 * or with a timeline its samples in time order, weighing a period (an
 * interval its length) in nanoseconds.  NULL on ENOMEM. */
static struct entry *entries(const struct profile *p, size_t *n)
{
	uint64_t period = 1000000000ull / (p->rate_hz ? p->rate_hz : 100);
	size_t i, *idx;
	struct entry *e;

	*n = p->timeline ? p->ntimeline : p->nstacks;
	e = calloc(*n ? *n : 1, sizeof(*e));
	idx = p->timeline ? timeline_by_thread(p) : calloc(*n ? *n : 1, sizeof(*idx));
	if (!e || !idx) {
		free(e);
		free(idx);
		return NULL;
	}
	if (!p->timeline) {
		for (i = 0; i < *n; i++)
			idx[i] = i;
		qsort_r(idx, *n, sizeof(*idx), cmp_stack_idx, (void *)p);
	}
	for (i = 0; i < *n; i++) {
		const struct psample *t = p->timeline ? &p->timeline[idx[i]] : NULL;

		e[i].stack = t ? t->stack : (uint32_t)idx[i];
		e[i].time_ns = t ? t->time_ns : 0;
		e[i].weight = !t ? p->stacks[idx[i]].count : t->dur_ns ? t->dur_ns : period;
	}
	free(idx);
	return e;
}

/* Index of the first frame of s that belongs in a sample. */
static uint32_t first_sampled(const struct profile *p, const struct pstack *s)
{
	uint32_t k;

	if (s->depth == 0)
		return 0;
	k = p->frames[s->frames[0]].kind;
	return k == PFRAME_PROCESS || k == PFRAME_THREAD;
}

/* One thread's profile: e[0..n), all of one pid and tid, from start
 * (nanoseconds since the first sample, with a timeline; else 0). */
static void put_thread(FILE *f, const struct profile *p, const struct entry *e, size_t n,
		       uint64_t start)
{
	const struct pstack *s0 = &p->stacks[e[0].stack];
	uint64_t total = 0;
	size_t i;
	uint32_t k;

	for (i = 0; i < n; i++)
		total += e[i].weight;
	fprintf(f, "{\"type\":\"sampled\",\"name\":\"pid %" PRIu32
		" thread %" PRIu32 " (", s0->pid, s0->tid);
	json_chars(f, s0->thread_name);
	fprintf(f, ")\",\"unit\":\"%s\",\"startValue\":%" PRIu64 ","
		"\"endValue\":%" PRIu64 ",\n\"samples\":[\n",
		p->timeline ? "nanoseconds" : "none", start, start + total);
	for (i = 0; i < n; i++) {
		const struct pstack *s = &p->stacks[e[i].stack];

		fputc('[', f);
		for (k = first_sampled(p, s); k < s->depth; k++)
			fprintf(f, "%" PRIu32 "%s", s->frames[k], k + 1 < s->depth ? "," : "");
		fprintf(f, "]%s\n", i + 1 < n ? "," : "");
	}
	fputs("],\n\"weights\":[", f);
	for (i = 0; i < n; i++)
		fprintf(f, "%" PRIu64 "%s", e[i].weight, i + 1 < n ? "," : "");
	fputs("]}", f);
}

static void put_header(FILE *f, const struct profile *p)
{
	size_t i;

	fputs("{\"$schema\":\"" SCHEMA_URL "\",\n\"exporter\":\"pybpf\",\"name\":", f);
	json_string(f, p->title && p->title[0] ? p->title : "pybpf profile");
	fputs(",\"activeProfileIndex\":0,\n\"shared\":{\"frames\":[\n", f);
	for (i = 0; i < p->nframes; i++) {
		put_frame(f, &p->frames[i]);
		fputs(i + 1 < p->nframes ? ",\n" : "\n", f);
	}
	fputs("]},\n\"profiles\":[\n", f);
}

int write_speedscope(FILE *f, const struct profile *p)
{
	uint64_t t0 = p->ntimeline ? p->timeline[0].time_ns : 0;
	size_t i, j, n;
	struct entry *e;
	uint32_t d;

	for (i = 0; i < p->nstacks; i++)
		for (d = 0; d < p->stacks[i].depth; d++)
			if (p->stacks[i].frames[d] >= p->nframes)
				return -EINVAL;
	for (i = 0; i < p->ntimeline; i++)
		if (p->timeline[i].stack >= p->nstacks)
			return -EINVAL;
	e = entries(p, &n);
	if (!e)
		return -ENOMEM;
	put_header(f, p);
	for (i = 0; i < n; i = j) {
		const struct pstack *s = &p->stacks[e[i].stack];

		for (j = i + 1; j < n; j++)
			if (p->stacks[e[j].stack].pid != s->pid || p->stacks[e[j].stack].tid != s->tid)
				break;
		put_thread(f, p, e + i, j - i, e[i].time_ns - t0);
		fputs(j < n ? ",\n" : "\n", f);
	}
	fputs("]}\n", f);
	free(e);
	if (fflush(f) == EOF)
		return -errno;
	return ferror(f) ? -EIO : 0;
}
