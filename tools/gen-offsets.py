#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""gen-offsets.py - derive struct py_offsets for each CPython minor version
from the DWARF of a pyenv build (via gdb) and print user/offsets_table.c.

Usage: python3 tools/gen-offsets.py > user/offsets_table.c   (make offsets)

Every offset comes from gdb, nested members included; nothing is typed by
hand except the enum pybpf_lasti_kind choice, which is a property of the
bytecode format rather than of a struct layout.
"""
import glob
import os
import re
import subprocess
import sys

PYENV = os.environ.get("PYENV_VERSIONS", "/root/.pyenv/versions")
HERE = os.path.dirname(os.path.abspath(__file__))
ABI_HEADER = os.path.join(HERE, "..", "bpf", "pybpf.h")

# Supported minor versions and the build whose DWARF describes them.  Adding
# a version is one line here, as long as FIELDS below already describes it.
# 2.7 and 3.6 (builds 2.7.18, 3.6.15) are described by FIELDS too, but they
# have no _PyRuntime (the interpreter list hangs off the static interp_head)
# and the unwinder does not handle that yet, so they are not listed.
VERSIONS = [
    ((3, 7), "3.7.16"),
    ((3, 8), "3.8.18"),
    ((3, 9), "3.9.18"),
    ((3, 10), "3.10.13"),
    ((3, 11), "3.11.7"),
    ((3, 12), "3.12.1"),
    ((3, 13), "3.13.0"),
]


# Query constructors.  A query is evaluated by gdb against one build; NONE
# means the version has no such field (-1 in the table).
def off(type_name, member):
    """offsetof(type_name, member); member may be a dotted path."""
    return ("print/d (long)&((%s *)0)->%s" % (type_name, member),
            "%s.%s" % (type_name, member))


def size(type_name):
    return ("print/d sizeof(%s)" % type_name, "sizeof(%s)" % type_name)


def enum(name):
    return ("print/d (int)%s" % name, name)


def lit(c_name):
    """A C constant emitted as is (not a layout fact, not asked to gdb)."""
    return ("literal", c_name)


NONE = None

TS = "PyThreadState"
IS = "PyInterpreterState"
RT = "_PyRuntimeState"
FO = "PyFrameObject"
IF = "_PyInterpreterFrame"
CO = "PyCodeObject"

# struct py_offsets, member by member: a list of (since version, query).
# The entry with the highest "since" <= the version applies.
FIELDS = [
    # _PyRuntime appeared in 3.7 (bpo-30860); before, the static interp_head.
    ("runtime_interp_head", [((2, 7), NONE),
                             ((3, 7), off(RT, "interpreters.head"))]),
    ("interp_next", [((2, 7), off(IS, "next"))]),
    # 3.11 grouped the thread list into interp->threads.
    ("interp_tstate_head", [((2, 7), off(IS, "tstate_head")),
                            ((3, 11), off(IS, "threads.head"))]),
    ("tstate_next", [((2, 7), off(TS, "next"))]),
    ("tstate_interp", [((2, 7), off(TS, "interp"))]),
    ("tstate_thread_id", [((2, 7), off(TS, "thread_id"))]),
    # native_thread_id (the kernel tid) was added in 3.11.
    ("tstate_native_thread_id", [((2, 7), NONE),
                                 ((3, 11), off(TS, "native_thread_id"))]),
    # 3.11 moved the current frame behind tstate->cframe (3.10's CFrame only
    # holds use_tracing); 3.13 removed _PyCFrame and added current_frame.
    ("tstate_frame", [((2, 7), off(TS, "frame")),
                      ((3, 11), NONE),
                      ((3, 13), off(TS, "current_frame"))]),
    ("tstate_cframe", [((2, 7), NONE),
                       ((3, 11), off(TS, "cframe")),
                       ((3, 13), NONE)]),
    ("cframe_current_frame", [((2, 7), NONE),
                              ((3, 11), off("_PyCFrame", "current_frame")),
                              ((3, 13), NONE)]),
    # 3.11 evaluates _PyInterpreterFrame, not PyFrameObject (bpo-44590);
    # 3.12 reordered it; 3.13 renamed f_code to f_executable (any object).
    ("frame_code", [((2, 7), off(FO, "f_code")),
                    ((3, 11), off(IF, "f_code")),
                    ((3, 13), off(IF, "f_executable"))]),
    ("frame_back", [((2, 7), off(FO, "f_back")),
                    ((3, 11), off(IF, "previous"))]),
    ("frame_lasti", [((2, 7), off(FO, "f_lasti")),
                     ((3, 11), off(IF, "prev_instr")),
                     ((3, 13), off(IF, "instr_ptr"))]),
    ("frame_owner", [((2, 7), NONE),
                     ((3, 11), off(IF, "owner"))]),
    # Shim frames owned by the C stack exist since 3.12.
    ("owner_cstack", [((2, 7), NONE),
                      ((3, 12), enum("FRAME_OWNED_BY_CSTACK"))]),
    ("lasti_kind", [((2, 7), lit("LASTI_BYTES")),
                    ((3, 10), lit("LASTI_UNITS")),
                    ((3, 11), lit("LASTI_PREV_INSTR")),
                    ((3, 13), lit("LASTI_INSTR_PTR"))]),
    ("code_name", [((2, 7), off(CO, "co_name"))]),
    # co_qualname was added in 3.11 (bpo-44530).
    ("code_qualname", [((2, 7), NONE),
                       ((3, 11), off(CO, "co_qualname"))]),
    ("code_filename", [((2, 7), off(CO, "co_filename"))]),
    ("code_firstlineno", [((2, 7), off(CO, "co_firstlineno"))]),
    # PEP 626 (3.10) replaced co_lnotab by co_linetable; 3.11 (PEP 657)
    # kept the name for the new location table.
    ("code_linetable", [((2, 7), off(CO, "co_lnotab")),
                        ((3, 10), off(CO, "co_linetable"))]),
    # 3.11 stores the bytecode inside the code object.
    ("code_adaptive", [((2, 7), NONE),
                       ((3, 11), off(CO, "co_code_adaptive"))]),
    # Compact str objects are PEP 393 (3.3); 2.7 has no PyASCIIObject.
    # 3.12 dropped wstr (PEP 623), shrinking both headers.
    ("unicode_length", [((2, 7), NONE),
                        ((3, 3), off("PyASCIIObject", "length"))]),
    ("unicode_hash", [((2, 7), NONE),
                      ((3, 3), off("PyASCIIObject", "hash"))]),
    ("unicode_state", [((2, 7), NONE),
                       ((3, 3), off("PyASCIIObject", "state"))]),
    ("unicode_ascii_size", [((2, 7), NONE),
                            ((3, 3), size("PyASCIIObject"))]),
    ("unicode_compact_size", [((2, 7), NONE),
                              ((3, 3), size("PyCompactUnicodeObject"))]),
    # 2.7's PyBytesObject is a macro alias of PyStringObject: not in DWARF.
    ("bytes_size", [((2, 7), off("PyStringObject", "ob_size")),
                    ((3, 0), off("PyBytesObject", "ob_base.ob_size"))]),
    ("bytes_data", [((2, 7), off("PyStringObject", "ob_sval")),
                    ((3, 0), off("PyBytesObject", "ob_sval"))]),
    # The GIL state became struct _gil_runtime_state inside _PyRuntime.ceval
    # in 3.7 (bpo-30860; before, static variables of ceval_gil.h); 3.12
    # gave each interpreter a pointer to its own (PEP 684).  3.13 made
    # `locked` a plain int and `last_holder` a PyThreadState *: same offsets.
    ("runtime_gil", [((2, 7), NONE),
                     ((3, 7), off(RT, "ceval.gil")),
                     ((3, 12), NONE)]),
    ("interp_gil", [((2, 7), NONE),
                    ((3, 12), off(IS, "ceval.gil"))]),
    ("gil_locked", [((2, 7), NONE),
                    ((3, 7), off("struct _gil_runtime_state", "locked"))]),
    ("gil_last_holder", [((2, 7), NONE),
                         ((3, 7), off("struct _gil_runtime_state",
                                      "last_holder"))]),
]


def die(msg):
    sys.exit("gen-offsets: " + msg)


def abi_members():
    """Member names of struct py_offsets in bpf/pybpf.h, in order."""
    with open(ABI_HEADER) as f:
        text = f.read()
    body = re.search(r"struct py_offsets \{(.*?)\n\};", text, re.S)
    if not body:
        die("struct py_offsets not found in " + ABI_HEADER)
    body = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    return re.findall(r"__[su]32\s+(\w+)\s*;", body)


def query_for(schedule, version):
    """The query of the newest schedule entry not newer than version."""
    chosen = None
    for since, query in schedule:
        if since <= version:
            chosen = query
    return chosen


def find_library(build, version):
    pattern = os.path.join(PYENV, build, "lib",
                           "libpython%d.%d*.so.1.0" % version)
    libs = glob.glob(pattern)
    if len(libs) != 1:
        die("expected one library matching %s, found %d" %
            (pattern, len(libs)))
    return libs[0]


def run_gdb(lib, commands):
    """Evaluate gdb commands; return one integer per command, in order.

    Each command is preceded by an echoed marker, so an error from gdb
    (missing member, no DWARF) is tied to the command that caused it."""
    args = ["gdb", "-nx", "-batch", lib]
    for i, cmd in enumerate(commands):
        args += ["-ex", "echo @@%d\\n" % i, "-ex", cmd]
    try:
        out = subprocess.run(args, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             check=False).stdout
    except FileNotFoundError:
        die("gdb not found (apt-get install gdb)")
    values = {}
    for i, chunk in re.findall(r"^@@(\d+)\n(.*?)(?=^@@|\Z)", out, re.M | re.S):
        m = re.fullmatch(r"\$\d+ = (-?\d+)\s*", chunk)
        if not m:
            die("%s: `%s` gave: %s" % (lib, commands[int(i)], chunk.strip()))
        values[int(i)] = int(m.group(1))
    if len(values) != len(commands):
        die("%s: gdb answered %d of %d queries:\n%s" %
            (lib, len(values), len(commands), out))
    return [values[i] for i in range(len(commands))]


def offsets_of(version, build):
    """(member, value or C constant, what it is) for one version."""
    queries = [(name, query_for(sched, version)) for name, sched in FIELDS]
    asked = [q for _, q in queries if q and q[0] != "literal"]
    answers = iter(run_gdb(find_library(build, version), [q[0] for q in asked]))
    rows = []
    for name, q in queries:
        if q is None:
            rows.append((name, "-1", "absent"))
        elif q[0] == "literal":
            rows.append((name, q[1], ""))
        else:
            rows.append((name, str(next(answers)), q[1]))
    return rows


def emit_entry(version, build, rows):
    lines = ["\t{ %d, %d, { /* %s */" % (version + (build,))]
    width = max(len(name) for name, _, _ in rows)
    for name, value, what in rows:
        comment = " /* %s */" % what if what else ""
        lines.append("\t\t.%-*s = %-6s%s" % (width, name, value + ",",
                                                comment))
    lines.append("\t} },")
    return lines


def main():
    names = [name for name, _ in FIELDS]
    if names != abi_members():
        die("FIELDS does not match struct py_offsets in bpf/pybpf.h:\n"
            "  script: %s\n  header: %s" % (names, abi_members()))
    out = [
        "/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */",
        "/* offsets_table.c - CPython struct offsets per minor version.",
        " *",
        " * GENERATED by tools/gen-offsets.py from the DWARF of the pyenv",
        " * builds named below; do not edit, run `make offsets` instead.",
        " */",
        '#include "offsets.h"',
        "",
        "const struct offsets_entry offsets_table[] = {",
    ]
    for version, build in VERSIONS:
        out += emit_entry(version, build, offsets_of(version, build))
    out += [
        "};",
        "",
        "const unsigned offsets_table_len =",
        "\tsizeof(offsets_table) / sizeof(offsets_table[0]);",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
