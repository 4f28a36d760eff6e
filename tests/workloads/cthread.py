# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cthread.py - a thread made in C calls into Python 1000 times a second:
each call takes and drops a thread state (PyGILState_Ensure/Release, as
ctypes callbacks, C libraries and embedding hosts do).

Usage: cthread.py SECONDS TRUTH.json LIB.so

LIB.so (compiled by the test from the C text below) has
run(callback, calls, pause_us): it calls callback() `calls` times with a
pause between calls, on the thread that runs it, which this script
creates with pthread_create -- so that thread is no Python thread: its
thread state exists only during each call.  The callback spins for
0.5 ms of CPU time in work() (thread_time; the process's before 3.7).  TRUTH.json gets {"work": CPU
seconds in work(), "calls": n}.  "ready" is printed once calls run.
"""
import ctypes
import json
import sys
import time

C_SOURCE = r"""
#include <pthread.h>
#include <unistd.h>
struct job { void (*cb)(void); long calls; long pause_us; };
static void *loop(void *arg)
{
	struct job *j = arg;
	long i;

	for (i = 0; i < j->calls; i++) {
		j->cb();
		usleep(j->pause_us);
	}
	return 0;
}
int start(void (*cb)(void), long calls, long pause_us, pthread_t *tid)
{
	static struct job j;

	j.cb = cb;
	j.calls = calls;
	j.pause_us = pause_us;
	return pthread_create(tid, 0, loop, &j);
}
"""

truth = {"work": 0.0, "calls": 0}
clock = getattr(time, "thread_time", None) or getattr(time, "process_time", None) or time.clock


def work():
    t0 = clock()
    while clock() - t0 < 0.0005:  # @work
        pass  # @work
    return clock() - t0


def callback():
    truth["work"] += work()
    truth["calls"] += 1


def main():
    seconds, out, lib = float(sys.argv[1]), sys.argv[2], ctypes.CDLL(sys.argv[3])
    cb = ctypes.CFUNCTYPE(None)(callback)
    tid = ctypes.c_ulong()
    calls = int(seconds * 1000)
    if lib.start(cb, ctypes.c_long(calls), ctypes.c_long(500), ctypes.byref(tid)):
        sys.exit("pthread_create failed")
    time.sleep(0.2)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    ctypes.CDLL(None).pthread_join(tid, None)
    with open(out, "w") as f:
        json.dump(truth, f)


if __name__ == "__main__":
    main()
