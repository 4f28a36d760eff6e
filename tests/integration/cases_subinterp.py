# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_subinterp.py - a thread with two thread states: its own and one in
a subinterpreter (tests/workloads/subinterp.py, 3.8+: _xxsubinterpreters,
_interpreters from 3.13).  From 3.12 the states' _status says which is in
use; before, the GIL holder's current state does.

Thread "hopper" spins 0.2 s in the subinterpreter (sub_spin), sleeps 0.2 s
there (sub_nap), then spins 0.2 s back in the main interpreter
(main_spin).  The sampled stack must be the one of the thread state that
runs: sub_spin and main_spin about even on CPU, sub_nap about a third of
the time with --idle, never the run_string line that waits for the other
state, and no sample of the thread lost."""
from harness import WORKLOADS, Skip, cpu_seconds, markers
from casekit import RATE, WORKLOAD_MAX, check, collapsed, start
import profiles as P


def hopper_stacks(stacks, tid):
    return [s for s in stacks if s.frames[0].kind == "thread" and s.frames[0].line == tid]


def shares(mine, leaves):
    """{leaf name: samples} over the hopper's stacks, plus the samples whose
    leaf is hopper itself (the run_string line) under "hopper"."""
    got = {name: 0 for name in leaves}
    for s in mine:
        leaf = [f for f in s.frames if f.kind == "python"]
        if leaf and leaf[-1].name in got:
            got[leaf[-1].name] += s.count
    return got


def case_subinterp(ctx):
    if ctx.interp.version < (3, 8):
        raise Skip("no _xxsubinterpreters before 3.8: no subinterpreter to enter from Python")
    marks = markers(WORKLOADS / "subinterp.py")
    sub_marks = markers(WORKLOADS / "subwork.py")
    target = start(ctx, "subinterp.py", WORKLOAD_MAX)
    tid = int([l.split()[2] for l in target.out().splitlines()
               if l.startswith("thread hopper ")][0])
    problems = []

    cpu0 = cpu_seconds(target.pid)
    stacks, res = collapsed(ctx, target, 2, ["-t"], name="oncpu")
    cpu = cpu_seconds(target.pid) - cpu0
    mine = hopper_stacks(stacks, tid)
    got = shares(mine, ["sub_spin", "main_spin", "hopper"])
    n = sum(got.values())
    ctx.note("on CPU: %s of %d hopper samples; %.2f s CPU" % (got, P.total(mine), cpu))
    problems += P.check_hot_function(mine, "sub_spin", "subwork.py", sub_marks["sub-spin"], 50)
    problems += P.check_hot_function(mine, "main_spin", "subinterp.py", marks["main-spin"], 50)
    if n and got["hopper"] > 0.05 * n:
        problems.append("%d of %d samples stop at hopper's run_string line (%s): the thread "
                        "state waiting for the subinterpreter's was sampled"
                        % (got["hopper"], n, marks["run-sub"][0]))
    if n:
        d = 100.0 * got["sub_spin"] / n - 50
        if abs(d) > 15:
            problems.append("sub_spin has %.0f%% of the spinning samples, expected 50 +- 15"
                            % (50 + d))
    # the main thread sleeps: the process's CPU time is the hopper's
    if P.total(mine) < 0.8 * RATE * cpu * min(1.0, 2 / res.elapsed):
        problems.append("%d hopper samples for %.2f s of CPU at %d Hz: samples lost"
                        % (P.total(mine), cpu, RATE))
    check(problems, stacks, res)

    stacks, res = collapsed(ctx, target, 2, ["-t", "--idle"], name="idle")
    # off-CPU time ends in an <idle> frame under the stack that slept
    mine = [P.Stack(tuple(f for f in s.frames if f.name != "<idle>"), s.count)
            for s in hopper_stacks(stacks, tid)]
    got = shares(mine, ["sub_spin", "sub_nap", "main_spin", "hopper"])
    n = sum(got.values())
    ctx.note("--idle: %s of %d hopper samples" % (got, P.total(mine)))
    problems += P.check_hot_function(mine, "sub_nap", "subwork.py", sub_marks["sub-nap"], 50)
    if n and got["hopper"] > 0.05 * n:
        problems.append("--idle: %d of %d samples stop at hopper's run_string line"
                        % (got["hopper"], n))
    # a third of the wall time, more when the spinning gets less CPU
    if n and got["sub_nap"] < 0.2 * n:
        problems.append("--idle: sub_nap has %d of the hopper's %d samples, expected about "
                        "a third" % (got["sub_nap"], n))
    check(problems, stacks, res)


def case_subinterp_seed(ctx):
    """--idle with the hopper asleep in the subinterpreter since before
    pybpf started: its stack comes from the userspace walker's seed, which
    must take the state the sampler would walk (bpf/pythread.h: the active
    one, else the newest interpreter's with a frame), the subinterpreter's
    sub_nap, not the main interpreter's state waiting at run_string.  (The
    seeds before pythread.h got this right too: the first state seeded
    stayed, and it was the newest interpreter's.)"""
    if ctx.interp.version < (3, 8):
        raise Skip("no _xxsubinterpreters before 3.8: no subinterpreter to enter from Python")
    marks = markers(WORKLOADS / "subinterp.py")
    sub_marks = markers(WORKLOADS / "subwork.py")
    target = start(ctx, "subinterp.py", WORKLOAD_MAX, "--asleep")
    tid = int([l.split()[2] for l in target.out().splitlines()
               if l.startswith("thread hopper ")][0])
    stacks, res = collapsed(ctx, target, 1, ["-t", "--idle"], name="seeded")
    mine = [P.Stack(tuple(f for f in s.frames if f.name != "<idle>"), s.count)
            for s in hopper_stacks(stacks, tid)]
    got = shares(mine, ["sub_nap", "hopper"])
    total = P.total(mine)
    ctx.note("--idle, asleep from the start: %s of %d hopper samples" % (got, total))
    problems = P.check_hot_function(mine, "sub_nap", "subwork.py", sub_marks["sub-nap"], 50)
    if got["hopper"]:
        problems.append("%d of %d samples at hopper's run_string line (%s): the seed took the "
                        "main interpreter's state, not the subinterpreter's"
                        % (got["hopper"], total, marks["run-asleep"][0]))
    check(problems, stacks, res)
