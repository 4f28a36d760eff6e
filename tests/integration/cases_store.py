# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_store.py - stacks are stored once (bpf/stackstore.bpf.h): a stack
seen again after a drain is not sent again, and stacks that differ only at
the leaf share their parent chunks."""
import os

from casekit import WORKLOAD_MAX, check, collapsed, counters, start
import profiles as P

DEPTH = 300            # recurse frames; <module>, main and bottom make 303
CHUNK = 32             # PYBPF_CHUNK_FRAMES


def case_stacks_stored_once(ctx):
    """A 303-deep stack whose leaf moves between a few instructions, drained
    20 times a second: each distinct stack is stored once for the whole run,
    not again after every drain, and every variant of the leaf shares the
    nine whole chunks rootward of it (only its head is new)."""
    target = start(ctx, "recurse.py", DEPTH, WORKLOAD_MAX)
    os.environ["PYBPF_DRAIN_MS"] = "50"
    try:
        stacks, res = collapsed(ctx, target, 3, ["-v"])
    finally:
        os.environ.pop("PYBPF_DRAIN_MS", None)
    c = counters(res)
    stored = c.get("stacks stored (new stack hashes)")
    chunks = c.get("stack chunks stored")
    shared = c.get("stack chunks shared with stacks stored before")
    whole = (DEPTH + 3 - 1) // CHUNK  # chunks of a 303-frame stack but the leaf's
    ctx.note("stacks stored %s, chunks stored %s, shared %s; %d samples in %d stacks"
             % (stored, chunks, shared, P.total(stacks), len(stacks)))
    problems = []
    if stored is None or chunks is None or shared is None:
        problems.append("-v printed no stack store counters")
    else:
        # ~60 drains: a stack sent again after each would be stored ~60 times
        if stored > 40:
            problems.append("%d stacks stored for a leaf with a few instructions: "
                            "stacks are stored again after drains" % stored)
        if stored >= 2 and chunks > 2 * whole:
            problems.append("%d chunks stored for %d stacks differing at the leaf: "
                            "parent chunks are not shared (%d a stack)"
                            % (chunks, stored, whole))
        if stored >= 2 and shared < whole:
            problems.append("only %d chunks found stored already for %d stacks" %
                            (shared, stored))
    if not any(P.count_name(s, "recurse") == DEPTH for s in stacks):
        problems.append("no stack with the whole %d-deep recursion" % DEPTH)
    check(problems, stacks, res)
