# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_dump.py - `pybpf dump` (every thread, its threading name, state and
stack, --json, --tid) and `record --idle` (off-CPU time at the line that
blocked)."""
import json
import re

from harness import WORKLOADS, Fail, Skip, markers, pybpf
from casekit import WORKLOAD_MAX, collapsed, start
import profiles as P

# thread -> (leaf function, marker tag, expected state)
STATES = {
    "busy": ("busy", "busy", "active"),
    "sleeper": ("sleeper", "sleep", "idle"),
    "locked": ("locked", "lock", "idle"),
    "selector": ("selector", "select", "idle"),
}
THREAD_RE = re.compile(r'^Thread (\d+) \(([a-z+]+)\): "(.*)"$')
FRAME_RE = re.compile(r"^    (\S.*) \((.*?)(?::(\d+))?\)$")


def native_ids(target):
    """{thread name: native id} from the workload's "thread NAME TID" lines."""
    ids = {}
    for line in target.out().splitlines():
        if line.startswith("thread "):
            _, name, tid = line.split()
            ids[name] = int(tid)
    return ids


def parse_dump(text):
    """{tid: (state, [(function, file, line)...], name)} from dump's text output."""
    threads, cur = {}, None
    for line in text.splitlines():
        m = THREAD_RE.match(line)
        if m:
            cur = int(m.group(1))
            threads[cur] = (m.group(2), [], m.group(3))
            continue
        m = FRAME_RE.match(line)
        if m and cur is not None:
            threads[cur][1].append((m.group(1), m.group(2), int(m.group(3) or 0)))
    return threads


def case_dump(ctx):
    """Every thread appears with its threading name (the main thread as
    "MainThread"), its state, leaf function and marked line."""
    marks = markers(WORKLOADS / "states.py")
    target = start(ctx, "states.py", WORKLOAD_MAX)
    ids = native_ids(target)
    res = pybpf(["dump", "-p", target.pid], ctx.dir, 30, name="dump")
    if res.rc != 0:
        raise Fail("dump exited with status %s" % res.rc, res.describe())
    header = res.out.splitlines()[:2]
    problems = []
    if not header or not header[0].startswith("Process %d: " % target.pid):
        problems.append("first line should be 'Process %d: <cmdline>': %r" % (target.pid, header))
    if len(header) < 2 or not re.match(r"^Python v%d\.%d\.\d+ \(/" % ctx.interp.version[:2],
                                       header[1]):
        problems.append("second line should be 'Python vX.Y.Z (<path>)': %r" % header[1:2])
    elif header[1].endswith(", free-threaded") != ctx.interp.free_threaded:
        problems.append("second line should end in ', free-threaded' exactly on free-threaded "
                        "builds: %r" % header[1])
    threads = parse_dump(res.out)
    if target.pid not in threads:
        problems.append("main thread %d missing" % target.pid)
    elif threads[target.pid][2] != "MainThread":
        problems.append('main thread %d is named "%s", expected "MainThread"'
                        % (target.pid, threads[target.pid][2]))
    for name, (func, tag, state) in STATES.items():
        tid = ids.get(name)
        if tid not in threads:
            problems.append("thread %s (%s) missing" % (name, tid))
            continue
        got_state, frames, got_name = threads[tid]
        if got_name != name:
            problems.append('thread %s (%d) is named "%s", expected its threading name "%s"'
                            % (name, tid, got_name, name))
        if not frames:
            problems.append("thread %s has no frames" % name)
            continue
        leaf = frames[0]
        if not leaf[0].endswith(func) or leaf[1] != "states.py" or leaf[2] not in marks[tag]:
            problems.append("thread %s: innermost frame %s (%s:%s), expected %s (states.py:%s)"
                            % (name, leaf[0], leaf[1], leaf[2], func, marks[tag]))
        # a spinning thread can be caught between time slices: accept idle
        # for it only if the other checks hold; blocked ones must be idle
        if state == "idle" and got_state != "idle":
            problems.append("thread %s should be idle, dump says %s" % (name, got_state))
        if state == "active" and not got_state.startswith("active") and len(ids) > 2:
            ctx.note("busy thread sampled between time slices: %s" % got_state)
        if not any(f[0].endswith("_bootstrap") for f in frames):
            problems.append("thread %s: root frames missing (no _bootstrap)" % name)
    if problems:
        raise Fail(problems[0], problems[1:] + res.out.splitlines()[:60])


