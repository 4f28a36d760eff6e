#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""bench_drain.py - how long one drain of many new count keys takes.

A generated target makes nearly every sample a stack of its own: each of
its threads recurses through functions picked at random among --funcs
generated ones, so the counts map fills with distinct (thread, stack) keys.
pybpf records it at a high rate for three --seconds, draining every
--seconds (PYBPF_DRAIN_MS): the first drain is the cold one (every table
grows), the later ones find warm memory.  `record -v` prints the slowest
drain and the last one (the run's end, nearly an interval after the one
before), how many keys were counted from the memo of their last drain,
and where the time went (the counts map swap and batch reads, the stack
cache, the profile's callbacks).

--stable measures the drains of a profile already warm instead: each
thread calls --funcs functions in turn, each summing a range in C (one
stack a function, one key a thread and function), so after the first
drain the keys, stacks and profile rows are all known and a drain is
what a long-running `top` or agent pays; e.g. --stable --threads 50
--funcs 1000 --seconds 5 --rate 20000 for ~40 000 keys a drain.

Usage (as root):
  python3 tools/bench_drain.py [--pybpf ./pybpf] [--python P] [--seconds 3]
                               [--rate 10000] [--funcs 300] [--depth 6] [--rounds 3]
                               [--stable]
Prints each round's drain lines.  Aim for ~50 000 keys a drain: raise
--seconds or --rate if a drain holds fewer (the counts map holds 65 536).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

TARGET = '''
import random, sys, threading
N, DEPTH = {funcs}, {depth}
def make(i):
    src = ["def f%d(d, r):" % i,
           "    if d == 0:",
           "        x = 0"]
    # a leaf with several lines, so the instruction varies too
    src += ["        x += %d * r.random()" % k for k in range(8)]
    src += ["        return x",
            "    return F[r.randrange(N)](d - 1, r)"]
    ns = {{"F": None, "N": N}}
    exec(compile("\\n".join(src), "gen%d.py" % i, "exec"), ns)
    return ns
spaces = [make(i) for i in range(N)]
F = [s["f%d" % i] for i, s in enumerate(spaces)]
for s in spaces:
    s["F"] = F
def run(seed):
    r = random.Random(seed)
    while True:
        F[r.randrange(N)](DEPTH, r)
ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range({threads})]
for t in ts:
    t.start()
print("ready", flush=True)
for t in ts:
    t.join()
'''


STABLE = '''
import sys, threading
N = {funcs}
R = range(3000)
def make(i):
    ns = {{"R": R}}
    exec(compile("def f%d():\\n    return sum(R)" % i, "gen%d.py" % i, "exec"), ns)
    return ns["f%d" % i]
F = [make(i) for i in range(N)]
def run():
    while True:
        for f in F:
            f()
ts = [threading.Thread(target=run, daemon=True) for i in range({threads})]
for t in ts:
    t.start()
print("ready", flush=True)
for t in ts:
    t.join()
'''


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pybpf", default="./pybpf")
    p.add_argument("--python", default="/root/.pyenv/versions/3.12.1/bin/python3")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rate", type=int, default=10000)
    p.add_argument("--funcs", type=int, default=300)
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--stable", action="store_true",
                   help="a fixed set of keys, drained warm (see above)")
    a = p.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write((STABLE if a.stable else TARGET).format(funcs=a.funcs, depth=a.depth,
                                                        threads=a.threads))
        script = f.name
    env = dict(os.environ, PYBPF_DRAIN_MS=str(int(a.seconds * 1000)))
    # the run ends a little before a fourth interval would: its last
    # drain (at the end) holds nearly an interval's keys, like the others
    duration = 3 * a.seconds - min(1.0, a.seconds / 10)
    try:
        for r in range(a.rounds):
            t = subprocess.Popen([a.python, script], stdout=subprocess.PIPE, text=True)
            try:
                t.stdout.readline()
                time.sleep(0.3)
                out = subprocess.run([a.pybpf, "record", "-v", "-p", str(t.pid), "--rate",
                                      str(a.rate), "-d", str(duration), "-o", "/dev/null"],
                                     env=env, capture_output=True, text=True)
            finally:
                t.kill()
                t.wait()
            lines = [ln for ln in out.stderr.splitlines()
                     if re.search(r"drain|samples,|lost: |rotated|stack cache", ln)]
            print("round %d:" % (r + 1))
            for ln in lines:
                print("  " + ln.strip())
            if out.returncode:
                print(out.stderr[-2000:], file=sys.stderr)
    finally:
        os.unlink(script)


if __name__ == "__main__":
    main()
