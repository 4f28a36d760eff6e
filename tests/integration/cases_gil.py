# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_gil.py - cases for `pybpf gil`: GIL take/wait/hold statistics on
workloads whose GIL pattern is known (tests/workloads/gilstat.py), long
waits/holds with their stacks, launching a command, the fallback for
stripped interpreters, and errors.

Shares are judged over the whole run (all intervals summed), in points of
the traced time, with tolerances for a loaded 2-core machine."""
import json
import os
import subprocess
import time

from harness import WORKLOADS, Fail, Skip, Proc, markers, pybpf
from casekit import WORKLOAD_MAX, check, start

FALLBACK_PROBES = "PyEval_RestoreThread/PyEval_SaveThread"
FALLBACK_LINE = "tracing PyEval_RestoreThread/PyEval_SaveThread instead; missing:"


class GilRun:
    """The JSON lines of one `pybpf gil --json` run."""

    def __init__(self, res, only_json=False):
        self.res = res
        self.intervals, self.events = [], []
        for n, line in enumerate(res.out.splitlines(), 1):
            if not line.strip() or (only_json and not line.startswith("{")):
                continue  # a launched command's own output shares stdout
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise Fail("gil --json: stdout line %d is not JSON: %s" % (n, e),
                           [line[:200]] + res.describe(4))
            (self.intervals if obj.get("type") == "interval" else self.events).append(obj)
        if not self.intervals:
            raise Fail("gil --json printed no interval", res.describe())

    def fallback(self):
        return self.intervals[0].get("probes") == FALLBACK_PROBES

    def seconds(self):
        return sum(i["interval"] for i in self.intervals)

    def threads(self):
        """tid -> sums over all intervals (takes, drops, wait_ns, hold_ns)."""
        out = {}
        for iv in self.intervals:
            for t in iv["threads"]:
                s = out.setdefault(t["tid"], {"name": t["name"], "takes": 0, "drops": 0,
                                              "wait_ns": 0, "hold_ns": 0})
                for k in ("takes", "drops", "wait_ns", "hold_ns"):
                    s[k] += t[k]
        return out

    def share(self, tid, key):
        """Percent of the traced time a thread spent holding (key='hold_ns') or waiting."""
        t = self.threads().get(tid)
        return 100.0 * t[key] / (self.seconds() * 1e9) if t else 0.0

    def evidence(self):
        ev = ["%d intervals, %.2f s, probes %s" % (len(self.intervals), self.seconds(),
                                                    self.intervals[0].get("probes"))]
        for tid, t in sorted(self.threads().items()):
            ev.append("  tid %d %-10s takes %6d drops %6d wait %6.1f %% hold %6.1f %%" % (
                tid, t["name"], t["takes"], t["drops"], self.share(tid, "wait_ns"),
                self.share(tid, "hold_ns")))
        return ev + self.res.describe(4)


def thread_ids(proc):
    """{name: tid} from the workload's 'thread NAME TID' lines."""
    out = {}
    for line in proc.out().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "thread":
            out[parts[1]] = int(parts[2])
    return out


def gil(ctx, target, seconds, interval, extra=(), name="gil"):
    args = ["gil", "-p", target.pid, "--json", "-i", interval, "-d", seconds] + list(extra)
    res = pybpf(args, ctx.dir, timeout=seconds + 30, name=name)
    if res.rc != 0:
        raise Fail("%s: pybpf gil exited with status %s" % (name, res.rc), res.describe())
    if target.p.poll() is not None:
        raise Fail("%s: the workload died (status %s) while pybpf was attached"
                   % (name, target.p.returncode), res.describe())
    run = GilRun(res)
    ctx.note("%s  [%s]" % (res.cmd(), (res.err_lines() or ["no stderr"])[-1]),
             *run.evidence()[:4])
    return run


def workload(ctx, mode):
    proc = start(ctx, "gilstat.py", mode, WORKLOAD_MAX)
    return proc, thread_ids(proc)


NO_TAKE_GIL = ("CPython 2.7's GIL is a plain lock without take_gil/drop_gil: `pybpf gil` "
               "does not trace it (case gil-probes checks that it says so)")


