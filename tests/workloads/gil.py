# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""gil.py - one thread hashes with the GIL released, one spins in Python.

Usage: gil.py [SECONDS]   (default 30)

Thread "hasher" loops in hash_loop over hashlib.sha256 of an 8 MiB buffer:
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
import time

BUF = b"\x5a" * (8 << 20)
deadline = 0.0
started = threading.Barrier(3)


def native_id():
    if hasattr(threading, "get_native_id"):  # 3.8+
        return threading.get_native_id()
    import ctypes  # 3.7: gettid(2), syscall 186 on x86_64
    return ctypes.CDLL(None, use_errno=True).syscall(186)


def hash_loop():
    n = 0
    while time.monotonic() < deadline:  # @hash
        n += len(hashlib.sha256(BUF).digest())  # @hash
    return n


def py_spin():
    n = 0
    while time.monotonic() < deadline:  # @spin
        n += 1  # @spin
    return n


def thread_main(fn, tids):
    name = threading.current_thread().name
    try:
        with open("/proc/self/task/%d/comm" % native_id(), "w") as f:
            f.write(name)
    except OSError:
        pass
    tids[name] = native_id()
    started.wait()
    fn()


def main():
    global deadline
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    deadline = time.monotonic() + seconds
    tids = {}
    threads = [threading.Thread(target=thread_main, args=(fn, tids), name=name)
               for name, fn in (("hasher", hash_loop), ("spinner", py_spin))]
    for t in threads:
        t.start()
    started.wait()
    for name in sorted(tids):
        print("thread %s %d" % (name, tids[name]))
    print("ready", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
