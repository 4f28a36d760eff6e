# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_ux.py - what a py-spy user touches first (issue 10): Python thread
names in `gil`, -p given a thread id, -o checked before sampling and
written by rename, record's status line on a terminal, exit statuses of
`-- CMD` runs, and the smaller command-line defects.

Each case picks one interpreter itself (these are about pybpf's command
line, not about CPython versions)."""
import json
import os
import pty
import re
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time

import harness
from harness import WORKLOADS, Fail, Skip, Proc, finish, pybpf, pybpf_start
from casekit import READY_TIMEOUT, WORKLOAD_MAX
import profiles as P

FALLBACK_PROBES = "PyEval_RestoreThread/PyEval_SaveThread"

# Two spinning threads with threading names unlike the kernel's comm; the
# second starts 2.5 s after "ready", so a tool must read names again.
NAMES_PY = r'''
import sys, threading, time
def spin(stop):
    x = 0
    while time.time() < stop:
        x += 1
        if x % 2000 == 0:
            time.sleep(0.001)
stop = time.time() + float(sys.argv[1])
a = threading.Thread(target=spin, args=(stop,), name="early-worker")
a.start()
time.sleep(0.3)
sys.stdout.write("ready %d\n" % a.ident)
sys.stdout.flush()
time.sleep(2.5)
b = threading.Thread(target=spin, args=(stop,), name="late-worker")
b.start()
a.join()
b.join()
'''


def interp(ctx):
    """A CPython 3 with a GIL, pyenv's 3.11 if there is one."""
    pool = [i for i in ctx.all_interps if not i.missing and i.version >= (3, 8)
            and not i.free_threaded]
    if not pool:
        raise Skip("no CPython 3.8+ with a GIL installed")
    pool.sort(key=lambda i: (i.version[:2] != (3, 11), i.kind != "pyenv"))
    return pool[0]


def names_workload(ctx, seconds=WORKLOAD_MAX):
    script = ctx.dir / "names_gil.py"
    script.write_text(NAMES_PY)
    py = interp(ctx)
    proc = Proc([py.path, script, seconds], ctx.dir, "names_gil")
    proc.wait_ready(READY_TIMEOUT)
    ctx.note("workload %s pid %d" % (proc.cmdline(), proc.pid))
    return proc, py


def busy_cmd(ctx, seconds=30):
    py = interp(ctx)
    return [py.path, WORKLOADS / "exitcode.py", seconds], py


def other_thread(pid):
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
    others = [t for t in tids if t != pid]
    if not others:
        raise Fail("workload %d has no second thread" % pid)
    return others[0]


def stderr_has(res, text):
    return any(text in l for l in res.err_lines())


# ---- 2: gil names ------------------------------------------------------------------

def case_ux_gil_names(ctx):
    """gil's JSON rows and long-wait/hold lines name threads by their
    threading names, also a thread started after tracing began."""
    target, _ = names_workload(ctx)
    res = pybpf(["gil", "-p", target.pid, "--json", "-i", 1, "-d", 6, "--threshold-ms", 1],
                ctx.dir, 40, name="gil")
    target.kill()
    if res.rc != 0:
        raise Fail("pybpf gil exited with %s" % res.rc, res.describe())
    rows, events = set(), set()
    for line in res.out.splitlines():
        obj = json.loads(line)
        if obj["type"] == "interval":
            rows |= {t["name"] for t in obj["threads"]}
        else:
            events.add(obj["name"])
    problems = []
    for want in ("early-worker", "late-worker"):
        if want not in rows:
            problems.append("no interval row named %r: names %s" % (want, sorted(rows)))
    if events and not events & {"early-worker", "late-worker"}:
        problems.append("long waits/holds name threads %s, not their threading names"
                        % sorted(events))
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe(4))


# ---- 3: -p with a thread id --------------------------------------------------------

