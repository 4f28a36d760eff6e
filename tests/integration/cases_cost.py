# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_cost.py - what a sample costs, as the BPF side's own counters
(record -v) tell it: never a time, always a count of work."""

import os

from harness import WORKLOADS, Skip, markers
from casekit import WORKLOAD_MAX, check, collapsed, counter, start
import profiles as P

DEPTH = 100


def steady_reads(version):
    """User-memory reads a sample of a stable stack needs, once every code
    object is cached: up to 3.10 one a frame (DEPTH levels, spin, main, the
    module) and the thread state's; from 3.11 the data stack comes in one
    read, with the thread state and: the cframe and the GIL holder's state
    (3.11); the cframe, whose read brings the C stack around it with the
    entry shim, and the code-object counter (3.12); the counter and the
    shim (3.13+: the thread's base frame, 3.15+, is never read)."""
    if version < (3, 11):
        return DEPTH + 5
    return 4


# shapes.py only-c: <module> main via_c (sorted) outer_key (map) inner_key,
# three activations.  From 3.11 the five frames come in one copy of the
# data stack, and the frames between them cost no copy again: the thread
# state, that copy, and
#   3.11: the cframe, the caller's cframe (the entry check), the GIL holder;
#   3.12: the cframe with the innermost shim around it, the caller's cframe,
#         the counter, the two other shims;
#   3.13+: the counter and the three shims.
C_STACK_READS = {(3, 11): 5, (3, 12): 7}


def case_c_stack_reads(ctx):
    """Python called from C called from Python: a shim read between two
    data-stack frames keeps the copy of the data stack (side window), so
    the stack costs its version's fixed reads and no copy of the data
    stack again (9 and 8 reads on 3.12 and 3.13 when each shim took the
    frame window's place); and the stack is the right one."""
    if ctx.interp.version < (3, 11):
        raise Skip("frame objects (<= 3.10): one read a frame, bounded by case code-cache")
    marks = markers(WORKLOADS / "shapes.py")
    target = start(ctx, "shapes.py", WORKLOAD_MAX, "only-c")
    stacks, res = collapsed(ctx, target, 3, ["-v"], rate=1000)
    hot = P.hottest(stacks, 1)[0]
    want = ["<module>", "main", "via_c", "outer_key", "inner_key"]
    problems = []
    names = [f.name.rsplit(".", 1)[-1] for f in hot.frames if f.name]
    if names[-len(want):] != want or hot.frames[-1].line not in marks["inner_key"]:
        problems.append("hottest stack is not %s at %s: %s"
                        % (" ; ".join(want), marks["inner_key"],
                           " ; ".join(f.label for f in hot.frames[-6:])))
    reads = counter(res, "user-memory reads for Python stacks (counted with -v only)")
    samples = counter(res, "stacks recorded")
    if reads is None or not samples:
        problems.append("-v printed no user-memory reads / stacks recorded counters")
    else:
        fixed = C_STACK_READS.get(ctx.interp.version[:2], 6)
        # first sight of 5 code objects on each CPU, and main's loop between calls
        bound = fixed + 8.0 * (os.cpu_count() or 1) * 5 / samples + 0.2
        ctx.note("user-memory reads a sample %.2f (bound %.2f)" % (reads / samples, bound))
        if reads / samples > bound:
            problems.append("%.2f user-memory reads a sample (%d over %d samples), expected at "
                            "most %.2f" % (reads / samples, reads, samples, bound))
    check(problems, stacks, res)


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