def case_dump_json(ctx):
    """--json is valid JSON with the documented fields; --tid selects."""
    target = start(ctx, "states.py", WORKLOAD_MAX)
    ids = native_ids(target)
    res = pybpf(["dump", "-p", target.pid, "--json"], ctx.dir, 30, name="dump-json")
    if res.rc != 0:
        raise Fail("dump --json exited with status %s" % res.rc, res.describe())
    try:
        data = json.loads(res.out)
    except ValueError as e:
        raise Fail("dump --json is not JSON: %s" % e, res.out.splitlines()[:20])
    problems = []
    keys = {"pid", "thread_id", "thread_name", "os_thread_id", "active", "owns_gil", "frames"}
    fkeys = {"name", "filename", "short_filename", "module", "line", "locals"}
    for t in data:
        if not keys <= set(t):
            problems.append("thread object lacks %s" % sorted(keys - set(t)))
        for f in t.get("frames", []):
            if not fkeys <= set(f):
                problems.append("frame object lacks %s" % sorted(fkeys - set(f)))
                break
    tids = {t.get("os_thread_id") for t in data}
    for name in STATES:
        if ids.get(name) not in tids:
            problems.append("thread %s (%s) missing from JSON" % (name, ids.get(name)))
    sel = pybpf(["dump", "-p", target.pid, "--json", "--tid", ids["sleeper"]], ctx.dir, 30,
                name="dump-tid")
    try:
        only = json.loads(sel.out)
        if [t["os_thread_id"] for t in only] != [ids["sleeper"]]:
            problems.append("--tid %d gave threads %s" % (ids["sleeper"],
                                                          [t["os_thread_id"] for t in only]))
    except ValueError as e:
        problems.append("dump --tid output is not JSON: %s" % e)
    if problems:
        raise Fail(problems[0], problems[1:])


def case_dump_unbound(ctx):
    """A thread state caught between CPython's stores of thread_id and
    native_thread_id (tests/workloads/unbound.py forges it by zeroing the
    latter) still belongs to its kernel thread: `dump` and `dump --native
    --json` show thread "unbound" under its own id, asleep in waiting(),
    and no thread under id 0 (the CI failure of native-cthread: the C
    thread shown twice, once as "thread 0" without frames)."""
    marks = markers(WORKLOADS / "unbound.py")
    target = start(ctx, "unbound.py", WORKLOAD_MAX)
    tid = native_ids(target)["unbound"]
    forged = [l.split()[1] for l in target.out().splitlines() if l.startswith("forged ")]
    if ctx.interp.version >= (3, 11) and forged[:1] in ([], ["none"]):
        raise Fail("unbound.py found no native_thread_id to zero: nothing was tested",
                   target.out().splitlines()[:5])
    ctx.note("native_thread_id zeroed at offset %s" % (forged or ["?"])[0])
    problems = []
    res = pybpf(["dump", "-p", target.pid], ctx.dir, 30, name="dump")
    threads = parse_dump(res.out)
    if res.rc != 0:
        problems.append("dump exited with status %s" % res.rc)
    elif 0 in threads:
        problems.append("dump shows a thread 0: the unbound state was not given its thread")
    if tid not in threads:
        problems.append("dump: thread unbound (%d) missing" % tid)
    else:
        _, frames, name = threads[tid]
        if name != "unbound" or not frames or frames[0][0].rsplit(".", 1)[-1] != "waiting" \
                or frames[0][2] not in marks["waiting"]:
            problems.append("dump: thread %d is %r with leaf %s, expected \"unbound\" asleep "
                            "in waiting (unbound.py:%s)" % (tid, name, frames[:1],
                                                           marks["waiting"]))
    nat = pybpf(["dump", "--native", "--json", "-p", target.pid], ctx.dir, 60,
                name="dump-native")
    try:
        data = json.loads(nat.out) if nat.rc == 0 else []
    except ValueError as e:
        data = []
        problems.append("dump --native --json is not JSON: %s" % e)
    if nat.rc != 0:
        problems.append("dump --native --json exited with status %s" % nat.rc)
    ids = [t.get("os_thread_id") for t in data]
    if 0 in ids:
        problems.append("dump --native shows a thread 0: %s" % ids)
    if ids.count(tid) != 1:
        problems.append("dump --native shows thread unbound (%d) %d times: %s"
                        % (tid, ids.count(tid), ids))
    else:
        frames = [t for t in data if t["os_thread_id"] == tid][0]["frames"]
        py = [f.get("name", "").rsplit(".", 1)[-1] for f in frames if f.get("kind") == "python"
              or "filename" in f]
        if "waiting" not in py:
            problems.append("dump --native: thread unbound has no waiting() frame: %s" % py)
    if problems:
        raise Fail(problems[0], problems[1:] + res.out.splitlines()[:40])


def case_idle(ctx):
    """--idle: a thread asleep 80% of the time has ~80% of its wall time at
    the sleep line, marked <idle> (within 10 points)."""
    marks = markers(WORKLOADS / "states.py")
    target = start(ctx, "states.py", WORKLOAD_MAX, "dozer")
    ids = native_ids(target)
    stacks, res = collapsed(ctx, target, 4, extra=["--idle", "--tid", ids["dozer"]],
                            rate=100)
    total = P.total(stacks)
    idle = sum(s.count for s in stacks if s.frames[-1].label == "<idle>"
               and len(s.frames) > 1 and s.frames[-2].name.endswith("dozer")
               and s.frames[-2].line in marks["doze"])
    problems = []
    if total < 200:
        problems.append("only %d samples for 4 s of wall time at 100 Hz" % total)
    share = 100.0 * idle / max(total, 1)
    if abs(share - 80) > 10:
        problems.append("%.1f%% of the dozer thread's time idle at the sleep line "
                        "(states.py:%s), expected 80%% +- 10" % (share, marks["doze"]))
    plain, _ = collapsed(ctx, target, 2, extra=["--tid", ids["dozer"]], rate=100,
                         name="no-idle")
    if any(s.frames[-1].label == "<idle>" for s in plain):
        problems.append("<idle> frames without --idle")
    if problems:
        raise Fail(problems[0], problems[1:] + P.evidence(stacks, 8))