def case_ux_thread_pid(ctx):
    """-p TID: record, dump and gil say it is a thread of process M and
    show only that thread."""
    target, py = names_workload(ctx)
    tid = other_thread(target.pid)
    line = "%d is thread %d of process %d" % (tid, tid, target.pid)
    problems = []
    out = ctx.dir / "tid.txt"
    res = pybpf(["record", "-p", tid, "-t", "-f", "collapsed", "-o", out, "-d", 2], ctx.dir, 30,
                name="record")
    if res.rc != 0 or not stderr_has(res, line):
        problems.append("record -p %d: status %s, no line %r" % (tid, res.rc, line))
    else:
        stacks = P.parse_collapsed(out.read_text())
        roots = {s.frames[0].label for s in stacks}
        if not stacks or any(("thread %d " % tid) not in r for r in roots):
            problems.append("record -p TID -t: roots %s, expected only thread %d"
                            % (sorted(roots)[:4], tid))
    res = pybpf(["dump", "-p", tid], ctx.dir, 30, name="dump")
    threads = re.findall(r"^Thread (\d+)", res.out, re.M)
    if res.rc != 0 or not stderr_has(res, line) or threads != [str(tid)] or \
            ("Process %d" % target.pid) not in res.out:
        problems.append("dump -p %d: status %s, threads %s, stdout %r"
                        % (tid, res.rc, threads, res.out[:200]))
    if py.version >= (3,):
        res = pybpf(["gil", "-p", tid, "--json", "-i", 1, "-d", 2], ctx.dir, 30, name="gil")
        tids = set()
        for l in res.out.splitlines():
            tids |= {t["tid"] for t in json.loads(l).get("threads", [])}
        if res.rc != 0 or not stderr_has(res, line) or tids - {tid} or \
                '"pid":%d' % target.pid not in res.out:
            problems.append("gil -p %d: status %s, rows of threads %s" % (tid, res.rc, tids))
    target.kill()
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe(4))


# ---- 4: -o -----------------------------------------------------------------------

