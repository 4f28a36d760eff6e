// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* test_linetable.c - replays the line-table vectors that real interpreters
 * wrote (tests/unit/data/linetable-X.Y.txt, see tools/gen-linetable-vectors.py)
 * against user/profile/linetable.c, plus hand-made tables for the corner cases.
 *
 * Run from the repository root.  Each vector counts as one check for the
 * whole table and one for its truncated prefixes, so the summary stays short;
 * the first mismatches are printed in detail.
 */
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linetable.h"
#include "unit.h"

#define DATA_GLOB	"tests/unit/data/linetable-*.txt"
#define MAX_DETAILS	20

/* One code object from a data file. */
struct vector {
	unsigned version;
	int firstlineno;
	char name[256];
	uint8_t *table;
	size_t len;
	uint32_t *offsets;
	int *lines;
	size_t n, cap;
};

static int details_left = MAX_DETAILS;

static void vector_reset(struct vector *v)
{
	free(v->table);
	free(v->offsets);
	free(v->lines);
	memset(v, 0, sizeof(*v));
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "table <hex>" ('-' for an empty table) */
static int parse_table(struct vector *v, const char *hex)
{
	size_t i, n = strcspn(hex, " \n");

	if (n == 1 && hex[0] == '-')
		return 0;
	if (n % 2)
		return -1;
	v->table = malloc(n / 2 + 1);
	if (!v->table)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		v->table[i] = (uint8_t)(hi << 4 | lo);
	}
	v->len = n / 2;
	return 0;
}

static int push_pair(struct vector *v, uint32_t off, int line)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 256;
		uint32_t *o = realloc(v->offsets, cap * sizeof(*o));
		int *l;

		if (!o)
			return -1;
		v->offsets = o;
		l = realloc(v->lines, cap * sizeof(*l));
		if (!l)
			return -1;
		v->lines = l;
		v->cap = cap;
	}
	v->offsets[v->n] = off;
	v->lines[v->n++] = line;
	return 0;
}

/* "at <off>:<line> <off>:<line> ..." */
static int parse_pairs(struct vector *v, const char *s)
{
	unsigned long off;
	int line, used;

	while (sscanf(s, " %lu:%d%n", &off, &line, &used) == 2) {
		if (push_pair(v, (uint32_t)off, line))
			return -1;
		s += used;
	}
	return 0;
}

static void mismatch(const struct vector *v, const char *what, size_t i,
		     int got)
{
	if (details_left-- <= 0)
		return;
	fprintf(stderr, "linetable 0x%x %s (%s): offset %u gives %d, "
		"interpreter says %d\n", v->version, v->name, what,
		v->offsets[i], got, v->lines[i]);
}

/* The whole table must give the interpreter's line for every instruction. */
static void check_full(const struct vector *v)
{
	size_t i, bad = 0;

	for (i = 0; i < v->n; i++) {
		int got = linetable_addr2line(v->version, v->firstlineno,
					      v->table, v->len, v->offsets[i]);

		if (got != v->lines[i] && !bad++)
			mismatch(v, "full table", i, got);
	}
	CHECK(bad == 0);
}

/* A prefix of cut bytes may only give the right line or -1; returns how
 * many instructions it still resolved. */
static size_t check_prefix(const struct vector *v, size_t cut, size_t *bad)
{
	size_t i, known = 0;

	for (i = 0; i < v->n; i++) {
		int got = linetable_addr2line_cut(v->version, v->firstlineno,
						  v->table, cut, v->len,
						  v->offsets[i]);

		if (got == -1)
			continue;
		if (got == v->lines[i]) {
			known++;
		} else if (!(*bad)++) {
			char what[64];

			snprintf(what, sizeof(what), "cut to %zu of %zu bytes",
				 cut, v->len);
			mismatch(v, what, i, got);
		}
	}
	return known;
}

/* Half the table (the case the brief names), a few odd cuts, and every
 * prefix of small tables. */
