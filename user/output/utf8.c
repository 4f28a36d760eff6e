// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* utf8.c - the UTF-8 primitives every text writer needs, and a lenient
 * decoder for byte strings that are mostly UTF-8. */
#include "utf8.h"

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

uint32_t utf8_get(const unsigned char *s, size_t avail, size_t *len)
{
	unsigned char b[5] = { 0 };   /* zero padding ends any sequence cut short */
	size_t i, n;

	for (i = 0; i < 4 && i < avail; i++)
		b[i] = s[i];
	n = utf8_len(b);
	*len = n ? n : 1;
	switch (n) {
	case 2:
		return (uint32_t)(b[0] & 0x1f) << 6 | (b[1] & 0x3f);
	case 3:
		return (uint32_t)(b[0] & 0x0f) << 12 | (uint32_t)(b[1] & 0x3f) << 6 | (b[2] & 0x3f);
	case 4:
		return (uint32_t)(b[0] & 0x07) << 18 | (uint32_t)(b[1] & 0x3f) << 12 |
		       (uint32_t)(b[2] & 0x3f) << 6 | (b[3] & 0x3f);
	default:
		return b[0];
	}
}

/* Encode code point c at out (room for 4 bytes); the length. */
size_t utf8_put(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}
