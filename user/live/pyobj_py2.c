// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pyobj_py2.c - reprs of the objects only CPython 2.7 has (see pyobj.c for
 * the rest): its int, a C long; its unicode, an array of Py_UNICODE behind
 * a pointer (3.0 merged int into long and made str the only text type,
 * PEP 393 then changed its layout); instances of its classic classes,
 * whose type is `instance` for all (3.0 removed them).  The offsets are
 * the table's int_value, ustr_*, instance_class and class_name. */
#include <inttypes.h>
#include "pyobj_impl.h"

#define UNICODE27_MAX 800  /* code points read, as pyobj.c's str_limit() at most */

/* 2.7's int: a C long */
void obj_repr_int27(const struct reader *r, uint64_t addr, struct out *o)
{
	int64_t v;

	if (obj_read(r, addr + r->u->int_value, &v, sizeof(v)))
		out_puts(o, "<unreadable>");
	else
		out_printf(o, "%" PRId64, v);
}

/* 2.7's unicode: an array of Py_UNICODE behind a pointer, UTF-16 (with
 * surrogate pairs) in narrow builds, UCS-4 in wide ones. */
void obj_repr_unicode27(const struct reader *r, uint64_t addr, size_t max, struct out *o)
{
	const struct py_user_offsets *u = r->u;
	size_t csize = (size_t)u->ustr_char_size, n, i, k = 0;
	uint8_t raw[UNICODE27_MAX * 4];
	uint32_t chars[UNICODE27_MAX];
	int64_t length = 0;
	uint64_t data;

	if (obj_read_ssize(r, addr + u->ustr_length, &length) || length < 0 ||
	    (csize != 2 && csize != 4)) {
		out_puts(o, "<unreadable>");
		return;
	}
	if (max > UNICODE27_MAX)
		max = UNICODE27_MAX;
	n = (size_t)length < max ? (size_t)length : max;
	data = obj_read_ptr(r, addr + u->ustr_data);
	if (n && obj_read(r, data, raw, n * csize)) {
		out_puts(o, "<unreadable>");
		return;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *c = raw + i * csize;
		uint32_t v = csize == 2 ? (uint32_t)(c[0] | c[1] << 8)
			     : (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 |
			       (uint32_t)c[3] << 24;

		if (csize == 2 && v >= 0xd800 && v < 0xdc00 && i + 1 < n) {
			uint32_t lo = (uint32_t)(c[2] | c[3] << 8);

			if (lo >= 0xdc00 && lo < 0xe000) {
				v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			}
		}
		chars[k++] = v;
	}
	out_quoted(o, chars, k, k + ((size_t)length - n), Q_UNICODE27);
}

/* An instance of a 2.7 classic class: its type is `instance` for all, the
 * class's name is the class object's cl_name, a str. */
void obj_repr_instance27(const struct reader *r, uint64_t addr, struct out *o)
{
	uint32_t chars[80];
	char name[4 * 80 + 4];
	size_t n = 0, total = 0, i, len = 0;
	uint64_t cls = obj_read_ptr(r, addr + r->u->instance_class);

	if (!cls || obj_read_str(r, obj_read_ptr(r, cls + r->u->class_name), chars, 80, &n,
				 &total)) {
		out_puts(o, "<unreadable>");
		return;
	}
	for (i = 0; i < n; i++)
		len += utf8_put(name + len, chars[i] < 0x20 || chars[i] == 0x7f ? '?' : chars[i]);
	name[len] = 0;
	out_printf(o, "<%s at 0x%" PRIx64 ">", name, addr);
}
