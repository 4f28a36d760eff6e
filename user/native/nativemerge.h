/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* nativemerge.h - one sample's native stack merged with its Python stack:
 * every native frame of the eval loop is replaced by the Python frames it
 * was running, so C calling Python calling C reads in order.  A pure
 * function over frame kinds and flags; names and symbols stay with the
 * caller, which renders the result by index.
 *
 * Both inputs are innermost first, as the unwinders produce them:
 *
 *   native: deflate, zlib_compress, _PyEval_EvalFrameDefault, Py_RunMain, main
 *   python: do_zlib (entry), main (entry)
 *   merged: deflate, zlib_compress, do_zlib, main, Py_RunMain, main
 *
 * One C-level call of the eval loop (an "activation") runs one Python frame
 * up to 3.10 and, from 3.11 on, a chain of them (Python-to-Python calls stay
 * inside one C call).  The Python walk says where each chain began: the
 * frame flagged NM_PY_ENTRY is the outermost frame of its activation.  How
 * the walk knows, per CPython version:
 *   2.7-3.10  every frame (each PyEval_EvalFrameEx/_PyEval_EvalFrameDefault
 *             call runs exactly one frame);
 *   3.11      _PyInterpreterFrame.is_entry;
 *   3.12+     the frame just inside (walked before) a frame whose owner is
 *             >= owner_shim_min: the entry frame each C call of the eval
 *             loop links in (FRAME_OWNED_BY_CSTACK = 3 in 3.12-3.13; from
 *             3.14 FRAME_OWNED_BY_INTERPRETER = 3 and CSTACK = 4);
 *             consecutive shims (3.15's base frame) add nothing.
 * The outermost Python frame always ends an activation, flagged or not.
 */
#ifndef PYBPF_NATIVEMERGE_H
#define PYBPF_NATIVEMERGE_H

#include <stddef.h>
#include <stdint.h>

/* What a native frame is to the merge (nm_classify from its symbol). */
enum nm_native_kind {
	NM_NATIVE = 0,   /* any other code: kept */
	NM_EVAL,         /* the eval loop: one activation, replaced by its Python frames */
	NM_EVAL_PART,    /* a piece of the eval loop called by it (3.14's tail-calling
			  * interpreter's per-instruction functions): absorbed into the
			  * next eval frame outwards */
	NM_GLUE,         /* interpreter call plumbing between two eval loops (a Python
			  * function calling another through C, <= 3.10 mostly): dropped
			  * when opts.drop_glue and nothing but glue separates them */
};

/* Python frame flags */
#define NM_PY_ENTRY 1u   /* outermost frame of its eval-loop activation */

enum nm_out_kind {
	NM_OUT_NATIVE = 0,   /* index: into the native frames */
	NM_OUT_PYTHON,       /* index: into the Python frames */
	NM_OUT_MARK,         /* a marker frame, enum nm_mark */
};

enum nm_mark {
	NM_MARK_NONE = 0,
	NM_MARK_EVAL_UNKNOWN,   /* an eval-loop frame whose Python frames the walk does
				 * not have (its index: that native frame) */
	NM_MARK_NATIVE_UNKNOWN, /* Python frames whose native callers are unknown: the
				 * native stack ended early or missed an eval frame
				 * (its index: the next Python frame) */
};

struct nm_frame {
	uint8_t kind;    /* enum nm_out_kind */
	uint8_t mark;    /* enum nm_mark, NM_OUT_MARK only */
	uint32_t index;
};

struct nm_input {
	const uint8_t *native;   /* enum nm_native_kind per native frame */
	size_t n_native;
	int native_complete;     /* the native walk reached the outermost frame */
	const uint8_t *python;   /* NM_PY_* flags per Python frame */
	size_t n_python;
	int python_complete;     /* the Python walk reached the thread's first frame */
	int drop_glue;
};

struct nm_result {
	size_t n;                /* frames written */
	size_t activations;      /* Python activations (groups) */
	size_t evals;            /* native eval-loop frames */
	size_t matched;          /* pairs of the two */
	int outermost_aligned;   /* paired from the outer end (both walks complete) */
};

/* Room nm_merge may need. */
#define NM_MERGE_MAX(n_native, n_python) ((n_native) + (n_python) + 1)

/* Merge in into out (innermost first, at most max frames, see
 * NM_MERGE_MAX).  0, or -ENOSPC when max is too small (out holds the
 * first max frames). */
int nm_merge(const struct nm_input *in, struct nm_frame *out, size_t max, struct nm_result *res);

/* The kind of the native function name (without a library suffix) for
 * CPython major.minor; NULL names are NM_NATIVE. */
enum nm_native_kind nm_classify(const char *name, unsigned major, unsigned minor);

/* "<eval loop: Python frames unknown>", ... */
const char *nm_mark_name(enum nm_mark m);

#endif /* PYBPF_NATIVEMERGE_H */
