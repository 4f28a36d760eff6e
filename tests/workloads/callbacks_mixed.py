# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""callbacks_mixed.py SECS - C calling Python from many C functions at
once (sorted, min, max, map, filter, functools.reduce, re.sub, and map
inside a map callback), so each new eval-loop activation's cframe lands
on C stack memory that other C code used last: on 3.11 and 3.12 a sample
caught while an activation is being entered finds stale values there,
often garbage, where callbacks.py's single call path mostly leaves the
right ones behind.  No sample may become a read error or a made-up
stack (case c-calls-mixed).

    <module> -> main -> key | mapped | pred | red | sub | inner [-> mapped]
"""
import functools
import re
import sys
import time

from compat import say


def key(x):  # @cb
    return -x  # @cb


def mapped(x):  # @cb
    return x + 1  # @cb


def pred(x):  # @cb
    return x & 1  # @cb


def red(a, b):  # @cb
    return a + b  # @cb


def sub(m):  # @cb
    return m.group(0)  # @cb


def inner(x):  # @cb
    return sum(map(mapped, (x, x + 1)))  # @cb


def main(secs):  # @main
    deadline = time.time() + secs  # @main
    data = list(range(300))  # @main
    text = "ab " * 100  # @main
    word = re.compile(r"\w+")  # @main
    say("ready")  # @main
    while time.time() < deadline:  # @main
        sorted(data, key=key)  # @main
        list(map(mapped, data))  # @main
        list(filter(pred, data))  # @main
        functools.reduce(red, data)  # @main
        word.sub(sub, text)  # @main
        min(data, key=key)  # @main
        list(map(inner, data[:100]))  # @main
        max(map(key, data))  # @main


if __name__ == "__main__":
    main(float(sys.argv[1]))  # @module
