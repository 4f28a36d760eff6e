#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""bench.py - measure what pybpf costs the profiled program: the slowdown of
a CPU-bound workload at several sampling rates, and the in-kernel cost of
one sample (kernel.bpf_stats_enabled run_time_ns / run_cnt) against stack
depth. Prints tables meant for README.md, or JSON.

Usage (as root, from anywhere):
  python3 tools/bench.py [--quick] [--python PATH] [--json]   (make bench)
  (--help for the knobs: --rounds, --work, --rates, --depths, --skip)

kernel.bpf_stats_enabled is set to 1 for the whole run and restored after.

Slowdown: tools/bench/cpu.py does a fixed amount of work and times only its
work loop (wall and its own CPU time), after a "ready" handshake, so pybpf's
start-up stays out of the measurement: the bench starts the workload, waits
for "ready", attaches `pybpf record -p`, waits for pybpf's "profiling pid"
line, then writes "go". Runs are interleaved (off, 100, 1000, 10000 Hz, off,
...) and each profiled run is divided by the unprofiled run of its round;
the table gives the median ratio and the min-max spread. Timing on a shared
or virtual machine is noisy, so each profiled run also reports the BPF
program's own Δrun_time_ns per CPU-second of the workload, which noise does
not blur (an upper bound: it includes the early returns for other processes).

