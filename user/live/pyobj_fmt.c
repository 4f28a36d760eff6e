// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pyobj_fmt.c - the text side of pyobj: a fixed buffer that shows where
 * it was cut, and Python's literal syntax for str, bytes and float. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pyobj_impl.h"

void out_init(struct out *o, char *buf, size_t len)
{
	o->buf = buf;
	o->len = len;
	o->pos = 0;
	o->cut = 0;
	buf[0] = 0;
}

void out_put(struct out *o, const char *s, size_t n)
{
	size_t room;

	if (o->cut)
		return;
	if (o->len >= 4 && o->pos + n + 4 <= o->len) {
		memcpy(o->buf + o->pos, s, n);
		o->pos += n;
		o->buf[o->pos] = 0;
		return;
	}
	o->cut = 1;
	room = o->len >= 4 && o->len - 4 > o->pos ? o->len - 4 - o->pos : 0;
	if (room > n)
		room = n;
	while (room && (s[room] & 0xc0) == 0x80)  /* not inside a UTF-8 sequence */
		room--;
	memcpy(o->buf + o->pos, s, room);
	o->pos += room;
	if (o->len >= 4)
		memcpy(o->buf + o->pos, "...", 3), o->pos += 3;
	o->buf[o->pos < o->len ? o->pos : o->len - 1] = 0;
}

void out_puts(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Close to str.isprintable(): controls, separators other than space,
 * format characters, surrogates and private use are escaped.  Python
 * asks the Unicode database; this list covers what shows up in practice. */
static int printable(uint32_t c)
{
	return c >= 0x20 && !(c >= 0x7f && c <= 0xa0) && c != 0xad &&
	       !(c >= 0xd800 && c <= 0xf8ff) && !(c >= 0x2000 && c <= 0x200f && c != 0x2010) &&
	       !(c >= 0x2028 && c <= 0x202f) && !(c >= 0x205f && c <= 0x206f) && c != 0x3000 &&
	       c != 0xfeff && !(c >= 0xfff9 && c <= 0xfffb) && c < 0xf0000;
}

void out_quoted(struct out *o, const uint32_t *chars, size_t n, size_t total,
		enum quote_kind kind)
{
	int squote = 0, dquote = 0, bytes = kind == Q_BYTES || kind == Q_STR27;
	char quote, tmp[16];
	size_t i;

	for (i = 0; i < n; i++) {
		squote |= chars[i] == '\'';
		dquote |= chars[i] == '"';
	}
	quote = squote && !dquote ? '"' : '\'';  /* as repr() chooses */
	if (kind == Q_BYTES)
		out_puts(o, "b");
	else if (kind == Q_UNICODE27)
		out_puts(o, "u");
	out_put(o, &quote, 1);
	for (i = 0; i < n && !o->cut; i++) {
		uint32_t c = chars[i];

		if (c == (uint32_t)quote || c == '\\')
			tmp[0] = '\\', tmp[1] = (char)c, out_put(o, tmp, 2);
		else if (c == '\t')
			out_puts(o, "\\t");
		else if (c == '\n')
			out_puts(o, "\\n");
		else if (c == '\r')
			out_puts(o, "\\r");
		else if (bytes ? c < 0x20 || c >= 0x7f : !printable(c))
			out_printf(o, c <= 0xff ? "\\x%02x" : c <= 0xffff ? "\\u%04x" : "\\U%08x",
				   c);
		else
			out_put(o, tmp, utf8_put(tmp, c));
	}
	out_put(o, &quote, 1);
	if (total > n)
		out_puts(o, "...");
}

void pyobj_format_str(const uint32_t *chars, size_t n, size_t total, int bytes, char *buf,
		      size_t len)
{
	struct out o;

	if (!buf || !len)
		return;
	out_init(&o, buf, len);
	out_quoted(&o, chars, n, total,
		   bytes >= Q_STR && bytes <= Q_UNICODE27 ? (enum quote_kind)bytes : Q_STR);
}

/* repr() of a float (Python's 'r' format): the fewest significant digits
 * that read back as the same double, fixed notation for exponents -4..15. */
void pyobj_format_float(double v, char *buf, size_t len)
{
	char tmp[40], digits[24], *s = tmp, *e;
	int prec, exp, nd = 0, i;
	struct out o;

	if (!buf || !len)
		return;
	out_init(&o, buf, len);
	if (isnan(v) || isinf(v)) {
		out_puts(&o, isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
	if (*s == '-')
		out_puts(&o, "-"), s++;
	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9' && nd < (int)sizeof(digits) - 1)
			digits[nd++] = *s;
	exp = (e = strchr(tmp, 'e')) ? atoi(e + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = 0;
	if (exp < -4 || exp >= 16) {
		out_put(&o, digits, 1);
		if (nd > 1)
			out_puts(&o, "."), out_put(&o, digits + 1, nd - 1);
		out_printf(&o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		out_puts(&o, "0.");
		for (i = 0; i < -exp - 1; i++)
			out_puts(&o, "0");
		out_put(&o, digits, nd);
	} else {
		for (i = 0; i <= exp; i++)
			out_put(&o, i < nd ? digits + i : "0", 1);
		out_puts(&o, ".");
		if (nd > exp + 1)
			out_put(&o, digits + exp + 1, nd - exp - 1);
		else
			out_puts(&o, "0");
	}
}
