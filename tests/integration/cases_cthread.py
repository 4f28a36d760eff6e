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
    samples).  The C thread's samples are in work() at its lines, and the
    samples that find no thread state are no more (within 10 points) than
    the C thread's CPU time outside work() (truth.json): samples outside
    the calls (the loop, usleep, making and deleting the thread state)
    find none, rightly; samples inside them must not."""
    import json
    lib = build_helper(ctx)
    marks = markers(WORKLOADS / "cthread.py")
    truth_path = ctx.dir / "truth.json"
    target = start(ctx, "cthread.py", 5, truth_path, lib)
    stacks, res = collapsed(ctx, target, 4, ["-v"])
    counters = {}
    for line in res.err_lines():
        m = re.match(r"pybpf:\s+(\d+)\s+(.*)$", line)
        if m:
            counters[m.group(2)] = int(m.group(1))
    sampled = counters.get("samples in profiled processes", 0)
    no_tstate = counters.get("threads without a Python thread state", 0)
    problems = P.check_hot_function(stacks, "work", "cthread.py", marks["work"], 50)
    if target.wait(30) != 0 or not truth_path.exists():
        raise Fail("cthread.py did not write its truth (status %s)" % target.p.returncode,
                   target.err().splitlines()[-5:])
    truth = json.loads(truth_path.read_text())
    outside = 100.0 - 100.0 * truth["work"] / max(truth["thread_cpu"], 1e-9)
    missed = 100.0 * no_tstate / max(sampled, 1)
    ctx.note("%d samples in the process, %d (%.1f %%) without a thread state; the C thread "
             "spent %.1f %% of its CPU time outside work()" % (sampled, no_tstate, missed,
                                                                outside))
    if missed > outside + 10:
        problems.append("%d of %d samples (%.1f %%) found no thread state, but the C thread "
                        "spent only %.1f %% of its CPU time outside work(): its calls into "
                        "Python were missed" % (no_tstate, sampled, missed, outside))
    check(problems, stacks, res)
