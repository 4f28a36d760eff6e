# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""parallel.py - four threads run Python at the same time (free-threaded
builds), each in its own function, at duty cycles of 100/75/50/25 %.

Usage: parallel.py SECONDS TRUTH.json

Thread k is named "par-k" (threading and /proc comm) and spins only in
spin_k, in slices of 5 ms, sleeping after each slice so that it is busy
for its duty cycle.  Each thread sums its own CPU time (time.thread_time)
spent in spin_k; the sums are written to TRUTH.json, {"par-0": seconds,
...}, when SECONDS have passed or on SIGTERM/SIGINT.  Before "ready" the
script prints one line per thread: "thread NAME TID".
"""
import json
import signal
import sys
import threading
import time

DUTY = [1.0, 0.75, 0.5, 0.25]
SLICE = 0.005
stop = threading.Event()
truth = {}
lock = threading.Lock()


def spin_0(quota):
    t0 = time.thread_time()
    while time.thread_time() - t0 < quota:  # @spin_0
        pass  # @spin_0
    return time.thread_time() - t0


def spin_1(quota):
    t0 = time.thread_time()
    while time.thread_time() - t0 < quota:  # @spin_1
        pass  # @spin_1
    return time.thread_time() - t0


def spin_2(quota):
    t0 = time.thread_time()
    while time.thread_time() - t0 < quota:  # @spin_2
        pass  # @spin_2
    return time.thread_time() - t0


def spin_3(quota):
    t0 = time.thread_time()
    while time.thread_time() - t0 < quota:  # @spin_3
        pass  # @spin_3
    return time.thread_time() - t0


SPINS = [spin_0, spin_1, spin_2, spin_3]


def run(k, started):
    name = "par-%d" % k
    try:
        with open("/proc/self/task/%d/comm" % threading.get_native_id(), "w") as f:
            f.write(name)
    except OSError:
        pass
    print("thread %s %d" % (name, threading.get_native_id()), flush=True)
    started.wait()
    spent = 0.0
    idle = SLICE * (1 - DUTY[k]) / DUTY[k]
    while not stop.is_set():
        spent += SPINS[k](SLICE)
        if idle:
            time.sleep(idle)
    with lock:
        truth[name] = spent


def main():
    seconds, out = float(sys.argv[1]), sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    started = threading.Barrier(5)
    threads = [threading.Thread(target=run, args=(k, started), name="par-%d" % k)
               for k in range(4)]
    for t in threads:
        t.start()
    started.wait()
    print("ready", flush=True)
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join()
    with open(out, "w") as f:
        json.dump(truth, f)


if __name__ == "__main__":
    main()
