#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""bench.py - measure what pybpf costs the profiled program: the slowdown of
a CPU-bound workload at several sampling rates, and the in-kernel cost of
one sample (kernel.bpf_stats_enabled run_time_ns / run_cnt) against stack
depth. Prints tables meant for README.md, or JSON.

Usage (as root, from anywhere):
  python3 tools/bench.py [--quick] [--python PATH] [--json]   (make bench)
  (--help for the knobs: --rounds, --work, --rates, --depths, --stacks,
  --record-opts, --skip)

kernel.bpf_stats_enabled is set to 1 for the whole run and restored after.

Slowdown: tools/bench/cpu.py does a fixed amount of work and times only its
work loop (wall and its own CPU time), after a "ready" handshake, so pybpf's
start-up stays out of the measurement: the bench starts the workload, waits
for "ready", attaches `pybpf record -p`, waits for pybpf's "profiling pid"
line, then writes "go". Runs come in sets, one rate after the other: an
unprofiled run and a profiled one (and with --control a run while pybpf
samples another, sleeping process at the same rate: what the sampling costs
the machine, timer interrupts and the program's early return, without the
walk), in an order that rotates from round to round; each profiled (and
control) run is divided by the unprofiled run of its set, and the table
gives the median ratio and the min-max spread. Timing on a shared
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
--stacks recursive measures deep.py --recursive too (one function calling
itself: one code object for the whole stack).

--record-opts passes pybpf record options to every profiled run (both
parts), e.g. --record-opts=--idle or --record-opts=--native.  With --idle
the cost part also reports the pybpf_switch (sched_switch) program's ns per
run; the perf_event program's cost per target sample stays the main figure.
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
SWITCH_PROG = "pybpf_switch"   # --idle's sched_switch program
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


def open_sampler_prog(pid, name=None):
    """Our own fd on the BPF program `name` (default PROG_NAME) that process
    pid holds, and its (run_time_ns, run_cnt) read first thing, before the
    slower name check."""
    name = name or PROG_NAME
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
        # None: no bpftool, trust the fd (only right with one program)
        if prog_name(prog_id) not in (name, None):
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
    die("pybpf (pid %d) holds no %s program" % (pid, name))


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

def slowdown_run(a, rate, control=False):
    """One timed run of cpu.py: unprofiled (rate 0), profiled at rate, or
    (control) while pybpf samples another, sleeping process at rate: the
    machine's own cost of the sampling (every CPU's timer interrupts, the
    program's early return) without the walk of the workload's stack."""
    wl = Workload(a.python, [os.path.join(BENCH, "cpu.py"), str(a.work)])
    sleeper = pb = fd = None
    try:
        if rate:
            pid = wl.pid
            if control:
                sleeper = Workload(a.python, [os.path.join(BENCH, "deep.py"), "10", "--idle"])
                pid = sleeper.pid
            pb = Pybpf(a.pybpf, pid, rate, "/dev/null", extra=a.record_opts)
            fd, t0, c0 = open_sampler_prog(pb.p.pid)
        res = wl.go()
        if sleeper:
            sleeper.stop()  # pybpf ends with its target
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
        if sleeper:
            sleeper.stop()
        if pb:
            pb.kill()


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def slowdown(a):
    """Sets (off, RATE[, control]) for each rate in turn, a.rounds times,
    run in an order that rotates from round to round (the first run of a
    set is not always the unprofiled one): each profiled (and control) run
    is compared with the unprofiled run of its set."""
    kinds = ["off", "on"] + (["control"] if a.control else [])
    sets = {r: [] for r in a.rates}
    for i in range(a.rounds):
        for r in a.rates:
            order = [kinds[(i + a.first_round + j) % len(kinds)] for j in range(len(kinds))]
            runs = {}
            for k in order:
                runs[k] = slowdown_run(a, 0 if k == "off" else r, control=k == "control")
            sets[r].append(runs)
            off, on = runs["off"], runs["on"]
            log("slowdown round %d/%d %5d Hz: cpu %.3f s (off %.3f s%s), wall %.3f s "
                "(off %.3f s), %d samples" % (
                    i + 1, a.rounds, r, on["cpu"], off["cpu"],
                    ", control %.3f s" % runs["control"]["cpu"] if a.control else "",
                    on["wall"], off["wall"], on["samples"]))
    base = [x["off"] for r in a.rates for x in sets[r]]
    summary = [{"rate": 0, "wall": spread([x["wall"] for x in base]),
                "cpu": spread([x["cpu"] for x in base])}]
    for r in a.rates:
        on = [x["on"] for x in sets[r]]
        row = {
            "rate": r,
            "wall": spread([x["wall"] for x in on]),
            "cpu": spread([x["cpu"] for x in on]),
            "wall_ratio": spread([x["on"]["wall"] / x["off"]["wall"] for x in sets[r]]),
            "cpu_ratio": spread([x["on"]["cpu"] / x["off"]["cpu"] for x in sets[r]]),
            "sys_s": spread([x["sys"] for x in on]),
            "samples_per_cpu_s": spread([x["samples"] / x["cpu"] for x in on]),
            "pybpf_cpu": spread([x["pybpf_cpu"] for x in on]),
            "bpf_pct": spread([100.0 * x["bpf_ns"] / 1e9 / x["cpu"] for x in on]),
        }
        if a.control:
            row["control_cpu_ratio"] = spread([x["control"]["cpu"] / x["off"]["cpu"]
                                               for x in sets[r]])
        summary.append(row)
    return {"work_rounds": a.work, "rounds": a.rounds, "control": a.control,
            "runs": {str(r): v for r, v in sets.items()},
            "summary": summary}


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


