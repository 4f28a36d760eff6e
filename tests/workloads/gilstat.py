# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""gilstat.py - GIL patterns whose take/hold/drop statistics are known.

Usage: gilstat.py MODE [SECONDS]   (default 30)

  busy    threads "busy-0" and "busy-1" spin in Python: each holds the GIL
          about half the time and waits about as long as the other holds
  sleep   "sleeper" loops on time.sleep(0.01) (holds ~0 %) next to "spinner"
  native  "hasher" loops on hashlib.sha256 and zlib.compress of 8 MiB
          buffers, which release the GIL: busy on its CPU, holding little;
          "spinner" holds the rest
  hold    "hog" runs hold_50ms(), a 50 ms pure-Python loop that releases the
          GIL only at its end (line @hold-end); the switch interval is raised
          to 1 s so that the loop is not preempted while "waiter", which
          sleeps 2 ms at a time, wants the GIL
  single  the main thread alone spins in Python: it never drops the GIL

Thread names are set for the kernel (/proc/self/task/TID/comm).  Prints
"thread NAME TID" per thread, then "ready"; stops after SECONDS.
"""
import hashlib
import sys
import threading
import time
import zlib

from compat import SHA256_RELEASES_GIL, Barrier, clock, monotonic, native_id, say

deadline = 0.0


def spin():
    n = 0
    while monotonic() < deadline:  # @spin
        n += 1
    return n


def sleeper():
    while monotonic() < deadline:
        time.sleep(0.01)  # @sleep


def hasher():
    buf = bytes(bytearray(range(256))) * (32 << 10)  # 8 MiB, compressible
    n = 0
    while monotonic() < deadline:
        if SHA256_RELEASES_GIL:  # else it holds the GIL (see compat.py)
            n += len(hashlib.sha256(buf).digest())  # @hash
        n += len(zlib.compress(buf, 6))  # @compress
    return n


def hold_50ms():
    end = clock() + 0.05
    n = 0
    while clock() < end:  # @hold-loop
        n += 1
    time.sleep(0.02)  # @hold-end
    return n


def hog_main():
    while monotonic() < deadline:
        hold_50ms()  # @hog-call


def waiter():
    while monotonic() < deadline:
        time.sleep(0.002)  # @wait


MODES = {
    "busy": [("busy-0", spin), ("busy-1", spin)],
    "sleep": [("sleeper", sleeper), ("spinner", spin)],
    "native": [("hasher", hasher), ("spinner", spin)],
    "hold": [("hog", hog_main), ("waiter", waiter)],
    "single": [],
}


def name_thread(name):
    try:
        with open("/proc/self/task/%d/comm" % native_id(), "w") as f:
            f.write(name)
    except (IOError, OSError):  # 2.7: IOError is no OSError
        pass


def main():
    global deadline
    mode = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    deadline = monotonic() + seconds
    if mode == "hold" and hasattr(sys, "setswitchinterval"):
        sys.setswitchinterval(1.0)
    elif mode == "hold":  # 2.7 switches every N bytecodes instead
        sys.setcheckinterval(1 << 30)
    specs = MODES[mode]
    started = Barrier(len(specs) + 1)
    tids = {}

    def run(name, fn):
        name_thread(name)
        tids[name] = native_id()
        started.wait()
        fn()

    threads = [threading.Thread(target=run, args=spec, name=spec[0]) for spec in specs]
    for t in threads:
        t.start()
    started.wait()
    if mode == "single":
        name_thread("single")
        tids["single"] = native_id()
    for name in sorted(tids):
        print("thread %s %d" % (name, tids[name]))
    say("ready")
    if mode == "single":
        spin()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
