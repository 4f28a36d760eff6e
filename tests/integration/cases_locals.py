# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_locals.py - `pybpf dump --locals`: arguments and locals of a live
frame, with the short reprs of known values (tests/workloads/locals.py).

The expected reprs are derived here from the workload's own VALUES, by the
rules pybpf documents: exact ints up to 64 bits (longer ones exact only
from -ll on), repr() for float/str/bytes, "list(len=N)" for containers at
-l and their first elements at -ll, "<Type at 0x...>" for other objects.
On 2.7 the workload's bytes are str objects, shown as bytes without the b
prefix, as 2.7's repr() does; its one non-ASCII string is a unicode (a
2.7 str would hold bytes), shown u'...'; ASCII strings are str objects,
whose literal reads the same as in 3.x.
"""
import importlib.util
import json
import re

from harness import WORKLOADS, Fail, Skip, pybpf
from casekit import WORKLOAD_MAX, dump_json, start

ARGS = ["seconds", "label", "flag", "rest", "extra"]   # in co_varnames order
ARG_VALUES = {"seconds": WORKLOAD_MAX, "label": "lbl", "flag": False, "rest": ("extra1",),
              "extra": {"opt": 5}}
OBJECTS = {"widget": r"<Widget at 0x[0-9a-f]+>", "inner": r"<function at 0x[0-9a-f]+>"}


def workload_values():
    spec = importlib.util.spec_from_file_location("locals_workload", str(WORKLOADS / "locals.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)   # defines VALUES; main() only runs as a script
    return dict(mod.VALUES, captured="cell")


def expected(value, detail, py2=False):
    """The repr pybpf should print for value at detail 1 (-l) or 2 (-ll),
    in a 2.7 process if py2."""
    if py2 and isinstance(value, bytes):
        return repr(value)[1:]
    if py2 and isinstance(value, str) and not value.isascii():
        return "u" + repr(value)
    if value is None or isinstance(value, bool) or isinstance(value, (float, str, bytes)):
        return repr(value)
    if isinstance(value, int):
        digits = len(str(abs(value)))
        if abs(value) < 2 ** 64 or (detail >= 2 and digits <= 100):
            return str(value)
        return "<%sint, %d digits>" % ("negative " if value < 0 else "", digits)
    if detail < 2:
        return "%s(len=%d)" % (type(value).__name__, len(value))
    if isinstance(value, dict):
        inner = ", ".join("%s: %s" % (expected(k, 1, py2), expected(v, 1, py2))
                          for k, v in value.items())
        return "{%s}" % inner
    inner = ", ".join(expected(v, 1, py2) for v in value)
    if isinstance(value, tuple):
        return "(%s%s)" % (inner, "," if len(value) == 1 else "")
    return ("[%s]" if isinstance(value, list) else "{%s}") % inner


def dump_locals(ctx, target, detail):
    """{name: (repr, is_arg)} and the name order of hold's frame."""
    name = "dump-l%d" % detail
    threads, res = dump_json(ctx, target, ["--locals"] * detail, name)
    frames = [f for t in threads for f in t.get("frames", [])
              if f.get("name", "").endswith("hold") and f.get("short_filename") == "locals.py"]
    if not frames:
        raise Fail("%s: no frame of hold (locals.py) in any thread" % name,
                   res.out.splitlines()[:30])
    got, order = {}, []
    for var in frames[0].get("locals") or []:
        got[var["name"]] = (var["repr"], bool(var["arg"]))
        order.append(var["name"])
    ctx.note("%s: %s" % (name, ", ".join("%s=%s" % (n, got[n][0]) for n in order)))
    if not got:
        raise Fail("%s: hold's frame has no locals" % name, res.out.splitlines()[:30])
    return got, order


def compare(got, want, name, problems):
    repr_, _ = got.get(name, (None, None))
    if repr_ is None:
        problems.append("%s missing" % name)
    elif isinstance(want, str) and repr_ != want:
        problems.append("%s = %s, expected %s" % (name, repr_, want))
    elif not isinstance(want, str) and not want.fullmatch(repr_):
        problems.append("%s = %s, expected to match %s" % (name, repr_, want.pattern))


def case_locals(ctx):
    """dump --locals --json: args first and flagged, every kind of value
    right at -l and -ll, cells read through, unbound locals left out."""
    values = workload_values()
    target = start(ctx, "locals.py", WORKLOAD_MAX)
    problems = []
    for detail in (1, 2):
        got, order = dump_locals(ctx, target, detail)
        py2 = ctx.interp.version < (3,)
        want = {n: expected(v, detail, py2) for n, v in dict(values, **ARG_VALUES).items()}
        want.update({n: re.compile(p) for n, p in OBJECTS.items()})
        for name in sorted(want):
            compare(got, want[name], name, problems)
        if order[:len(ARGS)] != ARGS:
            problems.append("arguments should come first, in order %s: got %s"
                            % (ARGS, order[:len(ARGS)]))
        flagged = [n for n in order if got[n][1]]
        if flagged != ARGS:
            problems.append("flagged as arguments: %s, expected %s" % (flagged, ARGS))
        if "later" in got:
            problems.append("unbound local 'later' shown as %s" % got["later"][0])
        if problems:
            raise Fail("%s: %s" % ("-l" * detail, problems[0]), problems[1:] +
                       ["%s = %s%s" % (n, got[n][0], " (arg)" if got[n][1] else "")
                        for n in order])
