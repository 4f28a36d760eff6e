/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_pyobj.c - the text side of `dump --locals`: float and str/bytes
 * literals as Python's repr() writes them, and cutting.  Reading live
 * objects needs root: tests/integration/cases_locals.py covers that.
 *
 * Expected strings are what CPython 3.x prints for repr(value), and 2.7
 * for its str and unicode (with the code points shown as 3.x does).
 */
#include <math.h>
#include <stdlib.h>
#include "unit.h"
#include "offsets.h"
#include "pyobj.h"
#include "symbols.h"
#include "utf8.h"

static const char *flt(double v)
{
	static char buf[64];

	pyobj_format_float(v, buf, sizeof(buf));
	return buf;
}

static void test_float(void)
{
	CHECK_EQ_STR(flt(0.0), "0.0");
	CHECK_EQ_STR(flt(-0.0), "-0.0");
	CHECK_EQ_STR(flt(1.0), "1.0");
	CHECK_EQ_STR(flt(100.0), "100.0");
	CHECK_EQ_STR(flt(123.456), "123.456");
	CHECK_EQ_STR(flt(0.1 + 0.2), "0.30000000000000004");
	CHECK_EQ_STR(flt(1.0 / 3), "0.3333333333333333");
	CHECK_EQ_STR(flt(1e15), "1000000000000000.0");
	CHECK_EQ_STR(flt(1e16), "1e+16");
	CHECK_EQ_STR(flt(12345678901234567.0), "1.2345678901234568e+16");
	CHECK_EQ_STR(flt(1e22), "1e+22");
	CHECK_EQ_STR(flt(0.0001), "0.0001");
	CHECK_EQ_STR(flt(0.00001), "1e-05");
	CHECK_EQ_STR(flt(1.5e-05), "1.5e-05");
	CHECK_EQ_STR(flt(-1.25e-7), "-1.25e-07");
	CHECK_EQ_STR(flt(5e-324), "5e-324");
	CHECK_EQ_STR(flt(1.7976931348623157e308), "1.7976931348623157e+308");
	CHECK_EQ_STR(flt(INFINITY), "inf");
	CHECK_EQ_STR(flt(-INFINITY), "-inf");
	CHECK_EQ_STR(flt(NAN), "nan");
}

static const char *lit(const char *utf8, size_t total, int bytes, size_t len)
{
	static char buf[256];
	uint32_t chars[64];
	size_t n = 0;
	const unsigned char *s = (const unsigned char *)utf8;

	/* decode the UTF-8 test input into code points */
	while (*s && n < 64) {
		uint32_t c = *s++;
		int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

		if (more)
			c &= 0x3f >> more;
		while (more--)
			c = c << 6 | (*s++ & 0x3f);
		chars[n++] = c;
	}
	pyobj_format_str(chars, n, total ? total : n, bytes, buf, len ? len : sizeof(buf));
	return buf;
}

static void test_str(void)
{
	uint32_t odd[] = { 0, 0x7f, 0xa0, 0x200b, 0xd800, 0x10ffff };
	char buf[64];

	CHECK_EQ_STR(lit("abc", 0, 0, 0), "'abc'");
	CHECK_EQ_STR(lit("", 0, 0, 0), "''");
	CHECK_EQ_STR(lit("it's", 0, 0, 0), "\"it's\"");
	CHECK_EQ_STR(lit("it's \"q\"", 0, 0, 0), "'it\\'s \"q\"'");
	CHECK_EQ_STR(lit("a\\b\tc\nd\re", 0, 0, 0), "'a\\\\b\\tc\\nd\\re'");
	CHECK_EQ_STR(lit("na\xc3\xafve \xe2\x98\x83 \xf0\x9d\x84\x9e", 0, 0, 0),
		     "'na\xc3\xafve \xe2\x98\x83 \xf0\x9d\x84\x9e'");
	pyobj_format_str(odd, 6, 6, 0, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "'\\x00\\x7f\\xa0\\u200b\\ud800\\U0010ffff'");
	/* the object is longer than what was read */
	CHECK_EQ_STR(lit("abc", 10, 0, 0), "'abc'...");
}

