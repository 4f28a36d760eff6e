# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""distinct.py - a stack of DEPTH distinct functions spinning at its leaf.

Usage: distinct.py [DEPTH [SECONDS]]   (defaults 100, 30)

The hot stack is, root first:
    <module> ; main ; level_0 ; level_1 ; ... ; level_{DEPTH-1} ; spin (@spin)
Each level_k is a function of its own (its own code object), defined from
generated source at start, so every frame costs the walker a code object
to name: the case that shows whether its code cache names them without
reading them.
"""
import sys

from compat import monotonic, say


def spin(deadline):
    say("ready")
    n = 0
    while monotonic() < deadline:  # @spin
        n += 1  # @spin
    return n


def build(depth):
    src = []
    for k in range(depth):
        callee = "level_%d" % (k + 1) if k + 1 < depth else "spin"
        src.append("def level_%d(deadline):\n    return %s(deadline)\n" % (k, callee))
    namespace = {"spin": spin}
    exec(compile("".join(src), "<levels>", "exec"), namespace)
    return namespace["level_0"]


def main():
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    build(depth)(monotonic() + seconds)


main()