static void check_truncated(const struct vector *v, size_t *resolved)
{
	size_t cut, bad = 0;

	*resolved += check_prefix(v, v->len / 2, &bad);
	check_prefix(v, v->len / 3, &bad);
	if (v->len >= 2) {
		check_prefix(v, v->len - 1, &bad);
		check_prefix(v, v->len - 2, &bad);
	}
	for (cut = 0; v->len <= 64 && cut < v->len; cut++)
		check_prefix(v, cut, &bad);
	CHECK(bad == 0);
}

struct file_stats {
	size_t vectors, half_resolved, instructions;
};

static void check_vector(const struct vector *v, struct file_stats *st)
{
	check_full(v);
	check_truncated(v, &st->half_resolved);
	st->vectors++;
	st->instructions += v->n;
}

/* Feeds one line of a data file; runs the checks at each "end". */
static int parse_line(struct vector *v, const char *line,
		      struct file_stats *st)
{
	if (line[0] == '#' || line[0] == '\n')
		return 0;
	if (!strncmp(line, "code ", 5)) {
		vector_reset(v);
		return sscanf(line + 5, "%x %d %255s", &v->version,
			      &v->firstlineno, v->name) == 3 ? 0 : -1;
	}
	if (!strncmp(line, "table ", 6))
		return parse_table(v, line + 6);
	if (!strncmp(line, "at ", 3))
		return parse_pairs(v, line + 3);
	if (!strncmp(line, "end", 3)) {
		check_vector(v, st);
		return 0;
	}
	return -1;
}

static void run_file(const char *path)
{
	struct vector v = { 0 };
	struct file_stats st = { 0 };
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	FILE *f = fopen(path, "r");

	CHECK(f != NULL);
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (parse_line(&v, line, &st)) {
			fprintf(stderr, "%s:%zu: cannot parse\n", path, lineno);
			CHECK(0);
			break;
		}
	}
	printf("linetable %s: %zu vectors, %zu instructions, "
	       "%zu resolved from half tables\n", path, st.vectors,
	       st.instructions, st.half_resolved);
	/* An empty file or a cut check that never answers proves nothing. */
	CHECK(st.vectors > 0);
	CHECK(st.half_resolved > 0);
	free(line);
	vector_reset(&v);
	fclose(f);
}

/* Versions with vectors in the repository; a missing one is a SKIP. */
static const char *const versions[] = {
	"2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13",
	"3.14",
};

static void run_data_files(void)
{
	char path[128];
	size_t i;
	glob_t g;

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		snprintf(path, sizeof(path), "tests/unit/data/linetable-%s.txt",
			 versions[i]);
		if (access(path, R_OK) == 0)
			continue;
		printf("SKIP linetable %s: no vectors\n", versions[i]);
	}
	if (glob(DATA_GLOB, 0, NULL, &g))
		return;
	for (i = 0; i < g.gl_pathc; i++)
		run_file(g.gl_pathv[i]);
	globfree(&g);
}

#define LINE(ver, first, tab, off) \
	linetable_addr2line(ver, first, tab, sizeof(tab), off)

/* Frames that have not started, unknown versions, empty tables. */
static void check_edges(void)
{
	static const uint8_t one[] = { 2, 1 };

	CHECK_EQ_INT(LINE(0x0207, 7, one, LINETABLE_NOT_STARTED), 7);
	CHECK_EQ_INT(LINE(0x030a, 7, one, LINETABLE_NOT_STARTED), 7);
	CHECK_EQ_INT(LINE(0x030e, 7, one, LINETABLE_NOT_STARTED), 7);
	CHECK_EQ_INT(LINE(0x0206, 7, one, 0), -1);
	CHECK_EQ_INT(LINE(0x0400, 7, one, 0), -1);
	/* An empty co_lnotab: the whole code is on co_firstlineno... */
	CHECK_EQ_INT(linetable_addr2line(0x0309, 7, NULL, 0, 40), 7);
	/* ...unless it was cut to nothing. */
	CHECK_EQ_INT(linetable_addr2line_cut(0x0309, 7, one, 0, 2, 0), -1);
	/* The 3.10+ tables cover the code: an empty one covers nothing. */
	CHECK_EQ_INT(linetable_addr2line(0x030a, 7, NULL, 0, 0), -1);
	CHECK_EQ_INT(linetable_addr2line(0x030c, 7, NULL, 0, 0), -1);
}

