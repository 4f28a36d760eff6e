/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_nativemerge.c - the native/Python stack merge (user/native/nativemerge.c)
 * on hand-made stacks: C calling Python calling C in order, the versions'
 * activation rules, and every kind of mismatch shown with a marker rather
 * than a Python frame under the wrong C caller. */
#include <errno.h>
#include <stdlib.h>
#include "unit.h"
#include "nativemerge.h"

#define MAXF 32

/* Stacks as words, innermost first.  Native: "EVAL" is an eval-loop
 * frame, otherwise the name is classified as 3.x.minor; Python: a
 * trailing '*' flags an entry frame. */
struct stack {
	char words[MAXF][48];
	uint8_t kind[MAXF];
	size_t n;
};

static void parse(struct stack *s, const char *text, int python, unsigned minor)
{
	char buf[1024], *w, *save = NULL;

	memset(s, 0, sizeof(*s));
	snprintf(buf, sizeof(buf), "%s", text);
	for (w = strtok_r(buf, " ", &save); w && s->n < MAXF; w = strtok_r(NULL, " ", &save)) {
		size_t len = strlen(w);

		if (python) {
			s->kind[s->n] = w[len - 1] == '*' ? NM_PY_ENTRY : 0;
			if (w[len - 1] == '*')
				w[len - 1] = 0;
		} else {
			s->kind[s->n] = strcmp(w, "EVAL") == 0 ? NM_EVAL : nm_classify(w, 3, minor);
		}
		snprintf(s->words[s->n], sizeof(s->words[0]), "%s", w);
		s->n++;
	}
}

static struct nm_result last;

/* The merged stack as words ("<?E>" and "<?N>" for the markers). */
static const char *merge(const char *native, int ncomplete, const char *python, int pcomplete,
			 unsigned minor, int drop_glue)
{
	static char text[2048];
	struct stack ns, ps;
	struct nm_frame out[NM_MERGE_MAX(MAXF, MAXF)];
	struct nm_input in;
	size_t i, len = 0;
	int err;

	parse(&ns, native, 0, minor);
	parse(&ps, python, 1, minor);
	in = (struct nm_input){ .native = ns.kind, .n_native = ns.n, .native_complete = ncomplete,
				.python = ps.kind, .n_python = ps.n, .python_complete = pcomplete,
				.drop_glue = drop_glue };
	err = nm_merge(&in, out, sizeof(out) / sizeof(out[0]), &last);
	if (err)
		return "(error)";
	text[0] = 0;
	for (i = 0; i < last.n; i++) {
		const char *w = out[i].kind == NM_OUT_NATIVE ? ns.words[out[i].index] :
				out[i].kind == NM_OUT_PYTHON ? ps.words[out[i].index] :
				out[i].mark == NM_MARK_EVAL_UNKNOWN ? "<?E>" : "<?N>";

		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", i ? " " : "", w);
	}
	return text;
}

static void test_issue_example(void)
{
	/* 3.11: main calls do_zlib inside one eval-loop call */
	CHECK_EQ_STR(merge("deflate_slow deflate zlib_compress _PyEval_EvalFrameDefault "
			   "PyEval_EvalCode Py_RunMain main __libc_start_main _start", 1,
			   "do_zlib main*", 1, 11, 1),
		     "deflate_slow deflate zlib_compress do_zlib main "
		     "PyEval_EvalCode Py_RunMain main __libc_start_main _start");
	CHECK_EQ_INT(last.activations, 1);
	CHECK_EQ_INT(last.evals, 1);
	CHECK_EQ_INT(last.matched, 1);
	CHECK_EQ_INT(last.outermost_aligned, 0);
}

static void test_c_python_c(void)
{
	/* C calling Python calling C, 3.12: the callback runs in its own
	 * eval-loop call (entry), main and run in the outer one */
	CHECK_EQ_STR(merge("c_inner c_outer _PyEval_EvalFrameDefault.cold PyObject_Call "
			   "c_call_back _PyEval_EvalFrameDefault Py_RunMain main", 1,
			   "callback* run main*", 1, 12, 1),
		     "c_inner c_outer callback PyObject_Call c_call_back run main Py_RunMain main");
	CHECK_EQ_INT(last.matched, 2);
	/* three levels deep, thread created in C at the bottom */
	CHECK_EQ_STR(merge("leaf EVAL c2 EVAL c1 EVAL start_thread clone3", 1,
			   "p3 p3b* p2* p1*", 1, 13, 1),
		     "leaf p3 p3b c2 p2 c1 p1 start_thread clone3");
}

static void test_one_frame_per_call(void)
{
	/* up to 3.10 each frame is its own activation; the plumbing between
	 * two of them goes with drop_glue, stays without it */
	const char *native = "deflate zlib_compress EVAL function_code_fastcall "
			     "_PyFunction_Vectorcall EVAL _PyEval_EvalCodeWithName EVAL "
			     "PyRun_FileExFlags main";

	CHECK_EQ_STR(merge(native, 1, "do_zlib* app* <module>*", 1, 9, 1),
		     "deflate zlib_compress do_zlib app <module> PyRun_FileExFlags main");
	CHECK_EQ_STR(merge(native, 1, "do_zlib* app* <module>*", 1, 9, 0),
		     "deflate zlib_compress do_zlib function_code_fastcall "
		     "_PyFunction_Vectorcall app _PyEval_EvalCodeWithName <module> "
		     "PyRun_FileExFlags main");
	/* glue with a real C frame among it (a builtin calling back) stays */
	CHECK_EQ_STR(merge("EVAL _PyFunction_Vectorcall map_next EVAL main", 1, "f* g*", 1, 9, 1),
		     "f _PyFunction_Vectorcall map_next g main");
	/* glue innermost (sampled inside it) stays: that is where time goes */
	CHECK_EQ_STR(merge("_PyFunction_Vectorcall EVAL main", 1, "g*", 1, 9, 1),
		     "_PyFunction_Vectorcall g main");
}

