#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""bench_versions.py - the in-kernel cost per sample and the target slowdown
across CPython versions, for one pybpf build or several compared (before /
after a change), with tools/bench.py doing each measurement.

Usage (as root):
  python3 tools/bench_versions.py [--pybpf BIN[,BIN...]] [--pythons P[,P...]]
                                  [--depths 10,100,1000] [--rounds 3] [--rate 1000]

For every round, every interpreter and every binary in turn (interleaved, so
that a busy spell of the machine hits all of them alike), it runs
`bench.py --quick --json --rates RATE --rounds 1 --depths DEPTHS`: one
unprofiled and one profiled run of tools/bench/cpu.py (the slowdown ratio of
that pair), then tools/bench/deep.py held at each depth for 2 s at 1000 Hz
(kernel.bpf_stats_enabled run_time_ns / run_cnt of the perf_event program;
"ns per target sample" subtracts the other processes' early-return runs).
Prints one Markdown table per measure: median over the rounds, (min-max).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TSV = "/var/cache/pybpf-testbed/interpreters.tsv"
PYENV = "/root/.pyenv/versions"
DEFAULT = ["3.8", "3.11", "3.12", "3.13", "3.14", "3.15"]


def find_python(minor):
    """A test-bed interpreter of that minor: pyenv's first, then Debian's."""
    if os.sep in minor:
        return minor
    if os.path.isdir(PYENV):
        for v in sorted(os.listdir(PYENV)):
            if v.startswith(minor + "."):
                return os.path.join(PYENV, v, "bin", "python3")
    try:
        with open(TSV) as f:
            for line in f:
                label, path, version, kind = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
                if version.startswith(minor + ".") and kind != "free-threaded":
                    return path
    except OSError:
        pass
    return None


def run_one(a, py, binary):
    cmd = [sys.executable, os.path.join(ROOT, "tools", "bench.py"), "--quick", "--json",
           "--python", py, "--pybpf", binary, "--rates", str(a.rate), "--rounds", "1",
           "--depths", a.depths] + sum((["--skip", x] for x in a.skip), [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(r.stderr)
        return None
    return json.loads(r.stdout)


def fmt(values, f="%.0f"):
    if not values:
        return "–"
    return (f + " (" + f + "–" + f + ")") % (statistics.median(values), min(values), max(values))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pybpf", default=os.path.join(ROOT, "pybpf"),
                   help="comma-separated pybpf binaries to compare")
    p.add_argument("--pythons", default=",".join(DEFAULT),
                   help="comma-separated minors (3.12) or interpreter paths")
    p.add_argument("--depths", default="10,100,1000")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rate", type=int, default=1000, help="slowdown rate, Hz")
    p.add_argument("--skip", choices=["slowdown", "cost"], action="append", default=[],
                   help="leave a part out (tools/bench.py's parts)")
    a = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_versions: needs root")
    bins = [os.path.abspath(b) for b in a.pybpf.split(",")]
    pys = [(m, find_python(m)) for m in a.pythons.split(",")]
    pys = [(m, py) for m, py in pys if py]
    depths = [int(d) for d in a.depths.split(",")]
    cost = {}   # (minor, bin, depth) -> [ns]
    ratio = {}  # (minor, bin) -> [cpu ratio]
    for i in range(a.rounds):
        for m, py in pys:
            for b in bins:
                res = run_one(a, py, b)
                if not res:
                    continue
                cs = res.get("per_sample", {}).get("summary", [])
                for s in cs:
                    cost.setdefault((m, b, s["depth"]), []).append(s["ns_per_target_est"]["median"])
                for s in res.get("slowdown", {}).get("summary", [])[1:]:
                    ratio.setdefault((m, b), []).append(s["cpu_ratio"]["median"])
                sys.stderr.write("round %d/%d %s %s: %s %s\n" % (
                    i + 1, a.rounds, m, os.path.basename(b),
                    ", ".join("%d: %.0f ns" % (s["depth"], s["ns_per_target_est"]["median"])
                              for s in cs), ratio.get((m, b), [])[-1:]))
    label = {b: (os.path.basename(b) if len(bins) > 1 else "pybpf") for b in bins}
    if depths and "cost" not in a.skip:
        print_cost(pys, bins, depths, cost, label, a.rounds)
    if "slowdown" not in a.skip:
        print_ratio(pys, bins, ratio, label, a.rate)
    return 0


def print_cost(pys, bins, depths, cost, label, rounds):
    print("In-kernel ns per target sample (deep.py, distinct functions), median of %d "
          "interleaved rounds (min–max):\n" % rounds)
    print("| CPython | build | " + " | ".join("depth %d" % d for d in depths) + " |")
    print("|---|---|" + "---:|" * len(depths))
    for m, py in pys:
        for b in bins:
            print("| %s | %s | %s |" % (m, label[b], " | ".join(
                fmt(cost.get((m, b, d), [])) for d in depths)))
    print()


def print_ratio(pys, bins, ratio, label, rate):
    print("Target CPU-time ratio at %d Hz (cpu.py, profiled / unprofiled run of the same "
          "round), median (min–max):\n" % rate)
    print("| CPython | " + " | ".join(label[b] for b in bins) + " |")
    print("|---|" + "---:|" * len(bins))
    for m, py in pys:
        print("| %s | %s |" % (m, " | ".join(fmt(ratio.get((m, b), []), "%.3f") for b in bins)))


if __name__ == "__main__":
    sys.exit(main())
