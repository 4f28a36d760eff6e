#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""bench_versions.py - the in-kernel cost per sample and the target slowdown
across CPython versions and record modes (Python-only, --idle, --native),
for one pybpf build or several compared (before / after a change), with
tools/bench.py doing each measurement.

Usage (as root):
  python3 tools/bench_versions.py [--pybpf BIN[,BIN...]] [--pythons P[,P...]]
        [--modes python,idle,native] [--depths 10,20,50,100,500]
        [--stacks distinct,recursive] [--rates 100,1000,10000] [--rounds 3]
        [--work 500] [--skip slowdown|cost] [--control]

  e.g. a short run:  --pythons 3.12 --modes python --depths 20,100 --rates 1000 --rounds 1

For every round, every interpreter, every binary and every mode in turn
(interleaved, so that a busy spell of the machine hits all of them alike),
it runs `bench.py --quick --json --rounds 1 --record-opts=MODE-OPTION`:
- slowdown: for each rate, one unprofiled and one profiled run of
  tools/bench/cpu.py, which times its own work loop; the CPU-time ratio of
  the pair (and the BPF program's run time as a share of the workload's CPU
  time, which timing noise does not blur); with --control also a run while
  pybpf samples another, sleeping process at that rate (what sampling costs
  the machine whoever is profiled), its ratio in brackets;
- cost: tools/bench/deep.py held at each depth for 2 s at 1000 Hz, its stack
  DEPTH distinct functions and/or one function recursing (--recursive);
  kernel.bpf_stats_enabled run_time_ns of the perf_event program, less the
  other processes' early returns (cost measured with the target asleep),
  over the target's samples.  With --idle, the sched_switch program's ns per
  run in the same windows gets a column of its own.
Prints Markdown tables: median over the rounds, (min-max) when more than one.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (tools/bench.py: host facts, header, stopwatch)

TSV = "/var/cache/pybpf-testbed/interpreters.tsv"
PYENV = "/root/.pyenv/versions"
DEFAULT = ["3.8", "3.11", "3.12", "3.13", "3.14", "3.15"]
MODES = {"python": [], "idle": ["--idle"], "native": ["--native"]}   # record options


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


def run_one(a, py, binary, mode, round_no):
    """One bench.py run; its JSON, or None after printing why it failed."""
    cmd = [sys.executable, os.path.join(bench.ROOT, "tools", "bench.py"), "--quick", "--json",
           "--python", py, "--pybpf", binary, "--rounds", "1", "--first-round", str(round_no),
           "--work", str(a.work),
           "--rates", a.rates, "--depths", a.depths, "--stacks", a.stacks,
           "--record-opts=" + " ".join(MODES[mode])] + sum((["--skip", x] for x in a.skip), []) + \
        (["--control"] if a.control else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(r.stderr)
        return None
    return json.loads(r.stdout)


def collect(res, key, cost, switch, ratio, bpf_pct, control):
    """File one bench.py result under key = (minor, binary, mode)."""
    for s in res.get("per_sample", {}).get("summary", []):
        cost.setdefault(key + (s["stack"], s["depth"]), []).append(
            s["ns_per_target_est"]["median"])
        if "switch_ns_per_run" in s:
            switch.setdefault(key + (s["stack"],), []).append(s["switch_ns_per_run"]["median"])
    for s in res.get("slowdown", {}).get("summary", [])[1:]:
        ratio.setdefault(key + (s["rate"],), []).append(s["cpu_ratio"]["median"])
        bpf_pct.setdefault(key + (s["rate"],), []).append(s["bpf_pct"]["median"])
        if "control_cpu_ratio" in s:
            control.setdefault(key + (s["rate"],), []).append(
                s["control_cpu_ratio"]["median"])


def fmt(values, f="%.0f"):
    if not values:
        return "–"
    if len(values) == 1:
        return f % values[0]
    return (f + " (" + f + "–" + f + ")") % (statistics.median(values), min(values), max(values))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pybpf", default=os.path.join(bench.ROOT, "pybpf"),
                   help="comma-separated pybpf binaries to compare")
    p.add_argument("--pythons", default=",".join(DEFAULT),
                   help="comma-separated minors (3.12) or interpreter paths")
    p.add_argument("--modes", default="python,idle,native",
                   help="comma-separated: python (no option), idle (--idle), native (--native)")
    p.add_argument("--depths", default="10,20,50,100,500")
    p.add_argument("--stacks", default="distinct,recursive",
                   help="deep.py stacks: distinct functions, recursion, or both")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rates", "--rate", default="100,1000,10000",
                   help="slowdown rates, Hz, comma-separated")
    p.add_argument("--work", type=int, default=500, help="cpu.py work rounds")
    p.add_argument("--skip", choices=["slowdown", "cost"], action="append", default=[],
                   help="leave a part out (tools/bench.py's parts)")
    p.add_argument("--control", action="store_true",
                   help="slowdown: also time the workload while pybpf samples another, "
                   "sleeping process at the same rate (tools/bench.py --control)")
    a = p.parse_args()
    a.bins = [os.path.abspath(b) for b in a.pybpf.split(",")]
    a.mode_list = a.modes.split(",")
    if set(a.mode_list) - set(MODES):
        p.error("--modes takes %s" % ", ".join(MODES))
    try:
        a.depth_list = [int(d) for d in a.depths.split(",")]
        a.rate_list = [int(r) for r in a.rates.split(",")]
    except ValueError:
        p.error("--depths and --rates take comma-separated integers")
    a.stack_list = a.stacks.split(",")
    a.pys = []
    for m in a.pythons.split(","):
        py = find_python(m)
        if py:
            a.pys.append((m, py))
        else:
            bench.log("bench_versions: no interpreter for %s, left out" % m)
    return a