def case_ux_output(ctx):
    """-o is checked before sampling, written through a rename, never
    named when not written; --all -o x.svg creates no directory."""
    target, _ = names_workload(ctx)
    problems = []
    # a missing directory: refused at once, nothing sampled
    res = pybpf(["record", "-p", target.pid, "-d", 5, "-o", ctx.dir / "missing" / "p.svg"],
                ctx.dir, 30, name="missing")
    if res.rc == 0 or res.elapsed > 3 or len(res.err_lines()) != 1 or \
            P.parse_summary(res.err):
        problems.append("-o in a missing directory: status %s after %.1f s, stderr %s"
                        % (res.rc, res.elapsed, res.err_lines()[:3]))
    # a read-only file system
    ro = ctx.dir / "ro"
    ro.mkdir()
    mounted = subprocess.call(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "none", str(ro)]) == 0
    if mounted:
        try:
            res = pybpf(["record", "-p", target.pid, "-d", 5, "-o", ro / "p.svg"], ctx.dir, 30,
                        name="readonly")
        finally:
            subprocess.call(["umount", str(ro)])
        if res.rc == 0 or res.elapsed > 3 or len(res.err_lines()) != 1:
            problems.append("-o on a read-only mount: status %s after %.1f s, stderr %s"
                            % (res.rc, res.elapsed, res.err_lines()[:3]))
    else:
        ctx.note("could not mount a read-only tmpfs: that check skipped")
    # replaced by rename: a new inode, no temporary file left
    out = ctx.dir / "p.txt"
    out.write_text("old\n")
    ino = out.stat().st_ino
    res = pybpf(["record", "-p", target.pid, "-d", 1, "-f", "collapsed", "-o", out], ctx.dir, 30,
                name="rename")
    left = [p.name for p in ctx.dir.iterdir() if p.name.startswith(".p.txt")]
    if res.rc != 0 or out.stat().st_ino == ino or left or out.read_text() == "old\n":
        problems.append("-o over an existing file: status %s, same inode %s, left %s"
                        % (res.rc, out.stat().st_ino == ino, left))
    # a pipe (-o >(gzip ...), -o /dev/stdout) is written in place, never
    # replaced by a file renamed over it (as -o /dev/null once was)
    fifo = ctx.dir / "p.fifo"
    os.mkfifo(str(fifo))
    got = []
    reader = threading.Thread(target=lambda: got.append(open(str(fifo), "rb").read()))
    reader.start()
    res = pybpf(["record", "-p", target.pid, "-d", 1, "-f", "collapsed", "-o", fifo], ctx.dir,
                30, name="fifo")
    reader.join(10)
    if res.rc != 0 or not stat.S_ISFIFO(os.lstat(str(fifo)).st_mode) or \
            not got or b"names_gil.py" not in got[0]:
        problems.append("-o FIFO: status %s, still a FIFO %s, read %d bytes"
                        % (res.rc, stat.S_ISFIFO(os.lstat(str(fifo)).st_mode),
                           len(got[0]) if got else -1))
    # the directory vanishes while recording: the summary names no file
    gone = ctx.dir / "gone"
    gone.mkdir()
    rec = pybpf_start(["record", "-p", target.pid, "-d", 3, "-o", gone / "p.svg"], ctx.dir,
                      "vanish")
    time.sleep(1)
    gone.rmdir()
    res = finish(rec, 30)
    summ = P.parse_summary(res.err)
    if res.rc == 0 or any(str(gone / "p.svg") in l and "->" in l for l in res.err_lines()):
        problems.append("write failed, yet status %s and the summary names the file: %s"
                        % (res.rc, summ and summ["line"]))
    # --all -o x.svg
    res = pybpf(["record", "--all", "-d", 1, "-o", ctx.dir / "x.svg", "--comm", "^nomatch$"],
                ctx.dir, 30, name="all-svg")
    if (ctx.dir / "x.svg").is_dir() or res.rc == 0:
        problems.append("--all -o x.svg: status %s, directory x.svg created: %s"
                        % (res.rc, (ctx.dir / "x.svg").is_dir()))
    target.kill()
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe(4))


# ---- 6: status line ----------------------------------------------------------------

