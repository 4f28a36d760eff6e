# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""fleet.py - one member of a fleet for `record --all` tests.

Usage: fleet.py TAG SECONDS

Spins ~2 ms out of every 60 ms (so 30+ members fit on 2 cores) in a
function named fleet_TAG, compiled from a file name fleet_TAG.py, so a
test can tell whose stack is whose.  Prints "ready" when running.
"""
import sys
import time

# Not from compat.py: this file also runs in a chroot with no standard
# library at all (the containers case), where compat's imports fail.
clock = getattr(time, "perf_counter", time.time)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()

SRC = """
def fleet_{tag}(until):
    while clock() < until:
        pass
"""


def main():
    tag, seconds = sys.argv[1], float(sys.argv[2])
    ns = {"clock": clock}
    exec(compile(SRC.format(tag=tag), "fleet_%s.py" % tag, "exec"), ns)
    work = ns["fleet_" + tag]
    stop = time.time() + seconds
    say("ready")
    while time.time() < stop:
        work(clock() + 0.002)
        time.sleep(0.058)


if __name__ == "__main__":
    main()