def need_take_gil(ctx):
    if ctx.interp.version < (3,):
        raise Skip(NO_TAKE_GIL)


def expect_untraced(ctx, problems, res):
    """2.7: one 'pybpf:' line saying the GIL is not traced, status 1."""
    lines = res.err_lines()
    if res.rc != 1 or len(lines) != 1 or not lines[0].startswith("pybpf:") or \
            "GIL is not traced" not in lines[0] or "CPython 2.7" not in lines[0]:
        problems.append("pybpf %s on CPython 2.7: status %s, stderr %r (expected 1 and one "
                        "line 'pybpf: CPython 2.7... its GIL is not traced...')"
                        % (" ".join(res.argv[1:]), res.rc, lines[:3]))


def need_switches(run):
    if run.fallback():
        raise Skip("%s is stripped: fallback probes cannot see forced GIL switches "
                   "(case gil-probes checks the fallback)" % "this interpreter")


def near(problems, what, value, want, tol):
    if abs(value - want) > tol:
        problems.append("%s is %.1f, expected %.1f +- %.0f" % (what, value, want, tol))


# ---- the cases -------------------------------------------------------------------

def case_gil_busy(ctx):
    """Two CPU-bound threads: each holds ~50 % and waits about as long as the other holds."""
    need_take_gil(ctx)
    target, tids = workload(ctx, "busy")
    run = gil(ctx, target, 3, 1.5)
    need_switches(run)
    a, b = tids["busy-0"], tids["busy-1"]
    problems = []
    for tid, other in ((a, b), (b, a)):
        hold = run.share(tid, "hold_ns")
        near(problems, "hold %% of thread %d" % tid, hold, 50, 10)
        near(problems, "wait %% of thread %d minus hold %% of thread %d" % (tid, other),
             run.share(tid, "wait_ns") - run.share(other, "hold_ns"), 0, 10)
        if run.threads().get(tid, {}).get("takes", 0) < 20:
            problems.append("thread %d took the GIL fewer than 20 times in %.1f s"
                            % (tid, run.seconds()))
    check(problems + run.evidence() if problems else [])


def case_gil_sleep(ctx):
    """A thread in time.sleep holds ~0 %; the spinning one holds the rest."""
    need_take_gil(ctx)
    target, tids = workload(ctx, "sleep")
    run = gil(ctx, target, 3, 1.5)
    sleeper, spinner = tids["sleeper"], tids["spinner"]
    problems = []
    if run.share(sleeper, "hold_ns") > 2:
        problems.append("the sleeping thread holds %.1f %% of the time, expected ~0"
                        % run.share(sleeper, "hold_ns"))
    if run.threads().get(sleeper, {}).get("takes", 0) < 30:
        problems.append("the sleeping thread (100 wake-ups per second) took the GIL %d times"
                        % run.threads().get(sleeper, {}).get("takes", 0))
    if run.share(spinner, "hold_ns") < 70:
        problems.append("the spinning thread holds %.1f %%, expected > 70"
                        % run.share(spinner, "hold_ns"))
    check(problems + run.evidence() if problems else [])


def thread_cpu(pid, tid):
    with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
        stat = f.read()
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def case_gil_native(ctx):
    """A thread hashing/compressing big buffers (GIL released) is busy but holds little."""
    need_take_gil(ctx)
    target, tids = workload(ctx, "native")
    hasher, spinner = tids["hasher"], tids["spinner"]
    cpu0, t0 = thread_cpu(target.pid, hasher), time.monotonic()
    run = gil(ctx, target, 3, 1.5)
    busy = 100.0 * (thread_cpu(target.pid, hasher) - cpu0) / (time.monotonic() - t0)
    ctx.note("hasher used %.0f %% of a CPU" % busy)
    problems = []
    if busy < 25:
        problems.append("the hashing thread used only %.0f %% of a CPU: not busy" % busy)
    if run.share(hasher, "hold_ns") > 10:
        problems.append("the hashing thread holds the GIL %.1f %% of the time, expected < 10"
                        % run.share(hasher, "hold_ns"))
    if run.threads().get(hasher, {}).get("takes", 0) < 5:
        problems.append("the hashing thread was not seen taking the GIL back after hashing")
    if run.share(spinner, "hold_ns") < 60:
        problems.append("the spinning thread holds %.1f %%, expected > 60"
                        % run.share(spinner, "hold_ns"))
    check(problems + run.evidence() if problems else [])


