# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""unbound.py - a thread whose thread state does not (yet) name its kernel
thread: the state a thread is caught in between CPython's two stores of
its ids, thread_id (pthread_self) and then native_thread_id (gettid), when
it makes a thread state (PyGILState_Ensure from a C thread, as in
cthread.py, does it 1000 times a second).  A dump that stops the process
there must still give the state its kernel thread.

Usage: unbound.py SECONDS

Thread "unbound" finds its own PyThreadState (ctypes), the two words
thread_id and native_thread_id side by side in it, and zeroes
native_thread_id (3.8+; CPython reads the id from the kernel, not from
there, so nothing else changes); then it sleeps in waiting().  Before
"ready" it prints "thread unbound TID" and "forged OFFSET" (the offset it
zeroed), or "forged none" when the interpreter has no such field (2.7 to
3.7) or the pattern was not found.  The main thread sleeps in join().
"""
import ctypes
import struct
import sys
import threading
import time

from compat import native_id, say

SCAN = 1024  # bytes of the thread state searched for the two ids
state = {}
forged = threading.Event()


def forge():
    """Zero this thread's native_thread_id; its offset, or None."""
    if sys.version_info < (3, 8):
        return None
    get = ctypes.pythonapi.PyThreadState_Get
    get.restype = ctypes.c_void_p
    ts = get()
    raw = ctypes.string_at(ts, SCAN)
    ids = struct.pack("<QQ", threading.get_ident(), native_id())
    hits = [off for off in range(0, SCAN - 15, 8) if raw[off:off + 16] == ids]
    if len(hits) != 1:
        return None
    ctypes.memset(ts + hits[0] + 8, 0, 8)
    return hits[0] + 8


def waiting(seconds):
    time.sleep(seconds)  # @waiting


def unbound(seconds):
    state["tid"] = native_id()
    state["offset"] = forge()
    forged.set()
    waiting(seconds)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    t = threading.Thread(target=unbound, args=(seconds,), name="unbound")
    t.daemon = True
    t.start()
    forged.wait(10)
    time.sleep(0.2)  # asleep in waiting() by now
    say("thread unbound %d" % state["tid"])
    say("forged %s" % ("none" if state["offset"] is None else state["offset"]))
    say("ready")
    t.join(seconds + 5)


if __name__ == "__main__":
    main()
