# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""threads.py - four busy threads, each spinning in its own function.

Usage: threads.py [SECONDS]   (default 30)

Thread k is named "spinner-k" both for Python (threading.Thread(name=...))
and for the kernel (/proc/self/task/TID/comm), so a profiler that takes the
name from either place shows the same thing, and it spins only in spin_k.
Before "ready" the script prints one line per thread: "thread NAME TID".
The main thread sleeps in join() and does not use CPU.
"""
import sys
import threading

from compat import Barrier, monotonic, native_id, say

started = Barrier(5)
deadline = 0.0


def name_kernel_thread(name):
    # Python < 3.14 does not set the OS thread name; do it by hand so
    # "thread TID (NAME)" frames can be checked whatever the source.
    try:
        with open("/proc/self/task/%d/comm" % native_id(), "w") as f:
            f.write(name)
    except (IOError, OSError):  # 2.7: IOError is no OSError
        pass


def spin_0():
    n = 0
    while monotonic() < deadline:  # @spin_0
        n += 1  # @spin_0
    return n


def spin_1():
    n = 0
    while monotonic() < deadline:  # @spin_1
        n += 1  # @spin_1
    return n


def spin_2():
    n = 0
    while monotonic() < deadline:  # @spin_2
        n += 1  # @spin_2
    return n


def spin_3():
    n = 0
    while monotonic() < deadline:  # @spin_3
        n += 1  # @spin_3
    return n


def thread_main(fn, tids):
    name = threading.current_thread().name
    name_kernel_thread(name)
    tids[name] = native_id()
    started.wait()
    fn()


def main():
    global deadline
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    deadline = monotonic() + seconds
    tids = {}
    threads = []
    for k, fn in enumerate((spin_0, spin_1, spin_2, spin_3)):
        t = threading.Thread(target=thread_main, args=(fn, tids),
                             name="spinner-%d" % k)
        t.start()
        threads.append(t)
    started.wait()
    for name in sorted(tids):
        print("thread %s %d" % (name, tids[name]))
    say("ready")
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
