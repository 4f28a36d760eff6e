# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""gil.py - one thread hashes with the GIL released, one spins in Python.

Usage: gil.py [SECONDS]   (default 30)

Thread "hasher" loops in hash_loop over hashlib.sha256 of an 8 MiB buffer
(zlib.compress where sha256 is not OpenSSL's, which alone releases the GIL):
CPython releases the GIL while hashing, so this thread runs C code on its
own core while thread "spinner" holds the GIL in py_spin.  A profiler that
takes the GIL holder's (or the thread-local "attached") thread state for
the sampled thread puts py_spin under the hasher, or loses the hasher's
Python stack.  Lines marked @hash and @spin.  Thread names are set for
Python and the kernel.  Prints "thread NAME TID" lines, then "ready".
"""
import hashlib
import sys
import threading
import zlib

from compat import SHA256_RELEASES_GIL, Barrier, monotonic, native_id, say

BUF = b"\x5a" * (8 << 20)
deadline = 0.0
started = Barrier(3)


def hash_loop():
    # zlib.compress where sha256 would hold the GIL (see compat.py)
    n = 0
    while monotonic() < deadline:  # @hash
        n += len(hashlib.sha256(BUF).digest() if SHA256_RELEASES_GIL else zlib.compress(BUF))  # @hash
    return n


def py_spin():
    n = 0
    while monotonic() < deadline:  # @spin
        n += 1  # @spin
    return n


def thread_main(fn, tids):
    name = threading.current_thread().name
    try:
        with open("/proc/self/task/%d/comm" % native_id(), "w") as f:
            f.write(name)
    except (IOError, OSError):  # 2.7: IOError is no OSError
        pass
    tids[name] = native_id()
    started.wait()
    fn()


def main():
    global deadline
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    deadline = monotonic() + seconds
    tids = {}
    threads = [threading.Thread(target=thread_main, args=(fn, tids), name=name)
               for name, fn in (("hasher", hash_loop), ("spinner", py_spin))]
    for t in threads:
        t.start()
    started.wait()
    for name in sorted(tids):
        print("thread %s %d" % (name, tids[name]))
    say("ready")
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
