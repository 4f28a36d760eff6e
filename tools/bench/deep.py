# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""deep.py - spin on one CPU with the Python stack held at a fixed depth, so
tools/bench.py can measure the per-sample cost of the BPF walker against
stack depth.

The sampled stack is <module>, main(), DEPTH-3 frames of descend and
spin(): DEPTH frames.  Each descend frame is a distinct function (its own
code object, generated at start), the worst case for the walker: a plain
recursion would let it reuse one code object's symbol for every frame.
The innermost descend prints "ready" and spins until the process is
killed.  With --idle it blocks in sys.stdin.read() instead (a sleeping
target: the BPF program then only sees other processes).  With
--recursive DEPTH-4 frames are one function calling itself, under bottom()
(the walker's best case: one code object).

Usage: python3 deep.py DEPTH [--idle] [--recursive]      (DEPTH >= 6)
"""
import sys


def spin():
    x = 0
    while True:
        x = (x + 1) & 0xFFFF


def bottom(idle):
    print("ready", flush=True)
    if idle:
        return sys.stdin.read()
    return spin()


def make_levels(count):
    """descend_1 .. descend_COUNT, each calling the next lower one."""
    ns = {"bottom": bottom}
    src = ["def descend_1(idle):\n    return bottom(idle)\n"]
    for i in range(2, count + 1):
        src.append("def descend_%d(idle):\n    return descend_%d(idle)\n" % (i, i - 1))
    exec(compile("".join(src), "deep_levels.py", "exec"), ns)
    return ns["descend_%d" % count]


def descend(n, idle):
    # descend + (n - 2) levels + bottom = n frames
    return make_levels(n - 2)(idle) if n > 2 else bottom(idle)


def recurse(n, idle):
    # n frames of recurse, then bottom
    return recurse(n - 1, idle) if n > 1 else bottom(idle)


def main():
    depth = max(int(sys.argv[1]), 6)
    idle = "--idle" in sys.argv[2:]
    sys.setrecursionlimit(depth + 100)
    if "--recursive" in sys.argv[2:]:
        recurse(depth - 4, idle)   # <module>, main, recurse * (DEPTH-4), bottom, spin
    else:
        descend(depth - 3, idle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
