/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pyobj_impl.h - what the parts of pyobj share, nothing else sees it:
 * pyobj_fmt.c (bounded text output, Python literal syntax), pyobj.c
 * (reading and describing objects), pyobj_py2.c (2.7's own types),
 * pyobj_attr.c (dicts, str keys and instance attributes), pyobj_locals.c
 * (a frame's variables). */
#ifndef PYBPF_PYOBJ_IMPL_H
#define PYBPF_PYOBJ_IMPL_H

#include "utf8.h"

#include <stddef.h>
#include <stdint.h>
#include "pyobj.h"

/* ---- pyobj_fmt.c: text into a fixed buffer ---- */

/* Appends keep room for a closing "..." so a cut is always visible. */
struct out {
	char *buf;
	size_t len, pos;
	int cut;
};

void out_init(struct out *o, char *buf, size_t len);
void out_put(struct out *o, const char *s, size_t n);
void out_puts(struct out *o, const char *s);
void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* How a literal is written: a str ('...'), bytes (b'...'), and 2.7's
 * str (bytes escaped as bytes, no prefix) and unicode (u'...').  The
 * first two are the values of pyobj_format_str's `bytes`. */
enum quote_kind { Q_STR = 0, Q_BYTES = 1, Q_STR27, Q_UNICODE27 };

/* Python literal of code points (or bytes) of that kind, "..." when cut. */
void out_quoted(struct out *o, const uint32_t *chars, size_t n, size_t total,
		enum quote_kind kind);

/* ---- pyobj.c: objects of one process ---- */

/* Builtin types told apart by address, in known.types[].  T_STR is the
 * type of names: PyUnicode_Type, or 2.7's str (PyString_Type, a byte
 * string); 2.7's unicode is T_UNICODE, its int T_INT, the instances of its
 * classic classes T_INSTANCE (0 elsewhere). */
enum { T_LONG, T_BOOL, T_FLOAT, T_STR, T_BYTES, T_LIST, T_TUPLE, T_DICT, T_SET, T_FROZENSET,
       T_CELL, T_INT, T_UNICODE, T_INSTANCE, T_NR, T_OTHER = T_NR };

struct known {
	pid_t pid;
	uint64_t bias;
	uint64_t path_hash;         /* of p->elf_path: the key with pid and bias */
	int used;
	uint64_t none, true_, false_;
	uint64_t set_dummy;         /* the object marking deleted set entries */
	uint64_t types[T_NR];       /* 0: symbol not found */
};

struct reader {
	const struct pyproc *p;
	const struct py_offsets *f;      /* what BPF reads too (str, type) */
	const struct py_user_offsets *u; /* objects, locals, names */
	const struct known *k;
};

/* r for p (p->off set); the type addresses are looked up once per process. */
void obj_reader(struct reader *r, const struct pyproc *p);
/* proc_read(), failing on address 0.  0 or -errno. */
int obj_read(const struct reader *r, uint64_t addr, void *buf, size_t len);
int obj_read_ssize(const struct reader *r, uint64_t addr, int64_t *v);
/* The pointer at addr, 0 if unreadable. */
uint64_t obj_read_ptr(const struct reader *r, uint64_t addr);
/* Up to max code points of a str (a name); *total its length.  0, -EIO,
 * or -ENOTSUP for a legacy (not compact) string.  2.7's byte strings are
 * decoded as UTF-8 where valid (utf8_get); *total then counts the bytes
 * not decoded as one character each. */
int obj_read_str(const struct reader *r, uint64_t addr, uint32_t *chars, size_t max,
		 size_t *n, size_t *total);
/* The repr of one object (see pyobj_repr) appended to o. */
void obj_repr(const struct reader *r, uint64_t addr, int detail, struct out *o);

/* ---- pyobj_py2.c: CPython 2.7's own types ---- */

/* int (PyIntObject), unicode (at most max code points) and an instance
 * of a classic class ("<Class at 0x...>"), appended to o. */
void obj_repr_int27(const struct reader *r, uint64_t addr, struct out *o);
void obj_repr_unicode27(const struct reader *r, uint64_t addr, size_t max, struct out *o);
void obj_repr_instance27(const struct reader *r, uint64_t addr, struct out *o);

/* ---- pyobj_attr.c: dicts and attributes ---- */

/* Up to max (key, value) pairs of a dict, in the order of its entries
 * (insertion order; a split table's shared keys for instance dicts).
 * 0, -EINVAL (not a dict), -EIO. */
int obj_dict_items(const struct reader *r, uint64_t dict, uint64_t *kv, size_t max, size_t *n);

#endif /* PYBPF_PYOBJ_IMPL_H */
