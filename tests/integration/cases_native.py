# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_native.py - `pybpf dump --native`: every thread's merged stack,
Python frames with the C frames around them and the kernel frames on top
(tests/workloads/native.py: C calling Python calling C).

Judged the way a user reads it, innermost first: on the main thread
[kernel] sleep path -> time_sleep (or libc's sleep call) -> compare (the Python callback) -> qsort
(libc) -> sort_with_qsort -> main; the eval loop never shown raw; every
thread of the process present; the target running again afterwards."""
import json
import os
import re
import time

from harness import Fail, pybpf
from casekit import WORKLOAD_MAX, start
from cases_dump import native_ids

FILE = "native.py"
# the eval loop itself: replaced by the Python frames it runs, never shown
EVAL_RE = re.compile(r"^(_PyEval_EvalFrameDefault|PyEval_EvalFrameEx)(\.|$)")
SORT_RE = re.compile(r"qsort|msort")
SLEEP_C = ("time_sleep", "clock_nanosleep", "__clock_nanosleep", "select", "__select",
           "nanosleep", "pysleep")
# where a thread in time.sleep waits (select() up to 3.10, clock_nanosleep after)
SLEEP_KERNEL = ("hrtimer_nanosleep", "do_nanosleep", "common_nsleep", "clock_nanosleep",
                "futex_wait", "do_select", "poll_schedule_timeout", "core_sys_select",
                "__x64_sys_pselect6", "__x64_sys_select")


def stopped(pid):
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            if f.read().rsplit(")", 1)[1].split()[0] in "Tt":
                out.append(tid)
    return out


def first(frames, kind, pred):
    for i, f in enumerate(frames):
        if f.get("kind") == kind and pred(f.get("name", "")):
            return i
    return None


def short(name):
    return name.rsplit(".", 1)[-1]


def judge_main(frames, problems):
    """The merged order of C calling Python calling C, innermost first."""
    names = ["%s:%s" % (f.get("kind"), f.get("name")) for f in frames]
    at = {
        "compare": first(frames, "python", lambda n: short(n) == "compare"),
        "qsort": first(frames, "native", lambda n: SORT_RE.search(n) is not None),
        "sort_with_qsort": first(frames, "python", lambda n: short(n) == "sort_with_qsort"),
        "main": first(frames, "python", lambda n: short(n) == "main"),
        # time.sleep's C: time_sleep (stripped builds: only libc's call)
        "sleep_c": first(frames, "native", lambda n: n.startswith(SLEEP_C)),
    }
    missing = [k for k, v in at.items() if v is None]
    if missing:
        problems.append("main thread: no %s frame: %s" % (", ".join(missing), names))
        return
    order = ["sleep_c", "compare", "qsort", "sort_with_qsort", "main"]
    idx = [at[k] for k in order]
    if idx != sorted(idx):
        problems.append("main thread: expected %s innermost first, got positions %s: %s"
                        % (" -> ".join(order), idx, names))
    if any(f.get("unknown") for f in frames):
        problems.append("main thread: a frame is marked unknown: %s" % names)


def judge_kernel(name, t, problems, notes):
    frames = t["frames"]
    if t.get("kernel_note"):
        notes.append("%s: %s (kernel frames not judged)" % (name, t["kernel_note"]))
        return
    kernel = [i for i, f in enumerate(frames) if f.get("kind") == "kernel"]
    if not any(frames[i]["name"].startswith(SLEEP_KERNEL) for i in kernel):
        problems.append("%s: no kernel sleep frame (%s) in %s"
                        % (name, "/".join(SLEEP_KERNEL[:3]),
                           [f["name"] for f in frames if f.get("kind") == "kernel"]))
    user = [i for i, f in enumerate(frames) if f.get("kind") != "kernel"]
    if kernel and user and max(kernel) > min(user):
        problems.append("%s: kernel frames should come first (innermost)" % name)


def judge_json(ctx, target, ids, problems, notes):
    res = pybpf(["dump", "--native", "--json", "-p", target.pid], ctx.dir, 60, name="native-json")
    if res.rc != 0:
        raise Fail("dump --native --json exited with status %s" % res.rc, res.describe())
    threads = {t["os_thread_id"]: t for t in json.loads(res.out)}
    for name, tid in sorted(ids.items()):
        if tid not in threads:
            problems.append("thread %s (%d) missing" % (name, tid))
    for tid in os.listdir("/proc/%d/task" % target.pid):
        if int(tid) not in threads:
            problems.append("task %s of the process missing from the dump" % tid)
    for tid, t in threads.items():
        for f in t["frames"]:
            if f.get("kind") not in ("python", "native", "kernel"):
                problems.append("thread %d: frame without a kind: %r" % (tid, f))
            elif f["kind"] != "python" and EVAL_RE.match(f.get("name", "")):
                problems.append("thread %d: the eval loop shown raw: %s" % (tid, f["name"]))
    main = threads.get(ids.get("MainThread"))
    if main:
        judge_main(main["frames"], problems)
        judge_kernel("main thread", main, problems, notes)
    napper = threads.get(ids.get("napper"))
    if napper:
        judge_kernel("napper", napper, problems, notes)
    zipper = threads.get(ids.get("zipper"))
    if zipper:
        z = zipper["frames"]
        c = first(z, "native", lambda n: n in ("deflate", "zlib_compress") or "compress" in n)
        py = first(z, "python", lambda n: short(n) == "do_zlib")
        if py is None:
            problems.append("zipper: no do_zlib frame")
        elif c is not None and c > py:
            problems.append("zipper: %s below do_zlib" % z[c]["name"])
        notes.append("zipper: %s" % ("in C (%s)" % z[c]["name"] if c is not None
                                     else "between C calls"))


def judge_text(ctx, target, problems):
    res = pybpf(["dump", "--native", "-p", target.pid], ctx.dir, 60, name="native-text")
    if res.rc != 0:
        raise Fail("dump --native exited with status %s" % res.rc, res.describe())
    lines = res.out.splitlines()
    if not any(re.match(r"^    compare \(native\.py:\d+\)$", l) for l in lines):
        problems.append("text: no 'compare (native.py:N)' line")
    if not any(re.match(r"^    \S*(qsort|msort)\S* \(libc[^)]*\)$", l) for l in lines):
        problems.append("text: no 'qsort... (libc...)' line")
    if any(EVAL_RE.match(l.strip()) for l in lines):
        problems.append("text: the eval loop shown raw")


def case_native(ctx):
    """dump --native of C calling Python calling C: merged order, kernel
    sleep frames, every thread, the target resumed and running."""
    target = start(ctx, FILE, WORKLOAD_MAX)
    ids = native_ids(target)
    problems, notes = [], []
    judge_json(ctx, target, ids, problems, notes)
    judge_text(ctx, target, problems)
    halted = stopped(target.pid)
    if halted:
        problems.append("target left stopped: tasks %s" % ", ".join(halted))
    with open("/proc/%d/task/%d/stat" % (target.pid, ids.get("zipper", target.pid))) as f:
        before = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
    time.sleep(0.5)
    with open("/proc/%d/task/%d/stat" % (target.pid, ids.get("zipper", target.pid))) as f:
        after = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
    if after <= before:
        problems.append("target's zipper thread made no progress after the dumps")
    if target.p.poll() is not None:
        problems.append("target died (status %s)" % target.p.returncode)
    for n in notes:
        ctx.note(n)
    if problems:
        raise Fail(problems[0], problems[1:20])


def case_native_cthread(ctx):
    """A thread created in C (tests/workloads/cthread.py: no Python thread
    state between its calls into Python) appears with its native stack:
    its C function loop() over libc's start_thread, unwound to the end, any
    Python frames above it."""
    from cases_cthread import build_helper
    lib = build_helper(ctx)
    target = start(ctx, "cthread.py", 30, ctx.dir / "truth.json", lib)
    res = pybpf(["dump", "--native", "--json", "-p", target.pid], ctx.dir, 60,
                name="native-cthread")
    if res.rc != 0:
        raise Fail("dump --native --json exited with status %s" % res.rc, res.describe())
    threads = json.loads(res.out)
    problems = []
    others = [t for t in threads if t["os_thread_id"] != target.pid]
    if not others:
        raise Fail("the C thread is missing", [str(t["os_thread_id"]) for t in threads])
    frames = others[0]["frames"]
    names = ["%s:%s" % (f.get("kind"), f.get("name")) for f in frames]
    loop = first(frames, "native", lambda n: n == "loop")
    # start_thread below it: unnamed in a libc without .symtab (Debian's roots)
    if loop is None or loop == len(frames) - 1 or not others[0].get("native_complete"):
        problems.append("C thread: expected loop (cthread.so) over libc's thread start, "
                        "unwound to the end: %s" % names)
    py = [i for i, f in enumerate(frames) if f.get("kind") == "python"]
    if loop is not None and py and max(py) > loop:
        problems.append("C thread: a Python frame below its C caller loop(): %s" % names)
    ctx.note("C thread %s" % ("in Python" if py else "in C"))
    if stopped(target.pid):
        problems.append("target left stopped")
    if problems:
        raise Fail(problems[0], problems[1:20])
