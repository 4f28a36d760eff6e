# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""gilwork.py - a fixed amount of GIL-bound work for tools/bench/gil_overhead.py,
timed by the workload itself so that pybpf's start-up stays out of it.

Usage: python3 gilwork.py MODE THREADS AMOUNT
  cpu      THREADS threads share AMOUNT iterations of a pure-Python loop:
           with 2+ threads they contend for the GIL (a forced switch every
           5 ms), with 1 the GIL is never released
  release  THREADS threads share AMOUNT calls of os.fstat (a ~1 us system
           call around which CPython drops and takes the GIL): the worst
           case for GIL probes (time.sleep(0) would sleep ~50 us of timer slack)

Protocol (as tools/bench/cpu.py): prints "ready", waits for one line on
stdin, runs the work, prints one JSON line {"wall": s, "cpu": s}.
"""
import json
import os
import sys
import threading
import time


def spin(n):
    x = 0
    for i in range(n):
        x += i & 7
    return x


def release(n):
    fd = os.open("/dev/null", os.O_RDONLY)
    for _ in range(n):
        os.fstat(fd)
    os.close(fd)


def main():
    mode, threads, amount = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    fn = {"cpu": spin, "release": release}[mode]
    print("ready", flush=True)
    if not sys.stdin.readline():
        return 1
    workers = [threading.Thread(target=fn, args=(amount // threads,)) for _ in range(threads)]
    t0, c0 = time.perf_counter(), time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    t1, c1 = time.perf_counter(), time.process_time()
    print(json.dumps({"wall": t1 - t0, "cpu": c1 - c0}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
