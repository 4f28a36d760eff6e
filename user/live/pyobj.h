/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pyobj.h - short, bounded reprs of objects in a live CPython process and
 * the arguments and locals of one of its frames (`dump --locals`).
 *
 * Everything is read with proc_read() while the target runs: an object
 * can change or die under us, so every read may fail and a failed read
 * shows as "<unreadable>", never as an error.  Nothing is written to the
 * target.  Layouts come from p->off only; the code never branches on the
 * version.  Not thread-safe (a small per-process cache of type addresses).
 */
#ifndef PYBPF_PYOBJ_H
#define PYBPF_PYOBJ_H

#include <stddef.h>
#include <stdint.h>
#include "proc.h"

/* Buffer size for one repr, used by pyobj_frame_locals; a longer repr
 * (long strings at detail 3, containers of long strings) ends in "...". */
#define PYOBJ_REPR_LEN 2048

/* Repr of the object at addr into buf (always NUL-terminated, cut with
 * "..." when len is too small).  detail 1: scalars, strings cut at 60
 * characters, containers as "list(len=3)"; 2: longer strings and the first
 * elements of containers ("[1, 'a', None]"); 3: longer still.
 * 0, or -EINVAL for a missing buffer or offsets. */
int pyobj_repr(const struct pyproc *p, uint64_t addr, int detail, char *buf, size_t len);

/* Call fn for each bound argument (is_arg = 1, in signature order, *args
 * and **kwargs last), then each bound local, cell and free variable of a
 * frame: frame_addr is a PyFrameObject (<= 3.10) or _PyInterpreterFrame
 * (3.11+), code_addr its code object (0: read it from the frame).
 * Unbound (NULL) slots are skipped; cells are shown by their content.
 * 0, or -errno when the code object or its names cannot be read
 * (-EINVAL: not a code object). */
int pyobj_frame_locals(const struct pyproc *p, uint64_t frame_addr, uint64_t code_addr,
		       int detail,
		       void (*fn)(void *ctx, const char *name, const char *repr, int is_arg),
		       void *ctx);

/* pyobj_frame_locals, and the frame's first head_len bytes copied into
 * head in the same read as its slots: the code and instruction the values
 * belong to, for a caller that checks the frame still runs what it walked.
 * -errno as pyobj_frame_locals; head is only set on success. */
int pyobj_frame_locals_head(const struct pyproc *p, uint64_t frame_addr, uint64_t code_addr,
			    int detail,
			    void (*fn)(void *ctx, const char *name, const char *repr, int is_arg),
			    void *ctx, uint8_t *head, size_t head_len);

/* Following references by name (user/live/pythreads.c).  Each returns 0, or
 * -ENOENT when the name is not there, -EINVAL when the object is not of
 * the kind asked for, -EIO when memory could not be read. */
/* The value of a str key of a dict (exact dict type). */
int pyobj_dict_get(const struct pyproc *p, uint64_t dict, const char *key, uint64_t *value);
/* Up to max (key, value) pairs of a dict into kv[2 * max]. */
int pyobj_dict_items(const struct pyproc *p, uint64_t dict, uint64_t *kv, size_t max,
		     size_t *n);
/* An attribute of obj's own, where its version keeps it: the __dict__ at
 * tp_dictoffset, a managed dict or a values array without a dict (3.11+),
 * values inline after the object (3.13+).  Class attributes, properties
 * and __slots__ are not looked at. */
int pyobj_attr(const struct pyproc *p, uint64_t obj, const char *name, uint64_t *value);
/* A str object as UTF-8 (always NUL-terminated, cut with "..."; lone
 * surrogates become U+FFFD). */
int pyobj_str(const struct pyproc *p, uint64_t addr, char *buf, size_t len);
/* The object bound to the argument, local, cell or free variable `name`
 * of a frame (see pyobj_frame_locals); -ENOENT when unbound. */
int pyobj_frame_local(const struct pyproc *p, uint64_t frame_addr, uint64_t code_addr,
		      const char *name, uint64_t *value);

/* Formatting helpers, exposed for the unit tests. */
/* Python's repr() of a float: shortest digits that read back the same. */
void pyobj_format_float(double v, char *buf, size_t len);
/* Python-style quoted, escaped literal of code points (str, bytes = 0) or
 * bytes (b'...', bytes = 1), or as 2.7 writes its str (bytes = 2: escaped
 * as bytes, no prefix) and unicode (bytes = 3: u'...'); cut with "..."
 * after the quote when more than shown (total > n). */
void pyobj_format_str(const uint32_t *chars, size_t n, size_t total, int bytes, char *buf,
		      size_t len);

#endif /* PYBPF_PYOBJ_H */