def case_gil_single(ctx):
    """One thread alone never drops the GIL: it still shows as holding ~100 %."""
    need_take_gil(ctx)
    target, tids = workload(ctx, "single")
    run = gil(ctx, target, 2, 1)
    hold = run.share(tids["single"], "hold_ns")
    if hold < 90:
        check(["the only busy thread holds %.1f %%, expected > 90 (held since tracing began)"
               % hold] + run.evidence())


def frame_problems(what, frame, name, lines):
    if frame is None:
        return ["%s: missing" % what]
    if frame["name"] != name or os.path.basename(frame["file"]) != "gilstat.py" \
            or frame["line"] not in lines:
        return ["%s is %s (%s:%s), expected %s (gilstat.py:%s)" % (
            what, frame["name"], os.path.basename(frame["file"]), frame["line"], name,
            "/".join(map(str, lines)))]
    return []


def case_gil_threshold(ctx):
    """--hold-ms/--threshold-ms: the 50 ms holds of a pure-Python loop, with its stack."""
    need_take_gil(ctx)
    marks = markers(WORKLOADS / "gilstat.py")
    target, tids = workload(ctx, "hold")
    hog, waiter = tids["hog"], tids["waiter"]
    run = gil(ctx, target, 2.5, 1, ["--hold-ms", 30, "--wait-ms", 30], name="gil-json")
    holds = [e for e in run.events if e["type"] == "hold" and e["tid"] == hog]
    waits = [e for e in run.events if e["type"] == "wait" and e["tid"] == waiter]
    problems = []
    if len(holds) < 10:
        problems.append("%d long holds of the hog thread in %.1f s, expected ~14/s"
                        % (len(holds), run.seconds()))
    for e in holds[:5]:
        if not 30e6 <= e["duration_ns"] <= 500e6:
            problems.append("a long hold lasted %.1f ms, expected 50" % (e["duration_ns"] / 1e6))
        stack = e["stack"] + [None, None]
        problems += frame_problems("innermost frame of a long hold", stack[0], "hold_50ms",
                                   marks["hold-end"])
        problems += frame_problems("its caller", stack[1], "hog_main", marks["hog-call"])
    if not waits:
        problems.append("no long wait of the thread waiting while the hog holds the GIL")
    for e in waits[:3]:
        problems += frame_problems("innermost frame of a long wait", (e["stack"] + [None])[0],
                                   "waiter", marks["wait"])
    others = [e for e in run.events if e["type"] == "hold" and e["tid"] != hog]
    if others:
        problems.append("%d long holds reported for threads other than the hog" % len(others))
    if problems:
        check(problems + ["event: " + json.dumps(e)[:300] for e in (holds + waits)[:2]] +
              run.evidence())

    # the same as text lines
    res = pybpf(["gil", "-p", target.pid, "--threshold-ms", 30, "-d", 1.5], ctx.dir, 30,
                name="gil-text")
    want = "hold_50ms (gilstat.py:%d)" % marks["hold-end"][0]
    lines = [l for l in res.out.splitlines() if " long hold " in l and "tid %d " % hog in l]
    if res.rc != 0 or not lines or not lines[0].rstrip().endswith(want):
        check(["text mode: expected lines '... long hold NN ms  tid %d (hog): ...;%s', "
               "status %s" % (hog, want, res.rc)] + res.out.splitlines()[:6] + res.describe(3))


