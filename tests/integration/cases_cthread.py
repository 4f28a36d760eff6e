# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_cthread.py - a thread created in C that calls Python through
PyGILState_Ensure 1000 times a second keeps its samples."""
import re
import subprocess

from harness import WORKLOADS, Fail, Skip, markers
from casekit import record, start


def build_helper(ctx):
    """cthread.py's C helper (its C_SOURCE), compiled into the case's
    directory; Skip when there is no C compiler that takes it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("cthread", str(WORKLOADS / "cthread.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    src, lib = ctx.dir / "cthread.c", ctx.dir / "cthread.so"
    src.write_text(mod.C_SOURCE)
    cc = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(lib), str(src), "-lpthread"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if cc.returncode:
        raise Skip("cannot compile the C helper: %s" % cc.stdout.strip()[-200:])
    return lib


def case_cthread(ctx):
    """Its thread state comes and goes with every call: a thread found
    without one must be looked up again when the thread list changes, not
    remembered as "not Python" (the old 200 ms negative cache lost those
    samples).  Recorded with --native, a sample of the C thread that has
    no Python frame shows where it was: between calls (the loop, usleep,
    making or deleting the thread state) is right; inside the eval loop
    (_PyEval_EvalFrameDefault raw, under no Python frame) is a call into
    Python that was missed: at most 2 % of the C thread's samples.  And
    work() has its samples at its lines."""
    from cases_native import EVAL_RE
    from cases_nativerec import name_of, stacks_of
    lib = build_helper(ctx)
    marks = markers(WORKLOADS / "cthread.py")
    target = start(ctx, "cthread.py", 30, ctx.dir / "truth.json", lib)
    out, res = record(ctx, target, 4, extra=("--native", "-v"))
    stacks = stacks_of(out)
    in_work = on_lines = missed = total = 0
    for frames, count in stacks:
        py = [f for f in frames if ".py:" in f]
        if any(f.startswith("loop (cthread.so") for f in frames):
            total += count
        if py and py[-1].startswith("work (cthread.py:"):
            in_work += count
            if int(py[-1].rsplit(":", 1)[1].rstrip(")")) in marks["work"]:
                on_lines += count
        if not py and any(EVAL_RE.match(name_of(f)) for f in frames):
            missed += count
    ctx.note("C thread: %d samples, %d in work() (%d on its lines), %d in the eval loop "
             "with no Python frame" % (total, in_work, on_lines, missed))
    problems = []
    if in_work < 50:
        problems.append("work(): %d samples, expected >= 50" % in_work)
    elif on_lines < 0.9 * in_work:
        problems.append("work(): %d of %d samples on its lines %s" % (on_lines, in_work,
                                                                       marks["work"]))
    if missed > 0.02 * max(total, 1):
        problems.append("%d of the C thread's %d samples ran Python (the eval loop) but "
                        "found no Python frame: its calls into Python were missed"
                        % (missed, total))
    if problems:
        raise Fail(problems[0], problems[1:] + ["%d %s" % (c, ";".join(f)[-300:]) for f, c in
                                                sorted(stacks, key=lambda s: -s[1])[:6]] +
                   res.describe(10))
