# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""locals.py - a frame whose arguments and locals hold known values.

Usage: locals.py [SECONDS]   (default 30)

The main thread sleeps in hold(seconds, label, *rest, flag=..., **extra)
at @hold, called as hold(SECONDS, 'lbl', 'extra1', flag=False, opt=5).
Its locals are the VALUES below (ints small, > 2**64, 2**64 - 1 and
negative; a float; str with both quotes and 1-, 2- and 4-byte characters;
bytes; list, tuple, dict, set; None, True) plus a Widget instance and a
closure `inner`.  `label` and `captured` are closure cells: an argument
captured by a closure lives in its cell up to 3.10, in its own slot from
3.11.  `later` is unbound while hold sleeps.  The integration test
imports this file for VALUES, so expectations cannot drift from it.
"ready" is printed before the loop.
"""
import sys
import time

VALUES = {
    "small": 42,
    "big": 2 ** 70 + 12345,
    "edge": 2 ** 64 - 1,
    "negative": -123456789012,
    "ratio": 0.1 + 0.2,
    "text": 'it\'s "quoted": naïve ☃ 𝄞',
    "blob": b"\x00ab'c\n",
    "items": [1, 'two', None],
    "pair": (7,),
    "table": {'a': 1, 'b': [2]},
    "bag": {3},
    "nothing": None,
    "yes": True,
}


class Widget:
    pass


def hold(seconds, label, *rest, flag=True, **extra):
    v = VALUES
    small, big, edge, negative = v["small"], v["big"], v["edge"], v["negative"]
    ratio, text, blob = v["ratio"], v["text"], v["blob"]
    items, pair, table, bag = v["items"], v["pair"], v["table"], v["bag"]
    nothing, yes = v["nothing"], v["yes"]
    widget = Widget()
    captured = 'cell'
    inner = lambda: (captured, label)  # noqa: E731  (makes both cells)
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)  # @hold
    later = 1
    return inner, later


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    hold(seconds, 'lbl', 'extra1', flag=False, opt=5)  # @call-hold


if __name__ == "__main__":
    main()
