// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* linetable.c - decodes CPython line tables (co_lnotab, the 3.10 PEP 626
 * co_linetable, the 3.11+ location table) into the line of one instruction.
 *
 * Formats were taken from CPython's Objects/lnotab_notes.txt and
 * Objects/locations.md at the release tags and checked against every
 * interpreter by tests/unit/test_linetable.c.  Each decoder walks the table
 * once from the start (a table is a few KB at most; callers may cache)
 * and never reads past @len.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>

#include "linetable.h"

enum linetable_format {
	FMT_UNKNOWN,
	FMT_LNOTAB_U8,	/* 2.7 .. 3.5: unsigned line increments */
	FMT_LNOTAB_S8,	/* 3.6 .. 3.9: signed line increments */
	FMT_PEP626,	/* 3.10 */
	FMT_LOCATIONS,	/* 3.11 and later */
};

static enum linetable_format format_of(unsigned version)
{
	if (version < 0x0207 || version >= 0x0400)
		return FMT_UNKNOWN;
	/* bpo-26107 (3.6) made the co_lnotab line increment a signed byte;
	 * before it, 0x80..0xff meant +128..+255. */
	if (version < 0x0306)
		return FMT_LNOTAB_U8;
	if (version < 0x030a)
		return FMT_LNOTAB_S8;
	/* PEP 626 (3.10) replaced co_lnotab by co_linetable ranges. */
	if (version == 0x030a)
		return FMT_PEP626;
	/* PEP 657 (3.11) added columns; GH-88116 (3.11.0b1) packed lines and
	 * columns into the co_linetable location table.  3.12 to 3.14 kept
	 * its format; later 3.x are assumed to keep it too. */
	return FMT_LOCATIONS;
}

/* A line computed from a hostile table can run off int: report no line. */
static int checked_line(int64_t line)
{
	return line < 0 || line > INT_MAX ? -1 : (int)line;
}

/*
 * co_lnotab (2.7 .. 3.9): pairs of (byte offset increment, line increment),
 * each pair marking where a new line starts.  Big jumps are split into
 * several pairs, so pairs with a zero offset increment may follow a cut
 * table and still move the line at the last offset reached: with an
 * incomplete table only offsets below that last offset are known.
 */
static int lnotab_line(const uint8_t *t, size_t len, bool complete,
		       bool signed_delta, int64_t line, uint32_t off)
{
	uint64_t addr = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		addr += t[i];
		if (addr > off)
			return checked_line(line);
		/* 3.8 (bpo-12458, first line of multi-line expressions) is the
		 * first compiler to emit negative increments; 0x80 is -128
		 * here, unlike in the 3.10 format. */
		line += signed_delta ? (int8_t)t[i + 1] : t[i + 1];
	}
	/* The last line runs to the end of the code, which only a complete,
	 * well-formed table lets us assume. */
	return complete && !(len & 1) ? checked_line(line) : -1;
}

/*
 * co_linetable of 3.10 (PEP 626): pairs of (range length in bytes, line
 * increment) that cover the code back to back.  A line increment of -128
 * marks a range without a line and leaves the running line unchanged; ranges
 * over 254 bytes or line jumps over 127 are split into several pairs, some of
 * them empty.  Each range is final once read, so a prefix answers safely.
 */
static int pep626_line(const uint8_t *t, size_t len, int64_t line,
		       uint32_t off)
{
	uint64_t end = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		int8_t delta = (int8_t)t[i + 1];

		end += t[i];
		if (delta != -128)
			line += delta;
		if (off < end)
			return delta == -128 ? -1 : checked_line(line);
	}
	return -1;
}

/* Reading position in a 3.11+ location table. */
struct loc_cursor {
	const uint8_t *p, *end;
};

/* varint of Objects/locations.md: 6-bit chunks, least significant first,
 * bit 6 set on every chunk but the last. */
static int loc_varint(struct loc_cursor *c, uint32_t *out)
{
	uint32_t value = 0;
	unsigned shift;

	for (shift = 0; shift < 32; shift += 6) {
		uint8_t b;

		/* Bit 7 starts the next entry: a chunk cannot carry it. */
		if (c->p == c->end || (*c->p & 0x80))
			return -ENODATA;
		b = *c->p++;
		value |= (uint32_t)(b & 0x3f) << shift;
		if (!(b & 0x40)) {
			*out = value;
			return 0;
		}
	}
	return -EOVERFLOW;
}

