// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* nativemerge.c - merge one sample's native and Python stacks (see
 * nativemerge.h): pair the native eval-loop frames with the activations
 * the Python walk delimits, and say so with a marker wherever the two do
 * not pair up, rather than shift a Python frame under the wrong C caller. */
#include <errno.h>
#include <string.h>
#include "nativemerge.h"

/* Frames in the output; -ENOSPC is reported once at the end. */
struct out {
	struct nm_frame *f;
	size_t n, max;
	int full;
};

static void put(struct out *o, uint8_t kind, uint8_t mark, size_t index)
{
	if (o->n >= o->max) {
		o->full = 1;
		return;
	}
	o->f[o->n].kind = kind;
	o->f[o->n].mark = mark;
	o->f[o->n].index = (uint32_t)index;
	o->n++;
}

/* Is native frame i (skipping eval parts) an eval-loop frame? */
static int eval_at(const struct nm_input *in, size_t i)
{
	while (i < in->n_native && in->native[i] == NM_EVAL_PART)
		i++;
	return i < in->n_native && in->native[i] == NM_EVAL;
}

/* Should native frame i appear in the output as a native frame? */
static int keep_native(const struct nm_input *in, size_t i)
{
	size_t a, b;

	switch (in->native[i]) {
	case NM_EVAL:
		return 0;
	case NM_EVAL_PART:
		return !eval_at(in, i); /* no eval frame outwards: show what it is */
	case NM_GLUE:
		if (!in->drop_glue)
			return 1;
		/* dropped only inside a run of glue between two eval frames */
		for (a = i; a > 0 && in->native[a - 1] == NM_GLUE; a--)
			;
		for (b = i; b < in->n_native && in->native[b] == NM_GLUE; b++)
			;
		return !(a > 0 && in->native[a - 1] == NM_EVAL && eval_at(in, b));
	default:
		return 1;
	}
}

/* Activations the Python frames make: a new one starts after each entry. */
static size_t count_groups(const struct nm_input *in)
{
	size_t k = 0, i;

	for (i = 0; i < in->n_python; i++)
		if (i == 0 || (in->python[i - 1] & NM_PY_ENTRY))
			k++;
	return k;
}

/* Put the activation starting at Python frame first; the next one's start. */
static size_t put_group(struct out *o, const struct nm_input *in, size_t first)
{
	size_t i;

	for (i = first; i < in->n_python; i++) {
		put(o, NM_OUT_PYTHON, 0, i);
		if (in->python[i] & NM_PY_ENTRY)
			return i + 1;
	}
	return i;
}

int nm_merge(const struct nm_input *in, struct nm_frame *out, size_t max, struct nm_result *res)
{
	struct out o = { .f = out, .max = max };
	size_t k, m = 0, i, e = 0, g, pj = 0, skip_evals = 0, skip_groups = 0;
	struct nm_result r;

	memset(&r, 0, sizeof(r));
	k = count_groups(in);
	for (i = 0; i < in->n_native; i++)
		m += in->native[i] == NM_EVAL;

	/* Which pairs: innermost first (eval j with activation j), right when
	 * one walk stopped early, since both start at the sampled pc; but when
	 * both reached the thread's bottom, the outer ends are the anchor:
	 * an eval frame just entered or about to return has no Python frame
	 * linked yet, and it is the innermost one. */
	if (m != k && in->native_complete && in->python_complete) {
		r.outermost_aligned = 1;
		if (m > k)
			skip_evals = m - k;      /* innermost eval frames: unmatched */
		else
			skip_groups = k - m;     /* innermost activations: unmatched */
	}
	r.activations = k;
	r.evals = m;
	r.matched = m - skip_evals < k - skip_groups ? m - skip_evals : k - skip_groups;

	for (i = 0, g = 0; i < in->n_native; i++) {
		if (in->native[i] != NM_EVAL) {
			if (keep_native(in, i))
				put(&o, NM_OUT_NATIVE, 0, i);
			continue;
		}
		if (e++ < skip_evals || g >= r.matched) {
			put(&o, NM_OUT_MARK, NM_MARK_EVAL_UNKNOWN, i);
			continue;
		}
		if (g == 0 && skip_groups) {
			/* activations no native frame holds (the unwinder missed
			 * their eval frames): inside the first one that it saw */
			size_t s;

			for (s = 0; s < skip_groups; s++)
				pj = put_group(&o, in, pj);
			put(&o, NM_OUT_MARK, NM_MARK_NATIVE_UNKNOWN, pj);
		}
		pj = put_group(&o, in, pj);
		g++;
	}
	/* activations left over: the native walk ended before their callers */
	if (pj < in->n_python) {
		put(&o, NM_OUT_MARK, NM_MARK_NATIVE_UNKNOWN, pj);
		while (pj < in->n_python)
			put(&o, NM_OUT_PYTHON, 0, pj++);
	}
	r.n = o.n;
	if (res)
		*res = r;
	return o.full ? -ENOSPC : 0;
}

