# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_dumpconsistency.py - `pybpf dump --locals` of a busy request loop
(tests/workloads/busyloop.py) never shows another frame's values or a torn
stack: each thread is either consistent (its whole chain, down to the
root `<module>`) or marked partial ("consistent": false in JSON, a
`(changing, partial)` line in text); with --blocking every dump is exact
and the target runs on afterwards.

Judged on the main thread, whose every frame and local value is known:
a frame of the workload may show a known local only with its value, a
consistent stack is a chain of known calls ending in `<module>`.
"""
import json
import os
import time

from harness import Fail, Skip, pybpf
from casekit import WORKLOAD_MAX, dump_json, start

FILE = "busyloop.py"
DUMPS = 30
TEXT_DUMPS = 10
BLOCKING_DUMPS = 10
PARTIAL_MARK = "    (changing, partial)"
# function (unqualified) -> {local: repr}; 2.7 shows its byte strings unprefixed
KNOWN = {
    "handle": {"kind": "'page'"},
    "render": {"n": "500", "title": "'busyloop'"},
    "fill": {"count": "500", "step": "7"},
    "parse": {"method": "b'GET'"},
}
# callee -> its only caller, for the workload's frames
CALLER = {"main": "<module>", "serve": "main", "parse": "serve", "handle": "serve",
          "render": "handle", "fill": "render"}


def short(name):
    return name.rsplit(".", 1)[-1]


def dump(ctx, target, extra, name):
    threads, res = dump_json(ctx, target, ["--locals"] + list(extra), name)
    main = [t for t in threads if t.get("os_thread_id") == target.pid]
    if len(main) != 1:
        raise Fail("%s: main thread %d not dumped once" % (name, target.pid),
                   res.out.splitlines()[:20])
    return main[0]


def judge(thread, py2, name, problems):
    """Append what is wrong with one dump of the main thread; 1 if partial."""
    frames = thread.get("frames", [])
    names = [short(f.get("name", "")) for f in frames]
    where = "%s: %s" % (name, " <- ".join(names))
    for f in frames:
        if f.get("short_filename") != FILE:
            continue
        want = KNOWN.get(short(f.get("name", "")), {})
        for var in f.get("locals") or []:
            expect = want.get(var.get("name"))
            if py2 and expect and expect.startswith("b'"):
                expect = expect[1:]
            if expect is not None and var.get("repr") != expect:
                problems.append("%s: %s shows %s = %s, expected %s"
                                % (where, f["name"], var["name"], var.get("repr"), expect))
    if thread.get("consistent", True) is False:
        return 1
    chain_ok = bool(frames) and names[-1] == "<module>" and \
        all(f.get("short_filename") == FILE for f in frames)
    for callee, caller in zip(names, names[1:]):
        chain_ok = chain_ok and CALLER.get(callee) == caller
    if not chain_ok:
        problems.append("%s: torn stack not marked partial" % where)
    return 0


def text_thread(ctx, target, name):
    """The main thread of a text dump --locals as a thread of the JSON
    shape judge() reads: frames with their shown locals, "consistent"
    False when the stack carries the partial mark."""
    res = pybpf(["dump", "-p", target.pid, "--locals"], ctx.dir, 30, name=name)
    if res.rc != 0:
        raise Fail("%s exited with status %s" % (name, res.rc), res.describe())
    thread, frames, inside = {"consistent": True}, [], False
    for line in res.out.splitlines():
        if line.startswith("Thread "):
            inside = line.startswith("Thread %d " % target.pid)
            continue
        if not inside:
            continue
        if line == PARTIAL_MARK:
            thread["consistent"] = False
        elif line.startswith("    ") and not line.startswith("     ") and " (" in line:
            fname, where = line.strip().rsplit(" (", 1)
            frames.append({"name": fname, "short_filename": where.split(":")[0].rstrip(")"),
                           "locals": []})
        elif line.startswith("            ") and " = " in line and frames:
            var, repr_ = line.strip().split(" = ", 1)
            frames[-1]["locals"].append({"name": var, "repr": repr_})
    if not frames:
        raise Fail("%s: main thread %d has no frames" % (name, target.pid),
                   res.out.splitlines()[:20])
    thread["frames"] = frames
    return thread


def progress(path):
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def stopped(pid):
    """Tasks of pid in state T or t (stopped, traced)."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state in "Tt":
            out.append("%s:%s" % (tid, state))
    return out


def case_dump_consistency(ctx):
    """Repeated dump --locals of a busy loop: no wrong local, no unmarked
    torn stack; --blocking: complete, exact, target resumed."""
    prog = ctx.dir / "progress.txt"
    target = start(ctx, FILE, WORKLOAD_MAX, prog)
    py2 = ctx.interp.version < (3,)
    problems, partial = [], 0
    for i in range(DUMPS):
        partial += judge(dump(ctx, target, [], "dump-%d" % i), py2, "dump-%d" % i, problems)
    for i in range(TEXT_DUMPS):
        name = "text-%d" % i
        partial += judge(text_thread(ctx, target, name), py2, name, problems)
    ctx.note("%d dumps, %d partial, %d problems" % (DUMPS + TEXT_DUMPS, partial, len(problems)))
    if partial == DUMPS + TEXT_DUMPS:
        problems.append("every one of %d dumps was partial" % partial)
    for i in range(BLOCKING_DUMPS):
        name = "blocking-%d" % i
        t = dump(ctx, target, ["--blocking"], name)
        if judge(t, py2, name, problems):
            problems.append("%s: a --blocking dump is marked partial" % name)
        elif not t.get("frames") or short(t["frames"][-1].get("name", "")) != "<module>":
            problems.append("%s: incomplete stack" % name)
        for f in t.get("frames", []):
            if f.get("locals_note"):
                problems.append("%s: %s: %s" % (name, f.get("name"), f["locals_note"]))
        halted = stopped(target.pid)
        if halted:
            problems.append("%s: target left stopped: %s" % (name, ", ".join(halted)))
    before = progress(prog)
    time.sleep(0.5)
    after = progress(prog)
    if after <= before:
        problems.append("target made no progress after the dumps (%d -> %d)" % (before, after))
    if target.p.poll() is not None:
        problems.append("target died (status %s)" % target.p.returncode)
    if problems:
        raise Fail(problems[0], problems[1:20])
