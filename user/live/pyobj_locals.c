// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pyobj_locals.c - the arguments and locals of one frame, named from its
 * code object (see pyobj_frame_locals and pyobj_frame_local in pyobj.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pyobj_impl.h"

#define MAX_SLOTS 512   /* fast locals shown per frame */
#define NAME_CHARS 60   /* characters of a variable name */
#define NAME_LEN (NAME_CHARS * 4 + 4)

struct frame_vars {
	const struct reader *r;
	struct reader reader;
	int detail;
	void (*fn)(void *ctx, const char *name, const char *repr, int is_arg);
	void *ctx;
	uint8_t *head;                  /* pyobj_frame_locals_head: the frame's first bytes */
	size_t head_len;
	const char *want;               /* pyobj_frame_local: the name looked for */
	uint64_t found;                 /* and its object */
	size_t n;
	uint64_t values[MAX_SLOTS];
	uint64_t names[MAX_SLOTS];
	uint8_t cell[MAX_SLOTS];        /* slot holds a cell (or will) */
};

static void name_of(const struct reader *r, uint64_t addr, char *out)
{
	uint32_t chars[NAME_CHARS];
	size_t n = 0, total = 0, i, o = 0;

	if (obj_read_str(r, addr, chars, NAME_CHARS, &n, &total)) {
		snprintf(out, NAME_LEN, "<unreadable>");
		return;
	}
	for (i = 0; i < n; i++)
		o += utf8_put(out + o, chars[i]);
	if (total > n)
		memcpy(out + o, "...", 3), o += 3;
	out[o] = 0;
}

/* The content of a cell slot (3.11+: a slot becomes a cell when the
 * function's MAKE_CELL runs; before, it holds the plain value). */
static int deref(const struct reader *r, uint64_t v, uint64_t *out)
{
	uint64_t type = 0;

	*out = v;
	if (obj_read(r, v + r->f->object_type, &type, 8))
		return -EIO;
	if (r->k->types[T_CELL] && type == r->k->types[T_CELL])
		return obj_read(r, v + r->u->cell_ref, out, 8);
	return 0;
}

static void emit(struct frame_vars *fv, size_t i, int is_arg)
{
	char name[NAME_LEN], repr[PYOBJ_REPR_LEN];
	uint64_t v = fv->values[i];
	int bad;
	struct out o;

	if (fv->found)
		return;                 /* pyobj_frame_local is done */
	bad = fv->cell[i] && deref(fv->r, fv->values[i], &v);
	if (!bad && !v)
		return;                 /* empty cell: unbound */
	name_of(fv->r, fv->names[i], name);
	if (fv->want) {
		if (!bad && strcmp(name, fv->want) == 0)
			fv->found = v;
		return;
	}
	out_init(&o, repr, sizeof(repr));
	if (bad)
		out_puts(&o, "<unreadable>");
	else
		obj_repr(fv->r, v, fv->detail, &o);
	fv->fn(fv->ctx, name, repr, is_arg);
}

/* The values of a frame's first n slots.  With fv->head, the frame's first
 * bytes come in the same copy: a frame's memory is reused as soon as it
 * returns, and only its code and instruction, read with the values, say
 * whose values they are (user/commands/dump.c compares them with the walk's). */
static int read_values(struct frame_vars *fv, uint64_t frame, size_t n)
{
	size_t off = (size_t)fv->r->u->frame_localsplus, len = off + n * 8;
	uint8_t *buf;
	int err;

	if (!fv->head)
		return n ? obj_read(fv->r, frame + off, fv->values, n * 8) : 0;
	if (len < fv->head_len)
		len = fv->head_len;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	err = obj_read(fv->r, frame, buf, len);
	if (!err) {
		memcpy(fv->head, buf, fv->head_len);
		memcpy(fv->values, buf + off, n * 8);
	}
	free(buf);
	return err;
}

static int read_names(const struct reader *r, uint64_t tuple, uint64_t *out, size_t want,
		      size_t *got)
{
	int64_t size;

	*got = 0;
	if (!want)
		return 0;
	if (!tuple || obj_read_ssize(r, tuple + r->u->tuple_size, &size) || size < 0)
		return -EIO;
	*got = (size_t)size < want ? (size_t)size : want;
	return *got ? obj_read(r, tuple + r->u->tuple_items, out, *got * 8) : 0;
}

/* Length of the tuple a code object field points at, 0 if unreadable. */
static size_t tuple_len(const struct reader *r, uint64_t field)
{
	int64_t size = 0;

	if (obj_read_ssize(r, obj_read_ptr(r, field) + r->u->tuple_size, &size) || size < 0)
		return 0;
	return (size_t)size;
}

static int32_t rd_int(const struct reader *r, uint64_t addr, int32_t off)
{
	int32_t v = 0;

	if (off < 0 || obj_read(r, addr + off, &v, sizeof(v)))
		return 0;
	return v;
}

/* 3.11+: one table of names and kinds; args come first, cells of args
 * keep the argument's slot (bpo-43693). */
static int locals_plus(struct frame_vars *fv, uint64_t frame, uint64_t code, size_t nargs,
		       size_t *total)
{
	const struct reader *r = fv->r;
	const struct py_offsets *f = r->f;
	const struct py_user_offsets *u = r->u;
	uint8_t kinds[MAX_SLOTS];
	int32_t n = rd_int(r, code, u->code_nlocalsplus);
	size_t i;
	int err;

	*total = n > 0 ? (size_t)n : 0;
	err = read_names(r, obj_read_ptr(r, code + u->code_localsplusnames), fv->names,
			 *total < MAX_SLOTS ? *total : MAX_SLOTS, &fv->n);
	if (!err && fv->n)
		err = obj_read(r, obj_read_ptr(r, code + u->code_localspluskinds) + f->bytes_data,
			       kinds, fv->n);
	if (!err)
		err = read_values(fv, frame, fv->n);
	if (err)
		return err;
	for (i = 0; i < fv->n; i++) {
		/* 3.14+: the slots are _PyStackRefs, tagged like f_executable */
		fv->values[i] &= ~(uint64_t)(uint32_t)f->exec_tag_mask;
		fv->cell[i] = (kinds[i] & (u->fast_cell | u->fast_free)) != 0;
	}
	for (i = 0; i < fv->n; i++)
		if (fv->values[i])
			emit(fv, i, i < nargs);
	return 0;
}

/* <= 3.10: co_varnames, then co_cellvars and co_freevars.  An argument
 * captured by a closure lives in its cell, found by name among the
 * cells: 3.x clears the argument's own slot at the call (co_cell2arg),
 * 2.7 leaves there a copy that goes stale once the cell is assigned. */
static int locals_classic(struct frame_vars *fv, uint64_t frame, uint64_t code, size_t nargs,
			  size_t *total)
{
	const struct reader *r = fv->r;
	const struct py_user_offsets *u = r->u;
	int32_t nl = rd_int(r, code, u->code_nlocals);
	size_t nlocals, ncells = 0, nfree = 0, i, j;
	char a[NAME_LEN], b[NAME_LEN];
	uint8_t done[MAX_SLOTS] = { 0 };
	int err;

	err = read_names(r, obj_read_ptr(r, code + u->code_varnames), fv->names,
			 nl > 0 ? (size_t)(nl < MAX_SLOTS ? nl : MAX_SLOTS) : 0, &nlocals);
	if (!err && nl > 0 && nlocals < (size_t)nl && nlocals < MAX_SLOTS)
		err = -EIO;             /* fewer names than locals */
	if (!err)
		err = read_names(r, obj_read_ptr(r, code + u->code_cellvars), fv->names + nlocals,
				 MAX_SLOTS - nlocals, &ncells);
	if (!err)
		err = read_names(r, obj_read_ptr(r, code + u->code_freevars),
				 fv->names + nlocals + ncells, MAX_SLOTS - nlocals - ncells,
				 &nfree);
	if (err)
		return err;
	fv->n = nlocals + ncells + nfree;
	*total = fv->n;
	if (nl > 0 && nlocals < (size_t)nl) {
		/* more locals than shown: their cells are out of reach */
		*total = (size_t)nl + tuple_len(r, code + u->code_cellvars) +
			 tuple_len(r, code + u->code_freevars);
		ncells = nfree = 0;
		fv->n = nlocals;
	}
	err = read_values(fv, frame, fv->n);
	if (err)
		return err;
	for (i = nlocals; i < fv->n; i++)
		fv->cell[i] = 1;
	for (i = 0; i < nlocals; i++) {
		j = nlocals + ncells;
		if (i < nargs && ncells) {
			name_of(r, fv->names[i], a);
			for (j = nlocals; j < nlocals + ncells; j++) {
				name_of(r, fv->names[j], b);
				if (!done[j] && strcmp(a, b) == 0)
					break;
			}
		}
		if (j < nlocals + ncells) {
			done[j] = 1;
			if (fv->values[j])
				emit(fv, j, 1);
		} else if (fv->values[i]) {
			emit(fv, i, i < nargs);
		}
	}
	for (j = nlocals; j < fv->n; j++)
		if (!done[j] && fv->values[j])
			emit(fv, j, 0);
	return 0;
}

/* emit() for each bound variable of a frame (fv->want, fn, ctx, detail
 * set by the caller); *total counts the frame's slots, shown or not. */
static int walk_frame(struct frame_vars *fv, const struct pyproc *p, uint64_t frame_addr,
		      uint64_t code_addr, size_t *total)
{
	const struct py_offsets *f = p ? &p->off : NULL;
	const struct py_user_offsets *u = p ? &p->uoff : NULL;
	uint64_t type = 0;
	size_t nargs;
	int32_t flags, argc, kwonly;

	if (!f || !frame_addr || u->frame_localsplus < 0)
		return -EINVAL;
	obj_reader(&fv->reader, p);
	fv->r = &fv->reader;
	if (!code_addr && obj_read(fv->r, frame_addr + f->frame_code, &code_addr, 8))
		return -EIO;
	code_addr &= ~(uint64_t)(uint32_t)f->exec_tag_mask; /* a _PyStackRef (3.14+) */
	if (obj_read(fv->r, code_addr + f->object_type, &type, 8))
		return -EIO;
	if (p->code_type_addr && type != p->code_type_addr)
		return -EINVAL;
	flags = rd_int(fv->r, code_addr, u->code_flags);
	argc = rd_int(fv->r, code_addr, u->code_argcount);
	kwonly = rd_int(fv->r, code_addr, u->code_kwonlyargcount);
	if (argc < 0 || kwonly < 0)
		return -EIO;
	nargs = (size_t)argc + (size_t)kwonly + !!(flags & u->co_varargs) +
		!!(flags & u->co_varkeywords);
	if (u->code_localsplusnames >= 0)
		return locals_plus(fv, frame_addr, code_addr, nargs, total);
	return locals_classic(fv, frame_addr, code_addr, nargs, total);
}

int pyobj_frame_locals(const struct pyproc *p, uint64_t frame_addr, uint64_t code_addr,
		       int detail,
		       void (*fn)(void *ctx, const char *name, const char *repr, int is_arg),
		       void *ctx)
{
	return pyobj_frame_locals_head(p, frame_addr, code_addr, detail, fn, ctx, NULL, 0);
}

int pyobj_frame_locals_head(const struct pyproc *p, uint64_t frame_addr, uint64_t code_addr,
			    int detail,
			    void (*fn)(void *ctx, const char *name, const char *repr, int is_arg),
			    void *ctx, uint8_t *head, size_t head_len)
{
	struct frame_vars *fv;
	size_t total = 0;
	int err;

	if (!fn)
		return -EINVAL;
	fv = calloc(1, sizeof(*fv));
	if (!fv)
		return -ENOMEM;
	fv->detail = detail < 1 ? 1 : detail;
	fv->head = head_len ? head : NULL;
	fv->head_len = head_len;
	fv->fn = fn;
	fv->ctx = ctx;
	err = walk_frame(fv, p, frame_addr, code_addr, &total);
	if (!err && total > fv->n) {
		char more[64];

		snprintf(more, sizeof(more), "<%zu more not shown>", total - fv->n);
		fn(ctx, "...", more, 0);
	}
	free(fv);
	return err;
}

int pyobj_frame_local(const struct pyproc *p, uint64_t frame_addr, uint64_t code_addr,
		      const char *name, uint64_t *value)
{
	struct frame_vars *fv;
	size_t total = 0;
	int err;

	if (!name || !value)
		return -EINVAL;
	*value = 0;
	fv = calloc(1, sizeof(*fv));
	if (!fv)
		return -ENOMEM;
	fv->want = name;
	err = walk_frame(fv, p, frame_addr, code_addr, &total);
	if (!err && !fv->found)
		err = -ENOENT;
	*value = err ? 0 : fv->found;
	free(fv);
	return err;
}
