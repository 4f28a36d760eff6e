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
	json_string(f, fr->name);
	if (fr->kind == PFRAME_PYTHON && file && file[0]) {
		fputs(",\"file\":", f);
		json_string(f, file);
		if (fr->line)
			fprintf(f, ",\"line\":%" PRIu32, fr->line);
	}
	fputc('}', f);
}

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

/* Index of the first frame of s that belongs in a sample. */
static uint32_t first_sampled(const struct profile *p, const struct pstack *s)
{
	uint32_t k;

	if (s->depth == 0)
		return 0;
	k = p->frames[s->frames[0]].kind;
	return k == PFRAME_PROCESS || k == PFRAME_THREAD;
}

/* One thread's profile from idx[0..n), all with the same pid and tid. */
static void put_thread(FILE *f, const struct profile *p, const size_t *idx,
		       size_t n)
{
	const struct pstack *s0 = &p->stacks[idx[0]];
	uint64_t total = 0;
	size_t i;
	uint32_t k;

	for (i = 0; i < n; i++)
		total += p->stacks[idx[i]].count;
	fprintf(f, "{\"type\":\"sampled\",\"name\":\"pid %" PRIu32
		" thread %" PRIu32 " (", s0->pid, s0->tid);
	json_chars(f, s0->thread_name);
	fprintf(f, ")\",\"unit\":\"none\",\"startValue\":0,"
		"\"endValue\":%" PRIu64 ",\n\"samples\":[\n", total);
	for (i = 0; i < n; i++) {
		const struct pstack *s = &p->stacks[idx[i]];

		fputc('[', f);
		for (k = first_sampled(p, s); k < s->depth; k++)
			fprintf(f, "%" PRIu32 "%s", s->frames[k],
				k + 1 < s->depth ? "," : "");
		fprintf(f, "]%s\n", i + 1 < n ? "," : "");
	}
	fputs("],\n\"weights\":[", f);
	for (i = 0; i < n; i++)
		fprintf(f, "%" PRIu64 "%s", p->stacks[idx[i]].count,
			i + 1 < n ? "," : "");
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
	size_t i, j, *idx;
	uint32_t k;

	for (i = 0; i < p->nstacks; i++)
		for (k = 0; k < p->stacks[i].depth; k++)
			if (p->stacks[i].frames[k] >= p->nframes)
				return -EINVAL;
	idx = calloc(p->nstacks ? p->nstacks : 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < p->nstacks; i++)
		idx[i] = i;
	qsort_r(idx, p->nstacks, sizeof(*idx), cmp_stack_idx, (void *)p);

	put_header(f, p);
	for (i = 0; i < p->nstacks; i = j) {
		const struct pstack *s = &p->stacks[idx[i]];

		for (j = i + 1; j < p->nstacks; j++)
			if (p->stacks[idx[j]].pid != s->pid ||
			    p->stacks[idx[j]].tid != s->tid)
				break;
		put_thread(f, p, idx + i, j - i);
		fputs(j < p->nstacks ? ",\n" : "\n", f);
	}
	fputs("]}\n", f);
	free(idx);
	if (fflush(f) == EOF)
		return -errno;
	return ferror(f) ? -EIO : 0;
}
