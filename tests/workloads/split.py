# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""split.py - one thread splits its CPU time 60/30/10 between work_a/b/c.

Usage: split.py SECONDS TRUTH.json

Each round spends 6u, 3u and 1u of thread CPU time in work_a, work_b and
work_c, in a random order, with a random unit u of 0.7-1.7 ms: the jitter
keeps the pattern from beating with the sampling period.  Every function
measures its own CPU time with time.thread_time() (the truth the profile is
compared with) and the totals are written to TRUTH.json when SECONDS have
passed or on SIGTERM/SIGINT.  "ready" is printed once the loop runs.
The lines a sample may land on are marked @a, @b, @c.
"""
import functools
import json
import os
import random
import signal
import sys
import time

from compat import monotonic, say

if hasattr(time, "thread_time"):  # 3.7+
    clock = time.thread_time
elif hasattr(time, "clock_gettime"):  # 3.3+, a C call as thread_time is
    clock = functools.partial(time.clock_gettime, time.CLOCK_THREAD_CPUTIME_ID)
else:  # 2.7: the process's CPU time (clock(3)), which is this one thread's
    clock = time.clock
stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def work_a(quota):
    t0 = clock()
    end = t0 + quota
    n = 0
    while clock() < end:  # @a
        n += 1  # @a
    return clock() - t0


def work_b(quota):
    t0 = clock()
    end = t0 + quota
    n = 0
    while clock() < end:  # @b
        n += 1  # @b
    return clock() - t0


def work_c(quota):
    t0 = clock()
    end = t0 + quota
    n = 0
    while clock() < end:  # @c
        n += 1  # @c
    return clock() - t0


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    out = sys.argv[2] if len(sys.argv) > 2 else None
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    plan = [(work_a, 6), (work_b, 3), (work_c, 1)]
    spent = {"work_a": 0.0, "work_b": 0.0, "work_c": 0.0}
    rounds = 0
    wall0 = monotonic()
    cpu0 = clock()
    deadline = wall0 + seconds
    say("ready")
    while not stop and monotonic() < deadline:
        unit = random.uniform(0.0007, 0.0017)
        random.shuffle(plan)
        for fn, weight in plan:
            spent[fn.__name__] += fn(weight * unit)
        rounds += 1
    truth = dict(spent)
    truth["rounds"] = rounds
    truth["wall"] = monotonic() - wall0
    truth["cpu"] = clock() - cpu0
    truth["pid"] = os.getpid()
    truth["version"] = "%d.%d.%d" % sys.version_info[:3]
    if out:
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(truth, f)
        os.rename(tmp, out)
    else:
        print(json.dumps(truth))


if __name__ == "__main__":
    main()
