# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""subinterp.py - a thread that takes turns between a subinterpreter and
its own (main) interpreter (3.8+).

Usage: subinterp.py [SECONDS] [--asleep]   (default 30)

Thread "hopper" creates a subinterpreter and then loops: run_string() runs
subwork.sub_spin (0.2 s busy) and subwork.sub_nap (0.2 s asleep) in the
subinterpreter, on a second thread state of the same OS thread; then
main_spin spins 0.2 s back in the main interpreter.  A profiler that keeps
using the thread's first thread state shows the run_string line instead
of sub_spin/sub_nap.  The main thread sleeps in join().

With --asleep, hopper instead sleeps in sub_nap for the whole run, from
before "ready": a thread already blocked when the profiler starts, with a
thread state in each interpreter.
"""
import os
import sys
import threading
import time

try:
    import _interpreters as subinterpreters   # 3.13+
except ImportError:
    import _xxsubinterpreters as subinterpreters  # 3.8-3.12

HERE = os.path.dirname(os.path.abspath(__file__))
CODE = "import sys; sys.path.insert(0, %r); import subwork; subwork.sub_spin(0.2); " \
       "subwork.sub_nap(0.2)" % HERE


def main_spin(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:  # @main-spin
        n += 1  # @main-spin
    return n


def hopper(limit, started, asleep):
    iid = subinterpreters.create()
    try:
        end = time.monotonic() + limit
        started.set()
        if asleep:
            code = "import sys; sys.path.insert(0, %r); import subwork; " \
                   "subwork.sub_nap(%r)" % (HERE, limit)
            subinterpreters.run_string(iid, code)  # @run-asleep
            return
        while time.monotonic() < end:
            subinterpreters.run_string(iid, CODE)  # @run-sub
            main_spin(0.2)  # @call-main
    finally:
        subinterpreters.destroy(iid)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asleep = "--asleep" in sys.argv[1:]
    limit = float(args[0]) if args else 30.0
    started = threading.Event()
    t = threading.Thread(target=hopper, args=(limit, started, asleep), name="hopper")
    t.start()
    started.wait()
    if asleep:
        time.sleep(0.5)  # into sub_nap's sleep
    print("thread hopper %d" % t.native_id)
    print("ready")
    sys.stdout.flush()
    t.join()


if __name__ == "__main__":
    main()
