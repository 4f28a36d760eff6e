# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_cost.py - what a sample costs, as the BPF side's own counters
(record -v) tell it: never a time, always a count of work."""

import os

from harness import WORKLOADS, markers
from casekit import WORKLOAD_MAX, check, collapsed, counter, start
import profiles as P

DEPTH = 100


def steady_reads(version):
    """User-memory reads a sample of a stable stack needs, once every code
    object is cached: up to 3.10 one a frame (DEPTH levels, spin, main, the
    module) and the thread state's; from 3.11 the data stack comes in one
    read, with the thread state and: the cframe and the GIL holder's state
    (3.11); the cframe, the code-object counter and the entry shim (3.12);
    the counter and the shim (3.13+: the thread's base frame, 3.15+, is
    never read)."""
    if version < (3, 11):
        return DEPTH + 5
    return 5 if version[:2] == (3, 12) else 4


def case_code_cache(ctx):
    """A stack of 100 distinct functions, stable: every frame is named right,
    and after each CPU's first sight of a code object the walk names it
    without reading the code object (>= 95 % of the frames walked): from its
    code cache, or from the stack stored before with the same code-object
    addresses, both trusted while the code-object counter stands still, on
    every build: before 3.12 pybpf's count of code objects freed (a uprobe
    on their dealloc), after the interpreter's own.  And a sample makes no
    more reads of the target than the version's walk needs (steady_reads),
    plus each CPU's first sight of the code objects spread over the samples
    (at most 8 reads a code object)."""
    marks = markers(WORKLOADS / "distinct.py")
    target = start(ctx, "distinct.py", DEPTH, WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 3, ["-v"], rate=1000)
    hot = P.hottest(stacks, 1)[0]
    names = [f.name for f in hot.frames]
    want = ["level_%d" % k for k in range(DEPTH)] + ["spin"]
    problems = []
    if names[-len(want):] != want or hot.frames[-1].line not in marks["spin"]:
        problems.append("hottest stack is not main's %d levels down to spin at %s: %s"
                        % (DEPTH, marks["spin"], " ; ".join(f.label for f in hot.frames[-6:])))
    walked = counter(res, "Python frames walked")
    unread = counter(res, "... named without reading the code object (code cache, or a stack stored before)")
    ctx.note("frames walked %s, named without a read %s" % (walked, unread))
    if walked is None or unread is None:
        problems.append("-v printed no frames-walked / code-cache counters")
    elif walked < 100 * DEPTH:
        problems.append("only %d frames walked in 3 s at %d frames a sample" % (walked, DEPTH))
    elif unread < 0.95 * walked:
        problems.append("%d of %d frames walked (%.1f %%) were named from the code cache "
                        "without a read, expected >= 95 %%"
                        % (unread, walked, 100.0 * unread / walked))
    reads = counter(res, "user-memory reads for Python stacks (counted with -v only)")
    samples = counter(res, "stacks recorded")
    if reads is None or not samples:
        problems.append("-v printed no user-memory reads / stacks recorded counters")
    else:
        first_sight = 8.0 * (os.cpu_count() or 1) * (DEPTH + 3) / samples
        bound = steady_reads(ctx.interp.version) + first_sight
        ctx.note("user-memory reads a sample %.2f (bound %.2f)" % (reads / samples, bound))
        if reads / samples > bound:
            problems.append("%.2f user-memory reads a sample (%d over %d samples), expected at "
                            "most %.2f" % (reads / samples, reads, samples, bound))
    check(problems, stacks, res)