def main():
    a = parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_versions: needs root")
    for b in a.bins:
        if not os.access(b, os.X_OK):
            sys.exit("bench_versions: %s missing: run make first" % b)
    env = bench.host_facts(",".join(a.bins))
    watch = bench.Stopwatch()
    cost, switch, ratio, bpf_pct, control = {}, {}, {}, {}, {}
    versions, failed = {}, []
    for i in range(a.rounds):
        for m, py in a.pys:
            for b in a.bins:
                for mode in a.mode_list:
                    t0 = time.monotonic()
                    res = run_one(a, py, b, mode, i)
                    if not res:
                        failed.append("round %d, %s, %s, %s" % (
                            i + 1, m, os.path.basename(b), mode))
                        continue
                    versions[m] = res["env"]["python"]
                    ps = res.get("per_sample")
                    if ps:
                        a.cost_setup = "%d Hz, %g s" % (ps["rate"], ps["window_s"])
                    collect(res, (m, b, mode), cost, switch, ratio, bpf_pct, control)
                    bench.log("round %d/%d %s %s %s: done in %.0f s (%.0f s so far)" % (
                        i + 1, a.rounds, m, os.path.basename(b), mode,
                        time.monotonic() - t0, time.monotonic() - watch.t0))
    watch.stop(env)
    out = bench.header(env, "pybpf overhead across CPython versions and record modes")
    out.append("- interpreters: " + "; ".join("%s `%s`" % (versions.get(m, m), py)
                                               for m, py in a.pys))
    if failed:
        out.append("- **failed runs** (bench.py exited non-zero; its stderr went to the "
                   "log): " + "; ".join(failed))
    out.append("")
    rows = [(m, b, mode) for m, _ in a.pys for b in a.bins for mode in a.mode_list]
    label = {b: (os.path.basename(b) if len(a.bins) > 1 else None) for b in a.bins}
    if "cost" not in a.skip:
        out += cost_table(a, rows, label, cost, switch)
    if "slowdown" not in a.skip:
        out += ratio_table(a, rows, label, ratio, bpf_pct, control)
    print("\n".join(out))
    return 0


def row_head(m, build, mode):
    return [m] + ([build] if build else []) + [mode]


def cost_table(a, rows, label, cost, switch):
    multi = len(a.bins) > 1
    has_switch = bool(switch)
    head = ["CPython"] + (["build"] if multi else []) + ["mode", "stack"] + \
        ["depth %d" % d for d in a.depth_list] + (["sched_switch, ns/run"] if has_switch else [])
    out = ["In-kernel ns per target sample of the perf_event program (kernel.bpf_stats_enabled, "
           "tools/bench/deep.py held at each Python stack depth, %s; run time less "
           "the other processes' early returns, over the target's samples), median of %d "
           "interleaved round(s)%s.%s" % (
               getattr(a, "cost_setup", "?"), a.rounds, ", (min–max)" if a.rounds > 1 else "",
               " sched_switch: the --idle program's ns per run in the same windows (median "
               "over the depths)." if has_switch else ""), "",
           "| " + " | ".join(head) + " |",
           "|" + "---|" * (len(head) - len(a.depth_list) - has_switch) +
           "---:|" * (len(a.depth_list) + has_switch)]
    for m, b, mode in rows:
        for stack in a.stack_list:
            cells = row_head(m, label[b], mode) + [stack] + \
                [fmt(cost.get((m, b, mode, stack, d), [])) for d in a.depth_list]
            if has_switch:
                cells.append(fmt(switch.get((m, b, mode, stack), [])))
            out.append("| " + " | ".join(cells) + " |")
    return out + [""]


def ratio_table(a, rows, label, ratio, bpf_pct, control):
    multi = len(a.bins) > 1
    head = ["CPython"] + (["build"] if multi else []) + ["mode"] + \
        ["%d Hz" % r for r in a.rate_list]
    out = ["Target slowdown: CPU time of tools/bench/cpu.py %d (timed by the workload, its "
           "work loop only), profiled / unprofiled run of the same round (runs in a rotating "
           "order), "
           "median of %d round(s)%s; after it, the BPF program's run time as %% of the "
           "workload's CPU time (all CPUs, all processes: an upper bound that timing noise "
           "does not blur)%s." % (a.work, a.rounds, ", (min–max)" if a.rounds > 1 else "",
                                  "; then, in brackets, the control: the CPU-time ratio "
                                  "while pybpf samples another, sleeping process at the same "
                                  "rate, the machine's own cost of sampling"
                                  if control else ""), "",
           "| " + " | ".join(head) + " |",
           "|" + "---|" * (len(head) - len(a.rate_list)) + "---:|" * len(a.rate_list)]
    for m, b, mode in rows:
        cells = row_head(m, label[b], mode) + [
            "%s · %s %%%s" % (fmt(ratio.get((m, b, mode, r), []), "%.3f"),
                              fmt(bpf_pct.get((m, b, mode, r), []), "%.2f"),
                              " [%s]" % fmt(control[(m, b, mode, r)], "%.3f")
                              if (m, b, mode, r) in control else "")
            for r in a.rate_list]
        out.append("| " + " | ".join(cells) + " |")
    return out + [""]


if __name__ == "__main__":
    sys.exit(main())
