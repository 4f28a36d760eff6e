# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""gen-linetable-vectors.py - line-table test vectors from the running interpreter.

Run it with each CPython to test (2.7 and 3.6+; the same file works on all):

    python3.X tools/gen-linetable-vectors.py [OUTDIR]

It compiles a fixed source (built below, with long functions, big line gaps,
backward line jumps, one-line bytecode runs > 255 bytes, very wide lines, ...),
walks every code object recursively, and writes OUTDIR/linetable-X.Y.txt
(default OUTDIR: tests/unit/data next to this tools/ directory).  The expected
line of each instruction comes from the interpreter itself: co_lines() on 3.10+,
dis.findlinestarts() propagated forward on older versions.  Both are
cross-checked against the C function PyCode_Addr2Line (via ctypes), the one
tracebacks use; disagreements are reported on stderr and in the file header.
tests/unit/test_linetable.c replays the vectors against user/profile/linetable.c.
"""
from __future__ import print_function

import binascii
import ctypes
import dis
import os
import platform
import sys
import types

FORMAT_DOC = """\
# Format: '#' lines are comments; one record per code object:
#   code <version-hex> <firstlineno> <dotted-name>
#   table <hex of co_lnotab (<= 3.9) or co_linetable (3.10+), '-' if empty>
#   at <byte-offset>:<line> ...   (repeated; every instruction, in order;
#                                  line -1 = the instruction has no line)
#   end
# <version-hex> is PY_VERSION_HEX >> 16 (0x30b for 3.11).  Offsets are byte
# offsets in co_code: every code unit on 3.6+ (CACHE and EXTENDED_ARG included),
# every instruction start on 2.7.
"""

PAIRS_PER_LINE = 16


def block(lines, indent):
    pad = " " * indent
    return "\n".join(pad + l if l else l for l in lines)


def long_body():
    """~320 statements: tables beyond 256 entries, and > 127-line deltas."""
    out = ["acc = 0", "vals = []"]
    for i in range(300):
        kind = i % 6
        if kind == 0:
            out.append("acc = acc + %d" % i)
        elif kind == 1:
            out.append("vals.append(acc * %d)" % i)
        elif kind == 2:
            out.append("if acc > %d:" % (i * 7))
            out.append("    acc = acc - %d" % i)
        elif kind == 3:
            out.append("for k in range(2):")
            out.append("    acc += k")
        elif kind == 4:
            out.append("acc = (acc +")
            out.append("       %d)" % i)
        else:
            out.append("# a comment line, then a blank one")
            out.append("")
    out.append("return acc, vals")
    return out


def gap_lines(n):
    return ["# gap line %d: no code here" % i for i in range(n)]


def big_one_line():
    """One source line whose bytecode is far longer than 255 bytes."""
    terms = ", ".join("n + %d" % i for i in range(150))
    return "return [%s]" % terms


def wide_line():
    """Expression starting past column 256 (3.11+ long-form columns)."""
    return "x = " + " " * 260 + "n * 2 + len(str(n))"


def multiline_call(n):
    """A call spanning n lines: the CALL goes back to the first line."""
    args = ["    n + %d," % i for i in range(n)]
    return ["total = max("] + args + ["    0)"]


SOURCE = '''\
import sys


def decorator(fn):
    return fn


@decorator
@decorator
def long_function(n):
@long_body@


def gap_function(n):
    a = n + 1
@gap@
    b = a * 2
    c = [
        a,
        b,
    ]
@gap_back@
    return a + b + len(c)


def one_line_burst(n):
    @big_line@


def wide(n):
    @wide_line@
    return x


def call_back(n):
@multiline_call@
    return total


def control_flow(items):
    out = []
    i = 0
    while i < len(items):
        item = items[i]
        if item is None:
            i += 1
            continue
        try:
            out.append(10 // item)
        except ZeroDivisionError as e:
            out.append(str(e))
        except (TypeError, ValueError):
            raise
        else:
            out.append(-1)
        finally:
            i += 1
        if len(out) > 100:
            break
    else:
        out.append("done")
    with open(__file__) as fh:
        first = fh.readline()
    assert first is not None, "unreachable"
    return out


def comprehensions(data):
    squares = [x * x for x in data
               if x % 2]
    table = {k: v for k, v in zip(data,
                                  squares)}
    uniq = {x for x in data}
    gen = (y + 1
           for y in data
           if y)
    nested = [[a * b for a in range(b)] for b in data]
    return squares, table, uniq, sum(gen), nested


def outer(n):
    base = n * 2

    def inner(m):
        def innermost(k):
            return k + m + base
        return innermost(m)

    adder = lambda a, b=base: (a +
                               b)
    return inner(n) + adder(n) + (lambda: base)()


def counter(limit):
    i = 0
    while i < limit:
        sent = yield i
        if sent:
            i = sent
        i += 1


class Shape(object):
    """A class with methods, properties and a nested class."""

    sides = 0

    def __init__(self, name,
                 scale=1):
        self.name = name
        self.scale = scale

    @property
    def area(self):
        return 0

    @staticmethod
    def unit():
        return Shape("unit")

    @classmethod
    def named(cls, name):
        return cls(name)

    def describe(self):
        return "%s with %d sides, area %s" % (
            self.name,
            self.sides,
            self.area)

    class Meta(object):
        def tag(self):
            return "meta"


class Square(Shape):
    sides = 4

    def __init__(self, side):
        Shape.__init__(self, "square")
        self.side = side

    @property
    def area(self):
        return self.side ** 2


def big_branch(n):
    if n > 0:
@branch_body@
    else:
        n = -n
    return n


result = [Square(s).describe() for s in range(3)]
total = sum(counter(5))
'''

# Python 3 only syntax, compiled as separate modules when supported.
EXTRA_SOURCES = [
    ((3, 6), '''\
import asyncio


async def fetch(session, urls):
    results = []
    async with session as s:
        async for chunk in s.stream(urls):
            results.append(f"{chunk!r:>10} {len(results)}")
    data = await session.get(
        urls[0],
        timeout=3)
    return results, data


def delegating(*args, key=None, **kw):
    count = 0

    def bump():
        nonlocal count
        count += 1
        return count
    first, *rest = args
    yield from range(bump())
    yield from (x for x in rest)
    return key, kw


async def agen(n):
    for i in range(n):
        yield i
        await asyncio.sleep(0)
'''),
    ((3, 8), '''\
def walrus(data):
    if (n := len(data)) > 10:
        return n
    return [y for x in data if (y := x * 2)]


def positional(a, b, /, c, *, d):
    return a + b + c + d
'''),
    ((3, 10), '''\
def matcher(cmd):
    match cmd:
        case ["go", direction]:
            return direction
        case {"x": x,
              "y": y}:
            return x + y
        case Point(x=0, y=yy) if yy > 0:
            return yy
        case int() | float() as num:
            return num
        case _:
            return None
'''),
    ((3, 11), '''\
def groups(excs):
    try:
        raise ExceptionGroup("eg", excs)
    except* ValueError as e:
        caught = e
    except* TypeError:
        caught = None
    return caught
'''),
    ((3, 12), '''\
type Pair[T] = tuple[T, T]


def first[T](items: list[T]) -> T:
    return items[0]


class Box[T]:
    def get(self) -> T:
        return self.item
'''),
]


def build_source():
    branch = ["        n = n * %d + 1" % (i % 7 + 2) for i in range(150)]
    parts = {
        "long_body": block(long_body(), 4),
        "gap": block(gap_lines(300), 4),
        "gap_back": block(gap_lines(140), 4),
        "big_line": big_one_line(),
        "wide_line": wide_line(),
        "multiline_call": block(multiline_call(200), 4),
        "branch_body": "\n".join(branch),
    }
    text = SOURCE
    for key, value in parts.items():
        text = text.replace("@%s@" % key, value)
    return text


def version_hex():
    return (sys.version_info[0] << 8) | sys.version_info[1]


def raw_table(code):
    """co_linetable is the line table from 3.10 on; co_lnotab before."""
    if sys.version_info >= (3, 10):
        return code.co_linetable
    return code.co_lnotab


def instruction_offsets(code):
    """Every code unit on 3.6+ (wordcode, bpo-26647); 2.7 opcodes are 1 or 3 bytes."""
    raw = code.co_code
    if sys.version_info >= (3, 6):
        return list(range(0, len(raw), 2))
    offsets, i = [], 0
    while i < len(raw):
        offsets.append(i)
        i += 3 if ord(raw[i]) >= dis.HAVE_ARGUMENT else 1
    return offsets


def lines_from_co_lines(code, offsets):
    at = {}
    for start, end, line in code.co_lines():
        for off in range(start, end, 2):
            at[off] = -1 if line is None else line
    return [at.get(off, -1) for off in offsets]


def lines_from_linestarts(code, offsets):
    starts = dict(dis.findlinestarts(code))
    out, line = [], code.co_firstlineno
    for off in offsets:
        line = starts.get(off, line)
        out.append(line)
    return out


def c_addr2line():
    fn = ctypes.pythonapi.PyCode_Addr2Line
    fn.argtypes = [ctypes.py_object, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def walk(code, prefix):
    name = prefix + code.co_name if prefix else code.co_name
    yield name, code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            for sub in walk(const, name + "."):
                yield sub


def count_location_kinds(table, kinds):
    """Tally 3.11+ location entry kinds (Objects/locations.md) for the header."""
    b = bytearray(table)
    i = 0
    while i < len(b):
        code = (b[i] >> 3) & 15
        kinds[code] = kinds.get(code, 0) + 1
        i += 1
        while i < len(b) and not b[i] & 0x80:
            i += 1


def hexlify(data):
    text = binascii.hexlify(data).decode("ascii")
    return text if text else "-"


def emit_vector(out, name, code, addr2line, stats):
    offsets = instruction_offsets(code)
    if sys.version_info >= (3, 10):
        lines = lines_from_co_lines(code, offsets)
    else:
        lines = lines_from_linestarts(code, offsets)
    for off, line in zip(offsets, lines):
        c_line = addr2line(code, off)
        if c_line != line:
            stats["disagree"] += 1
            if stats["disagree"] <= 10:
                sys.stderr.write("%s @%d: co_lines/linestarts %d, "
                                 "PyCode_Addr2Line %d\n"
                                 % (name, off, line, c_line))
    table = raw_table(code)
    if sys.version_info >= (3, 11):
        count_location_kinds(table, stats["kinds"])
    stats["vectors"] += 1
    stats["max_table"] = max(stats["max_table"], len(table))
    out.append("code 0x%x %d %s" % (version_hex(), code.co_firstlineno, name))
    out.append("table " + hexlify(table))
    pairs = ["%d:%d" % p for p in zip(offsets, lines)]
    for i in range(0, len(pairs), PAIRS_PER_LINE):
        out.append("at " + " ".join(pairs[i:i + PAIRS_PER_LINE]))
    out.append("end")


def sources():
    yield "vectors", build_source()
    for (need, text) in EXTRA_SOURCES:
        if sys.version_info[:2] >= need:
            yield "extra%d%d" % need, text


def header(stats):
    v = sys.version_info
    out = ["# linetable-%d.%d.txt: CPython line-table test vectors." % v[:2],
           "# Generated by tools/gen-linetable-vectors.py under Python %d.%d.%d;"
           % v[:3],
           "# regenerate with tools/refresh-linetable-vectors.sh, do not edit."]
    out += FORMAT_DOC.rstrip("\n").split("\n")
    out.append("# %d vectors, largest table %d bytes, %d lines where "
               "PyCode_Addr2Line disagrees." % (stats["vectors"],
                                                stats["max_table"],
                                                stats["disagree"]))
    if stats["kinds"]:
        kinds = " ".join("%d:%d" % k for k in sorted(stats["kinds"].items()))
        out.append("# location entry kinds seen (code:count): " + kinds)
    return out


def main():
    if platform.python_implementation() != "CPython":
        sys.stderr.write("gen-linetable-vectors: needs CPython\n")
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(here, "..", "tests", "unit", "data")
    addr2line = c_addr2line()
    stats = {"vectors": 0, "disagree": 0, "max_table": 0, "kinds": {}}
    body = []
    for filename, text in sources():
        module = compile(text, "<%s>" % filename, "exec")
        for name, code in walk(module, filename + ":"):
            emit_vector(body, name, code, addr2line, stats)
    path = os.path.join(outdir, "linetable-%d.%d.txt" % sys.version_info[:2])
    with open(path, "w") as fh:
        fh.write("\n".join(header(stats) + body) + "\n")
    sys.stderr.write("%s: %d vectors, %d disagreements\n"
                     % (path, stats["vectors"], stats["disagree"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
