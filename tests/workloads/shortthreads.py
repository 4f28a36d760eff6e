# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""shortthreads.py - threads that live ~15 ms each: 10 ms of CPU in
work(), 5 ms asleep in nap(), then they exit; four at a time, new ones
all along, so threads exit while a profiler watches.

Usage: shortthreads.py SECS
"""
import sys
import threading
import time


def work():  # @work
    t0 = time.time()  # @work
    while time.time() - t0 < 0.010:  # @work
        pass  # @work


def nap():  # @nap
    time.sleep(0.005)  # @nap


def life():
    work()
    nap()


def main():
    deadline = time.time() + float(sys.argv[1])
    ready = False
    while time.time() < deadline:
        threads = [threading.Thread(target=life) for _ in range(4)]
        for t in threads:
            t.start()
        if not ready:
            sys.stdout.write("ready\n")
            sys.stdout.flush()
            ready = True
        for t in threads:
            t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
