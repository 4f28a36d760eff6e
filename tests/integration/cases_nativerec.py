# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_nativerec.py - `pybpf record --native`: native frames unwound in
the kernel at each sample, merged with the Python stack, kernel frames at
the leaf (tests/workloads/native.py: thread "zipper" in zlib.compress, the
main thread asleep in a Python comparison called by libc's qsort).

Judged on the collapsed output (root first): zlib's C frames under the
Python line that calls it; with --idle, compare under qsort under
sort_with_qsort and the kernel's sleep path at the leaf; a C++ function
(tests/workloads/cxx.py) demangled under its Python caller; the eval loop
never shown raw; no sample lost (a native side that could not be taken is
a counted fallback: the sample stays, Python only)."""
import re
import shutil
import subprocess

from harness import WORKLOADS, Fail, Skip, markers
from casekit import WORKLOAD_MAX, record, start
import profiles as P
from cases_native import EVAL_RE, SLEEP_KERNEL
from cases_cthread import build_helper

ZLIB_RE = re.compile(r"deflate|longest_match|fill_window|compress_block|zlib_compress|"
                     r"PyZlib_compress|libz\.so")
SORT_RE = re.compile(r"qsort|msort")


def stacks_of(path):
    """[(frames root first, count)] of a collapsed file, frames as labels."""
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out.append((stack.split(";"), int(count)))
    return out


def name_of(label):
    """'func (lib)' -> 'func', '[k] func' -> 'func'"""
    if label.startswith("[k] "):
        return label[4:]
    return label.split(" (", 1)[0]


def index(frames, pred, start=0):
    for i in range(start, len(frames)):
        if pred(frames[i]):
            return i
    return None


def common_problems(stacks, res, problems):
    raw = [f for fr, _ in stacks for f in fr if EVAL_RE.match(name_of(f))]
    if raw:
        problems.append("the eval loop shown raw: %s" % raw[:3])
    summary = P.parse_summary(res.err)
    if summary is None:
        problems.append("no summary line")
    elif summary["lost"]:
        problems.append("%d samples lost" % summary["lost"])


def evidence(stacks, pred=None, n=6):
    best = sorted((s for s in stacks if pred is None or pred(s[0])), key=lambda s: -s[1])[:n]
    return ["%d %s" % (c, ";".join(fr)[-700:]) for fr, c in best]


def case_native_record(ctx):
    """record --native: zlib's C frames under do_zlib's Python line."""
    target = start(ctx, "native.py", WORKLOAD_MAX)
    out, res = record(ctx, target, 4, extra=("--native", "-v"), name="record-native")
    stacks = stacks_of(out)
    problems = []
    common_problems(stacks, res, problems)
    zl = [(fr, c) for fr, c in stacks if any(f.startswith("do_zlib (native.py:") for f in fr)]
    zl_total = sum(c for _, c in zl)
    under = 0
    for fr, c in zl:
        at = index(fr, lambda f: f.startswith("do_zlib (native.py:"))
        if index(fr, lambda f: bool(ZLIB_RE.search(f)) and not f.endswith(".py)") and
                 ".py:" not in f, at + 1) is not None:
            under += c
    if zl_total < 100:
        problems.append("only %d samples of do_zlib" % zl_total)
    elif under < 0.6 * zl_total:
        problems.append("zlib's C frames under do_zlib in %d of %d samples" % (under, zl_total))
    ctx.note("do_zlib: %d samples, %d with zlib's C frames under it" % (zl_total, under))
    if problems:
        raise Fail(problems[0], problems[1:] + evidence(stacks, lambda fr: any(
            "do_zlib" in f for f in fr)) + res.describe(40))


def case_native_record_idle(ctx):
    """record --idle --native: compare under qsort under sort_with_qsort,
    the kernel's sleep path at the leaf."""
    target = start(ctx, "native.py", WORKLOAD_MAX)
    out, res = record(ctx, target, 3, extra=("--native", "--idle", "-v"),
                      name="record-native-idle")
    stacks = stacks_of(out)
    problems = []
    common_problems(stacks, res, problems)
    ordered = kernel = marked = 0
    for fr, c in stacks:
        s = index(fr, lambda f: f.startswith("sort_with_qsort (native.py:"))
        q = s is not None and index(fr, lambda f: bool(SORT_RE.search(name_of(f))), s + 1)
        p = q and index(fr, lambda f: f.startswith("compare (native.py:"), q + 1)
        if p:
            ordered += c
            if any(f.startswith("<") and f.endswith("unknown>") for f in fr):
                marked += c
            if index(fr, lambda f: f.startswith("[k] ") and (
                    name_of(f) in SLEEP_KERNEL or "nanosleep" in f or "futex" in f or
                    "select" in f or "poll" in f), p + 1) is not None:
                kernel += c
    if not ordered:
        problems.append("no stack with compare under qsort under sort_with_qsort")
    elif not kernel:
        problems.append("no kernel sleep frames under compare")
    elif marked > 0.1 * ordered:
        # the activation bits (3.11 is_entry, 3.12+ shims) pair each eval-loop
        # frame with its Python frames: a marker means they did not
        problems.append("%d of %d compare-under-qsort samples carry an unknown-frames marker"
                        % (marked, ordered))
    ctx.note("compare under qsort: %d samples, %d with kernel sleep frames" % (ordered, kernel))
    if problems:
        raise Fail(problems[0], problems[1:] + evidence(stacks, lambda fr: any(
            "compare" in f for f in fr)) + res.describe(40))


def case_native_record_cthread(ctx):
    """record --native of a thread made in C calling into Python: its
    samples show the C function loop() (cthread.so) over libc's thread
    start, with the Python callback's frames above it while it runs
    Python, and are counted with their native stack alone between calls."""
    lib = build_helper(ctx)
    target = start(ctx, "cthread.py", 30, ctx.dir / "truth.json", lib)
    out, res = record(ctx, target, 3, extra=("--native", "-v"), name="record-native-cthread")
    stacks = stacks_of(out)
    problems = []
    common_problems(stacks, res, problems)
    in_py = alone = 0
    for fr, c in stacks:
        at = index(fr, lambda f: f.startswith("loop (cthread.so"))
        if at is None:
            continue
        if index(fr, lambda f: ".py:" in f and f.startswith("work ("), at + 1) is not None:
            in_py += c
        if not any(".py:" in f for f in fr):
            alone += c
        if index(fr, lambda f: ".py:" in f) is not None and \
                index(fr, lambda f: ".py:" in f) < at:
            problems.append("a Python frame below the C thread's loop(): %s" % fr[:12])
            break
    if not in_py:
        problems.append("no sample of work() (cthread.py) over the C thread's loop()")
    ctx.note("C thread: %d samples in work() over loop(), %d with no Python frame"
             % (in_py, alone))
    if problems:
        raise Fail(problems[0], problems[1:] + evidence(stacks, lambda fr: any(
            "loop" in f for f in fr)) + res.describe(40))


CXX_NAME = "pybpf_test::spin::Burner::burn(unsigned long)"


def build_cxx(ctx):
    """cxx.py's C++ library (its CXX_SOURCE) built with g++ into the case's
    directory; Skip without a g++ that takes it."""
    import importlib.util
    if not shutil.which("g++"):
        raise Skip("g++ is not installed (Debian package g++)")
    spec = importlib.util.spec_from_file_location("cxx", str(WORKLOADS / "cxx.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    src, lib = ctx.dir / "cxxspin.cpp", ctx.dir / "cxxspin.so"
    src.write_text(mod.CXX_SOURCE)
    cc = subprocess.run(["g++", "-shared", "-fPIC", "-O2", "-o", str(lib), str(src)],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        universal_newlines=True)
    if cc.returncode:
        raise Skip("cannot compile the C++ library: %s" % cc.stdout.strip()[-200:])
    return lib


def case_native_record_cxx(ctx):
    """record --native of Python calling C++ (ctypes): the C++ function
    shown demangled, pybpf_test::spin::Burner::burn(unsigned long), under
    call_cxx's Python line; its mangled name nowhere."""
    lib = build_cxx(ctx)
    marks = markers(WORKLOADS / "cxx.py")
    target = start(ctx, "cxx.py", WORKLOAD_MAX, lib)
    out, res = record(ctx, target, 1, extra=("--native",), name="record-native-cxx")
    target.kill()
    stacks = stacks_of(out)
    problems = []
    common_problems(stacks, res, problems)
    burn = under = 0
    for fr, c in stacks:
        at = index(fr, lambda f: name_of(f) == CXX_NAME)
        if at is None:
            continue
        burn += c
        caller = index(fr, lambda f: f.startswith("call_cxx (cxx.py:"))
        if caller is not None and caller < at and \
                int(fr[caller].rsplit(":", 1)[1].rstrip(")")) in marks["call"]:
            under += c
    mangled = [f for fr, _ in stacks for f in fr if "_ZN10pybpf_test" in f]
    if mangled:
        problems.append("the mangled name is shown: %s" % mangled[0])
    if burn < 50:
        problems.append("%s: %d samples, expected >= 50" % (CXX_NAME, burn))
    elif under < 0.9 * burn:
        problems.append("%s under call_cxx (cxx.py:%s) in %d of its %d samples"
                        % (CXX_NAME, marks["call"], under, burn))
    ctx.note("%s: %d samples, %d under call_cxx" % (CXX_NAME, burn, under))
    if problems:
        raise Fail(problems[0], problems[1:] + evidence(stacks) + res.describe(20))

IDLE_SEED_KERNEL = re.compile(r"nanosleep|futex|select|poll")


def case_native_record_idle_seed(ctx):
    """record --idle --native of threads blocked since before pybpf started
    and until after it stops (thirds.py: "stuck" in Lock.acquire,
    "sleeper" in time.sleep): their stacks, seeded from userspace, show
    the Python line, the C frames below it (the lock or sleep call, libc's
    wrapper) and the kernel's sleep path at the leaf."""
    target = start(ctx, "thirds.py", WORKLOAD_MAX)
    out, res = record(ctx, target, 1, extra=("--native", "--idle", "-t", "-v"), rate=100,
                      name="record-native-idle-seed")
    stacks = stacks_of(out)
    problems = []
    common_problems(stacks, res, problems)
    for thread, func in (("stuck", "stuck"), ("sleeper", "sleeper")):
        mine = [(fr, c) for fr, c in stacks if thread in fr[0]]
        whole = 0
        for fr, c in mine:
            at = index(fr, lambda f: f.startswith(func + " (thirds.py:"))
            if at is None:
                continue
            user = index(fr, lambda f: " (" in f and ".py:" not in f and
                         not f.startswith("[k] "), at + 1)
            kern = user is not None and index(
                fr, lambda f: f.startswith("[k] ") and bool(IDLE_SEED_KERNEL.search(f)),
                user + 1)
            if kern is not None and kern is not False:
                whole += c
        n = sum(c for _, c in mine)
        ctx.note("%s: %d samples, %d with C and kernel frames under %s()"
                 % (thread, n, whole, func))
        if not whole:
            problems.append("thread %s: no stack with C frames and the kernel's sleep path "
                            "under %s()" % (thread, func))
        elif whole < 0.9 * n:
            problems.append("thread %s: %d of %d samples with C and kernel frames under %s()"
                            % (thread, whole, n, func))
    m = re.search(r"threads blocked at start: native stack read\s+(\d+)", res.err)
    if not m or int(m.group(1)) < 2:
        problems.append("-v does not count 2 blocked threads with a native stack read: %s"
                        % (m.group(0) if m else "no such line"))
    if problems:
        raise Fail(problems[0], problems[1:] + evidence(stacks, lambda fr: any(
            "stuck" in f or "sleeper" in f for f in fr)) + res.describe(40))


GIL_NATIVE_VERSIONS = ((3, 10), (3, 13))  # the GIL in _PyRuntime.ceval, and behind interp


def case_gil_wait_native(ctx):
    """record --gil-wait --native on pyenv's 3.10 and 3.13 (take_gil in
    .symtab): each wait is counted with the native stack its take_gil
    entry saw, so the C frames from the spin loop's line into take_gil
    sit between that line and the <GIL wait> leaf."""
    pool = [i for i in ctx.all_interps if not i.missing and i.kind == "pyenv"
            and i.version[:2] in GIL_NATIVE_VERSIONS]
    if not pool:
        raise Skip("none of pyenv's CPython %s is installed"
                   % " or ".join("%d.%d" % v for v in GIL_NATIVE_VERSIONS))
    marks = markers(WORKLOADS / "gilstat.py")
    spin = marks["spin"] + [marks["spin"][0] + 1]  # the loop and its body
    problems = []
    for interp in pool:
        ctx.interp = interp
        target = start(ctx, "gilstat.py", "busy", WORKLOAD_MAX)
        out, res = record(ctx, target, 2, extra=("--gil-wait", "--native", "-v"), rate=100,
                          name="gil-wait-native-%d.%d" % interp.version[:2])
        target.kill()
        stacks = stacks_of(out)
        total = sum(c for _, c in stacks)
        under = 0
        for fr, c in stacks:
            at = index(fr, lambda f: bool(re.match(r"spin \(gilstat\.py:(\d+)\)$", f)) and
                       int(f.rsplit(":", 1)[1][:-1]) in spin)
            take = at is not None and index(fr, lambda f: f.startswith("take_gil ("), at + 1)
            if take and fr[-1] == "<GIL wait>" and \
                    not any(".py:" in f for f in fr[at + 1:]):
                under += c
        ctx.note("%s: %d wait periods, %d with take_gil under spin's line"
                 % (interp.label, total, under))
        if total < 100:
            problems.append("%s: only %d sample periods of GIL wait in 2 s for 2 contending "
                            "threads (expected ~200)" % (interp.label, total))
        elif under < 0.8 * total:
            problems.append("%s: %d of %d wait periods with take_gil's C frames under spin "
                            "(gilstat.py:%s)" % (interp.label, under, total, spin))
        if problems:
            raise Fail(problems[0], problems[1:] + evidence(stacks) + res.describe(20))
