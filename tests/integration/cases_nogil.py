# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_nogil.py - free-threaded builds have no GIL, and pybpf says so
instead of showing empty GIL statistics."""
from harness import Fail, pybpf
from casekit import WORKLOAD_MAX, start


def case_no_gil(ctx):
    """`pybpf gil` says there is no GIL and exits 0; `record --gil` and
    `record --gil-wait` refuse in one line with a non-zero status."""
    target = start(ctx, "threads.py", WORKLOAD_MAX)
    problems = []
    res = pybpf(["gil", "-p", target.pid, "-d", 1], ctx.dir, 20, name="gil")
    lines = res.err_lines()
    if res.rc != 0 or not any("no GIL" in l and "free-threaded" in l for l in lines):
        problems.append("pybpf gil: expected status 0 and a line saying the free-threaded "
                        "build has no GIL, got %s and %r" % (res.rc, lines[:3]))
    for flag in ("--gil", "--gil-wait"):
        res = pybpf(["record", "-p", target.pid, "-o", ctx.dir / "x.txt", "-d", 1, flag],
                    ctx.dir, 20, name="record" + flag)
        lines = res.err_lines()
        if res.rc == 0 or len(lines) != 1 or "has no GIL" not in lines[0]:
            problems.append("record %s: expected a non-zero status and one line saying there "
                            "is no GIL, got %s and %r" % (flag, res.rc, lines[:3]))
    if problems:
        raise Fail(problems[0], problems[1:])