/* svarint: the sign is the lowest bit of the varint, the magnitude the rest. */
static int loc_svarint(struct loc_cursor *c, int64_t *out)
{
	uint32_t raw;
	int err = loc_varint(c, &raw);

	if (err)
		return err;
	*out = raw & 1 ? -(int64_t)(raw >> 1) : (int64_t)(raw >> 1);
	return 0;
}

static int loc_skip(struct loc_cursor *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return -ENODATA;
	c->p += n;
	return 0;
}

/* The location entry kinds (_PyCodeLocationInfoKind), from the 4 code bits
 * of an entry's first byte. */
enum loc_kind {
	LOC_SHORT_MAX = 9,	/* 0-9: same line, column in one more byte */
	LOC_ONE_LINE0 = 10,	/* 10-12: line += kind - 10, two column bytes */
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMN = 13,	/* line += svarint, no columns */
	LOC_LONG = 14,		/* line += svarint, end line and columns */
	LOC_NONE = 15,		/* no location: the running line stays */
};

/* Applies the rest of one entry to *line; *has_line tells if it has one. */
static int loc_entry(struct loc_cursor *c, unsigned kind, int64_t *line,
		     bool *has_line)
{
	int64_t delta = 0;
	uint32_t ignored;
	int err = 0;

	*has_line = kind != LOC_NONE;
	if (kind <= LOC_SHORT_MAX)
		return loc_skip(c, 1);
	if (kind <= LOC_ONE_LINE2) {
		*line += kind - LOC_ONE_LINE0;
		return loc_skip(c, 2);
	}
	if (kind == LOC_NONE)
		return 0;
	err = loc_svarint(c, &delta);
	if (!err && kind == LOC_LONG) {
		/* end line delta, start column + 1, end column + 1 */
		err = loc_varint(c, &ignored);
		err = err ? err : loc_varint(c, &ignored);
		err = err ? err : loc_varint(c, &ignored);
	}
	*line += delta;
	return err;
}

/*
 * 3.11+ location table (PEP 657, Objects/locations.md): entries of 1-8 code
 * units, each starting with a byte 1kkkklll (kind, length - 1).  Lines are
 * deltas from co_firstlineno; indices count 2-byte code units including the
 * inline CACHE entries of PEP 659 (3.11).  An entry is only trusted once all
 * its bytes are inside the table.
 */
static int locations_line(const uint8_t *t, size_t len, int64_t line,
			  uint32_t off)
{
	struct loc_cursor c = { t, t + len };
	uint64_t end = 0, index = off / 2;

	while (c.p < c.end) {
		uint8_t head = *c.p++;
		bool has_line;

		if (!(head & 0x80))
			return -1;	/* malformed: not an entry start */
		if (loc_entry(&c, (head >> 3) & 15, &line, &has_line))
			return -1;	/* cut inside this entry */
		end += (head & 7) + 1;
		if (index < end)
			return has_line ? checked_line(line) : -1;
	}
	return -1;
}

int linetable_addr2line_cut(unsigned version, int firstlineno,
			    const uint8_t *table, size_t len, size_t full_len,
			    uint32_t byte_offset)
{
	bool complete = len >= full_len;

	if (byte_offset == LINETABLE_NOT_STARTED)
		return firstlineno;
	if (!table)
		len = 0;
	switch (format_of(version)) {
	case FMT_LNOTAB_U8:
		return lnotab_line(table, len, complete, false, firstlineno,
				   byte_offset);
	case FMT_LNOTAB_S8:
		return lnotab_line(table, len, complete, true, firstlineno,
				   byte_offset);
	case FMT_PEP626:
		return pep626_line(table, len, firstlineno, byte_offset);
	case FMT_LOCATIONS:
		return locations_line(table, len, firstlineno, byte_offset);
	default:
		return -1;
	}
}

int linetable_addr2line(unsigned version, int firstlineno,
			const uint8_t *table, size_t len, uint32_t byte_offset)
{
	return linetable_addr2line_cut(version, firstlineno, table, len, len,
				       byte_offset);
}
