# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""thirds.py - three threads for wall-clock profiles: the main thread
spins in busy(), thread "stuck" waits on a lock that is never released,
thread "sleeper" sleeps for the whole run.  Both block before "ready" is
printed, so a profiler attached after it never sees them block.

Usage: thirds.py SECONDS
"""
import sys
import threading
import time

now = getattr(time, "monotonic", time.time)


def stuck(lock):
    lock.acquire()  # @stuck


def sleeper(seconds):
    time.sleep(seconds)  # @sleeper


def busy(deadline):
    n = 0
    while now() < deadline:  # @busy
        n += 1  # @busy
    return n


def main():
    seconds = float(sys.argv[1])
    lock = threading.Lock()
    lock.acquire()
    for name, target, args in (("stuck", stuck, (lock,)), ("sleeper", sleeper, (seconds,))):
        t = threading.Thread(target=target, args=args, name=name)
        t.daemon = True
        t.start()
    time.sleep(0.3)  # both are blocked by now
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    busy(now() + seconds)


if __name__ == "__main__":
    main()
