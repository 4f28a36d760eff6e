# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""pingpong.py - two threads hand a byte back and forth through two pipes,
each blocking in os.read between turns: tens of thousands of context
switches a second with unchanged Python stacks, for the --idle path's cost
per switch (tools/bench_switch.py).  Prints "ready", waits for a line on
stdin, runs until killed."""
import os
import sys
import threading


def player(rd, wr, first):
    if first:
        os.write(wr, b"x")
    while True:
        os.read(rd, 1)
        os.write(wr, b"x")


def main():
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    print("ready", flush=True)
    sys.stdin.readline()
    threading.Thread(target=player, args=(a_r, b_w, False), daemon=True).start()
    player(b_r, a_w, True)


if __name__ == "__main__":
    main()
