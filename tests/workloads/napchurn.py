# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""napchurn.py - one thread alternates 20 ms of CPU in churn() and 80 ms
of sleep in nap().

Usage: napchurn.py SECONDS TRUTH.json

TRUTH.json gets {"churn": CPU seconds spent in churn, "nap": wall seconds
spent sleeping in nap}, written when SECONDS have passed or on SIGTERM.
"ready" is printed once the loop runs.
"""
import json
import signal
import sys
import time

clock = getattr(time, "thread_time", None) or getattr(time, "process_time", None) or time.clock
now = getattr(time, "monotonic", time.time)
stop = []


def churn():
    t0 = clock()
    while clock() - t0 < 0.020:  # @churn
        pass  # @churn
    return clock() - t0


def nap():
    t0 = now()
    time.sleep(0.080)  # @nap
    return now() - t0


def main():
    seconds, out = float(sys.argv[1]), sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    truth = {"churn": 0.0, "nap": 0.0}
    deadline = now() + seconds
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while not stop and now() < deadline:
        truth["churn"] += churn()
        truth["nap"] += nap()
    with open(out, "w") as f:
        json.dump(truth, f)


if __name__ == "__main__":
    main()