def case_subprocesses(ctx):
    """-s: both multiprocessing.Pool(2) workers appear under their own
    'process PID: cmdline' root, with pool_work at its marked lines."""
    marks = markers(WORKLOADS / "pool.py")
    target = start(ctx, "pool.py", WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 4, extra=["-s"], rate=100)
    per_pid = {}
    for s in stacks:
        root = s.frames[0].label
        m = re.match(r"^process (\d+): ", root)
        if not m:
            raise Fail("stack without a process root frame: %s" % root, P.evidence(stacks, 5))
        if s.frames[-1].name == "pool_work" and s.frames[-1].line in marks["pool"]:
            per_pid[int(m.group(1))] = per_pid.get(int(m.group(1)), 0) + s.count
    workers = {pid: n for pid, n in per_pid.items() if pid != target.pid}
    if len(workers) < 2 or min(workers.values()) < 20:
        raise Fail("pool_work samples per worker process: %s (expected 2 workers, "
                   ">= 20 each)" % workers, P.evidence(stacks, 8))
    res = pybpf(["dump", "-p", target.pid, "-s"], ctx.dir, 30, name="dump-s")
    procs = re.findall(r"^Process (\d+): ", res.out, re.M)
    if len(procs) < 3:
        raise Fail("dump -s shows processes %s, expected the parent and 2 workers" % procs,
                   res.out.splitlines()[:40])


def case_gil_filter(ctx):
    """record --gil keeps only samples of the thread holding the GIL: the
    hasher (sha256 with the GIL released) drops out, the spinner stays."""
    target = start(ctx, "gil.py", WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 3, extra=["--gil"], rate=100)
    leaves = P.leaf_names(stacks)
    total = P.total(stacks)
    hashing = sum(s.count for s in stacks if any(f.name == "hash_loop" for f in s.frames))
    problems = []
    if leaves.get("py_spin", 0) < 0.8 * total:
        problems.append("py_spin (the GIL holder) has %d of %d --gil samples"
                        % (leaves.get("py_spin", 0), total))
    if hashing > 0.05 * total:
        problems.append("%d of %d --gil samples are in hash_loop, which hashes with the "
                        "GIL released" % (hashing, total))
    if problems:
        raise Fail(problems[0], problems[1:] + P.evidence(stacks, 6))


def case_gil_wait(ctx):
    """record --gil-wait: two threads contending for the GIL each wait about
    half the time; the waits (leaf <GIL wait>) sit in the spin loop.  A
    stripped interpreter (no take_gil symbol) says what it cannot see."""
    if ctx.interp.version < (3,):
        raise Skip("CPython 2.7's GIL is a plain lock without take_gil/drop_gil: no GIL "
                   "waits to trace (case gil-probes checks that record --gil-wait says so)")
    marks = markers(WORKLOADS / "gilstat.py")
    spin = marks["spin"] + [marks["spin"][0] + 1]  # the loop and its body
    target = start(ctx, "gilstat.py", "busy", WORKLOAD_MAX)
    out = ctx.dir / "gil-wait.txt"
    res = pybpf(["record", "-p", target.pid, "-o", out, "-f", "collapsed", "-d", 3, "-r", 100,
                 "--gil-wait"], ctx.dir, 40, name="gil-wait")
    if res.rc != 0:
        raise Fail("record --gil-wait exited with %s" % res.rc, res.describe())
    if "missing:" in res.err:
        ctx.note("fallback probes: %s" % res.err_lines()[:1])
        return
    stacks = P.parse_collapsed(out.read_text())
    total = P.total(stacks)
    waits = [s for s in stacks if s.frames[-1].label == "<GIL wait>"]
    at_spin = sum(s.count for s in waits if len(s.frames) > 1
                  and s.frames[-2].name.endswith("spin") and s.frames[-2].line in spin)
    problems = []
    if len(waits) != len(stacks):
        problems.append("stacks without the <GIL wait> leaf under --gil-wait")
    # 2 threads x ~50 % waiting x 3 s x 100 Hz ~ 300 sample periods
    if not 150 <= total <= 450:
        problems.append("%d sample periods of GIL wait in 3 s for 2 contending threads, "
                        "expected ~300" % total)
    if at_spin < 0.8 * total:
        problems.append("only %d of %d wait periods in spin (gilstat.py:%s)"
                        % (at_spin, total, spin))
    if problems:
        raise Fail(problems[0], problems[1:] + P.evidence(stacks, 6) + res.describe(4))