static void test_mismatch(void)
{
	/* an eval frame just entered (nothing linked yet): both walks whole,
	 * so aligned at the bottom and the innermost eval frame is marked */
	CHECK_EQ_STR(merge("c EVAL PyObject_Call EVAL main", 1, "f*", 1, 11, 1),
		     "c <?E> PyObject_Call f main");
	CHECK_EQ_INT(last.outermost_aligned, 1);
	CHECK_EQ_INT(last.matched, 1);
	/* the same when the Python walk was cut (depth limit): its outer
	 * activations are missing, the inner ones pair */
	CHECK_EQ_STR(merge("c EVAL PyObject_Call EVAL main", 1, "f*", 0, 11, 1),
		     "c f PyObject_Call <?E> main");
	CHECK_EQ_INT(last.outermost_aligned, 0);
	/* the native walk stopped early: Python callers after a marker */
	CHECK_EQ_STR(merge("c EVAL PyObject_Call", 0, "f* g h*", 1, 11, 1),
		     "c f PyObject_Call <?N> g h");
	/* both whole, more activations than eval frames (the unwinder skipped
	 * one): the unpaired inner ones sit inside the first eval frame seen,
	 * behind a marker, never under the C frames of another */
	CHECK_EQ_STR(merge("c EVAL main", 1, "f* g*", 1, 11, 1), "c f <?N> g main");
	CHECK_EQ_INT(last.matched, 1);
	/* no eval frame at all */
	CHECK_EQ_STR(merge("c main", 1, "f g*", 1, 11, 1), "c main <?N> f g");
	CHECK_EQ_STR(merge("c main", 0, "f g*", 1, 11, 1), "c main <?N> f g");
	/* no Python stack (a C thread, or the walk failed) */
	CHECK_EQ_STR(merge("blas_worker start_thread", 1, "", 1, 11, 1), "blas_worker start_thread");
	CHECK_EQ_STR(merge("c EVAL main", 1, "", 0, 11, 1), "c <?E> main");
	/* no native stack */
	CHECK_EQ_STR(merge("", 0, "f g*", 1, 11, 1), "<?N> f g");
}

static void test_tail_call_parts(void)
{
	/* 3.14 tail-calling interpreter: the instruction's function goes
	 * with the loop that called it */
	CHECK_EQ_STR(merge("strlen _TAIL_CALL_CALL_BUILTIN_O EVAL main", 1, "f*", 1, 14, 1),
		     "strlen f main");
	/* a part with no loop outwards (native walk cut) is shown as itself */
	CHECK_EQ_STR(merge("strlen _TAIL_CALL_CALL_BUILTIN_O", 0, "f*", 1, 14, 1),
		     "strlen _TAIL_CALL_CALL_BUILTIN_O <?N> f");
	/* before 3.14 the name means nothing special */
	CHECK_EQ_INT(nm_classify("_TAIL_CALL_X", 3, 13), NM_NATIVE);
}

static void test_classify(void)
{
	CHECK_EQ_INT(nm_classify("_PyEval_EvalFrameDefault", 3, 6), NM_EVAL);
	CHECK_EQ_INT(nm_classify("_PyEval_EvalFrameDefault.cold", 3, 11), NM_EVAL);
	CHECK_EQ_INT(nm_classify("_PyEval_EvalFrameDefaultX", 3, 11), NM_NATIVE);
	/* 2.7's loop is PyEval_EvalFrameEx; from 3.6 that is a wrapper */
	CHECK_EQ_INT(nm_classify("PyEval_EvalFrameEx", 2, 7), NM_EVAL);
	CHECK_EQ_INT(nm_classify("PyEval_EvalFrameEx", 3, 7), NM_GLUE);
	CHECK_EQ_INT(nm_classify("_PyEval_EvalFrameDefault", 2, 7), NM_NATIVE);
	CHECK_EQ_INT(nm_classify("_PyFunction_Vectorcall", 3, 10), NM_GLUE);
	CHECK_EQ_INT(nm_classify("PyObject_GetAttr", 3, 11), NM_NATIVE);
	CHECK_EQ_INT(nm_classify(NULL, 3, 11), NM_NATIVE);
}

static void test_nospace(void)
{
	uint8_t native[3] = { NM_NATIVE, NM_EVAL, NM_NATIVE }, python[2] = { 0, NM_PY_ENTRY };
	struct nm_input in = { .native = native, .n_native = 3, .native_complete = 1,
			       .python = python, .n_python = 2, .python_complete = 1 };
	struct nm_frame out[3];
	struct nm_result r;

	CHECK_EQ_INT(nm_merge(&in, out, 3, &r), -ENOSPC);
	CHECK_EQ_INT(r.n, 3);
	CHECK_EQ_INT(out[2].kind, NM_OUT_PYTHON);
	CHECK_EQ_INT(out[2].index, 1);
	CHECK_EQ_STR(nm_mark_name(NM_MARK_EVAL_UNKNOWN), "<eval loop: Python frames unknown>");
}

int main(void)
{
	test_issue_example();
	test_c_python_c();
	test_one_frame_per_call();
	test_mismatch();
	test_tail_call_parts();
	test_classify();
	test_nospace();
	return unit_summary("test_nativemerge");
}