/* 0xc8 is +200 before 3.6 and -56 from 3.6 on (bpo-26107). */
static void check_lnotab_sign(void)
{
	static const uint8_t t[] = { 2, 0xc8 };

	CHECK_EQ_INT(LINE(0x0207, 300, t, 0), 300);
	CHECK_EQ_INT(LINE(0x0207, 300, t, 2), 500);
	CHECK_EQ_INT(LINE(0x0306, 300, t, 2), 244);
	CHECK_EQ_INT(LINE(0x0309, 300, t, 9), 244);
}

/* A cut co_lnotab cannot tell where its last line ends: the next pair may
 * move the line at the same offset ({4, +1} then {0, +2} here). */
static void check_lnotab_cut(void)
{
	static const uint8_t t[] = { 4, 1, 0, 2 };

	CHECK_EQ_INT(LINE(0x0308, 10, t, 4), 13);
	CHECK_EQ_INT(linetable_addr2line_cut(0x0308, 10, t, 2, 4, 2), 10);
	CHECK_EQ_INT(linetable_addr2line_cut(0x0308, 10, t, 2, 4, 4), -1);
	CHECK_EQ_INT(linetable_addr2line_cut(0x0308, 10, t, 3, 4, 4), -1);
}

/* 3.10: -128 marks a range without a line and keeps the running line. */
static void check_pep626(void)
{
	static const uint8_t t[] = { 2, 1, 2, 0x80, 0, 127, 2, 1, 254, 0 };

	CHECK_EQ_INT(LINE(0x030a, 10, t, 0), 11);
	CHECK_EQ_INT(LINE(0x030a, 10, t, 2), -1);
	CHECK_EQ_INT(LINE(0x030a, 10, t, 4), 139);
	CHECK_EQ_INT(LINE(0x030a, 10, t, 6), 139);
	CHECK_EQ_INT(LINE(0x030a, 10, t, 259), 139);
	CHECK_EQ_INT(LINE(0x030a, 10, t, 260), -1);
}

/*
 * 3.11+ entries, one of each form (byte 1kkkklll: kind, units - 1):
 *   long, +200 (svarint 400 = 0x50 0x06), end +0, columns 0..1   index 0
 *   no column, -3 (svarint 7), 2 units                           index 1-2
 *   no location                                                  index 3
 *   one line, +2, columns 5..9                                   index 4
 *   short, kind 3 (column 24..), same line, 2 units              index 5-6
 */
static const uint8_t loc_table[] = {
	0xf0, 0x50, 0x06, 0x00, 0x01, 0x02,
	0xe9, 0x07,
	0xf8,
	0xe0, 0x05, 0x09,
	0x99, 0x12,
};
static const int loc_lines[] = { 210, 207, 207, -1, 209, 209, 209, -1 };

static void check_locations(void)
{
	uint32_t i;
	size_t cut;

	for (i = 0; i < sizeof(loc_lines) / sizeof(loc_lines[0]); i++) {
		CHECK_EQ_INT(LINE(0x030b, 10, loc_table, 2 * i), loc_lines[i]);
		CHECK_EQ_INT(LINE(0x030e, 10, loc_table, 2 * i), loc_lines[i]);
	}
	/* Odd offsets round down to their code unit. */
	CHECK_EQ_INT(LINE(0x030d, 10, loc_table, 3), 207);
	/* Cut inside the long entry: nothing is known yet. */
	for (cut = 0; cut < 6; cut++)
		CHECK_EQ_INT(linetable_addr2line_cut(0x030b, 10, loc_table,
						     cut, sizeof(loc_table),
						     0), -1);
	/* A continuation chunk with bit 7 set is a malformed table. */
	{
		static const uint8_t bad[] = { 0xe8, 0xc0, 0x01 };

		CHECK_EQ_INT(LINE(0x030b, 10, bad, 0), -1);
	}
}

int main(void)
{
	check_edges();
	check_lnotab_sign();
	check_lnotab_cut();
	check_pep626();
	check_locations();
	run_data_files();
	return unit_summary("test_linetable");
}
