# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""manystacks.py - nearly every sample a stack never seen before.

Usage: manystacks.py [SECONDS [THREADS]]   (defaults 30, 2)

Each thread calls, DEPTH deep, functions picked at random among N
generated ones (gen_k, from file <gen_k>), and spends a few microseconds
at the leaf: N ** DEPTH stacks, so the BPF side stores a new stack for
almost every sample, as fast as the sampler samples.
"""
import random
import sys
import threading

from compat import monotonic, say

N, DEPTH = 200, 5


def build():
    fns = []
    for k in range(N):
        src = ("def gen_%d(d, r):\n"
               "    if d == 0:\n"
               "        x = 0\n"
               "        for i in range(20):\n"
               "            x += i\n"
               "        return x\n"
               "    return F[r.randrange(N)](d - 1, r)\n" % k)
        ns = {"N": N}
        exec(compile(src, "<gen_%d>" % k, "exec"), ns)
        fns.append(ns)
    funcs = [ns["gen_%d" % k] for k, ns in enumerate(fns)]
    for ns in fns:
        ns["F"] = funcs
    return funcs


def run(funcs, seed, deadline):
    r = random.Random(seed)
    while monotonic() < deadline:
        funcs[r.randrange(N)](DEPTH, r)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    funcs = build()
    deadline = monotonic() + seconds
    ts = [threading.Thread(target=run, args=(funcs, i, deadline)) for i in range(nthreads)]
    for t in ts:
        t.daemon = True
        t.start()
    say("ready")
    for t in ts:
        t.join()


main()