def on_pty(argv, timeout):
    """Run argv with stderr on a terminal; (status, what the terminal got)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave, start_new_session=True)
    os.close(slave)
    got, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                data = os.read(master, 4096)
            except OSError:
                data = b""
            if not data:
                break
            got += data
        elif p.poll() is not None:
            break
    if p.poll() is None:
        p.kill()
    os.close(master)
    return p.wait(), got.decode(errors="replace")


def case_ux_status(ctx):
    """record on a terminal: a status line once a second, cleared before
    the summary; none when stderr is not a terminal."""
    target, _ = names_workload(ctx)
    out = ctx.dir / "s.svg"
    rc, text = on_pty([harness.PYBPF, "record", "-p", target.pid, "-r", 250, "-d", 3.5, "-o",
                       out], 30)
    want = re.compile(r"Sampling %d at 250 Hz: \d+ samples, \d+ errors, \d+ s; "
                      r"Ctrl-C to stop and write %s" % (target.pid, re.escape(str(out))))
    problems = []
    lines = [l for l in text.split("\r") if "Sampling" in l]
    if rc != 0 or len(lines) < 2 or not all(want.search(l) for l in lines):
        problems.append("terminal: status %s, %d status lines %r" % (rc, len(lines), lines[:2]))
    summary_at = text.find("pybpf: ")
    if summary_at < 0 or "\x1b[K" not in text[max(0, summary_at - 4):summary_at]:
        problems.append("status line not cleared before the summary: %r" % text[-160:])
    res = pybpf(["record", "-p", target.pid, "-d", 1.5, "-o", out], ctx.dir, 30, name="piped")
    if "Sampling" in res.err:
        problems.append("stderr not a terminal, yet a status line: %r" % res.err[:120])
    target.kill()
    if problems:
        raise Fail(problems[0], problems[1:])


# ---- 7: exit statuses --------------------------------------------------------------

def case_ux_exit(ctx):
    """-- CMD: -d ends it (a line says pybpf stopped it, status 0); Ctrl-C
    130 with the profile written; top and gil as record; the command's own
    status when it ends first."""
    cmd, py = busy_cmd(ctx)
    problems = []
    out = ctx.dir / "d.svg"
    runs = [("record", ["record", "-d", 2, "-o", out]), ("top", ["top", "-d", 2])]
    if py.version >= (3,):
        runs.append(("gil", ["gil", "-d", 2, "-i", 1]))
    for name, args in runs:
        res = pybpf(args + ["--"] + cmd, ctx.dir, 40, name=name + "-d")
        if res.rc != 0 or not stderr_has(res, "stopped "):
            problems.append("%s -d 2 -- CMD: status %s (expected 0), 'stopped' line: %s"
                            % (name, res.rc, stderr_has(res, "stopped ")))
    if not out.exists():
        problems.append("record -d 2 -- CMD wrote no profile")
    # the command ends first with 7: its status
    short = [py.path, WORKLOADS / "exitcode.py", 1]
    for name, args in runs[1:]:
        res = pybpf([a for a in args if a not in ("-d", 2)] + ["--"] + short, ctx.dir, 40,
                    name=name + "-own")
        if res.rc != 7:
            problems.append("%s -- CMD exiting 7: status %s" % (name, res.rc))
    # Ctrl-C
    out = ctx.dir / "c.svg"
    rec = pybpf_start(["record", "-o", out, "--"] + cmd, ctx.dir, "record-int")
    time.sleep(3)
    rec.signal(signal.SIGINT)
    res = finish(rec, 20)
    if res.rc != 130 or not out.exists() or out.stat().st_size == 0:
        problems.append("record -- CMD, SIGINT: status %s (expected 130), profile %s"
                        % (res.rc, out.exists()))
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe(4))


# ---- 8: smaller defects ------------------------------------------------------------

def case_ux_small(ctx):
    """Unknown flags: two lines; -F --nolineno has no lines; --tid not in
    the target is an error; SIGUSR1 says no warning; --help: rate per CPU;
    --rotate's summary counts every file; dump as the owner: no
    CAP_SYS_PTRACE warning."""
    problems = []
    for cmd in ("record", "top", "dump", "gil"):
        res = pybpf([cmd, "--bogus"], ctx.dir, 10, name="bogus-" + cmd)
        lines = res.err_lines()
        if res.rc != 2 or len(lines) != 2 or \
                lines[0] != "pybpf %s: unrecognized option '--bogus'" % cmd or \
                "--help" not in lines[1]:
            problems.append("%s --bogus: status %s, stderr %s" % (cmd, res.rc, lines[:4]))
    res = pybpf(["record", "--help"], ctx.dir, 10, name="help")
    if not re.search(r"--rate HZ .*per CPU", res.out):
        problems.append("record --help does not say the rate is per CPU")

    target, _ = names_workload(ctx)
    out = ctx.dir / "f.txt"
    res = pybpf(["record", "-p", target.pid, "-F", "--nolineno", "-f", "collapsed", "-o", out,
                 "-d", 1.5], ctx.dir, 30, name="nolineno")
    text = out.read_text() if out.exists() else ""
    if res.rc != 0 or not text or re.search(r"\.py:\d+\)", text):
        problems.append("-F --nolineno: status %s, line numbers in %r" % (res.rc, text[:160]))
    res = pybpf(["record", "-p", target.pid, "--tid", 1, "-d", 1, "-o", ctx.dir / "t.svg"],
                ctx.dir, 30, name="badtid")
    if res.rc == 0 or len(res.err_lines()) != 1:
        problems.append("--tid 1 (not a thread of %d): status %s, stderr %s"
                        % (target.pid, res.rc, res.err_lines()[:3]))
    rec = pybpf_start(["record", "-p", target.pid, "-d", 4, "-f", "collapsed", "-o",
                       ctx.dir / "u.txt"], ctx.dir, "usr1")
    time.sleep(2)
    rec.signal(signal.SIGUSR1)
    res = finish(rec, 20)
    said = [l for l in res.err_lines() if "SIGUSR1" in l]
    if not said or any("warning" in l for l in said):
        problems.append("SIGUSR1 line: %s" % said)
    # --rotate: the summary counts all files written
    rot = ctx.dir / "rot"
    res = pybpf(["record", "--all", "--rotate", 1.5, "-d", 5, "-f", "collapsed", "-o", rot,
                 "--comm", "^python"], ctx.dir, 40, name="rotate")
    files = list(rot.iterdir()) if rot.is_dir() else []
    m = re.search(r"\((\d+) files?\)", (P.parse_summary(res.err) or {}).get("line", ""))
    if res.rc != 0 or not m or int(m.group(1)) != len(files):
        problems.append("--rotate: %d files in %s, summary %r" % (len(files), rot,
                        (P.parse_summary(res.err) or {}).get("line")))
    target.kill()
    check_own_dump(ctx, problems)
    if problems:
        raise Fail(problems[0], problems[1:])


def check_own_dump(ctx, problems):
    """dump as nobody of nobody's own process: no CAP_SYS_PTRACE warning."""
    py = interp(ctx)
    drop = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    # the case directory may be private: the script goes where nobody reads it
    where = tempfile.mkdtemp(prefix="pybpf-ux-")
    os.chmod(where, 0o755)
    script = os.path.join(where, "names_gil.py")
    with open(script, "w") as f:
        f.write(NAMES_PY)
    binary = os.path.join(where, "pybpf")
    shutil.copy2(str(harness.PYBPF), binary)
    own = Proc(drop + [py.path, script, 30], ctx.dir, "nobody-workload")
    try:
        own.wait_ready(READY_TIMEOUT)
    except Fail:
        ctx.note("cannot run a workload as nobody: own-process dump check skipped")
        own.kill()
        shutil.rmtree(where)
        return
    res = finish(Proc(drop + [binary, "dump", "-p", own.pid], ctx.dir, "nobody-dump"), 20)
    own.kill()
    shutil.rmtree(where)
    ctx.note("dump as nobody: status %s, stderr %s" % (res.rc, res.err_lines()[:2]))
    if any("CAP_SYS_PTRACE" in l for l in res.err_lines()):
        problems.append("dump as nobody of its own process warns: %s" % res.err_lines()[:2])


