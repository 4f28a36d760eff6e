# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""compat.py - what the workloads use that CPython 2.7 (or 3.6) lacks,
behaving the same on every version, so one workload file runs everywhere.

    clock        time.perf_counter (3.3+), else time.time
    monotonic    time.monotonic (3.3+), else time.time
    say(line)    print a line and flush stdout (print's flush= is 3.3+)
    Barrier(n)   threading.Barrier (3.2+), else the same for wait() alone
    native_id()  threading.get_native_id() (3.8+), else gettid(2)
    SHA256_RELEASES_GIL
                 hashlib's sha256 is OpenSSL's, which hashes with the GIL
                 released; the builtin fallback (pyenv's 2.7 and 3.6, built
                 without an OpenSSL they accept) holds it all along
    define_at(line, source, names, namespace)
                 compile source that sits in this file from `line` on
                 (see below) and define names in namespace

Every helper is C code or runs once at start-up: none appears in the hot
stacks the tests judge.  churn.py and locals.py, which the test runner
imports under its own Python 3, keep their few helpers to themselves.
"""
import hashlib
import sys
import threading
import time
import types

clock = getattr(time, "perf_counter", time.time)
monotonic = getattr(time, "monotonic", time.time)
PY2 = sys.version_info[0] == 2
SHA256_RELEASES_GIL = "openssl" in getattr(hashlib.sha256, "__name__", "")


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class _Barrier(object):
    """threading.Barrier's wait() for 2.7: the n-th caller releases all."""

    def __init__(self, n):
        self.n, self.arrived, self.cond = n, 0, threading.Condition()

    def wait(self):
        with self.cond:
            self.arrived += 1
            if self.arrived >= self.n:
                self.cond.notify_all()
            while self.arrived < self.n:
                self.cond.wait(1.0)


Barrier = getattr(threading, "Barrier", _Barrier)


def native_id():
    if hasattr(threading, "get_native_id"):  # 3.8+
        return threading.get_native_id()
    import ctypes  # gettid(2), syscall 186 on x86_64
    return ctypes.CDLL(None, use_errno=True).syscall(186)


def _renamed(fn, name):
    """fn with co_name `name`, a byte string (2.7's names are str, bytes)."""
    c = fn.__code__
    code = types.CodeType(c.co_argcount, c.co_nlocals, c.co_stacksize, c.co_flags,
                          c.co_code, c.co_consts, c.co_names, c.co_varnames,
                          c.co_filename, name, c.co_firstlineno, c.co_lnotab,
                          c.co_freevars, c.co_cellvars)
    return types.FunctionType(code, fn.__globals__, name, fn.__defaults__, fn.__closure__)


def define_at(line, source, filename, namespace, py2=None):
    """Run `source`, text that stands in `filename` as a string literal
    opened at `line` (source starts with that line's newline), as if it
    were that file's own code: same file name, same line numbers, so line
    markers and profiles agree.  For what 2.7 cannot parse: py2 maps each
    name to define (e.g. a non-ASCII function name, PEP 3131 is 3.0) to
    the ASCII name source uses on 2.7 in its place; the function is
    defined under both, with co_name the UTF-8 bytes of the real one, as a
    2.7 code object can hold.  py2 None: source is 3.x only, skipped."""
    if PY2:
        if py2 is None:
            return
        for real, ascii_name in py2.items():
            source = source.replace(real, ascii_name)
    exec(compile("\n" * (line - 1) + source, filename, "exec"), namespace)
    if PY2:
        for real, ascii_name in py2.items():
            if ascii_name != real:
                namespace[ascii_name] = _renamed(namespace[ascii_name], real.encode("utf-8"))
