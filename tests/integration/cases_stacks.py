# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_stacks.py - cases about what the stacks say: names, lines, shapes,
CPU shares, threads, depth and code-object reuse."""
import importlib.util
import json
import os
import re
import signal

from harness import WORKLOADS, Fail, cpu_seconds, markers
from casekit import RATE, WORKLOAD_MAX, check, collapsed, counter, no_read_errors, qualified, start
import profiles as P


# ---- names, lines, options ---------------------------------------------------

NAMES = {  # tag -> (name before 3.11, co_qualname from 3.11)
    "compute": ("compute", "Worker.compute"),
    "deep": ("deep", "Outer.Inner.deep"),
    "naive": ("naïve_spin", "naïve_spin"),
    "closure": ("spin_closure", "make_spinner.<locals>.spin_closure"),
    "cjk": ("計算_spin", "計算_spin"),          # 2-byte-kind str object
    "astral": ("spin_\U00020000", "spin_\U00020000"),  # 4-byte-kind str object
}


def case_names(ctx):
    """Qualified and non-ASCII names, file basenames, marked lines, callers."""
    marks = markers(WORKLOADS / "names.py")
    target = start(ctx, "names.py", WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 3)
    problems = []
    expected = {tag: NAMES[tag][1 if qualified(ctx) else 0] for tag in NAMES}
    for tag, name in expected.items():
        problems += P.check_hot_function(stacks, name, "names.py", marks[tag], 30)
        problems += P.check_parent(stacks, name, "main", marks["call-" + tag])
        wrong = NAMES[tag][0 if qualified(ctx) else 1]
        if wrong != name and P.leaf_lines(stacks, wrong):
            problems.append("%r shows up as %r (names on %s should be %s)" % (
                name, wrong, ctx.interp.label,
                "co_qualname" if qualified(ctx) else "co_name"))
    roots = [s for s in stacks if s.frames[-1].name in expected.values()]
    bad_root = sum(s.count for s in roots if s.frames[0].name != "<module>"
                   or s.frames[0].file != "names.py"
                   or s.frames[0].line not in marks["module-call"])
    if bad_root:
        problems.append("%d samples of the hot functions lack the root frame "
                        "'<module> (names.py:%s)'" % (bad_root, marks["module-call"][0]))
    other = sum(c for n, c in P.leaf_names(stacks).items() if n not in expected.values())
    if other > 0.1 * P.total(stacks):
        problems.append("%d of %d samples in other leaf functions (expected < 10%%)"
                        % (other, P.total(stacks)))
    check(problems, stacks, res)


def case_options(ctx):
    """--nolineno, --full-filenames and -F change labels as documented."""
    marks = markers(WORKLOADS / "names.py")
    target = start(ctx, "names.py", WORKLOAD_MAX)
    name = NAMES["compute"][1 if qualified(ctx) else 0]
    problems = []
    evid = []

    stacks, res = collapsed(ctx, target, 2, ["--nolineno"], name="nolineno")
    with_line = [f.label for s in stacks for f in s.frames if f.kind == "python" and f.line]
    if with_line:
        problems.append("--nolineno: %d frames still carry a line, e.g. %r"
                        % (len(with_line), with_line[0]))
    if not any(f.label == "%s (names.py)" % name for s in stacks for f in s.frames):
        problems.append("--nolineno: no frame labelled %r" % ("%s (names.py)" % name))
        evid += P.evidence(stacks, 3, title="--nolineno stacks")

    stacks, res = collapsed(ctx, target, 2, ["--full-filenames"], name="fullnames")
    full = str(WORKLOADS / "names.py")
    files = {f.file for s in stacks for f in s.frames if f.kind == "python"}
    if full not in files:
        problems.append("--full-filenames: no frame with file %r; files seen: %s"
                        % (full, sorted(files)[:6]))
    if "names.py" in files:
        problems.append("--full-filenames: basenames still present")
    if problems and not evid:
        evid += P.evidence(stacks, 3, title="--full-filenames stacks")

    stacks, res = collapsed(ctx, target, 2, ["-F"], name="function")
    for tag in NAMES:
        fname = NAMES[tag][1 if qualified(ctx) else 0]
        labels = {f.label for s in stacks for f in s.frames if f.name == fname}
        lines = {f.line for s in stacks for f in s.frames if f.name == fname}
        if len(labels) != 1:
            problems.append("-F: %s should have exactly one label, got %s" % (fname, sorted(labels)))
        elif lines != {None} and max(lines) >= min(marks[tag]):
            problems.append("-F: %s labelled %s; expected no line or the function's first line "
                            "(before the loop at %s)" % (fname, labels.pop(), marks[tag]))
    if problems:
        raise Fail(problems[0], problems[1:] + evid + P.evidence(stacks, 4, title="-F stacks"))


SHAPES = {  # leaf -> its whole Python stack, root first
    "produce": ["<module>", "main", "consume", "produce"],
    "leaf_coro": ["<module>", "main", "drive", "outer_coro", "leaf_coro"],
    "inner_key": ["<module>", "main", "via_c", "outer_key", "inner_key"],
}


def case_shapes(ctx):
    """Generator and coroutine frames, and Python called from C twice nested,
    give the whole Python stack, in order, with no foreign frames."""
    marks = markers(WORKLOADS / "shapes.py")
    target = start(ctx, "shapes.py", WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 3)
    problems = []
    shapes = dict(SHAPES)
    if ctx.interp.version < (3, 5):  # async def is 3.5's (PEP 492): shapes.py skips it
        del shapes["leaf_coro"]
        ctx.note("no coroutines before 3.5: generator and C-called frames only")
    for leaf, chain in shapes.items():
        problems += P.check_hot_function(stacks, leaf, "shapes.py", marks[leaf], 50)
        mine = [s for s in stacks if s.frames[-1].name == leaf]
        n = sum(s.count for s in mine)
        ok = sum(s.count for s in mine if [f.name for f in s.frames] == chain)
        if n and ok < 0.9 * n:
            seen = P.hottest(mine, 3)
            problems.append("%s: %d of %d samples have the stack %s; most common: %s"
                            % (leaf, ok, n, ";".join(chain),
                               " | ".join(P.show_stack(x, 200) for x in seen)))
    check(problems, stacks, res)


CALLBACKS = {"key": "call-key", "mapped": "call-mapped"}  # leaf -> main's line tag


def wrong_shapes(ctx, stacks, right, shape):
    """A problem if any sample's stack is not right(stack): shape says
    what right means."""
    wrong = [s for s in stacks if not right(s)]
    n = sum(s.count for s in wrong)
    ctx.note("%d samples, %d in stacks of another shape" % (P.total(stacks), n))
    if not n:
        return []
    return ["%d of %d samples have a stack that is not %s at the marked lines: %s" % (
        n, P.total(stacks), shape, " | ".join(P.show_stack(x, 200) for x in P.hottest(wrong, 4)))]


def case_c_calls(ctx):
    """C calling Python 100 000 times a second (sorted's key, map's
    function): every sample is a whole, right stack -- <module>, main at
    its loop or call lines, then key() or mapped() at theirs -- and none
    is lost to a read error, including those that fall where the eval
    loop is being entered (3.11 and 3.12 point the thread state at the
    new activation before they fill it in)."""
    marks = markers(WORKLOADS / "callbacks.py")
    target = start(ctx, "callbacks.py", WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 3, rate=1000)
    problems = no_read_errors(res)
    main_lines = marks["loop"] + marks["call-key"] + marks["call-mapped"]
    for leaf, call in CALLBACKS.items():
        # a leaf's share is the interpreter's: on 3.8 key() (two
        # instructions; its call's set-up counts as main) gets 1-2 % of the
        # samples, 29 of ~2600 in one run beside another case
        problems += P.check_hot_function(stacks, leaf, "callbacks.py", marks[leaf], 10,
                                         min_frac=1.0)
        problems += P.check_parent(stacks, leaf, "main", marks[call], min_frac=1.0)

    def right(s):
        f = s.frames
        if len(f) < 2 or [x.kind for x in f] != ["python"] * len(f):
            return False
        if (f[0].name, f[0].file) != ("<module>", "callbacks.py") or \
                f[0].line not in marks["module"]:
            return False
        if (f[1].name, f[1].file) != ("main", "callbacks.py") or f[1].line not in main_lines:
            return False
        if len(f) == 2:
            return True
        return len(f) == 3 and f[2].name in CALLBACKS and f[2].line in marks[f[2].name]

    problems += wrong_shapes(ctx, stacks, right, "<module>;main[;key|mapped]")
    check(problems, stacks, res)


MIXED_CALLBACKS = ("key", "mapped", "pred", "red", "sub", "inner")


def case_c_calls_mixed(ctx):
    """C calling Python from many C functions (callbacks_mixed.py), so
    an activation being entered finds stale values, often garbage, where
    3.11 and 3.12 keep its frame pointer and its caller: no sample may be
    a read error or a made-up stack.  Every stack is <module>;main at
    their lines, then the workload's callbacks at theirs (inner calls
    mapped); a sample the walker cannot trust is left out and counted
    with -v, never shown."""
    path = WORKLOADS / "callbacks_mixed.py"
    marks = markers(path)
    target = start(ctx, "callbacks_mixed.py", WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 10, rate=1000)
    problems = no_read_errors(res)
    for leaf in MIXED_CALLBACKS:
        problems += P.check_hot_function(stacks, leaf, "callbacks_mixed.py", marks["cb"], 5,
                                         min_frac=1.0)

    def right(s):
        f = s.frames
        if len(f) < 2 or [x.kind for x in f] != ["python"] * len(f):
            return False
        if (f[0].name, f[0].file, f[0].line in marks["module"]) != \
                ("<module>", "callbacks_mixed.py", True):
            return False
        if (f[1].name, f[1].file, f[1].line in marks["main"]) != ("main", "callbacks_mixed.py", True):
            return False
        return len(f) <= 4 and all((x.file, x.name in MIXED_CALLBACKS, x.line in marks["cb"]) ==
                                   ("callbacks_mixed.py", True, True) for x in f[2:])

    problems += wrong_shapes(ctx, stacks, right, "<module>;main;<callbacks>")
    check(problems, stacks, res)


def case_c_calls_max_depth(ctx):
    """The same with --max-depth 1: the walk that reaches the limit before
    the innermost activation's entry goes on (recording nothing) to check
    it, so a sample whose frame pointer is stale is still walked from the
    caller, never shown as a bare <truncated> or another frame's leaf.
    Every stack is <truncated> and one callback or main at its lines, and
    -v counts samples walked from the caller (the check ran)."""
    path = WORKLOADS / "callbacks_mixed.py"
    marks = markers(path)
    target = start(ctx, "callbacks_mixed.py", WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 6, extra=["-v", "--max-depth", "1"], rate=1000)
    problems = no_read_errors(res)
    lines = set(marks["cb"]) | set(marks["main"])

    def right(s):
        f = s.frames
        return len(f) == 2 and f[0].kind == "truncated" and f[1].kind == "python" and \
            f[1].file == "callbacks_mixed.py" and f[1].line in lines and \
            f[1].name in MIXED_CALLBACKS + ("main",)

    problems += wrong_shapes(ctx, stacks, right, "<truncated>;<a callback or main>")
    walked = counter(res, "samples caught entering the eval loop, walked from the caller")
    ctx.note("walked from the caller: %s" % walked)
    if not walked:
        problems.append("no sample was walked from the caller (%s): the entry check never ran "
                        "past --max-depth, nothing was tested" % walked)
    check(problems, stacks, res)


# ---- CPU shares, threads ---------------------------------------------------------

SPLIT_SECONDS = 6


def case_split(ctx):
    """60/30/10 CPU split: profile shares within 5 points of thread_time truth."""
    _split(ctx)


def case_split_rotate(ctx):
    """The same at 2000 Hz while the count slot sets (8 slots,
    PYBPF_MAX_COUNTS=4) are rotated again and again (drained every 10 ms,
    most drains rotate): a slot then names another key than before, and
    its counts go to that key's stack, not to the one the slot named last
    time (a drain's memo of the slot)."""
    ctx.interp = next(i for i in ctx.all_interps if not i.missing and i.version >= (3, 8))
    res = _split(ctx, {"PYBPF_MAX_COUNTS": "4", "PYBPF_DRAIN_MS": "10"}, ["-v"], 2000)
    rot = [int(m.group(1)) for m in (re.match(r"pybpf:\s+count slot sets rotated (\d+) times",
                                              l) for l in res.err_lines()) if m]
    ctx.note("rotations %s" % rot)
    if not rot or rot[0] < 50:
        raise Fail("the count slot sets were rotated %s times in %d s" % (rot, SPLIT_SECONDS),
                   res.describe())


def _split(ctx, env=None, extra=(), rate=RATE):
    marks = markers(WORKLOADS / "split.py")
    truth_path = ctx.dir / "truth.json"
    target = start(ctx, "split.py", WORKLOAD_MAX, truth_path)
    cpu0 = cpu_seconds(target.pid)
    stacks, res = collapsed(ctx, target, SPLIT_SECONDS, extra, rate,
                            env=dict(os.environ, **env) if env else None)
    cpu = cpu_seconds(target.pid) - cpu0
    target.signal(signal.SIGTERM)
    if target.wait(10) != 0 or not truth_path.exists():
        raise Fail("split.py did not write its truth (status %s)" % target.p.returncode,
                   target.err().splitlines()[-5:])
    truth = json.loads(truth_path.read_text())
    funcs = ["work_a", "work_b", "work_c"]
    leaves = P.leaf_names(stacks)
    measured = {f: leaves.get(f, 0) for f in funcs}
    n = sum(measured.values())
    tsum = sum(truth[f] for f in funcs)
    table = ["%-7s truth %5.1f%% (%.3f s CPU)  profile %5.1f%% (%d samples)" % (
        f, 100 * truth[f] / tsum, truth[f], 100.0 * measured[f] / n if n else 0, measured[f])
        for f in funcs]
    ctx.note(*table)
    problems = []
    if n < 100:
        problems.append("only %d samples in work_a/b/c" % n)
    else:
        for f in funcs:
            d = 100.0 * measured[f] / n - 100 * truth[f] / tsum
            if abs(d) > 5:
                problems.append("%s share off by %+.1f points (limit 5)" % (f, d))
    for f, tag in zip(funcs, "abc"):
        problems += P.check_hot_function(stacks, f, "split.py", marks[tag], 20)
    # Samples follow CPU time: the workload used `cpu` seconds while pybpf ran
    # (a bit more than the -d window: attach and detach), so at rate Hz
    # expect about rate * cpu samples (the box may be shared: not wall time).
    tot = P.total(stacks)
    window = min(1.0, SPLIT_SECONDS / res.elapsed)
    lo, hi = 0.85 * rate * cpu * window, 1.05 * rate * cpu + 5
    ctx.note("workload used %.2f s CPU during the %.2f s record: %d samples, expected %d..%d"
             % (cpu, res.elapsed, tot, lo, hi))
    if not lo <= tot <= hi:
        problems.append("%d samples in the profile, but the workload used %.2f s CPU in the "
                        "%.2f s pybpf ran: at %d Hz expected %d..%d"
                        % (tot, cpu, res.elapsed, rate, lo, hi))
    summary = P.parse_summary(res.err)
    if summary is None:
        problems.append("no summary line 'pybpf: N samples, N errors, N lost, ...' on stderr")
    else:
        ctx.note(summary["line"])
        if summary["samples"] < tot:
            problems.append("summary says %d samples, the profile holds %d"
                            % (summary["samples"], tot))
        if summary["errors"] + summary["lost"] > 0.02 * max(summary["samples"], 1):
            problems.append("summary reports %d errors and %d lost of %d samples (> 2%%)"
                            % (summary["errors"], summary["lost"], summary["samples"]))
    if problems:
        raise Fail(problems[0], problems[1:] + table + P.evidence(stacks, 6) + res.describe(3))
    return res


def case_threads(ctx):
    """-t: four named threads, spin_k only under thread spinner-k."""
    target = start(ctx, "threads.py", WORKLOAD_MAX)
    tids = {}
    for line in target.out().splitlines():
        if line.startswith("thread "):
            _, name, tid = line.split()
            tids[name] = int(tid)
    stacks, res = collapsed(ctx, target, 3, ["-t"])
    expected = {"spinner-%d" % k: (tids.get("spinner-%d" % k), "spin_%d" % k) for k in range(4)}
    problems, per_thread = P.check_threads(stacks, expected)
    busy = sum(per_thread[t] for t in expected)
    for t in sorted(expected):
        if busy and per_thread[t] < 0.08 * busy:
            problems.append("thread %s has %d of %d samples (< 8%%)" % (t, per_thread[t], busy))
    ctx.note("samples per thread: %s" % dict(per_thread))
    check(problems, stacks, res)


def case_parallel(ctx):
    """Free-threaded builds: four threads run Python at once on every CPU,
    each with its own stack, each thread's share of the samples within 5
    points of its share of the CPU time (time.thread_time)."""
    marks = markers(WORKLOADS / "parallel.py")
    truth_path = ctx.dir / "truth.json"
    target = start(ctx, "parallel.py", WORKLOAD_MAX, truth_path)
    tids = {}
    for line in target.out().splitlines():
        if line.startswith("thread "):
            _, name, tid = line.split()
            tids[name] = int(tid)
    stacks, res = collapsed(ctx, target, SPLIT_SECONDS, ["-t"])
    target.signal(signal.SIGTERM)
    if target.wait(10) != 0 or not truth_path.exists():
        raise Fail("parallel.py did not write its truth (status %s)" % target.p.returncode,
                   target.err().splitlines()[-5:])
    truth = json.loads(truth_path.read_text())
    expected = {"par-%d" % k: (tids.get("par-%d" % k), "spin_%d" % k) for k in range(4)}
    problems, per_thread = P.check_threads(stacks, expected)
    spun = {t: sum(s.count for s in stacks if s.frames[0].name == t
                   and s.frames[-1].name == fn) for t, (_, fn) in expected.items()}
    n, tsum = sum(spun.values()), sum(truth.get(t, 0) for t in expected)
    ctx.note(*["%s truth %5.1f%% (%.2f s CPU)  profile %5.1f%% (%d samples)" % (
        t, 100 * truth.get(t, 0) / max(tsum, 1e-9), truth.get(t, 0),
        100.0 * spun[t] / max(n, 1), spun[t]) for t in sorted(expected)])
    if n < 200:
        problems.append("only %d samples in spin_0..3" % n)
    else:
        for t in sorted(expected):
            d = 100.0 * spun[t] / n - 100 * truth.get(t, 0) / tsum
            if abs(d) > 5:
                problems.append("thread %s share off by %+.1f points (limit 5)" % (t, d))
    for k in range(4):
        problems += P.check_hot_function(stacks, "spin_%d" % k, "parallel.py",
                                         marks["spin_%d" % k], 20)
    check(problems, stacks, res)


def case_gil(ctx):
    """A thread in C code with the GIL released keeps its own Python stack
    while another thread holds the GIL."""
    marks = markers(WORKLOADS / "gil.py")
    target = start(ctx, "gil.py", WORKLOAD_MAX)
    tids = {}
    for line in target.out().splitlines():
        if line.startswith("thread "):
            _, name, tid = line.split()
            tids[name] = int(tid)
    stacks, res = collapsed(ctx, target, 3, ["-t"])
    expected = {"hasher": (tids.get("hasher"), "hash_loop"),
                "spinner": (tids.get("spinner"), "py_spin")}
    problems, per_thread = P.check_threads(stacks, expected)
    ctx.note("samples per thread: %s" % dict(per_thread))
    tot = P.total(stacks)
    if per_thread["hasher"] < 0.2 * tot:
        problems.append("thread hasher has %d of %d samples; it uses ~40%% of the CPU"
                        % (per_thread["hasher"], tot))
    hasher = [s for s in stacks if s.frames[0].name == "hasher"]
    bare = sum(s.count for s in hasher if not any(f.kind == "python" for f in s.frames))
    if bare > 0.05 * max(per_thread["hasher"], 1):
        problems.append("%d of %d hasher samples lost their Python stack (in C with the GIL "
                        "released)" % (bare, per_thread["hasher"]))
    problems += P.check_hot_function(hasher, "hash_loop", "gil.py", marks["hash"], 20)
    check(problems, stacks, res)


# ---- deep stacks ---------------------------------------------------------------

def case_recursion(ctx):
    """A 300-deep recursion shows whole: 300 recurse frames, <module> root."""
    marks = markers(WORKLOADS / "recurse.py")
    target = start(ctx, "recurse.py", 300, WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 3)
    hot = P.hottest(stacks, 1)[0]
    problems = []
    depth = P.count_name(hot, "recurse")
    if depth != 300:
        problems.append("hottest stack has %d recurse frames, expected 300 (%d frames in all)"
                        % (depth, len(hot.frames)))
    first, leaf = hot.frames[0], hot.frames[-1]
    if (first.name, first.line) != ("<module>", marks["module-call"][0]):
        problems.append("hottest stack root is %r, expected '<module> (recurse.py:%d)'"
                        % (first.label, marks["module-call"][0]))
    if leaf.name != "bottom" or leaf.line not in marks["bottom"]:
        problems.append("hottest stack leaf is %r, expected bottom at %s"
                        % (leaf.label, marks["bottom"]))
    bad = {f.label for f in hot.frames if f.name == "recurse" and f.line not in marks["call"]}
    if bad:
        problems.append("recurse frames on unmarked lines: %s (marked %s)" % (sorted(bad), marks["call"]))
    whole = sum(s.count for s in stacks if P.count_name(s, "recurse") == 300)
    if whole < 0.8 * P.total(stacks):
        problems.append("only %d of %d samples have the whole 300-deep stack"
                        % (whole, P.total(stacks)))
    check(problems, stacks, res)


def case_truncation(ctx):
    """2000 deep: --max-depth 128 keeps 128 frames under a <truncated> root;
    the default depth is either whole or marked, never silently cut."""
    target = start(ctx, "recurse.py", 2000, WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 2, ["--max-depth", "128"], name="maxdepth128")
    hot = P.hottest(stacks, 1)[0]
    problems = []
    if hot.frames[0].label != P.TRUNCATED:
        problems.append("--max-depth 128: hottest stack root is %r, expected %s"
                        % (hot.frames[0].label, P.TRUNCATED))
    kept = [f for f in hot.frames if f.kind != "truncated"]
    if len(kept) != 128:
        problems.append("--max-depth 128: hottest stack keeps %d frames, expected 128" % len(kept))
    if hot.frames[-1].name != "bottom":
        problems.append("--max-depth 128: leaf is %r, expected bottom (the cut must drop the "
                        "root side)" % hot.frames[-1].label)
    cut = sum(s.count for s in stacks if s.frames[0].kind == "truncated")
    if cut < 0.8 * P.total(stacks):
        problems.append("--max-depth 128: only %d of %d samples marked truncated"
                        % (cut, P.total(stacks)))
    check(problems, stacks, res)

    stacks, res = collapsed(ctx, target, 2, name="default-depth")
    hot = P.hottest(stacks, 1)[0]
    depth = P.count_name(hot, "recurse")
    root = hot.frames[0]
    if root.kind == "truncated":
        ctx.note("default max depth: truncated at %d frames" % (len(hot.frames) - 1))
    elif root.name != "<module>" or depth != 2000:
        check(["default depth: 2000-deep stack cut without a %s marker: root %r, %d recurse "
               "frames" % (P.TRUNCATED, root.label, depth)], stacks, res)
    else:
        ctx.note("default max depth: whole 2000-deep stack")


# ---- code object churn --------------------------------------------------------

def load_churn():
    spec = importlib.util.spec_from_file_location("churn_workload", str(WORKLOADS / "churn.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def case_churn(ctx):
    """Freed and reused code objects never lend their name or lines to another.
    Before 3.12 the code cache trusts pybpf's count of code objects freed
    (a uprobe), which pybpf detaches from a process that frees hundreds a
    second, as churn.py does: PYBPF_CODE_FREES_MAX keeps it on, so that the
    count is what is tested (case reload runs with the default)."""
    churn = load_churn()
    target = start(ctx, "churn.py", WORKLOAD_MAX)
    stacks, res = collapsed(ctx, target, 4,
                            env=dict(os.environ, PYBPF_CODE_FREES_MAX="1000000000"))
    problems, gen, names = P.check_generated_identity(stacks, churn.function_lines,
                                                           churn.module_lines)
    tot = P.total(stacks)
    ctx.note("%d of %d samples in %d distinct gen_fn functions" % (gen, tot, len(names)))
    if gen < 0.5 * tot:
        problems.append("only %d of %d samples have a gen_fn_N leaf (expected most)" % (gen, tot))
    if len(names) < 30:
        problems.append("only %d distinct gen_fn_N functions seen (expected hundreds)" % len(names))
    unknown = sum(s.count for s in stacks if any(f.kind == "other" for f in s.frames))
    if unknown > 0.05 * tot:
        problems.append("%d of %d samples contain unnamed frames" % (unknown, tot))
    check(problems, stacks, res)
