# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# -*- coding: utf-8 -*-
"""names.py - hot functions whose names a profiler must qualify and encode.

Usage: names.py [SECONDS]   (default 30)

One thread calls, in turn, for ~4 ms each:
    tag      function                 co_name        co_qualname (3.11+)
    compute  Worker.compute           compute        Worker.compute
    deep     Outer.Inner.deep         deep           Outer.Inner.deep
    naive    naïve_spin (non-ASCII)   naïve_spin     naïve_spin
    closure  closure made by          spin_closure   make_spinner.<locals>.spin_closure
             make_spinner
    cjk      計算_spin (UCS-2 str)    計算_spin      計算_spin
    astral   spin_𠀀 (UCS-4 str)      spin_𠀀        spin_𠀀
Spinning lines carry @TAG, call sites in main @call-TAG, the call of main
@module-call.  "ready" is printed before the loop.

CPython 2.7 has no non-ASCII identifiers (PEP 3131 is 3.0): the three
non-ASCII functions are source text in this file, compiled at their own
lines (compat.define_at), and on 2.7 their co_name holds the UTF-8 bytes
of the same names, as a 2.7 code object can.
"""
import sys

from compat import clock, define_at, monotonic, say


class Worker:
    def __init__(self):
        self.total = 0

    def compute(self, end):
        n = 0
        while clock() < end:  # @compute
            n += 1  # @compute
        self.total += n
        return n


class Outer:
    class Inner:
        @staticmethod
        def deep(end):
            n = 0
            while clock() < end:  # @deep
                n += 1  # @deep
            return n


NON_ASCII_LINE = sys._getframe().f_lineno + 1
NON_ASCII = u'''
def naïve_spin(end):
    n = 0
    while clock() < end:  # @naive
        n += 1  # @naive
    return n


def 計算_spin(end):
    n = 0
    while clock() < end:  # @cjk
        n += 1  # @cjk
    return n


def spin_𠀀(end):
    n = 0
    while clock() < end:  # @astral
        n += 1  # @astral
    return n
'''
SPIN = {u"naive": u"naïve_spin", u"cjk": u"計算_spin", u"astral": u"spin_\U00020000"}
define_at(NON_ASCII_LINE, NON_ASCII, __file__, globals(),
          py2={name: "spin_" + tag for tag, name in SPIN.items()})
SPIN = {tag: globals()[name if sys.version_info[0] >= 3 else "spin_" + tag]
        for tag, name in SPIN.items()}


# Each function's turn: not a multiple of a sampling period (4 ms at the
# tests' 250 Hz), so samples do not lock onto one phase of every turn.
SLICE = 0.0043


def make_spinner():
    def spin_closure(end):
        n = 0
        while clock() < end:  # @closure
            n += 1  # @closure
        return n
    return spin_closure


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    deadline = monotonic() + seconds
    worker = Worker()
    closure = make_spinner()
    say("ready")
    while monotonic() < deadline:
        worker.compute(clock() + SLICE)  # @call-compute
        Outer.Inner.deep(clock() + SLICE)  # @call-deep
        SPIN["naive"](clock() + SLICE)  # @call-naive
        closure(clock() + SLICE)  # @call-closure
        SPIN["cjk"](clock() + SLICE)  # @call-cjk
        SPIN["astral"](clock() + SLICE)  # @call-astral


if __name__ == "__main__":
    main()  # @module-call