static void test_bytes(void)
{
	uint32_t raw[] = { 0, 'a', 'b', '\'', 'c', '\n', 0x80, 0xff };
	char buf[64];

	pyobj_format_str(raw, 8, 8, 1, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "b\"\\x00ab'c\\n\\x80\\xff\"");
	CHECK_EQ_STR(lit("", 0, 1, 0), "b''");
}

/* 2.7: a str is a byte string, shown with the escapes of bytes and no
 * prefix (repr() in 2.7); a unicode has the u prefix. */
static void test_27_literals(void)
{
	uint32_t raw[] = { 0, 'a', '\'', '\n', 0xc3, 0xaf };
	char buf[64];

	pyobj_format_str(raw, 6, 6, 2, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "\"\\x00a'\\n\\xc3\\xaf\"");
	CHECK_EQ_STR(lit("na\xc3\xafve \xe2\x98\x83", 0, 3, 0), "u'na\xc3\xafve \xe2\x98\x83'");
	CHECK_EQ_STR(lit("abc", 5, 3, 0), "u'abc'...");
}

/* Lenient UTF-8: valid sequences decode, any other byte is its Latin-1
 * character, a sequence cut by the end of the buffer too. */
static void test_utf8_get(void)
{
	const unsigned char ok[] = "\xc3\xaf\xf0\x9d\x84\x9e", bad[] = "\xff\xc3(", cut[] = "\xe2\x98";
	size_t len = 0;

	CHECK_EQ_INT(utf8_get(ok, 6, &len), 0xef);
	CHECK_EQ_INT(len, 2);
	CHECK_EQ_INT(utf8_get(ok + 2, 4, &len), 0x1d11e);
	CHECK_EQ_INT(len, 4);
	CHECK_EQ_INT(utf8_get(ok + 2, 3, &len), 0xf0);   /* the buffer ends inside it */
	CHECK_EQ_INT(len, 1);
	CHECK_EQ_INT(utf8_get(bad, 3, &len), 0xff);
	CHECK_EQ_INT(len, 1);
	CHECK_EQ_INT(utf8_get(bad + 1, 2, &len), 0xc3);  /* no continuation byte */
	CHECK_EQ_INT(len, 1);
	CHECK_EQ_INT(utf8_get(cut, 2, &len), 0xe2);
	CHECK_EQ_INT(len, 1);
}

/* 2.7 names (PyStringObject, offsets of the 2.7 table): UTF-8 bytes come
 * out as UTF-8, other bytes as Latin-1, a cut copy ends in "...". */
static void test_names_27(void)
{
	const struct offsets_entry *e = offsets_find(2, 7, 0);
	const struct py_offsets *o = e ? &e->off : NULL;
	const char name[] = "na\xc3\xafve_\xff";
	uint8_t blob[64] = { 0 };
	int64_t len = (int64_t)strlen(name);
	char *s;

	CHECK(o != NULL);
	if (!o)
		return;
	memcpy(blob + o->unicode_length, &len, 8);
	memcpy(blob + o->unicode_ascii_size, name, (size_t)len + 1);
	s = pystr_decode(blob, (size_t)o->unicode_ascii_size + (size_t)len + 1, o);
	CHECK_EQ_STR(s ? s : "(null)", "na\xc3\xafve_\xc3\xbf");
	free(s);
	s = pystr_decode(blob, (size_t)o->unicode_ascii_size + 2, o);
	CHECK_EQ_STR(s ? s : "(null)", "na...");
	free(s);
	CHECK(pystr_decode(blob, (size_t)o->unicode_ascii_size, o) == NULL);
}

/* A repr that does not fit ends in "..." inside the buffer and never
 * splits a UTF-8 sequence. */
static void test_cut(void)
{
	const char *s = lit("abcdefghijklmnop", 0, 0, 10);

	CHECK_EQ_STR(s, "'abcde...");
	s = lit("\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83", 0, 0, 10);
	CHECK_EQ_STR(s, "'\xe2\x98\x83...");  /* 1 + 3 + 3 + NUL <= 10 */
	s = lit("abcdefghijklmnop", 0, 0, 3);
	CHECK(strlen(s) < 3);
}

int main(void)
{
	test_float();
	test_str();
	test_bytes();
	test_cut();
	test_27_literals();
	test_utf8_get();
	test_names_27();
	return unit_summary("test_pyobj");
}
