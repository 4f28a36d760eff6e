# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""reload.py - a module reloaded in a loop, its function's body shifted by
a few lines in each version: each sample must show the line of the version
that ran.

Usage: reload.py SECONDS TRUTH.json DIR

Writes DIR/reloadmod.py in four versions k = 0..3, round-robin: the
function hot() keeps its `def` line and name, and its spin loop moves down
by k blank lines (so only the line table differs, not the bytecode).
Version k spins (k + 1) * 10 ms of CPU time (thread_time, else the
process's: the workload has one thread) per round, so the four
lines get 10/20/30/40 % of hot()'s time.  After each run the module is
reloaded (importlib.reload; 2.7's reload): the old code object dies and a new one often
takes its address.  TRUTH.json gets {"lines": {line: cpu seconds}}.
"ready" is printed once the loop runs.
"""
import json
import os
import signal
import sys
import time

HEAD = ("import time\n"
        "clock = getattr(time, 'thread_time', None) or getattr(time, 'process_time', None) \\\n"
        "    or time.clock\n\n\n"
        "def hot(quota):\n"
        "    t0 = clock()\n")
LOOP = ("    while clock() - t0 < quota: pass\n"  # one line: one line per version
        "    return clock() - t0\n")
FIRST_LOOP_LINE = 8  # the `while` line of version 0 (1-based)
stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def write_version(path, k):
    with open(path, "w") as f:
        f.write(HEAD + "\n" * k + LOOP)
    # a new mtime and size each time, so reload recompiles
    os.utime(path, (time.time(), time.time() + k))


def main():
    seconds, out, d = float(sys.argv[1]), sys.argv[2], sys.argv[3]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.dont_write_bytecode = True
    sys.path.insert(0, d)
    try:
        from importlib import reload, invalidate_caches
    except ImportError:  # 2.7: the builtin reload, no path caches
        reload, invalidate_caches = __builtins__.reload, lambda: None
    path = os.path.join(d, "reloadmod.py")
    write_version(path, 0)
    import reloadmod
    truth = {}
    now = getattr(time, "monotonic", time.time)
    deadline = now() + seconds
    k = 0
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while not stop and now() < deadline:
        spent = reloadmod.hot((k + 1) * 0.010)
        line = FIRST_LOOP_LINE + k
        truth[line] = truth.get(line, 0.0) + spent
        k = (k + 1) % 4
        write_version(path, k)
        invalidate_caches()
        reloadmod = reload(reloadmod)
    with open(out, "w") as f:
        json.dump({"lines": truth}, f)


if __name__ == "__main__":
    main()
