#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""run.py - privileged integration tests of ./pybpf on real CPython processes.

Usage (as root, from the repo root, with Debian's python3):
    python3 tests/integration/run.py [-k PATTERN]... [-j N] [-v] [--keep] [--list]

Finds the interpreters (pyenv 2.7 and 3.6-3.13, Debian's /usr/bin/python3.11,
the test bed's), runs every case once per interpreter, each in a child
process: those that may share the machine (cases.SHARED: names, lines,
shapes, never time or CPU shares against a clock) two at a time, then
the others alone; and prints PASS/FAIL/SKIP per case and one closing line
"N passed, N failed, N skipped".  Exit status 1 if anything failed, if no
case ran, or if every case of an installed interpreter was skipped.
A missing interpreter or missing root gives SKIP, never PASS.
Scratch files live in a temporary directory that is kept for failed cases
(its path is printed) or for every case with --keep.  The binary is copied
there first, so a rebuild during the run does not mix two builds;
PYBPF=/path/to/pybpf tests another binary than ./pybpf.
"""
import argparse
import fnmatch
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import Fail, Skip  # noqa: E402
import cases  # noqa: E402

PYENV = "/root/.pyenv/versions"
SUPPORTED_MINORS = [(2, 7), (3, 6), (3, 7), (3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]
# pyenv minors pybpf refuses, each checked by the cases marked "unsupported"
# (none today: case refuse makes an interpreter it cannot read instead)
UNSUPPORTED_MINORS = []
DEBIAN = [("debian-3.11", "/usr/bin/python3.11")]
# tools/testbed.sh (run by `make deps`) lists what it installed here:
# label, python binary, version, kind (debian-static, free-threaded...)
TESTBED = os.environ.get("PYBPF_TESTBED") or "/var/cache/pybpf-testbed"
TESTBED_MANIFEST = os.path.join(TESTBED, "interpreters.tsv")
# (label when absent, kind, minor) that a complete test bed holds
TESTBED_EXPECTED = [("debian-3.13", "debian-static", (3, 13)),
                    ("debian-3.14", "debian-static", (3, 14)),
                    ("debian-3.15", "debian-static", (3, 15)),
                    ("3.13t", "free-threaded", (3, 13))]


class Interp:
    def __init__(self, label, path, version=None, missing=None, kind="pyenv"):
        self.label, self.path, self.version, self.missing = label, path, version, missing
        self.kind = kind

    @property
    def free_threaded(self):
        return self.kind == "free-threaded"


def probe(path):
    """sys.version_info[:3] of an interpreter, or None if it does not run."""
    try:
        out = subprocess.run([path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20)
        return tuple(int(x) for x in out.stdout.decode().split(".")) if out.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def pyenv_interp(minor):
    want = "%d.%d" % minor
    dirs = [d for d in glob.glob("%s/%s.*" % (PYENV, want))
            if re.match(r"^\d+\.\d+\.\d+$", os.path.basename(d))]  # not 3.13.0t etc.
    dirs.sort(key=lambda d: [int(x) for x in os.path.basename(d).split(".")])
    if not dirs:
        return Interp(want, None, missing="CPython %s not installed under %s" % (want, PYENV))
    path = "%s/bin/python%s" % (dirs[-1], want)
    version = probe(path)
    label = os.path.basename(dirs[-1])
    if version is None:
        return Interp(label, path, missing="%s does not run" % path)
    return Interp(label, path, version)


def testbed_interps():
    """The test bed's interpreters; each expected one that is absent is
    returned as missing (reported SKIP, never PASS)."""
    found = []
    try:
        with open(TESTBED_MANIFEST) as f:
            rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    except OSError:
        rows = []
    listed = set()
    for row in rows:
        if len(row) < 4:
            continue
        label, path, listed_version, kind = row[:4]
        listed.add((kind, tuple(int(x) for x in listed_version.split(".")[:2])))
        version = probe(path)
        if version is None:
            found.append(Interp(label, path, missing="%s does not run" % path, kind=kind))
        else:
            found.append(Interp(label, path, version, kind=kind))
    for label, kind, minor in TESTBED_EXPECTED:
        if (kind, minor) not in listed:
            found.append(Interp(label, None, kind=kind, missing="%s is not in the test bed "
                                "(%s; run `make deps`)" % (label, TESTBED_MANIFEST)))
    return found


def discover():
    supported = [pyenv_interp(m) for m in SUPPORTED_MINORS]
    for label, path in DEBIAN:
        version = probe(path) if os.path.exists(path) else None
        if version is None:
            supported.append(Interp(label, path, missing="%s not installed" % path))
        else:
            supported.append(Interp("debian-%d.%d.%d" % version, path, version,
                                    kind="debian-static"))
    supported += testbed_interps()
    unsupported = [pyenv_interp(m) for m in UNSUPPORTED_MINORS]
    return supported, unsupported


def plan(supported, unsupported):
    out = []
    for name, fn, which in cases.CASES:
        if which is None:
            out.append((name, fn, None))
        elif isinstance(which, tuple):
            # (major, minor) pairs: those pyenv interpreters alone, for a case
            # whose subject does not depend on the version (CI's time budget)
            for interp in supported:
                if interp.kind == "pyenv" and any(
                        interp.label == "%d.%d" % m or interp.label.startswith("%d.%d." % m)
                        for m in which):
                    out.append(("%s[%s]" % (name, interp.label), fn, interp))
        else:
            pool = {"supported": supported, "unsupported": unsupported,
                    "free-threaded": [i for i in supported if i.free_threaded],
                    "with-gil": [i for i in supported if not i.free_threaded]}[which]
            for interp in pool:
                out.append(("%s[%s]" % (name, interp.label), fn, interp))
    return out


def selected(name, patterns):
    if not patterns:
        return True
    for p in patterns:
        if any(c in p for c in "*?[") and fnmatch.fnmatchcase(name, p):
            return True
        if p in name:
            return True
    return False


class Ctx:
    def __init__(self, interp, workdir, all_interps=()):
        self.interp, self.dir, self.notes = interp, Path(workdir), []
        self.all_interps = list(all_interps)  # every supported one, for fleet cases

    def note(self, *lines):
        self.notes.extend(lines)


def run_case(name, fn, interp, workdir, supported):
    """One case, in the calling process: (status, reason, evidence, notes)."""
    ctx = Ctx(interp, workdir, supported)
    status, reason, evidence = "PASS", "", []
    try:
        if os.geteuid() != 0:
            raise Skip("needs root (eBPF)")
        if interp is not None and interp.missing:
            raise Skip(interp.missing)
        fn(ctx)
    except Skip as e:
        status, reason = "SKIP", str(e)
    except Fail as e:
        status, reason, evidence = "FAIL", str(e), e.evidence
    except Exception as e:  # a bug in the case or an unexpected output
        status, reason = "FAIL", "unexpected %s: %s" % (type(e).__name__, e)
        evidence = traceback.format_exc().rstrip().splitlines()[-6:]
    finally:
        harness.kill_all()
    return status, reason, evidence, ctx.notes


def fork_case(name, fn, interp, workdir, supported):
    """Run a case in a child process (its processes, its kill_all); the
    result comes back as workdir/../NAME.result.json.  Returns the pid."""
    sys.stdout.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        def stop(signum, frame):
            harness.kill_all()
            os._exit(130)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        res = run_case(name, fn, interp, workdir, supported)
        with open(str(workdir) + ".result.json", "w") as f:
            json.dump(res, f)
        code = 0
    finally:
        os._exit(code)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("-k", action="append", default=[], metavar="PATTERN",
                    help="run cases whose name contains PATTERN (or matches it as a glob)")
    ap.add_argument("-j", "--jobs", type=int, default=2, metavar="N",
                    help="run up to N cases at once among those that can share the machine "
                    "(cases.SHARED; default 2; the others always run alone)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show commands and measurements")
    ap.add_argument("--keep", action="store_true", help="keep every case's scratch directory")
    ap.add_argument("--list", action="store_true", help="list case names and exit")
    args = ap.parse_args()

    supported, unsupported = discover()
    todo = [c for c in plan(supported, unsupported) if selected(c[0], args.k)]
    if args.list:
        for name, _, interp in todo:
            print(name + ("  (%s)" % interp.missing if interp and interp.missing else ""))
        return 0

    running = {}  # child pid -> (name, interp, workdir, t0)

    def interrupted(signum, frame):
        for pid in running:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        for pid in list(running):
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
        harness.kill_all()
        print("interrupted", file=sys.stderr)
        os._exit(130)
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    root = tempfile.mkdtemp(prefix="pybpf-it-")
    if harness.PYBPF.exists():
        # Test one binary throughout, even if ./pybpf is rebuilt meanwhile.
        snap = Path(root) / "pybpf"
        shutil.copy2(str(harness.PYBPF), str(snap))
        if args.verbose:
            print("testing a copy of %s (modified %s)" % (harness.PYBPF, time.ctime(
                harness.PYBPF.stat().st_mtime)))
        harness.PYBPF = snap
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    per_interp = {}
    t_start = time.monotonic()

    def report(name, interp, workdir, t0, res):
        status, reason, evidence, notes = res
        counts[status] += 1
        if interp is not None:
            st = per_interp.setdefault(interp.label, {"PASS": 0, "FAIL": 0, "SKIP": 0,
                                                      "present": not interp.missing})
            st[status] += 1
        line = "%s %s" % (status, name) + (": " + reason if reason else "")
        print(line + (" (%.1f s)" % (time.monotonic() - t0) if args.verbose else ""))
        for ev in evidence:
            print("    " + ev)
        if status == "FAIL" and os.listdir(str(workdir)):
            print("    files: %s" % workdir)
        if args.verbose:
            for n in notes:
                print("    | " + n)
        sys.stdout.flush()
        if status != "FAIL" and not args.keep:
            shutil.rmtree(str(workdir), ignore_errors=True)

    def reap_one():
        pid, status = os.waitpid(-1, 0)
        if pid not in running:
            return
        name, interp, workdir, t0 = running.pop(pid)
        try:
            with open(str(workdir) + ".result.json") as f:
                res = json.load(f)
            os.unlink(str(workdir) + ".result.json")
        except (OSError, ValueError):
            res = ("FAIL", "the case's process ended with status %#x and no result" % status,
                   [], [])
        report(name, interp, workdir, t0, res)

    # The cases that may share the machine run first, up to --jobs at a
    # time; then the others, alone.
    shared = [c for c in todo if c[0].split("[")[0] in cases.SHARED]
    alone = [c for c in todo if c[0].split("[")[0] not in cases.SHARED]
    for group, width in ((shared, max(1, args.jobs)), (alone, 1)):
        for name, fn, interp in group:
            while len(running) >= width:
                reap_one()
            workdir = Path(root) / re.sub(r"[^\w.-]", "_", name)
            workdir.mkdir()
            pid = fork_case(name, fn, interp, workdir, supported)
            running[pid] = (name, interp, workdir, time.monotonic())
        while running:
            reap_one()
    if not [f for f in os.listdir(root) if f != "pybpf"]:
        shutil.rmtree(root, ignore_errors=True)
    if args.verbose:
        print("total %.0f s" % (time.monotonic() - t_start))
    # A run that tested nothing, or nothing of an interpreter that is
    # there, must not pass.
    for label, st in sorted(per_interp.items()):
        if st["present"] and st["SKIP"] and not st["PASS"] and not st["FAIL"]:
            print("FAIL %s: every case of this installed interpreter was skipped" % label)
            counts["FAIL"] += 1
    if counts["PASS"] + counts["FAIL"] == 0:
        print("FAIL: no case ran")
        counts["FAIL"] += 1
    print("%d passed, %d failed, %d skipped" % (counts["PASS"], counts["FAIL"], counts["SKIP"]))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