Per-sample cost: tools/bench/deep.py spins with its Python stack held at a
fixed depth; pybpf samples it for a fixed window. The bench opens its own fd
on pybpf's `pybpf_sample` program (BPF_PROG_GET_FD_BY_ID), so the counters
can be read after pybpf has exited and detached. run_cnt also counts samples
of other processes (the program returns early for them), so two honest
numbers are given: ns per program run, and run time / samples in the
profiled process (pybpf -v) as an upper bound of the cost of a target
sample. An idle target (deep.py --idle, blocked in read()) measures the
early-return path alone, from which an estimate of the target cost follows.
"""
import argparse
import ctypes
import datetime
import json
import os
import platform
import re
import resource
import shlex
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "tools", "bench")
DEFAULT_PYTHON = "/root/.pyenv/versions/3.11.7/bin/python3.11"
PROG_NAME = "pybpf_sample"
STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"
SYS_BPF = {"x86_64": 321, "aarch64": 280}
BPF_PROG_GET_FD_BY_ID = 13
START_TIMEOUT = 15.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log("bench: " + msg)
    sys.exit(1)


# --- processes ---------------------------------------------------------------

class Workload:
    """A tools/bench/ script that prints "ready" once it is set up."""

    def __init__(self, python, args):
        self.p = subprocess.Popen([python] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().strip()
        if line != "ready":
            self.stop()
            die("workload %s did not start (got %r)" % (args, line))
        self.pid = self.p.pid

    def go(self):
        """Start the timed part and return its JSON result line."""
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        self.p.wait()
        try:
            return json.loads(line)
        except ValueError:
            die("workload gave no result (got %r)" % line)

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


class Pybpf:
    """`pybpf record -v -p PID`; start() returns once the target is added."""

    def __init__(self, binary, pid, rate, out, duration=None, extra=()):
        self.cmd = [binary, "record", "-v", "-p", str(pid), "-r", str(rate),
                    "-f", "collapsed", "-o", out] + list(extra)
        if duration:
            self.cmd += ["-d", str(duration)]
        self.lines = []
        self.ready = threading.Event()
        self.p = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready.wait(0.05):
            if self.p.poll() is not None or time.monotonic() > deadline:
                self.p.kill()
                self.p.wait()
                self.reader.join(1)
                die("pybpf did not attach: %s\n%s" % (shlex.join(self.cmd),
                                                      "".join(self.lines)))

    def _read(self):
        for line in self.p.stderr:
            self.lines.append(line)
            if "profiling pid" in line:
                self.ready.set()

    def finish(self, timeout=10.0):
        """Wait for pybpf to exit (SIGINT after timeout); return its counters."""
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.send_signal(signal.SIGINT)
            self.p.wait(10)
        self.reader.join(5)
        if self.p.returncode != 0:
            die("pybpf failed (exit %d): %s\n%s" % (
                self.p.returncode, shlex.join(self.cmd), "".join(self.lines)))
        stats = {}
        for line in self.lines:
            m = re.match(r"pybpf:\s+(\d+)\s+(.+?)\s*$", line)
            if m:
                stats[m.group(2)] = int(m.group(1))
        return stats

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


# --- BPF program statistics --------------------------------------------------

def fdinfo(path):
    info = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            info[k.strip()] = v.strip()
    return info


def prog_name(prog_id):
    try:
        out = subprocess.run(["bpftool", "prog", "show", "id", str(prog_id), "-j"],
                             capture_output=True, text=True, timeout=10).stdout
        return json.loads(out).get("name")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def open_sampler_prog(pid):
    """Our own fd on the pybpf_sample program that process pid holds, and its
    (run_time_ns, run_cnt) read first thing, before the slower name check."""
    fd_dir, found = "/proc/%d/fd" % pid, []
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) != "anon_inode:bpf-prog":
                continue
            info = fdinfo("/proc/%d/fdinfo/%s" % (pid, fd))
            found.append((int(info["prog_id"]), int(info["run_time_ns"]), int(info["run_cnt"])))
        except (OSError, KeyError, ValueError):
            continue
    for prog_id, run_time, run_cnt in found:
        name = prog_name(prog_id)
        if name not in (PROG_NAME, None):   # None: no bpftool, trust the fd
            continue
        nr = SYS_BPF.get(platform.machine())
        if nr is None:
            die("no bpf syscall number for %s" % platform.machine())
        libc = ctypes.CDLL(None, use_errno=True)
        attr = ctypes.create_string_buffer(struct.pack("=III", prog_id, 0, 0), 16)
        own = libc.syscall(nr, BPF_PROG_GET_FD_BY_ID, attr, 16)
        if own < 0:
            die("BPF_PROG_GET_FD_BY_ID %d: %s" % (prog_id, os.strerror(ctypes.get_errno())))
        return own, run_time, run_cnt
    die("pybpf (pid %d) holds no %s program" % (pid, PROG_NAME))


def prog_stats(fd):
    info = fdinfo("/proc/self/fdinfo/%d" % fd)
    return int(info["run_time_ns"]), int(info["run_cnt"])


def set_bpf_stats(value):
    with open(STATS_SYSCTL, "w") as f:
        f.write("%d\n" % value)


def get_bpf_stats():
    with open(STATS_SYSCTL) as f:
        return int(f.read())


# --- part 1: slowdown --------------------------------------------------------

def slowdown_run(a, rate):
    wl = Workload(a.python, [os.path.join(BENCH, "cpu.py"), str(a.work)])
    pb = fd = None
    try:
        if rate:
            pb = Pybpf(a.pybpf, wl.pid, rate, "/dev/null")
            fd, t0, c0 = open_sampler_prog(pb.p.pid)
        res = wl.go()
        if pb:
            # pybpf is the only child left to reap: its own CPU time (BPF load
            # and verification, draining, output) is the RUSAGE_CHILDREN delta
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            res["samples"] = pb.finish().get("samples in profiled processes", 0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            res["pybpf_cpu"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            t1, c1 = prog_stats(fd)
            res["bpf_ns"], res["bpf_runs"] = t1 - t0, c1 - c0
        return res
    finally:
        if fd is not None:
            os.close(fd)
        wl.stop()
        if pb:
            pb.kill()


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def slowdown(a):
    configs = [0] + a.rates
    runs = {r: [] for r in configs}
    for i in range(a.rounds):
        for r in configs:
            res = slowdown_run(a, r)
            runs[r].append(res)
            log("slowdown round %d/%d %-8s wall %.3f s cpu %.3f s%s" % (
                i + 1, a.rounds, ("%d Hz" % r) if r else "off", res["wall"], res["cpu"],
                "  %d samples" % res["samples"] if r else ""))
    base = runs[0]
    summary = [{"rate": 0, "wall": spread([x["wall"] for x in base]),
                "cpu": spread([x["cpu"] for x in base])}]
    for r in a.rates:
        summary.append({
            "rate": r,
            "wall": spread([x["wall"] for x in runs[r]]),
            "cpu": spread([x["cpu"] for x in runs[r]]),
            "wall_ratio": spread([x["wall"] / b["wall"] for x, b in zip(runs[r], base)]),
            "cpu_ratio": spread([x["cpu"] / b["cpu"] for x, b in zip(runs[r], base)]),
            "sys_s": spread([x["sys"] for x in runs[r]]),
            "samples_per_cpu_s": spread([x["samples"] / x["cpu"] for x in runs[r]]),
            "pybpf_cpu": spread([x["pybpf_cpu"] for x in runs[r]]),
            "bpf_pct": spread([100.0 * x["bpf_ns"] / 1e9 / x["cpu"] for x in runs[r]]),
        })
    return {"work_rounds": a.work, "rounds": a.rounds,
            "runs": {str(r): v for r, v in runs.items()}, "summary": summary}


# --- part 2: per-sample cost -------------------------------------------------

def frames_per_sample(path):
    """Sample-weighted mean Python stack depth in a collapsed file."""
    frames = samples = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if stack and count.isdigit():
                frames += (stack.count(";") + 1) * int(count)
                samples += int(count)
    return frames / samples if samples else 0.0


def cost_run(a, depth, idle=False):
    args = [os.path.join(BENCH, "deep.py"), str(depth)] + (["--idle"] if idle else [])
    wl = Workload(a.python, args)
    pb = fd = None
    with tempfile.NamedTemporaryFile(prefix="pybpf-bench-", suffix=".txt") as out:
        try:
            pb = Pybpf(a.pybpf, wl.pid, a.cost_rate, out.name, duration=a.window)
            fd, t0, c0 = open_sampler_prog(pb.p.pid)
            stats = pb.finish(timeout=a.window + 10)
            t1, c1 = prog_stats(fd)   # detached now: the counters are final
        finally:
            if fd is not None:
                os.close(fd)
            wl.stop()
            if pb:
                pb.kill()
        if not get_bpf_stats():
            die("kernel.bpf_stats_enabled was reset during the run: numbers invalid")
        return {"depth": depth, "idle": idle, "run_time_ns": t1 - t0, "run_cnt": c1 - c0,
                "samples": stats.get("samples in profiled processes", 0),
                "stacks": stats.get("stacks recorded", 0),
                "truncated": stats.get("stacks truncated at --max-depth", 0),
                "frames": frames_per_sample(out.name), "pybpf_stats": stats}


def per_sample(a):
    idle = []
    for i in range(a.cost_rounds):
        r = cost_run(a, 10, idle=True)
        idle.append(r)
        log("cost round %d/%d idle target: %d runs, %.0f ns/run" % (
            i + 1, a.cost_rounds, r["run_cnt"], r["run_time_ns"] / max(r["run_cnt"], 1)))
    idle_ns = statistics.median(r["run_time_ns"] / max(r["run_cnt"], 1) for r in idle)
    runs, summary = {}, []
    for d in a.depths:
        runs[d] = []
        for i in range(a.cost_rounds):
            r = cost_run(a, d)
            n = max(r["samples"], 1)
            r["ns_per_run"] = r["run_time_ns"] / max(r["run_cnt"], 1)
            r["ns_per_target_upper"] = r["run_time_ns"] / n
            r["ns_per_target_est"] = (r["run_time_ns"] - (r["run_cnt"] - r["samples"]) * idle_ns) / n
            runs[d].append(r)
            log("cost round %d/%d depth %d: %d runs, %d target samples, %.1f frames, "
                "%.0f ns/run, %.0f ns/target sample (upper bound)" % (
                    i + 1, a.cost_rounds, d, r["run_cnt"], r["samples"], r["frames"],
                    r["ns_per_run"], r["ns_per_target_upper"]))
        rs = runs[d]
        summary.append({
            "depth": d,
            "frames": statistics.median(r["frames"] for r in rs),
            "run_cnt": statistics.median(r["run_cnt"] for r in rs),
            "samples": statistics.median(r["samples"] for r in rs),
            "ns_per_run": spread([r["ns_per_run"] for r in rs]),
            "ns_per_target_upper": spread([r["ns_per_target_upper"] for r in rs]),
            "ns_per_target_est": spread([r["ns_per_target_est"] for r in rs]),
        })
    return {"rate": a.cost_rate, "window_s": a.window, "rounds": a.cost_rounds,
            "idle_ns_per_run": idle_ns, "idle_runs": idle,
            "runs": {str(d): v for d, v in runs.items()}, "summary": summary}


# --- report ------------------------------------------------------------------

def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def cpu_times():
    """Aggregate /proc/stat cpu line: (total jiffies, steal jiffies)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]), v[7] if len(v) > 7 else 0


