# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""states.py - one thread per state, for `pybpf dump` and `--idle`.

Usage: states.py [SECONDS [THREAD...]]   (default 30 s, every thread)

Threads: "busy" spins in Python, "sleeper" sits in time.sleep, "locked"
blocks on a threading.Lock the main thread holds, "selector" blocks in
select() on a pipe nobody writes, "dozer" sleeps 80% of each 10 ms cycle
and spins the rest.  Each prints its native id; "ready" is printed once
all of them are in place.
"""
import ctypes
import os
import select
import sys
import threading
import time

from compat import clock, say

LOCK = threading.Lock()
TIDS = {}


def gettid():
    """threading.get_native_id() is 3.8+: ask the kernel (SYS_gettid, x86_64)."""
    return ctypes.CDLL(None).syscall(186)


def named(fn):
    def run(stop):
        TIDS[threading.current_thread().name] = gettid()
        fn(stop)
    run.__name__ = fn.__name__
    return run


def busy(stop):
    x = 0
    while time.time() < stop:  # @busy
        x = (x + 1) & 0xFFFF  # @busy


def sleeper(stop):
    while time.time() < stop:
        time.sleep(0.5)  # @sleep


def lock_timeout(stop):
    """acquire()'s timeout (3.2+); 2.7 blocks for good (a daemon thread)."""
    return () if sys.version_info[0] == 2 else (True, max(stop - time.time(), 0.1))


def locked(stop):
    LOCK.acquire(*lock_timeout(stop))  # @lock


def selector(stop):
    r, w = os.pipe()
    select.select([r], [], [], max(stop - time.time(), 0.1))  # @select


def dozer(stop):
    while time.time() < stop:
        time.sleep(0.008)  # @doze
        end = clock() + 0.002
        while clock() < end:  # @dozework
            pass


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    only = sys.argv[2:]  # e.g. "dozer" alone: no GIL contention from "busy"
    stop = time.time() + seconds
    LOCK.acquire()
    threads = [threading.Thread(target=named(f), args=(stop,), name=f.__name__)
               for f in (busy, sleeper, locked, selector, dozer)
               if not only or f.__name__ in only]
    for t in threads:
        t.daemon = True  # Thread(daemon=) is 3.3+
        t.start()
    time.sleep(0.3)
    for t in threads:
        say("thread %s %d" % (t.name, TIDS[t.name]))
    say("ready")
    while time.time() < stop:
        time.sleep(0.2)  # @main


if __name__ == "__main__":
    main()
