#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""bench_fleet.py - what `pybpf record --all` costs on a host full of Python
processes (issue #5): pybpf's own CPU share and peak RSS, its BPF programs'
run time, and whether every process was found and no sample was lost.
Prints a Markdown table meant for README.md, or JSON.

Usage (as root, from anywhere; about 35 s with the defaults):
  python3 tools/bench_fleet.py [--idle N] [--busy N] [--seconds S] [--rate HZ] [--json]
  (--help for the rest: --duty, --period, --pythons, --pybpf, --keep)

The fleet: N idle processes (asleep in read(2) on a pipe from the bench) and M
busy ones spinning DUTY % of every PERIOD (default 5 % of 100 ms: the default
20 make one CPU's worth, half of a 2-CPU machine), interpreters taken in turn
from every installed CPython 3.7-3.13. Each child leads its own session, so
its process group is killed on every exit path; one whose stdin reaches EOF
exits by itself should the bench die without cleaning up.

When all have said "ready", `pybpf record --all -d S -r HZ -f collapsed -o
TMPDIR -v` runs in a new session, reaped with wait4() for its exact CPU time
and peak RSS (VmHWM, polled every 0.5 s, is a cross-check). The CPU share is
split where the last fleet member was reported ("profiling pid"): start-up
(load, verification, first /proc scan) and steady state. BPF run time: with
kernel.bpf_stats_enabled=1 (restored after), the bench holds its own fd on
every program pybpf loads (tools/bench.py's helpers), so the counters, which
start at zero at load, are read whole after pybpf detaches. Also: members
discovered and profile files written per kind (a file needs samples, so idle
members get none), samples, errors and lost from the summary line (lost
expected 0), busy members' coverage (their samples over their CPU-seconds
since discovery times HZ, expected ~1), and pybpf's other messages, counted.
Expectations that did not hold are listed under "Checks failed" (JSON:
"checks"); the exit status is 0 whenever the measurement itself completed.
Other CPython processes on the host (other users, this bench) are profiled
too; they are counted apart and named.
"""
import argparse
import ctypes
import datetime
import glob
import importlib.util
import json
import os
import platform
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
READY_TIMEOUT = 60.0    # for the whole fleet to say "ready"
EXIT_GRACE = 30.0       # after -d SECS before pybpf is stopped with SIGINT
POLL = 0.5              # VmHWM and fd scan period


def load_bench():
    """tools/bench.py as a module (a plain import would race tools/bench/)."""
    spec = importlib.util.spec_from_file_location("pybpf_bench",
                                                  os.path.join(TOOLS, "bench.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


B = load_bench()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --- the fleet ---------------------------------------------------------------

IDLE_SRC = """\
import sys
print("ready", flush=True)
sys.stdin.read()        # asleep in read(2) until the bench closes the pipe
"""

BUSY_SRC = """\
import select, sys, time

def fleet_busy(until):
    while time.perf_counter() < until:
        pass

busy, period = float(sys.argv[1]), float(sys.argv[2])
print("ready", flush=True)
while True:
    fleet_busy(time.perf_counter() + busy)
    if select.select([sys.stdin], [], [], period - busy)[0]:
        break           # EOF: the bench is done (or gone)
"""


def interpreters():
    """Every installed CPython 3.7-3.13, oldest first."""
    found = []
    for d in glob.glob("/root/.pyenv/versions/3.*"):
        m = re.match(r"3\.(\d+)\.", os.path.basename(d) + ".")
        if m and 7 <= int(m.group(1)) <= 13:
            exe = os.path.join(d, "bin", "python3.%s" % m.group(1))
            if os.access(exe, os.X_OK):
                found.append((int(m.group(1)), exe))
    if os.access("/usr/bin/python3.11", os.X_OK):
        found.append((11, "/usr/bin/python3.11"))
    return [exe for _, exe in sorted(found)]


def cpu_seconds(pid):
    """A process's CPU time to the nanosecond (schedstat: /proc/PID/stat's
    10 ms ticks are too coarse for a member that ran 1.5 s), None once gone."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


class Fleet:
    def __init__(self):
        self.members = []           # (kind, python, Popen)

    def start(self, kind, python, args):
        try:
            p = subprocess.Popen([python] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True)
        except OSError as e:
            raise BenchError("cannot start %s: %s" % (python, e))
        self.members.append((kind, python, p))

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        for kind, python, p in self.members:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
                raise BenchError("%s member %d (%s) not ready after %.0f s" % (
                    kind, p.pid, python, timeout))
            line = p.stdout.readline().strip()
            if line != "ready":
                raise BenchError("%s member %d (%s) did not start: %r%s" % (
                    kind, p.pid, python, line, p.stdout.read() if p.poll() is not None else ""))

    def pids(self, kind=None):
        return {p.pid for k, _, p in self.members if kind in (None, k)}

    def stop(self):
        for _, _, p in self.members:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)    # its own group: pgid == pid
                except ProcessLookupError:
                    pass
        for _, _, p in self.members:
            p.wait()
            for f in (p.stdin, p.stdout):
                try:
                    f.close()
                except OSError:
                    pass    # the child is dead: EPIPE on flush is expected


