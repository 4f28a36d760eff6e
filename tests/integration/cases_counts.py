# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_counts.py - nothing counted in the kernel goes missing on the way
to the profile."""
import os
import re

from harness import Fail, pybpf
from casekit import WORKLOAD_MAX, start
import profiles as P


def case_drain_exact(ctx):
    """Draining 100 times a second under a 10 kHz sampler on every CPU:
    the samples in the profile equal the kernel's own count of recorded
    samples (no increment lost between a drain's read and its delete)."""
    ctx.interp = next(i for i in ctx.all_interps if not i.missing and i.version >= (3, 8))
    target = start(ctx, "threads.py", WORKLOAD_MAX)
    out = ctx.dir / "drain.txt"
    os.environ["PYBPF_DRAIN_MS"] = "10"
    try:
        res = pybpf(["record", "-p", target.pid, "-o", out, "-f", "collapsed", "-d", 3,
                     "-r", 10000, "-v"], ctx.dir, 40, name="drain")
    finally:
        os.environ.pop("PYBPF_DRAIN_MS", None)
    if res.rc != 0 or not out.exists():
        raise Fail("pybpf exited with status %s" % res.rc, res.describe())
    stacks = P.parse_collapsed(out.read_text(encoding="utf-8", errors="replace"))
    in_file = P.total(stacks)
    summary = P.parse_summary(res.err)
    recorded = [int(m.group(1)) for m in
                (re.match(r"pybpf:\s+(\d+)\s+stacks recorded$", l) for l in res.err_lines()) if m]
    ctx.note("profile %d samples, summary %s, kernel recorded %s" % (
        in_file, summary and summary["samples"], recorded))
    problems = []
    if not recorded:
        problems.append("-v printed no 'stacks recorded' counter")
    elif recorded[0] != in_file:
        problems.append("the kernel recorded %d samples, the profile holds %d (%+d)"
                        % (recorded[0], in_file, in_file - recorded[0]))
    if not summary or summary["samples"] != in_file or summary["lost"]:
        problems.append("summary %r disagrees with the profile's %d samples or lost some"
                        % (summary and summary["line"], in_file))
    if in_file < 10000:
        problems.append("only %d samples at 10 kHz on 4 busy threads for 3 s" % in_file)
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe())
