#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""bench_ab.py - compare the in-kernel cost per sample of several pybpf
builds under the same conditions: all of them sample one tools/bench/deep.py
target at once, so a busy spell of a shared machine (other work, CPU steal,
cold caches) hits every build alike, which runs one after the other cannot
promise.  Each build's perf_event program keeps its own counters
(kernel.bpf_stats_enabled run_time_ns / run_cnt); the cost of a target
sample is its run time, less the other processes' early returns at the
cost measured with the target asleep, over the samples pybpf counted.

Usage (as root):
  python3 tools/bench_ab.py --pybpf OLD,NEW [--python P] [--depths 10,100,1000]
                            [--rounds 5] [--seconds 3] [--rate 1000] [--recursive]
Prints, per depth, each build's median ns per target sample (min-max).
The build started first pays for the coldest caches, so each round starts
the next build first: use a multiple of the builds' count of --rounds.
A build may carry record options after a colon, to compare options of one
build: --pybpf ./pybpf,./pybpf:--native (space-separated after the colon).
--recursive: the stack is one function recursing (deep.py --recursive),
not DEPTH distinct functions.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (tools/bench.py: Workload, Pybpf, counters)


def measure(a, depth, idle, order):
    """Run the builds at once, started in `order` (indices into a.bins);
    returns each build's (run time, runs, samples), in a.bins order."""
    args = [os.path.join(bench.BENCH, "deep.py"), str(depth)] + (["--idle"] if idle else []) + \
        (["--recursive"] if a.recursive else [])
    wl = bench.Workload(a.python, args)
    pbs, fds = [], []
    try:
        for b, extra in (a.bins[k] for k in order):
            pb = bench.Pybpf(b, wl.pid, a.rate, "/dev/null", duration=a.seconds, extra=extra)
            pbs.append(pb)
            fd, t0, c0 = bench.open_sampler_prog(pb.p.pid)
            fds.append((fd, t0, c0))
        out = []
        for pb, (fd, t0, c0) in zip(pbs, fds):
            st = pb.finish(timeout=a.seconds + 10)
            t1, c1 = bench.prog_stats(fd)
            out.append((t1 - t0, c1 - c0, st.get("samples in profiled processes", 0)))
        return [out[order.index(k)] for k in range(len(a.bins))]
    finally:
        for fd, _, _ in fds:
            os.close(fd)
        wl.stop()
        for pb in pbs:
            pb.kill()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pybpf", required=True, help="comma-separated pybpf binaries")
    p.add_argument("--python", default=bench.DEFAULT_PYTHON)
    p.add_argument("--depths", default="10,100,1000")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=int, default=3)
    p.add_argument("--rate", type=int, default=1000)
    p.add_argument("--recursive", action="store_true")
    a = p.parse_args()
    a.bins = []
    a.names = []
    for spec in a.pybpf.split(","):
        path, _, extra = spec.partition(":")
        a.bins.append((os.path.abspath(path), extra.split()))
        a.names.append(os.path.basename(path) + (" " + extra if extra else ""))
    if os.geteuid() != 0:
        sys.exit("bench_ab: needs root")
    old = bench.get_bpf_stats()
    res = {}
    try:
        bench.set_bpf_stats(1)
        for i in range(a.rounds):
            # the build started first samples first after the target ran,
            # on the coldest caches (~150 ns more at depth 20 than the same
            # binary started second): each round starts another one first
            nb = len(a.bins)
            order = [(i + j) % nb for j in range(nb)]
            idle = measure(a, 10, True, order)
            idle_ns = [t / max(c, 1) for t, c, _ in idle]
            for d in [int(x) for x in a.depths.split(",")]:
                for k, (t, c, n) in enumerate(measure(a, d, False, order)):
                    est = (t - (c - n) * idle_ns[k]) / max(n, 1)
                    res.setdefault((d, k), []).append(est)
                    bench.log("round %d depth %d %s: %.0f ns/target sample (%d runs, %d samples)"
                              % (i + 1, d, a.names[k], est, c, n))
    finally:
        bench.set_bpf_stats(old)
    print("| depth | " + " | ".join(a.names) + " |")
    print("|---:|" + "---:|" * len(a.bins))
    for d in [int(x) for x in a.depths.split(",")]:
        cells = []
        for k in range(len(a.bins)):
            v = res.get((d, k), [])
            cells.append("%.0f (%.0f–%.0f)" % (statistics.median(v), min(v), max(v)) if v else "–")
        print("| %d | %s |" % (d, " | ".join(cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
