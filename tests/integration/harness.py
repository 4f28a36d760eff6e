# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""harness.py - start, watch and reliably kill the processes a case needs.

Every process (workload or pybpf) starts in a session of its own
(setsid), with stdout/stderr in files of the case directory, and is killed
by session: all processes whose session id is the leader's get SIGKILL, so
children that pybpf launched (`record -- CMD`) die too.  Everything started
is registered and killed again by kill_all() at exit or on Ctrl-C.
"""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKLOADS = REPO / "tests" / "workloads"
PYBPF = Path(os.environ.get("PYBPF", str(REPO / "pybpf")))  # PYBPF=path tests another build


class Fail(Exception):
    """The case failed; args[0] is the reason, evidence the lines that prove it."""

    def __init__(self, reason, evidence=()):
        super().__init__(reason)
        self.evidence = list(evidence)


class Skip(Exception):
    pass


MARK_RE = re.compile(r"#\s*@([\w-]+)\s*$")


def markers(path):
    """{tag: [line numbers]} for lines ending in '# @tag'."""
    tags = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = MARK_RE.search(line.rstrip("\n"))
            if m:
                tags.setdefault(m.group(1), []).append(n)
    return tags


def session_members(sid):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 3 and int(fields[3]) == sid:
            pids.append(int(d))
    return pids


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][:1] not in ("Z", "X")
    except OSError:
        return False


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_live = []


class Proc:
    """A process in its own session; output goes to DIR/NAME.out/.err."""

    def __init__(self, argv, workdir, name, env=None):
        self.argv = [str(a) for a in argv]
        self.name = name
        self.out_path = Path(workdir) / (name + ".out")
        self.err_path = Path(workdir) / (name + ".err")
        self.started = time.monotonic()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=err, cwd=str(REPO), env=env,
                                      start_new_session=True)
        self.pid = self.p.pid
        _live.append(self)

    def out(self):
        return self.out_path.read_text(errors="replace")

    def err(self):
        return self.err_path.read_text(errors="replace")

    def cmdline(self):
        return " ".join(self.argv)

    def wait_ready(self, timeout=20.0, token="ready"):
        """Wait for a line starting with token on stdout; return that line."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.out().splitlines():
                if line.startswith(token):
                    return line
            if self.p.poll() is not None:
                raise Fail("workload exited with %s before '%s': %s"
                           % (self.p.returncode, token, self.cmdline()),
                           ["stderr: " + l for l in self.err().splitlines()[-8:]])
            time.sleep(0.02)
        raise Fail("workload not ready after %.0f s: %s" % (timeout, self.cmdline()))

    def wait(self, timeout):
        """Exit status, or None if still running after timeout."""
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig):
        if self.p.poll() is None:
            os.kill(self.pid, sig)

    def kill(self):
        """SIGKILL the whole session, then reap the leader."""
        for _ in range(20):
            members = session_members(self.pid)
            if not members:
                break
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)
            if self.p.poll() is not None and not any(pid_alive(p) for p in members):
                break
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if self in _live:
            _live.remove(self)


def kill_all():
    for proc in list(_live):
        proc.kill()


class Result:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv, self.rc, self.out, self.err, self.elapsed = argv, rc, out, err, elapsed

    def cmd(self):
        return " ".join(self.argv)

    def err_lines(self):
        return [l for l in self.err.splitlines() if l.strip()]

    def describe(self, nerr=10):
        lines = ["command: %s" % self.cmd(),
                 "exit status %s after %.1f s" % (self.rc, self.elapsed)]
        errs = self.err_lines()
        lines += ["stderr: " + l for l in errs[-nerr:]]
        if len(errs) > nerr:
            lines.insert(2, "stderr: (%d earlier lines not shown)" % (len(errs) - nerr))
        return lines


def finish(proc, timeout):
    """Wait for a started process and return its Result.  On timeout: SIGINT
    (so pybpf can still write its output), 3 s grace, then SIGKILL, and Fail."""
    try:
        rc = proc.wait(timeout)
        if rc is None:
            proc.signal(signal.SIGINT)
            rc = proc.wait(3)
            res = Result(proc.argv, rc, proc.out(), proc.err(), time.monotonic() - proc.started)
            raise Fail("%s did not finish within %.0f s (killed)" % (proc.name, timeout),
                       res.describe())
        return Result(proc.argv, rc, proc.out(), proc.err(), time.monotonic() - proc.started)
    finally:
        proc.kill()


def run(argv, workdir, name, timeout, env=None):
    """Run to completion in its own session (see finish)."""
    return finish(Proc(argv, workdir, name, env), timeout)


def pybpf_start(args, workdir, name="pybpf", env=None):
    if not PYBPF.exists():
        raise Fail("pybpf not built (%s missing)" % PYBPF)
    return Proc([str(PYBPF)] + [str(a) for a in args], workdir, name, env)


def pybpf(args, workdir, timeout, name="pybpf", env=None):
    """Run pybpf to its end; env: its whole environment (None: ours)."""
    return finish(pybpf_start(args, workdir, name, env), timeout)
