// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* dumplocals.c - `pybpf dump --locals`: a thread's frames' arguments and
 * locals, each frame's kept only if the frame still ran the walked code
 * at the walked instruction after they were read, and their text and
 * JSON forms. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dumplocals.h"
#include "json.h"
#include "pyobj.h"
#include "pywalk.h"

static void keep_local(void *ctx, const char *name, const char *repr, int is_arg)
{
	struct locals_buf *lb = ctx;
	struct local_var *v;

	if (lb->n == lb->cap) {
		size_t cap = lb->cap ? lb->cap * 2 : 16;

		v = realloc(lb->v, cap * sizeof(*v));
		if (!v) {
			lb->failed = 1;
			return;
		}
		lb->v = v;
		lb->cap = cap;
	}
	v = &lb->v[lb->n];
	v->name = strdup(name);
	v->repr = strdup(repr);
	v->is_arg = is_arg;
	if (!v->name || !v->repr) {
		free(v->name);
		free(v->repr);
		lb->failed = 1;
		return;
	}
	lb->n++;
}

static void locals_free(struct locals_buf *lb)
{
	size_t i;

	for (i = 0; i < lb->n; i++) {
		free(lb->v[i].name);
		free(lb->v[i].repr);
	}
	free(lb->v);
	memset(lb, 0, sizeof(*lb));
}

static int same_point(const struct pyframe_ref *a, const struct pyframe_ref *b)
{
	return a->code == b->code && a->lasti == b->lasti;
}

/* Read a frame's locals into lb; NULL when they may be shown, else why
 * not.  The frame's memory is reused as soon as it returns (3.11+: the
 * thread's data stack; before, free lists), so values count only if the
 * copy they came in still names the walked code and instruction, and the
 * frame still does after their reprs were read (the objects were then
 * still referenced by it). */
static const char *frame_locals(const struct pyproc *p, int detail, const struct pyframe_ref *r,
				struct locals_buf *lb)
{
	uint8_t head[PYBPF_FRAME_READ + 8] = {};
	struct pyframe_ref at, now;
	int err;

	err = pyobj_frame_locals_head(p, r->frame, r->code, detail, keep_local, lb,
				      head, PYBPF_FRAME_READ);
	if (pywalk_frame_at(p, r->frame, &now) || !same_point(&now, r) ||
	    (!err && (pywalk_frame_decode(p, r->frame, head, &at) || !same_point(&at, r)))) {
		locals_free(lb);
		return "locals changed while reading";
	}
	if (err || lb->failed) {
		locals_free(lb);
		keep_local(lb, "<locals>", "<unreadable>", 0);
	}
	return NULL;
}

/* Every frame's locals (-l), 0 when each was read whole, else -EAGAIN. */
int dump_locals_read(const struct pyproc *p, int detail, const struct pyframe_ref *frames,
		     size_t n, struct frame_locals *fl)
{
	int moved = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		fl[i].why = detail ? frame_locals(p, detail, &frames[i], &fl[i].lb) : NULL;
		moved |= fl[i].why != NULL;
	}
	return moved ? -EAGAIN : 0;
}

void dump_locals_free(struct frame_locals *fl, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		locals_free(&fl[i].lb);
		fl[i].why = NULL;
	}
}

/* ---- text and JSON ------------------------------------------------------ */

void dump_locals_text(FILE *f, const struct frame_locals *fl)
{
	const struct locals_buf *lb = &fl->lb;
	const char *why = fl->why;
	int args = 0, locals = 0;
	size_t i;

	if (why) {
		fprintf(f, "        (%s)\n", why);
		return;
	}
	for (i = 0; i < lb->n; i++) {
		const struct local_var *v = &lb->v[i];

		if (v->is_arg && !args++)
			fprintf(f, "        Arguments:\n");
		if (!v->is_arg && !locals++)
			fprintf(f, "        Locals:\n");
		fprintf(f, "            %s = %s\n", v->name, v->repr);
	}
}

void dump_locals_json(FILE *f, const struct frame_locals *fl)
{
	const struct locals_buf *lb = &fl->lb;
	const char *why = fl->why;
	size_t i;

	if (why) {
		fprintf(f, "null,\"locals_note\":");
		json_string(f, why);
		return;
	}
	fputc('[', f);
	for (i = 0; i < lb->n; i++) {
		fprintf(f, "%s{\"name\":", i ? "," : "");
		json_string(f, lb->v[i].name);
		fprintf(f, ",\"arg\":%s,\"repr\":", lb->v[i].is_arg ? "true" : "false");
		json_string(f, lb->v[i].repr);
		fputc('}', f);
	}
	fputc(']', f);
}
