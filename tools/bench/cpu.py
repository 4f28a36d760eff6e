# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cpu.py - a fixed amount of single-threaded pure-Python CPU work for
tools/bench.py, timed by the workload itself so that profiler start-up stays
out of the measurement.

Protocol: prints "ready", waits for one line on stdin (the bench attaches
pybpf in between), runs the work, prints one JSON line
{"wall": s, "cpu": s, "user": s, "sys": s} measured around the work loop only.

CPU time is the process's own (time.process_time, CLOCK_PROCESS_CPUTIME_ID),
split into user and system time by getrusage.

Usage: python3 cpu.py [ROUNDS]     (default 500: ~2.5 s on CPython 3.11)
"""
import json
import resource
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def dict_churn(n):
    d = {}
    for j in range(n):
        d[str(j)] = j * j
    return sum(v for k, v in d.items() if k.endswith("7"))


class Vec:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y

    def add(self, o):
        return Vec(self.x + o.x, self.y + o.y)


def objects(n):
    v = Vec(0, 0)
    step = Vec(1, 2)
    for _ in range(n):
        v = v.add(step)
    return v.x + v.y


def work(rounds):
    total = 0
    for _ in range(rounds):
        total += fib(18)        # call-heavy, stack depth ~20
        total += dict_churn(2000)  # allocation, hashing, strings
        total += objects(5000)  # attribute access, method calls
    return total


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    print("ready", flush=True)
    if not sys.stdin.readline():
        return 1
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0, c0 = time.perf_counter(), time.process_time()
    work(rounds)
    t1, c1 = time.perf_counter(), time.process_time()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"wall": t1 - t0, "cpu": c1 - c0,
                      "user": r1.ru_utime - r0.ru_utime,
                      "sys": r1.ru_stime - r0.ru_stime}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
