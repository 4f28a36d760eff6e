# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""pool.py - multiprocessing.Pool(2) workers spinning in pool_work(), for
`-s`.  Usage: pool.py [SECONDS]   (default 30).  Prints "ready" once both
workers have started working."""
import multiprocessing
import sys
import time

from compat import say


def pool_work(n):
    end = time.time() + 0.05
    x = 0
    while time.time() < end:  # @pool
        x += 1  # @pool
    return n


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    stop = time.time() + seconds
    pool = multiprocessing.Pool(2)  # a context manager from 3.3 on
    try:
        pool.map(pool_work, range(2))
        say("ready")
        while time.time() < stop:
            pool.map(pool_work, range(8))  # @map
    finally:
        pool.terminate()


if __name__ == "__main__":
    main()
