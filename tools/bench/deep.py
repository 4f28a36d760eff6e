# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""deep.py - spin on one CPU with the Python stack held at a fixed depth, so
tools/bench.py can measure the per-sample cost of the BPF walker against
stack depth.

The sampled stack is <module>, main(), DEPTH-3 frames of descend() and
spin(): DEPTH frames. The innermost descend() prints "ready" and spins until
the process is killed. With --idle it blocks in sys.stdin.read() instead (a
sleeping target: the BPF program then only sees other processes).

Usage: python3 deep.py DEPTH [--idle]      (DEPTH >= 4)
"""
import sys


def spin():
    x = 0
    while True:
        x = (x + 1) & 0xFFFF


def descend(n, idle):
    if n > 1:
        return descend(n - 1, idle)
    print("ready", flush=True)
    if idle:
        return sys.stdin.read()
    return spin()


def main():
    depth = max(int(sys.argv[1]), 4)
    idle = "--idle" in sys.argv[2:]
    sys.setrecursionlimit(depth + 100)
    descend(depth - 3, idle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