def environment(a):
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    try:
        progs = json.loads(sh(["bpftool", "prog", "show", "-j"]) or "[]")
    except ValueError:
        progs = []
    others = sorted(p.get("name", "?") for p in progs if p.get("type") == "perf_event")
    return {
        "other_perf_progs": others,
        "command": shlex.join(["python3", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": sh([a.python, "-c", "import sys, platform; print("
                      "platform.python_implementation(), sys.version.split()[0])"]),
        "python_path": a.python,
        "pybpf": a.pybpf,
        "pybpf_git": sh(["git", "-C", ROOT, "describe", "--always", "--dirty"]),
        "loadavg_start": load,
        "pybpf_cmd": shlex.join([os.path.relpath(a.pybpf, ROOT), "record", "-v", "-p", "PID",
                                 "-r", "HZ", "-f", "collapsed", "-o", "/dev/null"]),
    }


def fmt_spread(s, f="%.3f"):
    return (f + " (" + f + "–" + f + ")") % (s["median"], s["min"], s["max"])


def report(res):
    env, sd, ps = res["env"], res.get("slowdown"), res.get("per_sample")
    out = ["### pybpf overhead", "",
           "- command: `%s` (pybpf %s, %s)" % (env["command"], env["pybpf_git"], env["date"]),
           "- machine: %d CPUs, %s, Linux %s (%s); load average %s at start, %s at end; "
           "%.1f %% CPU steal during the run" % (
               env["nproc"], env["cpu"], env["kernel"], env["machine"],
               env["loadavg_start"], env["loadavg_end"], env.get("steal_pct", 0)),
           "- target: %s (`%s`)" % (env["python"], env["python_path"])]
    if env["other_perf_progs"]:
        out.append("- other perf_event BPF programs loaded at start (they sample the workload "
                   "too): %s" % ", ".join(env["other_perf_progs"]))
    busy = max(float(x) for x in (env["loadavg_start"] + " " + env["loadavg_end"]).split())
    if busy > env["nproc"] - 1:
        out.append("- **the machine was busy** (load average up to %.1f on %d CPUs): wall "
                   "times are noise-dominated; CPU times hold up better" % (busy, env["nproc"]))
    out.append("")
    if sd:
        base = sd["summary"][0]
        out += ["Slowdown of `tools/bench/cpu.py %d` (single thread, pure Python; the workload "
                "times its own work loop) under `%s`; %d interleaved rounds, median ratio to "
                "the unprofiled run of the same round, (min–max):" % (
                    sd["work_rounds"], env["pybpf_cmd"], sd["rounds"]), "",
                "| rate | wall time, s | wall ratio | CPU time, s | CPU ratio "
                "| samples per CPU-second | BPF run time, % of CPU time | pybpf's own CPU, s |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|",
                "| off | %s | 1 | %s | 1 | – | – | – |" % (fmt_spread(base["wall"], "%.2f"),
                                                   fmt_spread(base["cpu"], "%.2f"))]
        for s in sd["summary"][1:]:
            out.append("| %d Hz | %s | %s | %s | %s | %.0f | %s | %.2f |" % (
                s["rate"], fmt_spread(s["wall"], "%.2f"), fmt_spread(s["wall_ratio"]),
                fmt_spread(s["cpu"], "%.2f"), fmt_spread(s["cpu_ratio"]),
                s["samples_per_cpu_s"]["median"], fmt_spread(s["bpf_pct"], "%.2f"),
                s["pybpf_cpu"]["median"]))
        out += ["", "\"BPF run time\" is the program's Δrun_time_ns over the whole record "
                "(all CPUs, all processes) divided by the workload's CPU time: an upper bound "
                "of the in-kernel sampling cost that timing noise does not blur; it leaves out "
                "the timer interrupt itself. \"pybpf's own CPU\" is the profiler process "
                "(BPF load and verification, draining, output).", ""]
    if ps:
        out += ["In-kernel cost of the `%s` BPF program (kernel.bpf_stats_enabled=1, "
                "run_time_ns / run_cnt) at %d Hz, %g s per run, %d run(s) per depth, "
                "median (min–max). A run is any cpu-clock sample on any CPU; for other "
                "processes the program returns early: %.0f ns per run with the target "
                "asleep. \"Upper bound\" charges all run time to the target's samples; "
                "\"estimate\" first subtracts the other runs at that early-return cost:" % (
                    PROG_NAME, ps["rate"], ps["window_s"], ps["rounds"],
                    ps["idle_ns_per_run"]), "",
                "| Python stack depth | frames per sample | program runs | target samples "
                "| ns per run | ns per target sample, upper bound | ns per target sample, estimate |",
                "|---:|---:|---:|---:|---:|---:|---:|"]
        for s in ps["summary"]:
            out.append("| %d | %.1f | %d | %d | %s | %s | %s |" % (
                s["depth"], s["frames"], s["run_cnt"], s["samples"],
                fmt_spread(s["ns_per_run"], "%.0f"), fmt_spread(s["ns_per_target_upper"], "%.0f"),
                fmt_spread(s["ns_per_target_est"], "%.0f")))
        out.append("")
    return "\n".join(out)


# --- main --------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description="Measure pybpf's overhead (run as root).")
    p.add_argument("--quick", action="store_true", help="fewer rounds, shorter windows")
    p.add_argument("--python", default=DEFAULT_PYTHON, help="interpreter of the workloads")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--pybpf", default=os.path.join(ROOT, "pybpf"), help="pybpf binary")
    p.add_argument("--rounds", type=int, help="slowdown rounds (default 5, quick 2)")
    p.add_argument("--work", type=int, default=500, help="cpu.py work rounds (default 500)")
    p.add_argument("--rates", default="100,1000,10000", help="profiled rates, Hz")
    p.add_argument("--depths", default="10,100,500", help="stack depths for the cost part")
    p.add_argument("--skip", choices=["slowdown", "cost"], action="append", default=[],
                   help="leave a part out")
    a = p.parse_args()
    a.rounds = a.rounds or (2 if a.quick else 5)
    a.cost_rounds = 1 if a.quick else 3
    a.window = 2 if a.quick else 5
    a.cost_rate = 1000
    try:
        a.rates = [int(x) for x in a.rates.split(",")]
        a.depths = [int(x) for x in a.depths.split(",")]
    except ValueError:
        p.error("--rates and --depths take comma-separated integers")
    if min(a.rates) < 1 or min(a.depths) < 4 or a.rounds < 1 or a.work < 1:
        p.error("rates >= 1, depths >= 4, rounds >= 1, work >= 1")
    a.python = os.path.abspath(a.python) if os.sep in a.python else a.python
    a.pybpf = os.path.abspath(a.pybpf)
    return a


def main():
    a = parse_args()
    if os.geteuid() != 0:
        die("needs root (BPF, kernel.bpf_stats_enabled)")
    if not os.access(a.pybpf, os.X_OK):
        die("%s missing: run make first" % a.pybpf)
    res = {"env": environment(a)}
    t0, (tot0, steal0) = time.monotonic(), cpu_times()
    old = get_bpf_stats()
    try:
        set_bpf_stats(1)
        if "slowdown" not in a.skip:
            res["slowdown"] = slowdown(a)
        if "cost" not in a.skip:
            res["per_sample"] = per_sample(a)
    finally:
        set_bpf_stats(old)
    with open("/proc/loadavg") as f:
        res["env"]["loadavg_end"] = " ".join(f.read().split()[:3])
    res["env"]["bench_seconds"] = round(time.monotonic() - t0, 1)
    tot1, steal1 = cpu_times()
    res["env"]["steal_pct"] = round(100.0 * (steal1 - steal0) / max(tot1 - tot0, 1), 1)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
