/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* out_raw.c - every stack exactly as aggregated, for scripts that want
 * per-thread data and full paths rather than a picture.
 *
 * Format: one line per profile stack, in the profile's order, nothing
 * merged or sorted:
 *
 *     PID;TID;THREAD_NAME;LABEL;LABEL;...;LABEL COUNT
 *
 * PID, TID and COUNT are decimal.  Each LABEL is a frame, root first, as
 * in the collapsed format ("name (path:line)", "name (path)" without a
 * line, "name" without a file, synthetic frames by name), except that the
 * file is the full co_filename path rather than the displayed one.
 * Because the fields are ';'-separated and lines end in '\n', a ';' in a
 * thread name or label is written as ':' and control characters as ' ';
 * the count is everything after the last space.  A stack without frames
 * has a single "[empty]" label.  Stacks cut at --max-depth start with the
 * truncation marker frame that the profile already carries.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

/* Print s with the two field separators and control characters replaced. */
static void put_field(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == ';')
			fputc(':', f);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

/* The label of fr with its full path; NULL if out of memory. */
static char *raw_label(const struct pframe *fr)
{
	struct pframe full = *fr;
	char *s;
	int n;

	if (full.path && full.path[0])
		full.file = full.path;
	n = pframe_label(&full, NULL, 0);
	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return NULL;
	pframe_label(&full, s, (size_t)n + 1);
	return s;
}

static int put_stack(FILE *f, const struct pstack *s, char **labels,
		     size_t nframes)
{
	uint32_t i;

	for (i = 0; i < s->depth; i++)
		if (s->frames[i] >= nframes)
			return -EINVAL;
	fprintf(f, "%" PRIu32 ";%" PRIu32 ";", s->pid, s->tid);
	put_field(f, s->thread_name);
	if (s->depth == 0)
		fputs(";[empty]", f);
	for (i = 0; i < s->depth; i++) {
		fputc(';', f);
		put_field(f, labels[s->frames[i]]);
	}
	fprintf(f, " %" PRIu64 "\n", s->count);
	return 0;
}

int write_raw(FILE *f, const struct profile *p)
{
	char **labels;
	size_t i;
	int err = -ENOMEM;

	labels = calloc(p->nframes ? p->nframes : 1, sizeof(*labels));
	if (!labels)
		return -ENOMEM;
	for (i = 0; i < p->nframes; i++)
		if (!(labels[i] = raw_label(&p->frames[i])))
			goto out_free;
	for (i = 0; i < p->nstacks; i++) {
		err = put_stack(f, &p->stacks[i], labels, p->nframes);
		if (err)
			goto out_free;
	}
	err = fflush(f) == EOF ? -errno : ferror(f) ? -EIO : 0;

out_free:
	for (i = 0; i < p->nframes; i++)
		free(labels[i]);
	free(labels);
	return err;
}
