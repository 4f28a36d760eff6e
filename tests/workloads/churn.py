# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""churn.py - code objects that live a few ms, then die and get reused.

Usage: churn.py [SECONDS]          run (default 30 s), "ready" once running
       churn.py --check [SECONDS]  run without a profiler and print JSON
                                   stats proving the code objects are freed
                                   and their addresses reused

Function i is compiled from gen_source(i) with the file name "<gen_i>", is
named gen_fn_i, spins for 1-5 ms and is freed right away (the namespace is
cleared, so no cycle keeps it alive), so the next compile() usually lands
on the address just freed: a profiler that caches names or line tables by
code-object address alone will show gen_fn_j or a line of gen_fn_j in a
frame of gen_fn_i.  The invariant a profile must keep:

    a frame named gen_fn_I has the file <gen_I> and a line in
    function_lines(I) (the spinning lines are spin_lines(I)); the only
    other code in <gen_I> is its '<module>', on a line in module_lines(I).

The function is shifted down by 8 * (i % 17) blank lines, so a line taken
from another generation's table falls outside function_lines(i).
The integration runner imports this module for these functions: importing
it has no side effects.
"""
import json
import sys
import time
import weakref

# CPU time of the thread (3.7+; the process's before, 2.7's time.clock):
# each function spins for CPU time, so its share of the samples against
# compile() does not shrink when the machine is busy.
clock = getattr(time, "thread_time", None) or getattr(time, "process_time", None) or time.clock
monotonic = getattr(time, "monotonic", time.time)  # 3.3+

PAD_CYCLE = 17
PAD_STEP = 8

TEMPLATE = """\
# generated function {i}: file <gen_{i}>
{pad}def gen_fn_{i}(clock, end):
    n = {i}
    while clock() < end:  # @spin
        n += {i}  # @spin
    return n
"""


def gen_filename(i):
    return "<gen_%d>" % i


def gen_source(i):
    # Shift by whole function lengths: the lines of gen_fn_i and gen_fn_j
    # never overlap unless i == j (mod PAD_CYCLE).
    return TEMPLATE.format(i=i, pad="\n" * (PAD_STEP * (i % PAD_CYCLE)))


def spin_lines(i):
    """Line numbers (1-based) of the spinning loop of gen_fn_i."""
    return [n for n, text in enumerate(gen_source(i).splitlines(), 1)
            if text.rstrip().endswith("# @spin")]


def function_lines(i):
    """Every line a sample of gen_fn_i may legitimately report (def..return)."""
    lines = gen_source(i).splitlines()
    first = next(n for n, t in enumerate(lines, 1) if t.startswith("def "))
    return list(range(first, len(lines) + 1))


def module_lines(i):
    """Lines the module code of <gen_i> (co_name '<module>', running only
    while exec() defines gen_fn_i) may report."""
    return list(range(1, len(gen_source(i).splitlines()) + 1))


def run_one(i, seconds, clock):
    code = compile(gen_source(i), gen_filename(i), "exec")
    ns = {}
    exec(code, ns)
    fn = ns.pop("gen_fn_%d" % i)
    ns.clear()
    fn_code = fn.__code__
    fn(clock, clock() + seconds)
    return weakref.ref(fn_code), id(fn_code)


def main():
    args = sys.argv[1:]
    check = bool(args) and args[0] == "--check"
    if check:
        args = args[1:]
    seconds = float(args[0]) if args else (1.0 if check else 30.0)
    deadline = monotonic() + seconds
    i = 0
    alive = 0
    ids = {}
    prev = None
    same_as_prev = 0
    if not check:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
    while monotonic() < deadline:
        # 1-5 ms per function, varying so samples hit many generations.
        ref, addr = run_one(i, 0.001 * (1 + i % 5), clock)
        if ref() is not None:
            alive += 1
        ids[addr] = ids.get(addr, 0) + 1
        if addr == prev:
            same_as_prev += 1
        prev = addr
        i += 1
    if check:
        print(json.dumps({
            "functions": i,
            "still_alive_after_return": alive,
            "distinct_code_addresses": len(ids),
            "reused_address_of_previous": same_as_prev,
            "version": "%d.%d.%d" % sys.version_info[:3],
        }))


if __name__ == "__main__":
    main()