def case_gil_launch(ctx):
    """gil -- CMD traces the command from its start and exits with its status."""
    need_take_gil(ctx)
    res = pybpf(["gil", "--json", "-i", 1, "--", ctx.interp.path, WORKLOADS / "gilstat.py",
                 "sleep", 2], ctx.dir, 40, name="gil-launch")
    problems = []
    if res.rc != 0:
        problems.append("exit status %s, expected 0 (the command's)" % res.rc)
    run = GilRun(res, only_json=True)
    names = {t["name"] for iv in run.intervals for t in iv["threads"] if t["takes"] > 0}
    # the fallback probes see the sleeper's takes only: the spinner's are forced switches
    want = {"sleeper"} if run.fallback() else {"sleeper", "spinner"}
    if not want <= names:
        problems.append("threads seen taking the GIL: %s, expected %s"
                        % (sorted(names), " and ".join(sorted(want))))
    res7 = pybpf(["gil", "--", ctx.interp.path, WORKLOADS / "exitcode.py", 1], ctx.dir, 40,
                 name="gil-exitcode")
    if res7.rc != 7:
        problems.append("gil -- exitcode.py: exit status %s, expected 7" % res7.rc)
    check(problems + run.evidence() + res7.describe(3) if problems else [])


def case_gil_probes(ctx):
    """take_gil/drop_gil where the symbols exist; else the one-line fallback
    notice; on 2.7, which has neither, one line saying the GIL is not traced."""
    target, _ = workload(ctx, "sleep")
    if ctx.interp.version < (3,):
        problems = []
        expect_untraced(ctx, problems, pybpf(["gil", "-p", target.pid, "-d", 1], ctx.dir, 20))
        expect_untraced(ctx, problems, pybpf(["record", "-p", target.pid, "-d", 1, "--gil-wait",
                                              "-o", ctx.dir / "x.txt"], ctx.dir, 20))
        check(problems)
        return
    run = gil(ctx, target, 1.5, 1)
    notes = [l for l in run.res.err_lines() if FALLBACK_LINE in l]
    stray = [l for l in run.res.err_lines() if not l.startswith("pybpf:")]
    problems = []
    if stray:
        problems.append("stderr lines not starting with 'pybpf:': %r" % stray[:2])
    pyenv = ctx.interp.path.startswith("/root/.pyenv/")
    if run.fallback():
        if pyenv:
            problems.append("%s has take_gil/drop_gil in .symtab, but the fallback was used"
                            % ctx.interp.path)
        if len(notes) != 1:
            problems.append("fallback used: expected one stderr line saying what is missing "
                            "(%r), got %d" % (FALLBACK_LINE, len(notes)))
    elif notes:
        problems.append("take_gil/drop_gil traced, yet the fallback notice was printed")
    ctx.note("probes: %s" % run.intervals[0].get("probes"))
    check(problems + run.evidence() if problems else [])


def expect_error(problems, res, mention=None):
    lines = res.err_lines()
    if res.rc == 0 or len(lines) != 1 or not lines[0].startswith("pybpf:") or \
            (mention and mention not in lines[0]):
        problems.append("pybpf %s: status %s, stderr %r (expected non-zero and one line "
                        "'pybpf: ...'%s)" % (" ".join(res.argv[1:]), res.rc, lines[:3],
                                              " naming %r" % mention if mention else ""))


def case_gil_errors(ctx):
    """Dead pid, non-Python process, bad options: one 'pybpf:' line, non-zero status."""
    problems = []
    p = subprocess.Popen(["true"])
    p.wait()
    if not os.path.exists("/proc/%d" % p.pid):
        expect_error(problems, pybpf(["gil", "-p", p.pid, "-d", 1], ctx.dir, 20),
                     "does not exist")
    sleeper = Proc(["sleep", "100"], ctx.dir, "sleep")
    time.sleep(0.2)
    expect_error(problems, pybpf(["gil", "-p", sleeper.pid, "-d", 1], ctx.dir, 20),
                 "not a Python process")
    for args in (["gil"], ["gil", "-p", 1, "-i", 0], ["gil", "-p", 1, "-d", "x"],
                 ["gil", "-p", 1, "--threshold-ms", "-5"], ["gil", "-p", 1, "--wait-ms", "ms"],
                 ["gil", "-p", 1, "--max-depth", 0], ["gil", "-p", "nopid"]):
        expect_error(problems, pybpf(args, ctx.dir, 20))
    res = pybpf(["gil", "--help"], ctx.dir, 20)
    for word in ("--threshold-ms", "microseconds", "PyEval_RestoreThread", "no GIL"):
        if word not in res.out:
            problems.append("gil --help does not mention %r" % word)
    check(problems)
