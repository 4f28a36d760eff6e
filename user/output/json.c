// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* json.c - JSON string escaping shared by every JSON writer. */
#include "json.h"
#include "output.h"

/* The characters of a JSON string, without the quotes. */
void json_chars(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t n;

	while (*s) {
		if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s++, f);
		} else if (*s < 0x20) {
			if (*s == '\n')
				fputs("\\n", f);
			else if (*s == '\t')
				fputs("\\t", f);
			else if (*s == '\r')
				fputs("\\r", f);
			else
				fprintf(f, "\\u%04x", *s);
			s++;
		} else if ((n = utf8_len(s)) == 0) {
			fputs("\\ufffd", f);
			s++;
		} else {
			fwrite(s, 1, n, f);
			s += n;
		}
	}
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	json_chars(f, s);
	fputc('"', f);
}
