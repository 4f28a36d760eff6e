#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""gil_overhead.py - what `pybpf gil` costs the traced program: the slowdown
of fixed GIL-bound work (tools/bench/gilwork.py) with the take_gil/drop_gil
uprobes attached, against the same work untraced.

Usage (as root, from anywhere):
  python3 tools/bench/gil_overhead.py [--python PATH] [--rounds N] [--json]

Scenarios: 4 pure-Python threads contending for the GIL (a forced switch
about every 5 ms); 1 pure-Python thread (never releases the GIL: no probe
hit at all); 1 thread calling os.fstat in a loop (a GIL drop and take per
~1 us system call: the worst case, which gives the cost per probe hit).
Runs are interleaved (off, on, off, on, ...); the workload times its own
work loop after a "ready"/"go" handshake, and pybpf is attached (its
"tracing the GIL" line seen) before "go".  Each traced run is divided by
the untraced run of its round; the table gives the median ratio and the
min-max spread, the GIL takes per second seen by pybpf, and the extra wall
time per take (one take_gil and one drop_gil call: 4 probe hits).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = os.path.join(ROOT, "tools", "bench", "gilwork.py")
PYBPF = os.environ.get("PYBPF", os.path.join(ROOT, "pybpf"))
DEFAULT_PYTHON = "/root/.pyenv/versions/3.11.7/bin/python3.11"

SCENARIOS = [  # label, gilwork.py mode, threads, amount
    ("4 threads, pure Python, contended", "cpu", 4, 40000000),
    ("1 thread, pure Python", "cpu", 1, 40000000),
    ("1 thread, os.fstat loop (GIL drop+take per call)", "release", 1, 1500000),
]


def wait_line(stream, prefix, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = stream.readline()
        if not line:
            return None
        if line.startswith(prefix):
            return line
    return None


def run_once(python, mode, threads, amount, traced):
    work = subprocess.Popen([python, WORK, mode, str(threads), str(amount)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    tracer, takes = None, None
    try:
        if wait_line(work.stdout, "ready", 20) is None:
            raise RuntimeError("workload did not start")
        if traced:
            tracer = subprocess.Popen([PYBPF, "gil", "-p", str(work.pid), "-i", "3600"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True)
            if wait_line(tracer.stderr, "pybpf: tracing the GIL", 30) is None:
                raise RuntimeError("pybpf gil did not start: %s" % tracer.stderr.read())
        work.stdin.write("go\n")
        work.stdin.flush()
        result = json.loads(work.stdout.readline())
        work.wait(30)
        if tracer:
            err = tracer.communicate(timeout=30)[1]  # ends with its target
            for line in err.splitlines():
                if " takes, " in line:
                    takes = int(line.split()[1])
        result["takes"] = takes
        return result
    finally:
        for p in (work, tracer):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def summarize(rows):
    ratios = [r["on"]["wall"] / r["off"]["wall"] for r in rows]
    cpu_ratios = [r["on"]["cpu"] / r["off"]["cpu"] for r in rows]
    takes_per_s = [r["on"]["takes"] / r["on"]["wall"] for r in rows if r["on"]["takes"]]
    per_take = [(r["on"]["wall"] - r["off"]["wall"]) / r["on"]["takes"] * 1e6
                for r in rows if r["on"]["takes"]]
    return {
        "off_wall": statistics.median(r["off"]["wall"] for r in rows),
        "on_wall": statistics.median(r["on"]["wall"] for r in rows),
        "ratio": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
        "cpu_ratio": statistics.median(cpu_ratios),
        "takes_per_s": statistics.median(takes_per_s) if takes_per_s else 0,
        "us_per_take": statistics.median(per_take) if per_take else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--python", default=DEFAULT_PYTHON)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("gil_overhead.py: needs root (uprobes)")
    version = subprocess.run([args.python, "-c", "import platform; print(platform.python_version())"],
                             stdout=subprocess.PIPE, text=True).stdout.strip()
    load0 = os.getloadavg()
    results = []
    for label, mode, threads, amount in SCENARIOS:
        rows = []
        for k in range(args.rounds):
            order = (False, True) if k % 2 == 0 else (True, False)
            row = {}
            for traced in order:
                row["on" if traced else "off"] = run_once(args.python, mode, threads, amount,
                                                          traced)
            rows.append(row)
        results.append(dict(summarize(rows), label=label, rounds=rows))
    if args.json:
        print(json.dumps({"python": version, "results": results}, indent=1))
        return 0
    print("- command: `python3 tools/bench/gil_overhead.py --rounds %d` (CPython %s, %s)"
          % (args.rounds, version, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
    print("- machine: %d CPUs, Linux %s; load average %.2f at start, %.2f at end"
          % (os.cpu_count(), platform.release(), load0[0], os.getloadavg()[0]))
    print()
    # the worst case measures the cost of one take (4 probe hits) well above
    # the noise; the others' cost follows from how often they take the GIL
    unit = results[-1]["us_per_take"] or 0.0
    print("| workload | untraced wall, s | traced wall, s | wall ratio, median (min-max) "
          "| CPU ratio | GIL takes/s traced | extra µs per take | estimated cost |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        worst = r is results[-1]
        per = "%.1f" % r["us_per_take"] if worst and r["us_per_take"] else "-"
        cost = "(measured)" if worst else "%.3f %%" % (r["takes_per_s"] * unit / 1e4)
        print("| %s | %.2f | %.2f | %.3f (%.3f-%.3f) | %.3f | %.0f | %s | %s |" % (
            r["label"], r["off_wall"], r["on_wall"], r["ratio"], r["ratio_min"],
            r["ratio_max"], r["cpu_ratio"], r["takes_per_s"], per, cost))
    print()
    print("Estimated cost: GIL takes per second x %.1f µs (the extra time per take of the "
          "os.fstat loop, where it stands far above the noise), as a share of wall time." % unit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
