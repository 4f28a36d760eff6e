# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_cli.py - cases about the command line: launching a command, a
target that exits, top, the file formats, refusals and `make demo`."""
import json
import os
import shlex
import shutil
import subprocess
import time
import xml.dom.minidom

from pathlib import Path

from harness import WORKLOADS, REPO, Fail, Skip, Proc, finish, markers, pybpf, pybpf_start
from casekit import READY_TIMEOUT, RATE, WORKLOAD_MAX, check, no_read_errors, record, start
import profiles as P


# ---- command mode, top, formats ---------------------------------------------------

def case_exitcode(ctx):
    """record -- CMD profiles the command and exits with its status (7)."""
    marks = markers(WORKLOADS / "exitcode.py")
    out = ctx.dir / "exit.txt"
    res = pybpf(["record", "-o", out, "-f", "collapsed", "-r", RATE, "--",
                 ctx.interp.path, WORKLOADS / "exitcode.py", "1"], ctx.dir, 40)
    if res.rc != 7:
        raise Fail("exit status %s, expected 7 (the command's)" % res.rc, res.describe())
    if not out.exists() or out.stat().st_size == 0:
        raise Fail("output file missing or empty", res.describe())
    stacks = P.parse_collapsed(out.read_text(encoding="utf-8", errors="replace"))
    check(P.check_hot_function(stacks, "busy", "exitcode.py", marks["busy"], RATE // 4) +
          no_read_errors(res), stacks, res)


def case_target_exit(ctx):
    """record -p stops soon after its target exits and still writes the profile."""
    marks = markers(WORKLOADS / "exitcode.py")
    target = start(ctx, "exitcode.py", 4)
    out = ctx.dir / "exit.txt"
    proc = pybpf_start(["record", "-p", target.pid, "-o", out, "-f", "collapsed", "-r", RATE,
                        "-d", 60], ctx.dir)
    # Reap the target as soon as it exits, as a shell or supervisor would:
    # the case is about an exited process, not about a zombie.
    target.wait(10)
    res = finish(proc, 10)
    problems = []
    if res.rc != 0:
        problems.append("exit status %s after the target exited, expected 0" % res.rc)
    if res.elapsed > 9:
        problems.append("pybpf ran %.1f s; the target exited after 4 s" % res.elapsed)
    if not out.exists() or out.stat().st_size == 0:
        problems.append("no profile written")
        check(problems, None, res)
    stacks = P.parse_collapsed(out.read_text(encoding="utf-8", errors="replace"))
    # RATE // 5: the program spins 4 s from "ready", and on a busy machine
    # loading the BPF programs can take 2-3 s of that; the case is about the
    # exit, the profile only has to hold the hot function
    problems += P.check_hot_function(stacks, "busy", "exitcode.py", marks["busy"], RATE // 5)
    problems += no_read_errors(res)
    check(problems, stacks, res)


def case_top(ctx):
    """top, piped: >= 2 plain snapshots, the hot function first."""
    target = start(ctx, "split.py", WORKLOAD_MAX)
    res = pybpf(["top", "-p", target.pid, "-d", 3], ctx.dir, 30, name="top")
    if res.rc != 0:
        raise Fail("pybpf top exited with status %s" % res.rc, res.describe())
    snaps, problems = P.parse_top(res.out)
    problems += P.check_top(snaps, "work_a", "split.py")
    if problems:
        raise Fail(problems[0], problems[1:] + ["stdout:"] +
                   ["  " + l for l in res.out.splitlines()[:40]] + res.describe(3))


def case_formats(ctx):
    """speedscope (JSON, one profile per thread), flame graph SVG, raw."""
    target = start(ctx, "threads.py", WORKLOAD_MAX)
    out, res = record(ctx, target, 2, "speedscope", name="speedscope", ext="json")
    try:
        doc = json.loads(out.read_text(encoding="utf-8"))
    except ValueError as e:
        raise Fail("speedscope output is not JSON: %s" % e, res.describe())
    problems, profs = P.check_speedscope(doc)
    spins = {"spin_%d" % k for k in range(4)}
    owners = {}
    for pname, used in profs:
        mine = {P.parse_frame(n).name for n in used if n} & spins
        if len(mine) > 1:
            problems.append("profile %r mixes threads: %s" % (pname, sorted(mine)))
        for fn in mine:
            owners.setdefault(fn, []).append(pname)
    for fn in sorted(spins):
        if len(owners.get(fn, [])) != 1:
            problems.append("%s is in %d profiles %s, expected exactly 1 (one profile per thread)"
                            % (fn, len(owners.get(fn, [])), owners.get(fn, [])))
    ctx.note("speedscope profiles: %s" % [p for p, _ in profs])
    checker = REPO / "tests" / "integration" / "check_speedscope.js"
    node = shutil.which("node") or shutil.which("nodejs")
    if checker.exists() and node:
        r = subprocess.run([node, str(checker), str(out)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120, cwd=str(REPO))
        text = r.stdout.decode(errors="replace").strip().splitlines()
        ctx.note("check_speedscope.js: status %d" % r.returncode, *text[-3:])
        if r.returncode == 77:  # the checker's SKIP: speedscope package not installed
            ctx.note("check_speedscope.js skipped itself: structural check only")
        elif r.returncode != 0:
            problems.append("check_speedscope.js rejects the file (status %d)" % r.returncode)
            problems += ["  " + l for l in text[-15:]]
    else:
        ctx.note("check_speedscope.js or node not available: structural check only")

    svg, res = record(ctx, target, 2, "flamegraph", name="flamegraph", ext="svg")
    try:
        dom = xml.dom.minidom.parse(str(svg))
        if dom.documentElement.tagName != "svg":
            problems.append("flame graph root element is <%s>, expected <svg>"
                            % dom.documentElement.tagName)
    except Exception as e:  # expat raises several types
        problems.append("flame graph is not well-formed XML: %s" % e)
    body = svg.read_text(encoding="utf-8", errors="replace")
    missing = [fn for fn in sorted(spins) if fn not in body]
    if missing:
        problems.append("flame graph does not mention %s" % missing)

    record(ctx, target, 1, "raw", name="raw", ext="raw")
    if problems:
        raise Fail(problems[0], problems[1:])


# ---- errors ------------------------------------------------------------------------

def expect_refusal(res, mention=None):
    lines = res.err_lines()
    problems = []
    if res.rc == 0:
        problems.append("exit status 0, expected non-zero")
    if len(lines) != 1 or not lines[0].startswith("pybpf:"):
        problems.append("stderr should be one line starting with 'pybpf:', got %d lines" % len(lines))
    elif mention and mention not in lines[0]:
        problems.append("error line does not name %r: %r" % (mention, lines[0]))
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe())


def case_dead_pid(ctx):
    p = subprocess.Popen(["true"])
    p.wait()
    if os.path.exists("/proc/%d" % p.pid):
        raise Skip("pid %d was reused already" % p.pid)
    expect_refusal(pybpf(["record", "-p", p.pid, "-o", ctx.dir / "x", "-d", 2], ctx.dir, 20))


def case_not_python(ctx):
    proc = Proc(["sleep", "100"], ctx.dir, "sleep")
    time.sleep(0.2)
    expect_refusal(pybpf(["record", "-p", proc.pid, "-o", ctx.dir / "x", "-d", 2], ctx.dir, 20))


def case_refuse(ctx):
    """An interpreter pybpf cannot read is refused in one line naming its
    version and why: pyenv's 2.7 and 3.6 (before 3.7 only the static
    interp_head, a .symtab symbol, leads to the interpreters) with a copy of
    their libpython stripped of .symtab, as distributions ship them."""
    strip = shutil.which("strip")
    if not strip:
        raise Skip("strip (binutils) not installed")
    olds = [i for i in ctx.all_interps
            if not i.missing and i.kind == "pyenv" and i.version < (3, 7)]
    if not olds:
        raise Skip("no pyenv 2.7 or 3.6 installed")
    for interp in olds:
        minor = "%d.%d" % interp.version[:2]
        libs = sorted((Path(interp.path).parents[1] / "lib").glob("libpython%s*.so.1.0" % minor))
        if len(libs) != 1:
            raise Fail("%s: expected one libpython%s*.so.1.0 beside it, found %s"
                       % (interp.path, minor, [str(l) for l in libs]))
        libdir = ctx.dir / ("stripped-" + interp.label)
        libdir.mkdir()
        lib = libdir / libs[0].name
        subprocess.run([strip, "--strip-all", "-o", str(lib), str(libs[0])], check=True)
        # RUNPATH (not RPATH) in pyenv's binaries: LD_LIBRARY_PATH wins
        env = dict(os.environ, LD_LIBRARY_PATH=str(libdir))
        target = Proc([interp.path, WORKLOADS / "threads.py", WORKLOAD_MAX], ctx.dir,
                      "threads-" + interp.label, env=env)
        target.wait_ready(READY_TIMEOUT)
        with open("/proc/%d/maps" % target.pid) as f:
            if str(lib) not in f.read():
                raise Fail("%s did not map the stripped %s" % (interp.label, lib))
        res = pybpf(["record", "-p", target.pid, "-o", ctx.dir / "x", "-d", 2], ctx.dir, 20,
                    name="record-" + interp.label)
        expect_refusal(res, mention="CPython %s" % minor)
        if "interp_head" not in res.err:
            raise Fail("%s: the refusal does not say what is missing (interp_head): %r"
                       % (interp.label, res.err_lines()[:1]), res.describe())
        target.kill()


def case_bad_args(ctx):
    """Invalid options are refused before touching the kernel."""
    problems = []
    for args in (["record", "-p", "1", "-r", "0"], ["record", "-p", "1", "-r", "abc"],
                 ["record", "-p", "1", "--max-depth", "0"],
                 ["record", "-p", "1", "--max-depth", "100000"],
                 ["record", "-p", "1", "-f", "nosuchformat"], ["record", "-p", "1", "-d", "-1"],
                 ["record", "-p", "nopid"], ["nosuchcommand"]):
        res = pybpf(args + ["-o", ctx.dir / "x"] if args[0] == "record" else args, ctx.dir, 20)
        lines = res.err_lines()
        if res.rc == 0 or not lines or not lines[0].startswith("pybpf:"):
            problems.append("pybpf %s: exit status %s, stderr %r (expected non-zero and an "
                            "error line starting 'pybpf:')"
                            % (" ".join(args), res.rc, lines[:3]))
    if problems:
        raise Fail(problems[0], problems[1:])


def demo_command(svg):
    """The `./pybpf record ...` line of the Makefile's demo recipe, with -o
    pointing into the scratch directory; None if there is none."""
    recipe, lines = False, []
    for line in (REPO / "Makefile").read_text().splitlines():
        if line.startswith("demo:"):
            recipe = True
        elif recipe and not line.startswith("\t"):
            break
        elif recipe and "pybpf record" in line:
            lines = shlex.split(line.strip().replace("$(PYTHON)", "python3"))
    if not lines or lines[0] != "./pybpf":
        return None
    args = lines[1:]
    if "-o" in args:
        args[args.index("-o") + 1] = str(svg)
    else:
        args[1:1] = ["-o", str(svg)]
    return args


def case_demo(ctx):
    """What `make demo` runs (read from the Makefile): a flame graph of
    tests/workloads/demo.py, and exit status 0 so make goes on."""
    svg = ctx.dir / "demo.svg"
    args = demo_command(svg)
    if args is None:
        raise Skip("no './pybpf record' line in the Makefile's demo recipe")
    res = pybpf(args, ctx.dir, 60)
    if res.rc != 0:
        raise Fail("exit status %s: `make demo` stops there" % res.rc, res.describe())
    problems = []
    try:
        xml.dom.minidom.parse(str(svg))
    except Exception as e:
        problems.append("demo.svg is not well-formed XML: %s" % e)
    body = svg.read_text(encoding="utf-8", errors="replace") if svg.exists() else ""
    for fn in ("compute_report", "serve", "Request.parse", "metrics_loop"):
        if fn not in body:
            problems.append("demo.svg does not mention %s" % fn)
    check(problems, None, res)


# name, function, which interpreters: "supported" (each), "unsupported" (each), None (once)
