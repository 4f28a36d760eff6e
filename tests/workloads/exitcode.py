# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""exitcode.py - about a second of CPU work, then exit status 7.

Usage: exitcode.py [SECONDS]   (default 1.0)

Checks that `pybpf record -- CMD` profiles a command it launches and exits
with the command's status, and that `record -p` stops when its target
exits.  The work is in busy (lines marked @busy); "ready" is printed first.
"""
import sys

from compat import monotonic, say


def busy(seconds):
    end = monotonic() + seconds
    n = 0
    while monotonic() < end:  # @busy
        n += 1  # @busy
    return n


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    say("ready")
    busy(seconds)
    sys.exit(7)


if __name__ == "__main__":
    main()