def case_ux_gil_fallback(ctx):
    """A stripped interpreter's fallback probes: no share above 100 %."""
    pool = [i for i in ctx.all_interps if not i.missing and i.kind.startswith("debian")
            and i.version >= (3,) and not i.free_threaded]
    if not pool:
        raise Skip("no Debian (stripped) interpreter installed")
    target = Proc([pool[0].path, WORKLOADS / "gilstat.py", "sleep", WORKLOAD_MAX], ctx.dir,
                  "gilstat")
    target.wait_ready(READY_TIMEOUT)
    res = pybpf(["gil", "-p", target.pid, "--json", "-i", 1, "-d", 4], ctx.dir, 30, name="gil")
    target.kill()
    shares = []
    for line in res.out.splitlines():
        obj = json.loads(line)
        if obj["type"] != "interval":
            continue
        if obj["probes"] != FALLBACK_PROBES:
            raise Skip("%s has take_gil/drop_gil (a debug file): no fallback" % pool[0].path)
        shares += [obj["total"]["hold_pct"]] + [t["hold_pct"] for t in obj["threads"]]
    if res.rc != 0 or not shares or max(shares) > 100.0:
        raise Fail("fallback gil: status %s, shares up to %s %%"
                   % (res.rc, max(shares) if shares else None), res.describe(4))