def cost_run(a, depth, idle=False, recursive=False):
    args = [os.path.join(BENCH, "deep.py"), str(depth)] + (["--idle"] if idle else []) + \
        (["--recursive"] if recursive else [])
    wl = Workload(a.python, args)
    pb, fds = None, {}
    progs = [PROG_NAME] + ([SWITCH_PROG] if "--idle" in a.record_opts else [])
    with tempfile.NamedTemporaryFile(prefix="pybpf-bench-", suffix=".txt") as out:
        try:
            pb = Pybpf(a.pybpf, wl.pid, a.cost_rate, out.name, duration=a.window,
                       extra=a.record_opts)
            for name in progs:
                fds[name] = open_sampler_prog(pb.p.pid, name)
            stats = pb.finish(timeout=a.window + 10)
            # detached now: the counters are final
            delta = {}
            for name, (fd, t0, c0) in fds.items():
                t1, c1 = prog_stats(fd)
                delta[name] = (t1 - t0, c1 - c0)
        finally:
            for fd, _, _ in fds.values():
                os.close(fd)
            wl.stop()
            if pb:
                pb.kill()
        if not get_bpf_stats():
            die("kernel.bpf_stats_enabled was reset during the run: numbers invalid")
        r = {"depth": depth, "idle": idle, "recursive": recursive,
             "run_time_ns": delta[PROG_NAME][0], "run_cnt": delta[PROG_NAME][1],
             "samples": stats.get("samples in profiled processes", 0),
             "stacks": stats.get("stacks recorded", 0),
             "truncated": stats.get("stacks truncated at --max-depth", 0),
             "frames": frames_per_sample(out.name), "pybpf_stats": stats}
        if SWITCH_PROG in delta:
            r["switch_run_time_ns"], r["switch_run_cnt"] = delta[SWITCH_PROG]
        return r


def per_sample(a):
    idle = []
    for i in range(a.cost_rounds):
        r = cost_run(a, 10, idle=True)
        idle.append(r)
        log("cost round %d/%d idle target: %d runs, %.0f ns/run" % (
            i + 1, a.cost_rounds, r["run_cnt"], r["run_time_ns"] / max(r["run_cnt"], 1)))
    idle_ns = statistics.median(r["run_time_ns"] / max(r["run_cnt"], 1) for r in idle)
    runs, summary = {}, []
    for stack in a.stacks:
        for d in a.depths:
            key = "%s %d" % (stack, d)
            runs[key] = []
            for i in range(a.cost_rounds):
                r = cost_run(a, d, recursive=(stack == "recursive"))
                n = max(r["samples"], 1)
                r["ns_per_run"] = r["run_time_ns"] / max(r["run_cnt"], 1)
                r["ns_per_target_upper"] = r["run_time_ns"] / n
                r["ns_per_target_est"] = (r["run_time_ns"] -
                                          (r["run_cnt"] - r["samples"]) * idle_ns) / n
                if "switch_run_cnt" in r:
                    r["switch_ns_per_run"] = r["switch_run_time_ns"] / max(r["switch_run_cnt"], 1)
                runs[key].append(r)
                log("cost round %d/%d %s depth %d: %d runs, %d target samples, %.1f frames, "
                    "%.0f ns/run, %.0f ns/target sample (upper bound), %.0f (estimate)" % (
                        i + 1, a.cost_rounds, stack, d, r["run_cnt"], r["samples"],
                        r["frames"], r["ns_per_run"], r["ns_per_target_upper"],
                        r["ns_per_target_est"]))
            rs = runs[key]
            s = {
                "stack": stack,
                "depth": d,
                "frames": statistics.median(r["frames"] for r in rs),
                "run_cnt": statistics.median(r["run_cnt"] for r in rs),
                "samples": statistics.median(r["samples"] for r in rs),
                "ns_per_run": spread([r["ns_per_run"] for r in rs]),
                "ns_per_target_upper": spread([r["ns_per_target_upper"] for r in rs]),
                "ns_per_target_est": spread([r["ns_per_target_est"] for r in rs]),
            }
            if "switch_ns_per_run" in rs[0]:
                s["switch_ns_per_run"] = spread([r["switch_ns_per_run"] for r in rs])
                s["switch_runs"] = statistics.median(r["switch_run_cnt"] for r in rs)
            summary.append(s)
    return {"rate": a.cost_rate, "window_s": a.window, "rounds": a.cost_rounds,
            "idle_ns_per_run": idle_ns, "idle_runs": idle,
            "runs": runs, "summary": summary}


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


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def host_facts(pybpf):
    """The machine, the command and the build: what a table's header says."""
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
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
        "pybpf": pybpf,
        "pybpf_git": sh(["git", "-C", ROOT, "describe", "--always", "--dirty"]),
        "loadavg_start": loadavg(),
    }