/* ---- which native functions are the eval loop ---- */

/* Call plumbing between two eval-loop calls (a Python function calling
 * another through C).  Up to 3.10 every Python call goes through some of
 * these; from 3.11 on the eval loop calls Python functions inline and
 * these appear only when C code (a builtin, a slot) calls back. */
static const char *const glue_names[] = {
	"PyEval_EvalFrame", "_PyEval_EvalFrame", "PyEval_EvalCodeEx", "PyEval_EvalCode",
	"_PyEval_EvalCodeWithName", "_PyEval_EvalCode", "_PyEval_Vector",
	"function_code_fastcall", "_PyFunction_FastCall", "_PyFunction_FastCallDict",
	"_PyFunction_FastCallKeywords", "_PyFunction_Vectorcall", "fast_function",
	"call_function", "_PyObject_Vectorcall", "_PyObject_VectorcallTstate",
	"PyObject_Vectorcall", "_PyObject_FastCallDict", "_PyObject_FastCallKeywords",
	"method_vectorcall",
};

/* name, or name plus a GCC suffix (.cold, .part.N, .constprop.N, .isra.N) */
static int is_name(const char *s, const char *name)
{
	size_t n = strlen(name);

	return strncmp(s, name, n) == 0 && (s[n] == 0 || s[n] == '.');
}

enum nm_native_kind nm_classify(const char *name, unsigned major, unsigned minor)
{
	size_t i;

	if (!name)
		return NM_NATIVE;
	/* 2.7: PyEval_EvalFrameEx is the loop itself.  3.0-3.5 are not
	 * supported; from 3.6 (PEP 523) the loop is _PyEval_EvalFrameDefault,
	 * reached through the interpreter's eval_frame pointer, and
	 * PyEval_EvalFrameEx is only a wrapper around that call. */
	if (major == 2)
		return is_name(name, "PyEval_EvalFrameEx") ? NM_EVAL : NM_NATIVE;
	if (is_name(name, "_PyEval_EvalFrameDefault"))
		return NM_EVAL; /* and its .cold part (GCC's hot/cold split) */
	/* 3.14's tail-calling interpreter (clang builds, --with-tail-call-interp):
	 * each instruction is a function _TAIL_CALL_<op> that the loop calls and
	 * that tail-calls the next; one is on the stack above the loop */
	if ((major > 3 || minor >= 14) && strncmp(name, "_TAIL_CALL_", 11) == 0)
		return NM_EVAL_PART;
	if (is_name(name, "PyEval_EvalFrameEx"))
		return NM_GLUE;
	for (i = 0; i < sizeof(glue_names) / sizeof(glue_names[0]); i++)
		if (is_name(name, glue_names[i]))
			return NM_GLUE;
	return NM_NATIVE;
}

const char *nm_mark_name(enum nm_mark m)
{
	switch (m) {
	case NM_MARK_EVAL_UNKNOWN:
		return "<eval loop: Python frames unknown>";
	case NM_MARK_NATIVE_UNKNOWN:
		return "<native frames unknown>";
	default:
		return "<?>";
	}
}
