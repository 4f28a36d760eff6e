# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""recurse.py - a deep, fixed-depth recursion that spins at the bottom.

Usage: recurse.py [DEPTH [SECONDS]]   (defaults 300, 30)

The hot stack is, root first:
    <module> (@module-call) ; main (@main-call) ; recurse x DEPTH (@call) ;
    bottom (@bottom)
i.e. exactly DEPTH frames of recurse.  "ready DEPTH" is printed at the
bottom, just before spinning; the depth is measured there with
sys._getframe, not assumed.
"""
import sys

from compat import monotonic, say


def frames_of(name):
    f = sys._getframe()
    n = 0
    while f is not None:
        if f.f_code.co_name == name:
            n += 1
        f = f.f_back
    return n


def bottom(deadline):
    say("ready %d" % frames_of("recurse"))
    n = 0
    while monotonic() < deadline:  # @bottom
        n += 1  # @bottom
    return n


def recurse(n, deadline):
    if n > 1:
        return recurse(n - 1, deadline)  # @call
    return bottom(deadline)  # @call


def main():
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    sys.setrecursionlimit(max(1000, depth + 200))
    recurse(depth, monotonic() + seconds)  # @main-call


if __name__ == "__main__":
    main()  # @module-call
