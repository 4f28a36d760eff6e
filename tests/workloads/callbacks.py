# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""callbacks.py SECS - C calling Python all the time: sorted() calls
key() and list(map()) calls mapped() for each of 2000 items, so the
eval loop is entered from C some 100 000 times a second.  A sample that
falls in the few instructions where an entry is under way (3.11 and 3.12
point the thread state at the new activation before they fill it in)
must still give the whole stack, never a wrong or broken one.

    <module> -> main -> key      (sorted's key function)
    <module> -> main -> mapped   (map's function)
"""
import sys
import time

from compat import say


def key(x):  # @key
    return x  # @key


def mapped(x):  # @mapped
    return x + 1  # @mapped


def main(secs):
    deadline = time.time() + secs
    data = list(range(2000))
    say("ready")
    while time.time() < deadline:  # @loop
        sorted(data, key=key)  # @call-key
        list(map(mapped, data))  # @call-mapped


if __name__ == "__main__":
    main(float(sys.argv[1]))  # @module