def environment(a):
    env = host_facts(a.pybpf)
    env.update({
        "python": sh([a.python, "-c", "import sys, platform; print("
                      "platform.python_implementation(), sys.version.split()[0])"]),
        "python_path": a.python,
        "record_opts": a.record_opts,
        "pybpf_cmd": shlex.join([os.path.relpath(a.pybpf, ROOT), "record", "-v", "-p", "PID",
                                 "-r", "HZ", "-f", "collapsed", "-o", "/dev/null"] +
                                a.record_opts),
    })
    return env


class Stopwatch:
    """Load average, CPU steal and duration of a run, for host_facts()."""

    def __init__(self):
        self.t0, (self.tot0, self.steal0) = time.monotonic(), cpu_times()

    def stop(self, env):
        tot1, steal1 = cpu_times()
        env["loadavg_end"] = loadavg()
        env["bench_seconds"] = round(time.monotonic() - self.t0, 1)
        env["steal_pct"] = round(100.0 * (steal1 - self.steal0) / max(tot1 - self.tot0, 1), 1)


def header(env, title):
    """Markdown lines: the command, the machine, and a warning if it was busy."""
    out = ["### " + title, "",
           "- command: `%s` (pybpf %s, %s, %.0f s)" % (env["command"], env["pybpf_git"],
                                                      env["date"], env["bench_seconds"]),
           "- machine: %d CPUs, %s, Linux %s (%s); load average %s at start, %s at end; "
           "%.1f %% CPU steal during the run" % (
               env["nproc"], env["cpu"], env["kernel"], env["machine"],
               env["loadavg_start"], env["loadavg_end"], env.get("steal_pct", 0))]
    if env["other_perf_progs"]:
        out.append("- other perf_event BPF programs loaded at start (they sample the workload "
                   "too): %s" % ", ".join(env["other_perf_progs"]))
    busy = max(float(x) for x in (env["loadavg_start"] + " " + env["loadavg_end"]).split())
    if busy > env["nproc"] - 1:
        out.append("- **the machine was busy** (load average up to %.1f on %d CPUs): wall "
                   "times are noise-dominated; CPU times hold up better" % (busy, env["nproc"]))
    return out


def fmt_spread(s, f="%.3f"):
    return (f + " (" + f + "–" + f + ")") % (s["median"], s["min"], s["max"])


