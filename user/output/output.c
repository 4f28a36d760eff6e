/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* output.c - the table of profile file formats and the frame label every
 * text format shares.
 *
 * Adding a format means one out_<name>.c with a write function and one
 * row below; record and dump only ever go through output_find().
 */
#include <string.h>

#include "output.h"

static const struct output_format formats[] = {
	{ "flamegraph",  "svg",    write_flamegraph,  0 },
	{ "speedscope",  "json",   write_speedscope,  1 },
	/* FlameGraph's own scripts call this "folded" (out.folded). */
	{ "collapsed",   "folded", write_collapsed,   0 },
	{ "raw",         "txt",    write_raw,         0 },
	{ "pprof",       "pb.gz",  write_pprof,       0 },
	{ "chrometrace", "json",   write_chrometrace, 1 },
};

const struct output_format *output_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

const char *output_names(void)
{
	/* Kept literal (not built from the table) so it can be used in
	 * static help text; the unit test checks it matches the table. */
	return "flamegraph, speedscope, collapsed, raw, pprof, chrometrace";
}

int pframe_label(const struct pframe *f, char *buf, size_t len)
{
	const char *name = f->name ? f->name : "";
	const char *file = f->file ? f->file : "";

	if (f->kind == PFRAME_KERNEL)
		return snprintf(buf, len, "[k] %s", name);
	if (f->kind == PFRAME_NATIVE && file[0])
		return snprintf(buf, len, "%s (%s)", name, file);
	if (f->kind != PFRAME_PYTHON || file[0] == '\0')
		return snprintf(buf, len, "%s", name);
	if (f->line == 0)
		return snprintf(buf, len, "%s (%s)", name, file);
	return snprintf(buf, len, "%s (%s:%u)", name, file, f->line);
}

