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
	{ "flamegraph", "svg",    write_flamegraph },
	{ "speedscope", "json",   write_speedscope },
	/* FlameGraph's own scripts call this "folded" (out.folded). */
	{ "collapsed",  "folded", write_collapsed },
	{ "raw",        "txt",    write_raw },
	{ "pprof",      "pb.gz",  write_pprof },
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
	return "flamegraph, speedscope, collapsed, raw, pprof";
}

int pframe_label(const struct pframe *f, char *buf, size_t len)
{
	const char *name = f->name ? f->name : "";
	const char *file = f->file ? f->file : "";

	if (f->kind != PFRAME_PYTHON || file[0] == '\0')
		return snprintf(buf, len, "%s", name);
	if (f->line == 0)
		return snprintf(buf, len, "%s (%s)", name, file);
	return snprintf(buf, len, "%s (%s:%u)", name, file, f->line);
}

/* Length of the valid UTF-8 sequence at s, 0 if it is not one.  XML
 * parsers reject the whole file on one bad byte, so this is checked. */
size_t utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}
