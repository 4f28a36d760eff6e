# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""phases.py - three phases one after the other, for time-ordered outputs:
phase_a spins for SECONDS, phase_b sleeps for SECONDS, phase_c spins for
SECONDS; then the process exits.

Usage: phases.py SECONDS TRUTH.json

Meant to be launched under `pybpf record -- ...` so the whole run is
recorded; a timeline must show a, b and c in that order.  TRUTH.json gets
what each phase took as a profiler counts it: the CPU seconds of phase_a
and phase_c (on a busy machine less than their wall time), the wall
seconds of phase_b's sleep (off-CPU time with --idle); and PHASE_wall,
each phase's wall time.
"""
import json
import sys
import time

from compat import monotonic, say

cpu = getattr(time, "thread_time", None) or getattr(time, "process_time", None) or time.clock


def phase_a(seconds):
    end = monotonic() + seconds
    while monotonic() < end:  # @a
        pass


def phase_b(seconds):
    time.sleep(seconds)  # @b


def phase_c(seconds):
    end = monotonic() + seconds
    while monotonic() < end:  # @c
        pass


def main():
    seconds = float(sys.argv[1])
    truth = {}
    say("ready")
    for name, phase in (("phase_a", phase_a), ("phase_b", phase_b), ("phase_c", phase_c)):
        t0, w0 = cpu(), monotonic()
        phase(seconds)
        truth[name] = monotonic() - w0 if name == "phase_b" else cpu() - t0
        truth[name + "_wall"] = monotonic() - w0
    with open(sys.argv[2], "w") as f:
        json.dump(truth, f)


if __name__ == "__main__":
    main()
