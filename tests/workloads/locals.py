# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# -*- coding: utf-8 -*-
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

On CPython 2.7 `text` is a unicode (u'...'), the other strings are 2.7
str objects (byte strings), and flag, which cannot be keyword-only there
(PEP 3102 is 3.0), comes before *rest: the same co_varnames order.  So
hold is source text, compiled at its own lines of this file (define_hold).
"""
import sys
import time

monotonic = getattr(time, "monotonic", time.time)  # 3.3+

VALUES = {
    "small": 42,
    "big": 2 ** 70 + 12345,
    "edge": 2 ** 64 - 1,
    "negative": -123456789012,
    "ratio": 0.1 + 0.2,
    "text": u'it\'s "quoted": naïve ☃ 𝄞',
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


HOLD_LINE = sys._getframe().f_lineno + 1
HOLD = u'''
def hold(seconds, label, *rest, flag=True, **extra):
    v = VALUES
    small, big, edge, negative = v["small"], v["big"], v["edge"], v["negative"]
    ratio, text, blob = v["ratio"], v["text"], v["blob"]
    items, pair, table, bag = v["items"], v["pair"], v["table"], v["bag"]
    nothing, yes = v["nothing"], v["yes"]
    widget = Widget()
    captured = 'cell'
    inner = lambda: (captured, label)  # noqa: E731  (makes both cells)
    sys.stdout.write("ready\\n")
    sys.stdout.flush()
    end = monotonic() + seconds
    while monotonic() < end:
        time.sleep(0.05)  # @hold
    later = 1
    return inner, later
'''


def define_hold():
    source = HOLD
    if sys.version_info[0] == 2:
        source = source.replace(u"*rest, flag=True,", u"flag=True, *rest,")
    exec(compile("\n" * (HOLD_LINE - 1) + source, __file__, "exec"), globals())


define_hold()


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    if sys.version_info[0] >= 3:
        hold(seconds, 'lbl', 'extra1', flag=False, opt=5)  # @call-hold
    else:
        hold(seconds, 'lbl', False, 'extra1', opt=5)  # @call-hold


if __name__ == "__main__":
    main()
