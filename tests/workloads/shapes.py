# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""shapes.py - frames that are not plain calls: generators, coroutines,
and Python called back from C, twice nested.

Usage: shapes.py [SECONDS [only-c]]   (default 30)

One thread rotates, ~4 ms each, through three hot leaves whose whole
Python stacks are known (root first):
    produce     <module> main consume produce             (generator)
    leaf_coro   <module> main drive outer_coro leaf_coro  (coroutine.send)
    inner_key   <module> main via_c outer_key inner_key   (sorted -> map:
                two C frames between Python frames, i.e. two entry shims
                on 3.12+)
Spinning lines are marked with the leaf's name.  With only-c, only the
third, so every sample has the same stack of five frames and three
activations (case c-stack-reads).  "ready" before the loop.
Coroutines (async def) are 3.5+: they are source text compiled at their
own lines of this file (compat.define_at), and 2.7 runs the other two.
"""
import sys

from compat import clock, define_at, monotonic, say


def produce(end):
    n = 0
    while clock() < end:  # @produce
        n += 1  # @produce
    yield n


def consume(end):
    return sum(produce(end))


CORO_LINE = sys._getframe().f_lineno + 1
CORO = '''
async def leaf_coro(end):
    n = 0
    while clock() < end:  # @leaf_coro
        n += 1  # @leaf_coro
    return n


async def outer_coro(end):
    return await leaf_coro(end)
'''
define_at(CORO_LINE, CORO, __file__, globals())
COROUTINES = "outer_coro" in globals()


def drive(end):
    coro = outer_coro(end)
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value


def inner_key(end):
    n = 0
    while clock() < end:  # @inner_key
        n += 1  # @inner_key
    return n


def outer_key(end):
    return list(map(inner_key, [end]))[0]


def via_c(end):
    return sorted([end], key=outer_key)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    only_c = sys.argv[2:3] == ["only-c"]
    deadline = monotonic() + seconds
    say("ready")
    while monotonic() < deadline:
        if only_c:
            via_c(clock() + 0.1)
            continue
        consume(clock() + 0.004)
        if COROUTINES:
            drive(clock() + 0.004)
        via_c(clock() + 0.004)


if __name__ == "__main__":
    main()
