# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""native.py - C calling Python calling C, for `dump --native`.

Usage: native.py [SECONDS]   (default 30 s)

The main thread sorts with libc's qsort through ctypes; the Python
comparison callback, at its first call, sleeps (time.sleep: C, then the
kernel) until the run ends, so the thread holds still at
main -> sort_with_qsort -> qsort -> compare -> time.sleep.  Thread "zipper"
compresses a large buffer with zlib in a loop (C under Python, running),
thread "napper" sleeps in a loop.  Each thread's native id is printed,
then "ready" from inside the callback.
"""
import ctypes
import sys
import threading
import time
import zlib

from compat import native_id, say

STOP = [0.0]
TIDS = {}
CALLS = [0]


def compare(a, b):
    CALLS[0] += 1
    if CALLS[0] == 1:
        for name in sorted(TIDS):
            say("thread %s %d" % (name, TIDS[name]))
        say("ready")
        while time.time() < STOP[0]:
            time.sleep(0.2)  # @callback
    return a[0] - b[0]


def sort_with_qsort():
    libc = ctypes.CDLL(None)
    cmp_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                ctypes.POINTER(ctypes.c_int))
    values = (ctypes.c_int * 8)(5, 1, 4, 2, 3, 8, 7, 6)
    libc.qsort(values, len(values), ctypes.sizeof(ctypes.c_int), cmp_type(compare))  # @qsort
    return list(values)


def do_zlib():
    data = bytes(bytearray(range(256))) * 40000
    while time.time() < STOP[0]:
        zlib.compress(data, 9)  # @zlib


def napper():
    while time.time() < STOP[0]:
        time.sleep(0.5)  # @nap


def named(fn):
    def run():
        TIDS[threading.current_thread().name] = native_id()
        fn()
    return run


def main():
    STOP[0] = time.time() + (float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
    TIDS["MainThread"] = native_id()
    threads = [threading.Thread(target=named(f), name=n)
               for f, n in ((do_zlib, "zipper"), (napper, "napper"))]
    for t in threads:
        t.daemon = True  # Thread(daemon=) is 3.3+
        t.start()
    time.sleep(0.3)
    sort_with_qsort()


if __name__ == "__main__":
    main()
