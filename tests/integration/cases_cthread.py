# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_cthread.py - a thread created in C that calls Python through
PyGILState_Ensure 1000 times a second keeps its samples."""
import re
import subprocess

from harness import WORKLOADS, Fail, Skip, markers
from casekit import check, collapsed, start
import profiles as P


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
    samples).  The C thread's samples are in work() at its lines, and no
    more than 2 % of the process's samples find no thread state."""
    lib = build_helper(ctx)
    marks = markers(WORKLOADS / "cthread.py")
    target = start(ctx, "cthread.py", 30, ctx.dir / "truth.json", lib)
    stacks, res = collapsed(ctx, target, 4, ["-v"], rate=100)
    counters = {}
    for line in res.err_lines():
        m = re.match(r"pybpf:\s+(\d+)\s+(.*)$", line)
        if m:
            counters[m.group(2)] = int(m.group(1))
    sampled = counters.get("samples in profiled processes", 0)
    no_tstate = counters.get("threads without a Python thread state", 0)
    ctx.note("%d samples in the process, %d without a thread state" % (sampled, no_tstate))
    problems = P.check_hot_function(stacks, "work", "cthread.py", marks["work"], 50)
    if sampled and no_tstate > 0.02 * sampled:
        problems.append("%d of %d samples found no thread state: the C thread's calls "
                        "into Python were missed" % (no_tstate, sampled))
    check(problems, stacks, res)
