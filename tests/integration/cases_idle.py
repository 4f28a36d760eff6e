# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_idle.py - --idle charges each blocked interval to the stack the
thread blocked in, even when every CPU is busy."""
import json
import signal
import subprocess
import sys

from harness import Fail, markers, WORKLOADS
from casekit import RATE, WORKLOAD_MAX, check, collapsed, no_read_errors, start
import profiles as P


def case_idle_busy(ctx):
    """20 ms of CPU in churn(), 80 ms asleep in nap(), while other
    processes keep every CPU busy: nap's share is within 5 points of its
    share of the time the profile covers (sleep + CPU), and no off-CPU
    time lands on churn (a thread preempted on its way out of a system
    call is runnable, not idle)."""
    marks = markers(WORKLOADS / "napchurn.py")
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(2)]
    try:
        truth_path = ctx.dir / "truth.json"
        target = start(ctx, "napchurn.py", WORKLOAD_MAX, truth_path)
        stacks, res = collapsed(ctx, target, 5, ["--idle"], rate=100)
        target.signal(signal.SIGTERM)
        if target.wait(10) != 0 or not truth_path.exists():
            raise Fail("napchurn.py did not write its truth (status %s)" % target.p.returncode,
                       target.err().splitlines()[-5:])
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    truth = json.loads(truth_path.read_text())
    nap = sum(s.count for s in stacks if any(f.name == "nap" for f in s.frames))
    churn_idle = sum(s.count for s in stacks if any(f.name == "churn" for f in s.frames)
                     and s.frames[-1].name == "<idle>")
    tot = P.total(stacks)
    want = 100.0 * truth["nap"] / (truth["nap"] + truth["churn"])
    got = 100.0 * nap / max(tot, 1)
    ctx.note("nap: truth %.1f%% (%.2f s asleep, %.2f s CPU in churn), profile %.1f%% of %d"
             % (want, truth["nap"], truth["churn"], got, tot))
    problems = []
    if tot < 200:
        problems.append("only %d samples" % tot)
    if abs(got - want) > 5:
        problems.append("nap has %.1f%% of the samples, truth %.1f%% (limit 5 points)"
                        % (got, want))
    if churn_idle > 0.02 * tot:
        problems.append("%d samples of off-CPU time charged to churn, which never blocks"
                        % churn_idle)
    wrong_line = sum(s.count for s in stacks for f in s.frames
                     if f.name == "nap" and f.line not in marks["nap"])
    if wrong_line > 0.02 * max(nap, 1):  # a block on the way in or out of the call
        problems.append("%d samples in nap away from its sleep line %s"
                        % (wrong_line, marks["nap"]))
    check(problems, stacks, res)


def case_idle_thirds(ctx):
    """-t --idle on three threads, two of them blocked since before pybpf
    started and until after it stopped (a lock never released, a long
    sleep) and one busy: each thread has a third of the samples (within 5
    points), at its own line."""
    marks = markers(WORKLOADS / "thirds.py")
    target = start(ctx, "thirds.py", WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 4, ["-t", "--idle"], rate=100)
    tot = P.total(stacks)
    problems = []
    for thread, func in (("MainThread", "busy"), ("stuck", "stuck"), ("sleeper", "sleeper")):
        mine = [s for s in stacks if s.frames[0].name == thread]
        n = sum(s.count for s in mine)
        share = 100.0 * n / max(tot, 1)
        ctx.note("%s: %.1f%% of %d samples" % (thread, share, tot))
        if abs(share - 100.0 / 3) > 5:
            problems.append("thread %s has %.1f%% of the samples, expected 33.3%% +- 5"
                            % (thread, share))
        off = sum(s.count for s in mine for f in s.frames[1:]
                  if f.name == func and f.line not in marks[func])
        if not any(f.name == func for s in mine for f in s.frames[1:]):
            problems.append("thread %s never shows %s()" % (thread, func))
        elif off:
            problems.append("%d samples of %s away from its marked line" % (off, func))
    check(problems, stacks, res)


def case_idle_thread_exits(ctx):
    """--idle while threads come and go (each ~15 ms: 10 ms of CPU in
    work(), 5 ms asleep in nap(), then exit): a thread's exit is no read
    error (its last switch, after its memory is released, is not walked),
    and both work() and nap() are at their lines."""
    marks = markers(WORKLOADS / "shortthreads.py")
    target = start(ctx, "shortthreads.py", WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 3, ["--idle"], rate=RATE)
    problems = no_read_errors(res)
    for func in ("work", "nap"):
        at = sum(s.count for s in stacks for f in s.frames if f.name == func)
        off = sum(s.count for s in stacks for f in s.frames
                  if f.name == func and f.line not in marks[func])
        ctx.note("%s: %d samples, %d away from its marked lines" % (func, at, off))
        if not at:
            problems.append("%s() never in the profile" % func)
        elif off:
            problems.append("%d samples of %s() away from its marked lines" % (off, func))
    check(problems, stacks, res)
