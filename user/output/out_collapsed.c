/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* out_collapsed.c - Brendan Gregg's folded stacks, the input of
 * flamegraph.pl and inferno, and the project's test oracle.
 *
 * Format: one line per distinct stack: the frames' pframe_label() texts,
 * root first, joined by ';', then a space and the sample count:
 *
 *     thread 42 (MainThread);<module> (app.py:10);main (app.py:20) 1500
 *
 * Lines are sorted bytewise and identical lines are merged (two threads
 * with the same stack and no thread root frame become one line), so the
 * output is the same on every run and diffs well.
 *
 * The format has no escaping: a ';' inside a label would split a frame
 * and a newline would split a line.  So ';' becomes ':' and control
 * characters become ' ' (spaces are fine: readers split the count off at
 * the last space).  A stack without frames is written as "[empty]" so its
 * samples still add up to the total.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define EMPTY_STACK "[empty]"

struct folded_line {
	char *text;
	uint64_t count;
};

/* The label of f, made safe for the folded format; NULL if out of memory. */
static char *folded_label(const struct pframe *f)
{
	int n = pframe_label(f, NULL, 0);
	char *s, *p;

	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return NULL;
	pframe_label(f, s, (size_t)n + 1);
	for (p = s; *p; p++) {
		if (*p == ';')
			*p = ':';
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return s;
}

/* Join the stack's labels; labels[i] and lens[i] describe pframe i. */
static char *join_stack(const struct pstack *s, char **labels,
			const size_t *lens, size_t nframes)
{
	size_t len = 0, off = 0;
	uint32_t i;
	char *text;

	if (s->depth == 0)
		return strdup(EMPTY_STACK);
	for (i = 0; i < s->depth; i++) {
		if (s->frames[i] >= nframes) {
			errno = EINVAL;
			return NULL;
		}
		len += lens[s->frames[i]] + 1;
	}
	text = malloc(len);
	if (!text)
		return NULL;
	for (i = 0; i < s->depth; i++) {
		if (i)
			text[off++] = ';';
		memcpy(text + off, labels[s->frames[i]], lens[s->frames[i]]);
		off += lens[s->frames[i]];
	}
	text[off] = '\0';
	return text;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct folded_line *)a)->text,
		      ((const struct folded_line *)b)->text);
}

static int print_merged(FILE *f, struct folded_line *lines, size_t n)
{
	size_t i = 0, j;
	uint64_t count;

	qsort(lines, n, sizeof(*lines), cmp_line);
	while (i < n) {
		count = 0;
		for (j = i; j < n && strcmp(lines[j].text, lines[i].text) == 0; j++)
			count += lines[j].count;
		fprintf(f, "%s %" PRIu64 "\n", lines[i].text, count);
		i = j;
	}
	if (fflush(f) == EOF)
		return -errno;
	return ferror(f) ? -EIO : 0;
}

int write_collapsed(FILE *f, const struct profile *p)
{
	struct folded_line *lines = NULL;
	char **labels = NULL;
	size_t *lens = NULL;
	size_t i, nlines = 0;
	int err = -ENOMEM;

	labels = calloc(p->nframes ? p->nframes : 1, sizeof(*labels));
	lens = calloc(p->nframes ? p->nframes : 1, sizeof(*lens));
	lines = calloc(p->nstacks ? p->nstacks : 1, sizeof(*lines));
	if (!labels || !lens || !lines)
		goto out_free;
	for (i = 0; i < p->nframes; i++) {
		labels[i] = folded_label(&p->frames[i]);
		if (!labels[i])
			goto out_free;
		lens[i] = strlen(labels[i]);
	}
	for (nlines = 0; nlines < p->nstacks; nlines++) {
		errno = ENOMEM;
		lines[nlines].text = join_stack(&p->stacks[nlines], labels,
						lens, p->nframes);
		if (!lines[nlines].text) {
			err = -errno;
			goto out_free;
		}
		lines[nlines].count = p->stacks[nlines].count;
	}
	err = print_merged(f, lines, nlines);

out_free:
	for (i = 0; lines && i < nlines; i++)
		free(lines[i].text);
	for (i = 0; labels && i < p->nframes; i++)
		free(labels[i]);
	free(lines);
	free(lens);
	free(labels);
	return err;
}
