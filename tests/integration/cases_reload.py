# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_reload.py - names and lines stay right when code objects die and
new ones take their addresses."""
import json
import signal

from harness import Fail
from casekit import WORKLOAD_MAX, check, collapsed, start
import profiles as P


def case_reload(ctx):
    """A module reloaded in a loop, its function's body moved down by 0-3
    lines in turn (same name, same bytecode, new line table): each line's
    share of the samples is within 5 points of the CPU time the version
    with that line spent, so no sample got a previous version's line."""
    truth_path = ctx.dir / "truth.json"
    moddir = ctx.dir / "mod"
    moddir.mkdir()
    target = start(ctx, "reload.py", WORKLOAD_MAX, truth_path, moddir)
    stacks, res = collapsed(ctx, target, 5)
    target.signal(signal.SIGTERM)
    if target.wait(10) != 0 or not truth_path.exists():
        raise Fail("reload.py did not write its truth (status %s)" % target.p.returncode,
                   target.err().splitlines()[-5:])
    truth = {int(k): v for k, v in json.loads(truth_path.read_text())["lines"].items()}
    got = {}
    for s in stacks:
        leaf = s.frames[-1]
        if leaf.name == "hot" and leaf.file == "reloadmod.py":
            got[leaf.line] = got.get(leaf.line, 0) + s.count
    n, tsum = sum(got.values()), sum(truth.values())
    ctx.note(*["line %d: truth %5.1f%%  profile %5.1f%% (%d samples)" % (
        line, 100 * truth.get(line, 0) / tsum, 100.0 * got.get(line, 0) / max(n, 1),
        got.get(line, 0)) for line in sorted(set(truth) | set(got))])
    problems = []
    if n < 200:
        problems.append("only %d samples in hot()" % n)
    for line in sorted(set(truth) | set(got)):
        d = 100.0 * got.get(line, 0) / max(n, 1) - 100 * truth.get(line, 0) / tsum
        if abs(d) > 5:
            problems.append("reloadmod.py:%d has %+.1f points more than its version ran "
                            "(limit 5)" % (line, d))
    check(problems, stacks, res)
