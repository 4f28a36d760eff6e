#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""bench_switch.py - what `--idle` costs per context switch: the
pybpf_switch program's run_time_ns / run_cnt (kernel.bpf_stats_enabled)
while tools/bench/pingpong.py makes two Python threads switch tens of
thousands of times a second, next to the same counters with no Python
target switching (the early-return cost every switch on the host pays).

Usage (as root): python3 tools/bench_switch.py [--pybpf BIN[,BIN]] [--python P]
                                               [--seconds 3] [--rounds 3]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def run(binary, python, seconds, busy):
    args = [os.path.join(bench.BENCH, "pingpong.py" if busy else "deep.py")]
    if not busy:
        args += ["10", "--idle"]
    wl = bench.Workload(python, args)
    pb = fd = None
    try:
        pb = bench.Pybpf(binary, wl.pid, 100, "/dev/null", duration=seconds, extra=["--idle"])
        fd, t0, c0 = bench.open_sampler_prog(pb.p.pid, bench.SWITCH_PROG)
        if busy:
            wl.p.stdin.write("go\n")
            wl.p.stdin.flush()
        st0 = time.monotonic()
        pb.finish(timeout=seconds + 10)
        t1, c1 = bench.prog_stats(fd)
        return (t1 - t0) / max(c1 - c0, 1), (c1 - c0) / (time.monotonic() - st0)
    finally:
        if fd is not None:
            os.close(fd)
        wl.stop()
        if pb:
            pb.kill()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pybpf", default=os.path.join(bench.ROOT, "pybpf"))
    p.add_argument("--python", default=bench.DEFAULT_PYTHON)
    p.add_argument("--seconds", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_switch: needs root")
    old = bench.get_bpf_stats()
    res = {}
    try:
        bench.set_bpf_stats(1)
        for i in range(a.rounds):
            for b in a.pybpf.split(","):
                for busy in (False, True):
                    ns, rate = run(os.path.abspath(b), a.python, a.seconds, busy)
                    res.setdefault((b, busy), []).append((ns, rate))
                    bench.log("round %d %s %s: %.0f ns per switch, %.0f switches/s" % (
                        i + 1, os.path.basename(b), "pingpong" if busy else "quiet", ns, rate))
    finally:
        bench.set_bpf_stats(old)
    print("| build | target | program runs/s | ns per run |")
    print("|---|---|---:|---:|")
    for (b, busy), v in sorted(res.items()):
        ns = [x[0] for x in v]
        print("| %s | %s | %.0f | %.0f (%.0f–%.0f) |" % (
            os.path.basename(b), "pingpong.py" if busy else "asleep",
            statistics.median(x[1] for x in v), statistics.median(ns), min(ns), max(ns)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