def report(res):
    env, sd, ps = res["env"], res.get("slowdown"), res.get("per_sample")
    out = header(env, "pybpf overhead")
    out += ["- target: %s (`%s`)" % (env["python"], env["python_path"]), ""]
    if sd:
        base = sd["summary"][0]
        out += ["Slowdown of `tools/bench/cpu.py %d` (single thread, pure Python; the workload "
                "times its own work loop) under `%s`; %d rounds of (unprofiled, profiled%s) "
                "runs, their order rotated from round to round, median ratio to the "
                "unprofiled run of the round, (min–max):" % (
                    sd["work_rounds"], env["pybpf_cmd"], sd["rounds"],
                    ", control" if sd.get("control") else ""), "",
                "| rate | wall time, s | wall ratio | CPU time, s | CPU ratio "
                "| samples per CPU-second | BPF run time, % of CPU time | pybpf's own CPU, s |"
                + (" control CPU ratio |" if sd.get("control") else ""),
                "|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if sd.get("control") else ""),
                "| off | %s | 1 | %s | 1 | – | – | – |%s" % (
                    fmt_spread(base["wall"], "%.2f"), fmt_spread(base["cpu"], "%.2f"),
                    " 1 |" if sd.get("control") else "")]
        for s in sd["summary"][1:]:
            out.append("| %d Hz | %s | %s | %s | %s | %.0f | %s | %.2f |%s" % (
                s["rate"], fmt_spread(s["wall"], "%.2f"), fmt_spread(s["wall_ratio"]),
                fmt_spread(s["cpu"], "%.2f"), fmt_spread(s["cpu_ratio"]),
                s["samples_per_cpu_s"]["median"], fmt_spread(s["bpf_pct"], "%.2f"),
                s["pybpf_cpu"]["median"],
                " %s |" % fmt_spread(s["control_cpu_ratio"]) if "control_cpu_ratio" in s
                else ""))
        out += ["", "\"BPF run time\" is the program's Δrun_time_ns over the whole record "
                "(all CPUs, all processes) divided by the workload's CPU time: an upper bound "
                "of the in-kernel sampling cost that timing noise does not blur; it leaves out "
                "the timer interrupt itself. \"pybpf's own CPU\" is the profiler process "
                "(BPF load and verification, draining, output)." + (
                    " \"Control\": the same workload while pybpf samples another, sleeping "
                    "process at that rate, the machine's own cost of the sampling (timer "
                    "interrupts on every CPU, the program's early return) without the walk."
                    if sd.get("control") else ""), ""]
    if ps:
        out += ["In-kernel cost of the `%s` BPF program (kernel.bpf_stats_enabled=1, "
                "run_time_ns / run_cnt) at %d Hz, %g s per run, %d run(s) per depth, "
                "median (min–max). A run is any cpu-clock sample on any CPU; for other "
                "processes the program returns early: %.0f ns per run with the target "
                "asleep. \"Upper bound\" charges all run time to the target's samples; "
                "\"estimate\" first subtracts the other runs at that early-return cost:" % (
                    PROG_NAME, ps["rate"], ps["window_s"], ps["rounds"],
                    ps["idle_ns_per_run"]), "",
                "| stack | Python stack depth | frames per sample | program runs "
                "| target samples | ns per run | ns per target sample, upper bound "
                "| ns per target sample, estimate |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for s in ps["summary"]:
            out.append("| %s | %d | %.1f | %d | %d | %s | %s | %s |" % (
                s["stack"], s["depth"], s["frames"], s["run_cnt"], s["samples"],
                fmt_spread(s["ns_per_run"], "%.0f"), fmt_spread(s["ns_per_target_upper"], "%.0f"),
                fmt_spread(s["ns_per_target_est"], "%.0f")))
        out.append("")
        sw = [s for s in ps["summary"] if "switch_ns_per_run" in s]
        if sw:
            out += ["The `%s` (sched_switch) program of --idle, in the same runs: %s ns per "
                    "run, medians per stack and depth (min–max), %d to %d runs per window." % (
                        SWITCH_PROG, fmt_spread(spread([s["switch_ns_per_run"]["median"]
                                                        for s in sw]), "%.0f"),
                        min(s["switch_runs"] for s in sw), max(s["switch_runs"] for s in sw)),
                    ""]
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
    p.add_argument("--stacks", default="distinct",
                   help="deep.py stacks for the cost part: distinct, recursive or both "
                   "(comma-separated)")
    p.add_argument("--record-opts", default="", metavar="OPTS",
                   help="pybpf record options for every profiled run, e.g. "
                   "--record-opts=--idle or --record-opts=--native")
    p.add_argument("--skip", choices=["slowdown", "cost"], action="append", default=[],
                   help="leave a part out")
    p.add_argument("--control", action="store_true",
                   help="slowdown: also time the workload while pybpf samples another, "
                   "sleeping process at the same rate")
    p.add_argument("--first-round", type=int, default=0, metavar="N",
                   help="slowdown: number the rounds from N (the run order rotates with "
                   "the round: a caller running one round at a time passes its count)")
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
    a.stacks = a.stacks.split(",")
    if not a.stacks or set(a.stacks) - {"distinct", "recursive"}:
        p.error("--stacks takes distinct, recursive or both")
    a.record_opts = shlex.split(a.record_opts)
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
    watch = Stopwatch()
    old = get_bpf_stats()
    try:
        set_bpf_stats(1)
        if "slowdown" not in a.skip:
            res["slowdown"] = slowdown(a)
        if "cost" not in a.skip:
            res["per_sample"] = per_sample(a)
    finally:
        set_bpf_stats(old)
    watch.stop(res["env"])
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
