# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""subwork.py - what subinterp.py runs inside its subinterpreter."""
import time


def sub_spin(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:  # @sub-spin
        n += 1  # @sub-spin
    return n


def sub_nap(seconds):
    time.sleep(seconds)  # @sub-nap