# --- pybpf's BPF programs ----------------------------------------------------

def prog_info(prog_id):
    try:
        out = B.sh(["bpftool", "prog", "show", "id", str(prog_id), "-j"])
        j = json.loads(out)
        return j.get("name"), j.get("type")
    except ValueError:
        return None, None


class Progs:
    """Our own fd on every BPF program pybpf holds, opened as they appear."""

    def __init__(self):
        self.fds = {}               # prog_id -> fd

    def scan(self, pid):
        fd_dir = "/proc/%d/fd" % pid
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            return
        for fd in fds:
            try:
                if os.readlink(os.path.join(fd_dir, fd)) != "anon_inode:bpf-prog":
                    continue
                prog_id = int(B.fdinfo("/proc/%d/fdinfo/%s" % (pid, fd))["prog_id"])
            except (OSError, KeyError, ValueError):
                continue
            if prog_id not in self.fds:
                own = prog_fd_by_id(prog_id)
                if own is not None:
                    self.fds[prog_id] = own

    def stats(self):
        out = []
        for prog_id, fd in sorted(self.fds.items()):
            t, c = B.prog_stats(fd)
            name, kind = prog_info(prog_id)
            out.append({"id": prog_id, "name": name, "type": kind,
                        "run_time_ns": t, "run_cnt": c})
        return out

    def close(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


def prog_fd_by_id(prog_id):
    """BPF_PROG_GET_FD_BY_ID, as tools/bench.py does it; None if it is gone."""
    nr = B.SYS_BPF.get(platform.machine())
    if nr is None:
        raise BenchError("no bpf syscall number for %s" % platform.machine())
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(struct.pack("=III", prog_id, 0, 0), 16)
    fd = libc.syscall(nr, B.BPF_PROG_GET_FD_BY_ID, attr, 16)
    return fd if fd >= 0 else None


# --- pybpf -------------------------------------------------------------------

SUMMARY = re.compile(r"pybpf: (\d+) samples, (\d+) errors, (\d+) lost, ([\d.]+) s -> "
                     r"(.*) \((\d+) files?\)\s*$")
COUNTER = re.compile(r"pybpf:\s+(\d+)\s+(.+?)\s*$")
PROFILING = re.compile(r"pybpf: profiling pid (\d+)\b(.*)$")   # details vary by version


class Record:
    """`pybpf record --all ... -v` in its own session, watched until it exits."""

    def __init__(self, a, out_dir, fleet):
        self.cmd = [a.pybpf, "record", "--all", "-d", "%g" % a.seconds, "-r", str(a.rate),
                    "-f", "collapsed", "-o", out_dir, "-v"]
        self.fleet_pids, self.busy_pids = fleet.pids(), fleet.pids("busy")
        self.lines, self.found = [], {}      # pid -> (monotonic, description)
        self.busy_cpu0 = {}                  # busy pid -> its CPU time when reported
        self.all_found = None                # (monotonic, pybpf CPU seconds)
        self.rusage = None
        self.hwm_kb = 0
        self.progs = Progs()
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stderr:
            self.lines.append(line)
            m = PROFILING.match(line)
            if not m:
                continue
            pid = int(m.group(1))
            self.found[pid] = (time.monotonic(), m.group(2))
            if pid in self.busy_pids:
                self.busy_cpu0[pid] = cpu_seconds(pid)
            if self.all_found is None and self.fleet_pids <= self.found.keys():
                self.all_found = (time.monotonic(), cpu_seconds(self.p.pid))

    def _poll(self):
        try:
            with open("/proc/%d/status" % self.p.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.hwm_kb = max(self.hwm_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        self.progs.scan(self.p.pid)

    def wait(self, limit):
        """Reap pybpf with wait4() (its own rusage, nobody else's)."""
        deadline, next_poll, stopped = self.t0 + limit, 0.0, False
        while True:
            pid, status, ru = os.wait4(self.p.pid, os.WNOHANG)
            if pid:
                break
            now = time.monotonic()
            if now >= next_poll:
                self._poll()
                next_poll = now + POLL
            if now > deadline and not stopped:
                log("bench_fleet: pybpf still running %.0f s after -d, sending SIGINT"
                    % EXIT_GRACE)
                self.p.send_signal(signal.SIGINT)
                stopped, deadline = True, deadline + 10
            elif now > deadline:
                self.p.kill()
            time.sleep(0.05)
        self.wall = time.monotonic() - self.t0
        self.p.returncode = os.waitstatus_to_exitcode(status)   # Popen must not reap
        self.rusage = ru
        self.busy_cpu1 = {pid: cpu_seconds(pid) for pid in self.busy_pids}
        self.reader.join(5)

    def kill(self):
        if self.p.returncode is None and self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()

    def summary(self):
        for line in self.lines:
            m = SUMMARY.match(line)
            if m:
                return {"samples": int(m.group(1)), "errors": int(m.group(2)),
                        "lost": int(m.group(3)), "seconds": float(m.group(4)),
                        "files": int(m.group(6))}
        return None

    def messages(self):
        """pybpf's other stderr lines (errors, warnings), numbers folded to N,
        with how often each occurred: the ones that explain a shortfall."""
        out = {}
        for line in self.lines:
            line = line.rstrip("\n")
            if PROFILING.match(line) or SUMMARY.match(line) or COUNTER.match(line) \
                    or line.startswith("pybpf: skipping pid"):
                continue
            key = re.sub(r"\d+", "N", line)
            out[key] = out.get(key, 0) + 1
        return out

    def counters(self):
        out = {}
        for line in self.lines:
            m = COUNTER.match(line)
            if m and not SUMMARY.match(line):
                out[m.group(2)] = int(m.group(1))
        return out


# --- one run -----------------------------------------------------------------

def profile_files(out_dir):
    """{pid: (file name, samples)} of the collapsed files pybpf wrote."""
    files = {}
    for name in sorted(os.listdir(out_dir)):
        head = name.split("-", 1)[0]
        if not head.isdigit():
            continue
        samples = 0
        with open(os.path.join(out_dir, name), errors="replace") as f:
            for line in f:
                count = line.rstrip("\n").rpartition(" ")[2]
                if count.isdigit():
                    samples += int(count)
        files[int(head)] = (name, samples)
    return files


def describe(pid, details):
    """'pid 123 python3 (CPython 3.11.7)' from /proc and the "profiling pid" line."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            comm = " " + f.read().strip()
    except OSError:
        comm = ""
    m = re.search(r"CPython [0-9][^ ,)]*", details)
    return "pid %d%s%s" % (pid, comm, " (%s)" % m.group(0) if m else "")


def measure(a, fleet, out_dir):
    rec = Record(a, out_dir, fleet)
    try:
        rec.wait(a.seconds + EXIT_GRACE)
        progs = rec.progs.stats()      # pybpf has detached: the counters are final
    finally:
        rec.progs.close()
        rec.kill()
    summary = rec.summary()
    if rec.p.returncode != 0 or summary is None:
        raise BenchError("pybpf failed (exit %s): %s\n%s" % (
            rec.p.returncode, shlex.join(rec.cmd), "".join(rec.lines[-40:])))

    ru = rec.rusage
    cpu = ru.ru_utime + ru.ru_stime
    res = {"pybpf_cmd": shlex.join([os.path.relpath(a.pybpf, ROOT)] + rec.cmd[1:-2]
                                   + ["TMPDIR", "-v"]),
           "wall_s": rec.wall, "cpu_s": cpu, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
           "cpu_pct": 100.0 * cpu / rec.wall,
           "maxrss_kb": ru.ru_maxrss, "vmhwm_kb": rec.hwm_kb,
           "summary": summary, "counters": rec.counters(), "messages": rec.messages(),
           "progs": progs,
           "bpf_run_time_ns": sum(p["run_time_ns"] for p in progs),
           "bpf_run_cnt": sum(p["run_cnt"] for p in progs)}
    res["bpf_pct"] = 100.0 * res["bpf_run_time_ns"] / 1e9 / summary["seconds"]
    res["bpf_pct_of_host"] = res["bpf_pct"] / os.cpu_count()
    if rec.all_found and rec.all_found[1] is not None:
        t, start_cpu = rec.all_found
        start_s = t - rec.t0
        res["startup"] = {"wall_s": start_s, "cpu_s": start_cpu}
        res["steady"] = {"wall_s": rec.wall - start_s, "cpu_s": cpu - start_cpu,
                         "cpu_pct": 100.0 * (cpu - start_cpu) / max(rec.wall - start_s, 1e-9)}

    files = profile_files(out_dir)
    kinds = {}
    for kind in ("idle", "busy"):
        pids = fleet.pids(kind)
        kinds[kind] = {"started": len(pids),
                       "found": len(pids & rec.found.keys()),
                       "files": len(pids & files.keys()),
                       "samples": sum(files[p][1] for p in pids & files.keys())}
    busy_cpu = 0.0
    for pid in fleet.pids("busy"):
        c0, c1 = rec.busy_cpu0.get(pid), rec.busy_cpu1.get(pid)
        if c0 is not None and c1 is not None:
            busy_cpu += c1 - c0
    kinds["busy"]["cpu_s"] = busy_cpu
    kinds["busy"]["coverage"] = (kinds["busy"]["samples"] / (busy_cpu * a.rate)
                                 if busy_cpu else None)
    others = sorted(set(rec.found) - fleet.pids())
    res["fleet"] = kinds
    res["others"] = {"found": len(others),
                     "files": len(set(files) - fleet.pids()),
                     "samples": sum(s for p, (_, s) in files.items() if p not in fleet.pids()),
                     "what": [describe(p, rec.found[p][1]) for p in others]}
    res["skipped"] = sum(1 for line in rec.lines if line.startswith("pybpf: skipping pid"))
    res["bpf_stats_still_on"] = bool(B.get_bpf_stats())
    return res


# --- report ------------------------------------------------------------------

def environment():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        progs = json.loads(B.sh(["bpftool", "prog", "show", "-j"]) or "[]")
    except ValueError:
        progs = []
    return {
        "command": shlex.join(["python3", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)]
                              + sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "machine": platform.machine(),
        "pybpf_git": B.sh(["git", "-C", ROOT, "describe", "--always", "--dirty"]),
        "loadavg_start": loadavg(),
        "other_perf_progs": sorted(p.get("name", "?") for p in progs
                                   if p.get("type") == "perf_event"),
    }


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def report(res):
    env, a, r = res["env"], res["args"], res["run"]
    s, f, o = r["summary"], r["fleet"], r["others"]
    idle, busy = f["idle"], f["busy"]
    out = ["### pybpf fleet mode: scale and cost", "",
           "- command: `%s` (pybpf %s, %s, %.0f s in all)" % (
               env["command"], env["pybpf_git"], env["date"], env["bench_seconds"]),
           "- machine: %d CPUs, %s, Linux %s (%s); load average %s at start, %s at end; "
           "%.1f %% CPU steal during the run" % (
               env["nproc"], env["cpu"], env["kernel"], env["machine"],
               env["loadavg_start"], env["loadavg_end"], env["steal_pct"]),
           "- fleet: %d idle processes (asleep in read(2)) and %d busy ones (spinning %g ms "
           "of every %g ms, %g %% of a CPU each, %.1f CPUs in all), interpreters in turn: %s" % (
               a["idle"], a["busy"], a["duty"] * a["period_ms"] / 100, a["period_ms"],
               a["duty"], a["busy"] * a["duty"] / 100, ", ".join(
                   "`%s`" % p for p in a["pythons"])),
           "- profiler: `%s`, %g s at %d Hz" % (r["pybpf_cmd"], a["seconds"], a["rate"])]
    if o["found"]:
        out.append("- also profiled, not part of the fleet: %d other CPython processes on the "
                   "host (%s%s)" % (o["found"], "; ".join(o["what"][:8]),
                                    "; …" if o["found"] > 8 else ""))
    if env["other_perf_progs"]:
        out.append("- other perf_event BPF programs loaded at start (other profilers on this "
                   "shared machine): %s" % ", ".join(env["other_perf_progs"]))
    busiest = max(float(x) for x in (env["loadavg_start"] + " " + env["loadavg_end"]).split())
    if busiest > env["nproc"] - 1:
        out.append("- **the machine was busy** (load average up to %.1f on %d CPUs, the fleet "
                   "itself adds %.1f): CPU times hold up, wall-clock ones less so" % (
                       busiest, env["nproc"], a["busy"] * a["duty"] / 100))
    out += ["", "| figure | value |", "|---|---:|",
            "| pybpf CPU time (user + sys, wait4 rusage) | %.2f s (%.2f + %.2f) over %.1f s "
            "|" % (r["cpu_s"], r["user_s"], r["sys_s"], r["wall_s"]),
            "| **pybpf CPU share, of one CPU** | **%.2f %%** |" % r["cpu_pct"]]
    if "steady" in r:
        out += ["| … start-up, until the last fleet member was reported | %.2f s CPU in "
                "%.1f s |" % (r["startup"]["cpu_s"], r["startup"]["wall_s"]),
                "| … steady state, from then until exit | %.2f %% of one CPU |"
                % r["steady"]["cpu_pct"]]
    else:
        out.append("| … start-up | never over: %d fleet members were never reported |" % (
            idle["started"] + busy["started"] - idle["found"] - busy["found"]))
    out += ["| **pybpf peak RSS** (ru_maxrss; VmHWM polled every 0.5 s) | **%.1f MiB** "
            "(%.1f MiB) |" % (r["maxrss_kb"] / 1024, r["vmhwm_kb"] / 1024),
            "| BPF programs' run time (Σ run_time_ns, %d programs, %d runs) | %.3f s = "
            "%.2f %% of one CPU, %.2f %% of the host |" % (
                len(r["progs"]), r["bpf_run_cnt"], r["bpf_run_time_ns"] / 1e9, r["bpf_pct"],
                r["bpf_pct_of_host"]),
            "| processes discovered (\"profiling pid\"): idle, busy | %d / %d, %d / %d |" % (
                idle["found"], idle["started"], busy["found"], busy["started"]),
            "| profile files written: busy, idle (idle: none expected), others | "
            "%d / %d, %d / %d, %d |" % (busy["files"], busy["started"], idle["files"],
                                        idle["started"], o["files"]),
            "| files in TMPDIR (summary line) | %d |" % s["files"],
            "| samples: all (summary line); busy fleet; idle fleet; others | %d; %d; %d; %d |"
            % (s["samples"], busy["samples"], idle["samples"], o["samples"]),
            "| busy fleet coverage: samples / (its CPU-s × rate) | %s (%.1f CPU-s, %.2f "
            "CPUs) |" % ("%.3f" % busy["coverage"] if busy["coverage"] is not None else "–",
                         busy["cpu_s"], busy["cpu_s"] / s["seconds"]),
            "| **errors, lost** (summary line; lost expected 0) | **%d, %d** |" % (
                s["errors"], s["lost"]),
            "| processes skipped (not Python, unreadable) | %d |" % r["skipped"], ""]
    out.append("BPF programs: " + ", ".join(
        "`%s` (%s) %.3f s / %d runs" % (p["name"], p["type"], p["run_time_ns"] / 1e9,
                                        p["run_cnt"]) for p in r["progs"]) + ".")
    if r["messages"]:
        out.append("pybpf's other messages (numbers shown as N): " + "; ".join(
            "`%s` ×%d" % (m, n) for m, n in r["messages"].items()) + ".")
    if r["counters"]:
        out.append("pybpf -v counters: " + ", ".join(
            "%s %d" % (k, v) for k, v in r["counters"].items()) + ".")
    out += ["", "pybpf's CPU share is its own process only (load, verification, /proc "
            "scans for new processes, draining, output); the BPF programs run in the "
            "sampled tasks' context and are counted apart. Their run time is the kernel's "
            "kernel.bpf_stats_enabled figure; it leaves out the timer interrupts themselves."]
    if res["checks"]:
        out += ["", "**Checks failed:** " + "; ".join(res["checks"]) + "."]
    out.append("")
    return "\n".join(out)


def checks(r):
    failed = []
    f = r["fleet"]
    if r["summary"]["lost"]:
        failed.append("%d samples lost" % r["summary"]["lost"])
    for kind in ("idle", "busy"):
        if f[kind]["found"] != f[kind]["started"]:
            failed.append("%d of %d %s members not discovered" % (
                f[kind]["started"] - f[kind]["found"], f[kind]["started"], kind))
    if f["busy"]["files"] != f["busy"]["started"]:
        failed.append("%d of %d busy members have no profile file" % (
            f["busy"]["started"] - f["busy"]["files"], f["busy"]["started"]))
    for msg, n in r["messages"].items():
        if "failed" in msg or "error" in msg:
            failed.append("pybpf said `%s` %d times" % (msg, n))
    if not r["bpf_stats_still_on"]:
        failed.append("kernel.bpf_stats_enabled was reset during the run: BPF run time invalid")
    return failed


# --- main --------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(
        description="Measure `pybpf record --all` with many Python processes (run as root).")
    p.add_argument("--idle", type=int, default=100, help="idle processes (default 100)")
    p.add_argument("--busy", type=int, default=20, help="busy processes (default 20)")
    p.add_argument("--seconds", type=float, default=30, help="record duration (default 30)")
    p.add_argument("--rate", type=int, default=100, help="sampling rate, Hz (default 100)")
    p.add_argument("--duty", type=float, default=5.0,
                   help="busy processes' CPU share, %% (default 5)")
    p.add_argument("--period", type=float, default=100.0,
                   help="busy processes' spin+sleep period, ms (default 100)")
    p.add_argument("--pythons", help="comma-separated interpreters (default: every installed "
                   "CPython 3.7-3.13 and /usr/bin/python3.11)")
    p.add_argument("--pybpf", default=os.path.join(ROOT, "pybpf"), help="pybpf binary")
    p.add_argument("--keep", metavar="DIR", help="keep the profiles in DIR (must not exist)")
    p.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    a = p.parse_args()
    if a.idle < 0 or a.busy < 0 or a.idle + a.busy < 1 or a.idle + a.busy > 2000:
        p.error("--idle and --busy: 0 or more each, 1 to 2000 in all")
    if not 0.1 <= a.seconds <= 3600 or not 1 <= a.rate <= 100000:
        p.error("--seconds 0.1-3600, --rate 1-100000")
    if not 0 < a.duty < 100 or not 1 <= a.period <= 10000:
        p.error("--duty between 0 and 100, --period 1-10000 ms")
    a.pythons = [os.path.abspath(x) for x in a.pythons.split(",")] if a.pythons \
        else interpreters()
    if not a.pythons:
        p.error("no CPython 3.7-3.13 found: use --pythons")
    if a.keep and os.path.exists(a.keep):
        p.error("--keep %s: already exists" % a.keep)
    a.pybpf = os.path.abspath(a.pybpf)
    return a


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)     # run the finally blocks


def main():
    a = parse_args()
    if os.geteuid() != 0:
        log("bench_fleet: needs root (BPF, kernel.bpf_stats_enabled)")
        return 1
    if not os.access(a.pybpf, os.X_OK):
        log("bench_fleet: %s missing: run make first" % a.pybpf)
        return 1
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    res = {"env": environment(), "args": {
        "idle": a.idle, "busy": a.busy, "seconds": a.seconds, "rate": a.rate,
        "duty": a.duty, "period_ms": a.period, "pythons": a.pythons}}
    t0, (tot0, steal0) = time.monotonic(), B.cpu_times()
    fleet, out_dir, old_stats = Fleet(), tempfile.mkdtemp(prefix="pybpf-fleet-"), None
    try:
        busy_s, period_s = a.period * a.duty / 100 / 1000, a.period / 1000
        for i in range(a.idle):
            fleet.start("idle", a.pythons[i % len(a.pythons)], ["-c", IDLE_SRC])
        for i in range(a.busy):
            fleet.start("busy", a.pythons[i % len(a.pythons)],
                        ["-c", BUSY_SRC, repr(busy_s), repr(period_s)])
        fleet.wait_ready(READY_TIMEOUT)
        log("bench_fleet: %d idle + %d busy processes up after %.1f s; recording %g s" % (
            a.idle, a.busy, time.monotonic() - t0, a.seconds))
        old_stats = B.get_bpf_stats()
        B.set_bpf_stats(1)
        res["run"] = measure(a, fleet, out_dir)
    except BenchError as e:
        log("bench_fleet: %s" % e)
        return 1
    except KeyboardInterrupt:
        log("bench_fleet: interrupted")
        return 130
    finally:
        fleet.stop()
        if old_stats is not None:
            B.set_bpf_stats(old_stats)
        if a.keep:
            shutil.move(out_dir, a.keep)
        else:
            shutil.rmtree(out_dir, ignore_errors=True)

    res["env"]["loadavg_end"] = loadavg()
    res["env"]["bench_seconds"] = round(time.monotonic() - t0, 1)
    tot1, steal1 = B.cpu_times()
    res["env"]["steal_pct"] = round(100.0 * (steal1 - steal0) / max(tot1 - tot0, 1), 1)
    res["checks"] = checks(res["run"])
    print(json.dumps(res, indent=2) if a.json else report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
