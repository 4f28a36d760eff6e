#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""bench_rss.py - does a long `pybpf record --all --rotate` keep flat memory?
(issue #9, item 7).  Prints pybpf's resident set size every minute as a
Markdown table meant for README.md.

Usage (as root, from anywhere; --minutes long, 10 by default):
  python3 tools/bench_rss.py [--minutes M] [--rotate SECS] [--rate HZ]
                             [--period SECS] [--pythons P,P,...] [--pybpf PATH]

While `pybpf record --all --rotate SECS -f collapsed -o TMPDIR` runs, a new
CPython process starts every PERIOD seconds (interpreters taken in turn), each
defining FUNCS functions with names no other process uses (fresh code
objects, fresh symbols), calling them for LIFE seconds, and exiting: the
churn of a host whose workers come and go.  Every minute the bench reads
pybpf's VmRSS; at the end it checks that the last rotation's files name the
last processes' functions (so the run measured a working profiler) and that
the RSS after the first minute grew by less than the tolerance.  The exit
status is 1 when a check failed, 0 otherwise.
"""
import argparse
import glob
import re
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
PYENV = "/root/.pyenv/versions"
FUNCS = 200
LIFE = 0.6
GROWTH_TOLERANCE = 0.10   # RSS at the end over RSS after minute 1

PROGRAM = r'''
import sys, time
tag = sys.argv[1]
src = "".join("def f_%s_%d(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n"
              % (tag, i) for i in range(FUNCS))
ns = {}
exec(compile(src, "churn_%s.py" % tag, "exec"), ns)
fns = [ns["f_%s_%d" % (tag, i)] for i in range(FUNCS)]
end = time.time() + LIFE
while time.time() < end:
    for f in fns:
        f(200)
'''.replace("FUNCS", str(FUNCS)).replace("LIFE", str(LIFE))


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def default_pythons():
    found = [p for p in ("3.8.18", "3.11.7", "3.12.1", "3.13.0")
             if os.access("%s/%s/bin/python3" % (PYENV, p), os.X_OK)]
    return ["%s/%s/bin/python3" % (PYENV, p) for p in found] or [sys.executable]


class Spawner(threading.Thread):
    """A process every period, each with its own tag; exited ones reaped."""

    def __init__(self, pythons, period):
        super().__init__(daemon=True)
        self.pythons, self.period = pythons, period
        self.stop = threading.Event()
        self.started = 0
        self.last_tags = []

    def run(self):
        live = []
        while not self.stop.is_set():
            tag = "p%05d" % self.started
            py = self.pythons[self.started % len(self.pythons)]
            live.append(subprocess.Popen([py, "-c", PROGRAM, tag],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self.started += 1
            self.last_tags = (self.last_tags + [tag])[-5:]
            live = [p for p in live if p.poll() is None]
            self.stop.wait(self.period)
        for p in live:
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rotate", type=float, default=10)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--period", type=float, default=1.0, help="seconds between new processes")
    ap.add_argument("--pythons", help="comma-separated interpreters (default: pyenv 3.8-3.13)")
    ap.add_argument("--pybpf", default=os.path.join(ROOT, "pybpf"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_rss.py: needs root (BPF)")
    pythons = a.pythons.split(",") if a.pythons else default_pythons()
    out = tempfile.mkdtemp(prefix="pybpf-rss-")
    rec = subprocess.Popen([a.pybpf, "record", "--all", "--rotate", str(a.rotate), "-r",
                            str(a.rate), "-f", "collapsed", "-o", out + "/"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           start_new_session=True)
    time.sleep(2)
    spawner = Spawner(pythons, a.period)
    spawner.start()
    rows, start = [], time.time()
    try:
        for minute in range(1, int(a.minutes) + 1):
            while time.time() < start + 60 * minute:
                if rec.poll() is not None:
                    sys.exit("bench_rss.py: pybpf exited early: %s" % rec.stderr.read().decode())
                time.sleep(1)
            rows.append((minute, rss_kib(rec.pid), spawner.started,
                         len(glob.glob(out + "/*"))))
            print("minute %d: RSS %.1f MiB, %d processes started" %
                  (minute, rows[-1][1] / 1024, spawner.started), file=sys.stderr)
    finally:
        spawner.stop.set()
        spawner.join()
        time.sleep(a.rotate + 1)   # the last processes' rotation
        rec.send_signal(signal.SIGINT)
        err = rec.communicate()[1].decode()
    summary = [l for l in err.splitlines() if re.match(r"pybpf: \d+ samples", l)]
    checks = []
    texts = ""
    for path in sorted(glob.glob(out + "/*"), key=os.path.getmtime)[-40:]:
        with open(path, errors="replace") as f:
            texts += f.read()
    named = [t for t in spawner.last_tags if "f_%s_" % t in texts]
    if not named:
        checks.append("no function of the last processes (%s) in the last files"
                      % ", ".join(spawner.last_tags))
    if len(rows) >= 2 and rows[0][1]:
        growth = rows[-1][1] / rows[0][1] - 1
        if growth > GROWTH_TOLERANCE:
            checks.append("RSS grew %.0f %% after minute 1" % (growth * 100))
    print("| minute | pybpf RSS (MiB) | processes started | files written |")
    print("|---:|---:|---:|---:|")
    for minute, kib, started, files in rows:
        print("| %d | %.1f | %d | %d |" % (minute, kib / 1024, started, files))
    print("\n`python3 tools/bench_rss.py --minutes %g --rotate %g --rate %d --period %g`, "
          "%d functions per process, %s; summary: %s"
          % (a.minutes, a.rotate, a.rate, a.period, FUNCS,
             ", ".join(os.path.basename(os.path.dirname(os.path.dirname(p))) for p in pythons),
             summary[-1] if summary else "(none)"))
    for c in checks:
        print("check failed: " + c)
    subprocess.run(["rm", "-rf", out])
    return 1 if checks else 0


if __name__ == "__main__":
    sys.exit(main())
