#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""gen-offsets.py - derive struct py_offsets for each CPython minor version
from the DWARF of a pyenv build (via gdb) and print user/process/offsets_table.c.

Usage: python3 tools/gen-offsets.py > user/process/offsets_table.c   (make offsets)

Every offset comes from gdb, nested members included; nothing is typed by
hand except the enum pybpf_lasti_kind choice, which is a property of the
bytecode format rather than of a struct layout.  Flag values that are
preprocessor macros (absent from DWARF) come from the build's own installed
headers (plain integer #defines read as text, the rest compiled: inline
functions of the internal headers, e.g. where a managed dict lives), and
the bits per int digit from running the build's interpreter.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

PYENV = os.environ.get("PYENV_VERSIONS", "/root/.pyenv/versions")
HERE = os.path.dirname(os.path.abspath(__file__))
ABI_HEADER = os.path.join(HERE, "..", "bpf", "pybpf.h")
USER_HEADER = os.path.join(HERE, "..", "user", "process", "offsets.h")

TESTBED = os.environ.get("PYBPF_TESTBED") or "/var/cache/pybpf-testbed"


class Build:
    """Where the facts of one build come from: an ELF file with DWARF for
    gdb (None: no binary, every layout fact is compiled from the headers),
    its header directories, its interpreter (None: none to run), and
    whether it is free-threaded (PEP 703)."""

    def __init__(self, label, elf, includes, python, free_threaded=False, gdb_init=(),
                 defines=()):
        self.label, self.elf, self.includes, self.python = label, elf, includes, python
        self.free_threaded, self.gdb_init, self.defines = free_threaded, list(gdb_init), defines


def pyenv(label):
    """A pyenv build: shared libpython with DWARF, headers under include/."""
    major, minor = (int(x) for x in label.split(".")[:2])
    root = os.path.join(PYENV, label)
    libs = glob.glob(os.path.join(root, "lib", "libpython%d.%d*.so.1.0" % (major, minor)))
    if len(libs) != 1:
        die("expected one libpython%d.%d under %s/lib, found %d" % (major, minor, root, len(libs)))
    return Build(label, libs[0], glob.glob(os.path.join(root, "include", "python%d.%d*"
                                                          % (major, minor))),
                 os.path.join(root, "bin", "python%d.%d" % (major, minor)))


def testbed(kind, minor):
    """An interpreter of the test bed (tools/testbed.sh): Debian's static
    builds with their detached DWARF (-dbg) and headers (-dev), or a
    free-threaded build from source with DWARF inside."""
    rows = []
    with open(os.path.join(TESTBED, "interpreters.tsv")) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for label, path, version, row_kind in (r[:4] for r in rows if len(r) >= 4):
        if row_kind != kind or tuple(int(x) for x in version.split(".")[:2]) != minor:
            continue
        usr = os.path.dirname(os.path.dirname(path))
        name = "python%d.%d" % minor
        if kind == "debian-static":
            return Build(label, path, [os.path.join(usr, "include", name),
                                       os.path.join(usr, "include")],
                         path, gdb_init=["-iex", "set debug-file-directory %s"
                                         % os.path.join(usr, "lib", "debug")])
        return Build(label, path, glob.glob(os.path.join(usr, "include", name + "*")), path,
                     free_threaded=True)
    die("the test bed (%s) has no %s %d.%d: run tools/testbed.sh" % (TESTBED, kind, *minor))


def headers_only_ft(minor):
    """A free-threaded build that nobody packages: Debian's default build's
    headers compiled with Py_GIL_DISABLED.  Object, frame and code layouts
    depend on the headers alone; the runtime's own structs are read from
    the target's _Py_DebugOffsets anyway."""
    base = testbed("debian-static", minor)
    return Build("%d.%dt, from Debian's %s headers" % (minor + (base.label,)), None,
                 base.includes, None, free_threaded=True, defines=("Py_GIL_DISABLED",))


# Supported minor versions and the build that describes each.  Adding a
# version is one line here, as long as FIELDS below already describes it.
# From 3.13 on the interpreter publishes most of these itself
# (_Py_DebugOffsets, read from the target); the rows are the facts it does
# not publish, and the cross-check of what it does (test_debugoffsets).
VERSIONS = [
    ((2, 7), lambda: pyenv("2.7.18")),
    ((3, 6), lambda: pyenv("3.6.15")),
    ((3, 7), lambda: pyenv("3.7.16")),
    ((3, 8), lambda: pyenv("3.8.18")),
    ((3, 9), lambda: pyenv("3.9.18")),
    ((3, 10), lambda: pyenv("3.10.13")),
    ((3, 11), lambda: pyenv("3.11.7")),
    ((3, 12), lambda: pyenv("3.12.1")),
    ((3, 13), lambda: pyenv("3.13.0")),
    ((3, 13), lambda: testbed("free-threaded", (3, 13))),
    ((3, 14), lambda: testbed("debian-static", (3, 14))),
    ((3, 14), lambda: headers_only_ft((3, 14))),
    ((3, 15), lambda: testbed("debian-static", (3, 15))),
    ((3, 15), lambda: headers_only_ft((3, 15))),
]


# Query constructors.  A query is evaluated by gdb against one build; NONE
# means the version has no such field (-1 in the table).
def off(type_name, member):
    """offsetof(type_name, member); member may be a dotted path."""
    return ("print/d (long)&((%s *)0)->%s" % (type_name, member),
            "%s.%s" % (type_name, member), "offsetof(%s, %s)" % (type_name, member))


def size(type_name):
    return ("print/d sizeof(%s)" % type_name, "sizeof(%s)" % type_name,
            "sizeof(%s)" % type_name)


def enum(name):
    return ("print/d (int)%s" % name, name, "(int)%s" % name)


def define(macro):
    """An integer #define from the build's installed headers (include/)."""
    return ("define", macro)


def pyexpr(expr):
    """An integer Python expression evaluated by the build's interpreter."""
    return ("python", expr)


def cexpr(expr, what=None):
    """An integer C expression compiled (with $CC, default cc) against the
    build's installed headers, internal ones included (Py_BUILD_CORE), and
    run: for macros that are not plain integers and for the inline
    functions that place data around an object, none of which is in DWARF.
    The address 4096 stands for an object: nothing is dereferenced."""
    return ("cexpr", expr, what)


def ftonly(query):
    """query in a free-threaded build; absent (-1) in a default one."""
    return ("ftonly", query)


def lit(c_name, what=None):
    """A C constant emitted as is (not a layout fact, not asked to gdb);
    what, if given, is the comment that says what it stands for."""
    return ("literal", c_name, what)


NONE = None

TS = "PyThreadState"
IS = "PyInterpreterState"
RT = "_PyRuntimeState"
FO = "PyFrameObject"
IF = "_PyInterpreterFrame"
CO = "PyCodeObject"
DK = "PyDictKeysObject"

# How far before the object (4096) the pointer an inline function returns
# lies, as a positive number: -1 stays "absent".
_BEFORE = "(char *)4096 - (char *)%s((PyObject *)4096)"

# struct py_offsets, member by member: a list of (since version, query).
# The entry with the highest "since" <= the version applies.
FIELDS = [
    # _PyRuntime appeared in 3.7 (bpo-30860); before, the static interp_head
    # is the list's head: the runtime address is &interp_head (proc.c).
    ("runtime_interp_head", [((2, 7), lit("0", "the runtime address is &interp_head")),
                             ((3, 7), off(RT, "interpreters.head"))]),
    ("interp_next", [((2, 7), off(IS, "next"))]),
    # 3.11 grouped the thread list into interp->threads.
    ("interp_tstate_head", [((2, 7), off(IS, "tstate_head")),
                            ((3, 11), off(IS, "threads.head"))]),
    # A counter that moves whenever a code object may be replaced at the
    # address of another: 3.13 numbers new code objects from the
    # interpreter's func_state.next_version (co_version; 3.12 from a
    # process-wide variable, proc.c); 3.14 counts code objects freed
    # (code_dealloc bumps the freeing thread's interpreter's counter).
    ("interp_code_gen", [((2, 7), NONE),
                         ((3, 13), off(IS, "func_state.next_version")),
                         ((3, 14), off(IS, "_code_object_generation"))]),
    ("tstate_next", [((2, 7), off(TS, "next"))]),
    ("tstate_interp", [((2, 7), off(TS, "interp"))]),
    ("tstate_thread_id", [((2, 7), off(TS, "thread_id"))]),
    # native_thread_id (the kernel tid) was added in 3.11.
    ("tstate_native_thread_id", [((2, 7), NONE),
                                 ((3, 11), off(TS, "native_thread_id"))]),
    # 3.11 keeps frames in per-thread data-stack chunks (at least 16 KiB
    # each); datastack_chunk is the one in use, where the innermost frames are.
    ("tstate_datastack_chunk", [((2, 7), NONE),
                                ((3, 11), off(TS, "datastack_chunk"))]),
    # 3.11 moved the current frame behind tstate->cframe (3.10's CFrame only
    # holds use_tracing); 3.13 removed _PyCFrame and added current_frame.
    # 3.12 added _status, whose low bits (initialized, bound, unbound,
    # bound_gilstate, active) have kept their places since.
    ("tstate_status", [((2, 7), NONE),
                       ((3, 12), off(TS, "_status"))]),
    ("tstate_frame", [((2, 7), off(TS, "frame")),
                      ((3, 11), NONE),
                      ((3, 13), off(TS, "current_frame"))]),
    ("tstate_cframe", [((2, 7), NONE),
                       ((3, 11), off(TS, "cframe")),
                       ((3, 13), NONE)]),
    ("cframe_current_frame", [((2, 7), NONE),
                              ((3, 11), off("_PyCFrame", "current_frame")),
                              ((3, 13), NONE)]),
    # The cframe of the C function that entered the eval loop: consistent
    # while a new activation is being set up (python.bpf.h walk_from_caller).
    ("cframe_previous", [((2, 7), NONE),
                         ((3, 11), off("_PyCFrame", "previous")),
                         ((3, 13), NONE)]),
    # The cframe below a thread's first activation, inside the thread state:
    # the caller's when that activation is the innermost (python.bpf.h
    # tstate_span).
    ("tstate_root_cframe", [((2, 7), NONE),
                            ((3, 11), off(TS, "root_cframe")),
                            ((3, 13), NONE)]),
    # The pointer to the frame that ends every frame chain of the thread
    # (3.15+).
    ("tstate_base_frame", [((2, 7), NONE), ((3, 15), off(TS, "base_frame"))]),
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
    # 3.11 marks the frame an eval-loop activation began with; 3.12 put a
    # C-stack shim frame below it instead.
    ("frame_is_entry", [((2, 7), NONE),
                        ((3, 11), off(IF, "is_entry")),
                        ((3, 12), NONE)]),
    # Frames that run no Python code have the highest owner values: shims
    # owned by the C stack since 3.12, then, in 3.14, entry frames owned by
    # the interpreter, numbered just below the C stack's.
    ("owner_shim_min", [((2, 7), NONE),
                        ((3, 12), enum("FRAME_OWNED_BY_CSTACK")),
                        ((3, 14), enum("FRAME_OWNED_BY_INTERPRETER"))]),
    # 3.14 made f_executable a _PyStackRef, tagged in its low bits.
    ("exec_tag_mask", [((2, 7), lit("0")),
                       ((3, 14), cexpr("Py_TAG_BITS"))]),
    # Free-threaded 3.14 gives each thread its own bytecode copy:
    # the frame says which, the code object holds the copies.
    ("frame_tlbc_index", [((2, 7), NONE),
                          ((3, 14), ftonly(off(IF, "tlbc_index")))]),
    ("code_tlbc", [((2, 7), NONE),
                   ((3, 14), ftonly(off(CO, "co_tlbc")))]),
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
    # 3.12 gives every new code object the next number of a counter
    # (co_version): a function recompiled at a freed one's address differs.
    ("code_version", [((2, 7), NONE),
                      ((3, 12), off(CO, "co_version"))]),
    # Free-threaded builds (PEP 703) put ob_tid and reference counts first.
    ("object_type", [((2, 7), off("PyObject", "ob_type"))]),
    # Compact str objects are PEP 393 (3.3); 2.7 has no PyASCIIObject: its
    # names are PyStringObject, a byte string (unicode_state -1) whose
    # length, hash and data stand where a compact ASCII str has them.
    # 3.12 dropped wstr (PEP 623), shrinking both headers.
    ("unicode_length", [((2, 7), off("PyStringObject", "ob_size")),
                        ((3, 3), off("PyASCIIObject", "length"))]),
    ("unicode_hash", [((2, 7), off("PyStringObject", "ob_shash")),
                      ((3, 3), off("PyASCIIObject", "hash"))]),
    ("unicode_state", [((2, 7), NONE),
                       ((3, 3), off("PyASCIIObject", "state"))]),
    # The bit where state.kind starts: after a 2-bit interned, or after a
    # whole byte in free-threaded 3.14 (interned is read atomically there).
    ("unicode_kind_shift", [((2, 7), NONE),
                            ((3, 3), cexpr("({ PyASCIIObject o_; unsigned v_ = 0; "
                                           "memset(&o_, 0, sizeof(o_)); o_.state.kind = 1; "
                                           "memcpy(&v_, &o_.state, 4); __builtin_ctz(v_); })",
                                           "first bit of PyASCIIObject.state.kind"))]),
    ("unicode_ascii_size", [((2, 7), off("PyStringObject", "ob_sval")),
                            ((3, 3), size("PyASCIIObject"))]),
    ("unicode_compact_size", [((2, 7), NONE),
                              ((3, 3), size("PyCompactUnicodeObject"))]),
    # 2.7's PyBytesObject is a macro alias of PyStringObject: not in DWARF.
    ("bytes_size", [((2, 7), off("PyStringObject", "ob_size")),
                    ((3, 0), off("PyBytesObject", "ob_base.ob_size"))]),
    ("bytes_data", [((2, 7), off("PyStringObject", "ob_sval")),
                    ((3, 0), off("PyBytesObject", "ob_sval"))]),
    # The GIL state became struct _gil_runtime_state inside _PyRuntime.ceval
    # in 3.7 (bpo-30860; before, static variables of ceval_gil.h, and 2.7's
    # GIL is a bare lock); 3.12 gave each interpreter a pointer to its own
    # (PEP 684).  3.13 made `locked` a plain int and `last_holder` a
    # PyThreadState *: same offsets.  Before 3.7 the exported
    # _PyThreadState_Current is the holder, NULL while the GIL is free: it is
    # the GIL address (proc.c), with no locked flag and the holder at 0.
    ("runtime_gil", [((2, 7), NONE),
                     ((3, 7), off(RT, "ceval.gil")),
                     ((3, 12), NONE)]),
    ("interp_gil", [((2, 7), NONE),
                    ((3, 12), off(IS, "ceval.gil"))]),
    ("gil_locked", [((2, 7), lit("-1", "no flag: _PyThreadState_Current says")),
                    ((3, 7), off("struct _gil_runtime_state", "locked"))]),
    ("gil_last_holder", [((2, 7), lit("0", "_PyThreadState_Current itself")),
                         ((3, 7), off("struct _gil_runtime_state",
                                      "last_holder"))]),

    # ---- struct py_user_offsets: userspace only, the BPF side never reads these ----
    # dump --locals:
    # The fast locals: args first, then locals, cells and free variables.
    # 3.11 moved them into _PyInterpreterFrame (bpo-44590).
    ("frame_localsplus", [((2, 7), off(FO, "f_localsplus")),
                          ((3, 11), off(IF, "localsplus"))]),
    # co_argcount counts positional-only args too since 3.8 (PEP 570).
    ("code_argcount", [((2, 7), off(CO, "co_argcount"))]),
    ("code_posonlyargcount", [((2, 7), NONE),
                              ((3, 8), off(CO, "co_posonlyargcount"))]),
    ("code_kwonlyargcount", [((2, 7), NONE),
                             ((3, 0), off(CO, "co_kwonlyargcount"))]),
    ("code_flags", [((2, 7), off(CO, "co_flags"))]),
    ("code_nlocals", [((2, 7), off(CO, "co_nlocals"))]),
    # 3.11 merged varnames, cellvars and freevars into one table of
    # localsplus names and kinds (bpo-43693).
    ("code_nlocalsplus", [((2, 7), NONE),
                          ((3, 11), off(CO, "co_nlocalsplus"))]),
    ("code_varnames", [((2, 7), off(CO, "co_varnames")),
                       ((3, 11), NONE)]),
    ("code_cellvars", [((2, 7), off(CO, "co_cellvars")),
                       ((3, 11), NONE)]),
    ("code_freevars", [((2, 7), off(CO, "co_freevars")),
                       ((3, 11), NONE)]),
    ("code_localsplusnames", [((2, 7), NONE),
                              ((3, 11), off(CO, "co_localsplusnames"))]),
    ("code_localspluskinds", [((2, 7), NONE),
                              ((3, 11), off(CO, "co_localspluskinds"))]),
    ("co_varargs", [((2, 7), define("CO_VARARGS"))]),
    ("co_varkeywords", [((2, 7), define("CO_VARKEYWORDS"))]),
    ("fast_cell", [((2, 7), NONE),
                   ((3, 11), define("CO_FAST_CELL"))]),
    ("fast_free", [((2, 7), NONE),
                   ((3, 11), define("CO_FAST_FREE"))]),
    ("cell_ref", [((2, 7), off("PyCellObject", "ob_ref"))]),
    # Objects.
    ("type_name", [((2, 7), off("PyTypeObject", "tp_name"))]),
    # 2.7's classic classes: every instance has the type `instance`, its
    # class and the class's name are objects; 3.0 removed them.
    ("instance_class", [((2, 7), off("PyInstanceObject", "in_class")),
                        ((3, 0), NONE)]),
    ("class_name", [((2, 7), off("PyClassObject", "cl_name")),
                    ((3, 0), NONE)]),
    ("tuple_size", [((2, 7), off("PyTupleObject", "ob_size")),
                  ((3, 0), off("PyTupleObject", "ob_base.ob_size"))]),
    ("tuple_items", [((2, 7), off("PyTupleObject", "ob_item"))]),
    ("list_size", [((2, 7), off("PyListObject", "ob_size")),
                 ((3, 0), off("PyListObject", "ob_base.ob_size"))]),
    ("list_items", [((2, 7), off("PyListObject", "ob_item"))]),
    # 3.12 replaced the signed digit count in ob_size by long_value.lv_tag
    # (digit count << _PyLong_NON_SIZE_BITS | sign bits; gh-101291).
    # 2.7 spells out PyObject_VAR_HEAD: no ob_base member there.
    ("long_size", [((2, 7), off("PyLongObject", "ob_size")),
                   ((3, 0), off("PyLongObject", "ob_base.ob_size")),
                   ((3, 12), NONE)]),
    ("long_tag", [((2, 7), NONE),
                  ((3, 12), off("PyLongObject", "long_value.lv_tag"))]),
    ("long_digits", [((2, 7), off("PyLongObject", "ob_digit")),
                     ((3, 12), off("PyLongObject", "long_value.ob_digit"))]),
    ("long_digit_size", [((2, 7), size("digit"))]),
    ("long_digit_bits", [((2, 7), pyexpr("sys.long_info.bits_per_digit")),
                         ((3, 1), pyexpr("sys.int_info.bits_per_digit"))]),
    ("long_tag_size_shift", [((2, 7), NONE),
                             ((3, 12), define("_PyLong_NON_SIZE_BITS"))]),
    ("long_tag_sign_mask", [((2, 7), NONE),
                            ((3, 12), define("_PyLong_SIGN_MASK"))]),
    ("long_tag_negative", [((2, 7), NONE),
                           ((3, 12), define("SIGN_NEGATIVE"))]),
    # 2.7's int is a C long; 3.0 (PEP 237) kept only the arbitrary long.
    ("int_value", [((2, 7), off("PyIntObject", "ob_ival")),
                   ((3, 0), NONE)]),
    ("float_value", [((2, 7), off("PyFloatObject", "ob_fval"))]),
    # 2.7's unicode keeps a Py_UNICODE array (UCS-2 or UCS-4 per build)
    # behind a pointer; 3.x's str is the PEP 393 one above.
    ("ustr_length", [((2, 7), off("PyUnicodeObject", "length")),
                     ((3, 0), NONE)]),
    ("ustr_data", [((2, 7), off("PyUnicodeObject", "str")),
                   ((3, 0), NONE)]),
    ("ustr_char_size", [((2, 7), size("Py_UNICODE")),
                        ((3, 0), NONE)]),
    # dict: combined tables only (split tables hold values elsewhere).
    # 3.11 stores log2 sizes and a kind, and unicode-keyed tables use
    # shorter entries without the hash (bpo-45340).
    # 2.7's dict is one open-addressing table of entries in the object,
    # in hash order; 3.6 split it into an index table and entries in
    # insertion order in a keys object (bpo-27350).
    ("dict_used", [((2, 7), off("PyDictObject", "ma_used"))]),
    ("dict_table", [((2, 7), off("PyDictObject", "ma_table")),
                    ((3, 6), NONE)]),
    ("dict_mask", [((2, 7), off("PyDictObject", "ma_mask")),
                   ((3, 6), NONE)]),
    ("dict_keys", [((3, 6), off("PyDictObject", "ma_keys"))]),
    ("dict_values", [((3, 6), off("PyDictObject", "ma_values"))]),
    ("dkeys_size", [((3, 6), off(DK, "dk_size")),
                    ((3, 11), NONE)]),
    ("dkeys_log2_index_bytes", [((3, 6), NONE),
                                ((3, 11), off(DK, "dk_log2_index_bytes"))]),
    ("dkeys_kind", [((3, 6), NONE),
                    ((3, 11), off(DK, "dk_kind"))]),
    ("dkeys_kind_general", [((3, 6), NONE),
                            ((3, 11), enum("DICT_KEYS_GENERAL"))]),
    ("dkeys_nentries", [((3, 6), off(DK, "dk_nentries"))]),
    ("dkeys_indices", [((3, 6), off(DK, "dk_indices"))]),
    ("dentry_size", [((2, 7), size("PyDictEntry")),
                     ((3, 6), size("PyDictKeyEntry"))]),
    ("dentry_key", [((2, 7), off("PyDictEntry", "me_key")),
                    ((3, 6), off("PyDictKeyEntry", "me_key"))]),
    ("dentry_value", [((2, 7), off("PyDictEntry", "me_value")),
                      ((3, 6), off("PyDictKeyEntry", "me_value"))]),
    ("dentry_unicode_size", [((3, 6), NONE),
                             ((3, 11), size("PyDictUnicodeEntry"))]),
    ("dentry_unicode_key", [((3, 6), NONE),
                            ((3, 11), off("PyDictUnicodeEntry", "me_key"))]),
    ("dentry_unicode_value", [((3, 6), NONE),
                              ((3, 11), off("PyDictUnicodeEntry", "me_value"))]),
    ("set_used", [((2, 7), off("PySetObject", "used"))]),
    ("set_mask", [((2, 7), off("PySetObject", "mask"))]),
    ("set_table", [((2, 7), off("PySetObject", "table"))]),
    ("setentry_size", [((2, 7), size("setentry"))]),
    ("setentry_key", [((2, 7), off("setentry", "key"))]),

    # ---- thread names (user/live/pythreads.c, user/live/pyobj_attr.c): an instance
    # attribute (Thread._name) and a module global (threading._active) ----
    ("type_flags", [((2, 7), off("PyTypeObject", "tp_flags"))]),
    ("type_basicsize", [((2, 7), off("PyTypeObject", "tp_basicsize"))]),
    ("type_dictoffset", [((2, 7), off("PyTypeObject", "tp_dictoffset"))]),
    # Key-sharing instance dicts, PEP 412 (3.3): the keys of split tables
    # and, from 3.11, of values stored without a dict object.
    ("type_cached_keys", [((2, 7), NONE),
                          ((3, 3), off("PyHeapTypeObject", "ht_cached_keys"))]),
    # 3.11 keeps instance attributes outside the object ("managed dicts",
    # bpo-45340), in two pointers before it (bpo-45947): a values array
    # (keys: the type's cached keys) and a dict; 3.12 merged both into one
    # word that tags the values pointer (gh-95245); 3.13 embeds the values
    # after the object, at tp_basicsize (gh-115776), and the word is the dict.
    ("tpflags_managed_dict", [((2, 7), NONE),
                              ((3, 11), cexpr("Py_TPFLAGS_MANAGED_DICT"))]),
    ("tpflags_inline_values", [((2, 7), NONE),
                               ((3, 13), cexpr("Py_TPFLAGS_INLINE_VALUES"))]),
    ("managed_dict", [((2, 7), NONE),
                      ((3, 11), cexpr(_BEFORE % "_PyObject_ManagedDictPointer")),
                      ((3, 12), cexpr(_BEFORE % "_PyObject_DictOrValuesPointer")),
                      ((3, 13), cexpr(_BEFORE % "_PyObject_ManagedDictPointer"))]),
    ("managed_values", [((2, 7), NONE),
                        ((3, 11), cexpr(_BEFORE % "_PyObject_ValuesPointer")),
                        ((3, 12), cexpr(_BEFORE % "_PyObject_DictOrValuesPointer")),
                        ((3, 13), NONE)]),
    ("managed_values_tag", [((2, 7), NONE),
                            ((3, 12), cexpr("(char *)_PyDictOrValues_GetValues("
                                            "(PyDictOrValues){ .values = (char *)4095 })"
                                            " - (char *)4095")),
                            ((3, 13), NONE)]),
    # <= 3.10 ma_values is the array itself (PyObject **), hence 0.
    ("dvalues_values", [((2, 7), lit("0")),
                        ((3, 11), off("PyDictValues", "values"))]),
    ("dvalues_valid", [((2, 7), NONE),
                       ((3, 13), off("PyDictValues", "valid"))]),
    # sys.modules; 3.12 grouped the import state into interp->imports.
    ("interp_modules", [((2, 7), off(IS, "modules")),
                        ((3, 12), off(IS, "imports.modules"))]),
    ("module_dict", [((2, 7), off("PyModuleObject", "md_dict"))]),
    # The GIL holder's thread state before 3.12 (a thread-local since):
    # 2.7 and 3.6 keep it in _PyThreadState_Current, found by symbol.
    ("runtime_tstate_current", [((2, 7), NONE),
                                ((3, 7), off(RT, "gilstate.tstate_current")),
                                ((3, 12), NONE)]),
]


def die(msg):
    sys.exit("gen-offsets: " + msg)


def struct_members(path, struct):
    """Member names of a struct of offsets in a header, in order."""
    with open(path) as f:
        text = f.read()
    body = re.search(r"struct %s \{(.*?)\n\};" % struct, text, re.S)
    if not body:
        die("struct %s not found in %s" % (struct, path))
    body = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    return re.findall(r"__[su]32\s+(\w+)\s*;", body)


def abi_members():
    """struct py_offsets (bpf/pybpf.h, what BPF reads) then struct
    py_user_offsets (user/process/offsets.h), in order."""
    return (struct_members(ABI_HEADER, "py_offsets"),
            struct_members(USER_HEADER, "py_user_offsets"))


def query_for(schedule, version):
    """The query of the newest schedule entry not newer than version."""
    chosen = None
    for since, query in schedule:
        if since <= version:
            chosen = query
    return chosen


def run_gdb(build, commands):
    """Evaluate gdb commands; return one integer per command, in order.

    Each command is preceded by an echoed marker, so an error from gdb
    (missing member, no DWARF) is tied to the command that caused it."""
    args = ["gdb", "-nx", "-batch"] + build.gdb_init + [build.elf]
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
        m = re.search(r"^\$\d+ = (-?\d+)\s*\Z", chunk, re.M)
        if not m:
            die("%s: `%s` gave: %s" % (build.elf, commands[int(i)], chunk.strip()))
        values[int(i)] = int(m.group(1))
    if len(values) != len(commands):
        die("%s: gdb answered %d of %d queries:\n%s" %
            (build.elf, len(values), len(commands), out))
    return [values[i] for i in range(len(commands))]


def header_define(build, macro):
    """The value of `#define macro <integer>` in the build's headers; it
    must be defined exactly once (one value) across them."""
    pat = re.compile(r"^\s*#\s*define\s+%s\s+\(?\s*(0x[0-9a-fA-F]+|\d+)\s*\)?\s*(?:/[*/].*)?$"
                     % re.escape(macro), re.M)
    values = set()
    for root in build.includes:
        for d, _, files in os.walk(root):
            for f in files:
                if f.endswith(".h"):
                    with open(os.path.join(d, f), errors="replace") as h:
                        values.update(int(v, 0) for v in pat.findall(h.read()))
    if len(values) != 1:
        die("%s: #define %s: expected one integer value under %s, found %s"
            % (build.label, macro, build.includes, sorted(values) or "none"))
    return values.pop()


def python_expr(build, expr):
    try:
        out = subprocess.run([build.python, "-c", "import sys; print(int(%s))" % expr],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, check=False)
    except OSError as e:
        die("%s: %s" % (build.python, e))
    if out.returncode != 0 or not re.fullmatch(r"-?\d+\s*", out.stdout):
        die("%s -c %s gave: %s" % (build.python, expr, out.stdout.strip()))
    return int(out.stdout)


def c_exprs(build, exprs):
    """Compile and run one program printing each C expression (see cexpr)."""
    if not exprs:
        return []
    if not build.includes:
        die("%s: no include directory" % build.label)
    inc = build.includes[0]
    lines = ["#define %s 1" % d for d in build.defines]
    lines += ["#define Py_BUILD_CORE 1", "#define NDEBUG 1", "#include <Python.h>",
              "#include <stddef.h>", "#include <stdint.h>", "#include <stdio.h>",
              "#include <string.h>"]
    for h in ("pycore_object.h", "pycore_dict.h", "pycore_frame.h", "pycore_code.h",
              "pycore_interp.h", "pycore_runtime.h", "pycore_gil.h"):
        if os.path.exists(os.path.join(inc, "internal", h)):
            lines.append("#include <internal/%s>" % h)
    lines.append("int main(void)\n{")
    for e in exprs:
        lines.append('\tprintf("@@%%ld\\n", (long)(%s));' % e)
    lines.append("\treturn 0;\n}")
    incflags = []
    for d in build.includes:
        incflags += ["-I", d, "-I", os.path.join(d, "internal")]
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "probe.c"), os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        cc = os.environ.get("CC", "cc")
        try:
            res = subprocess.run([cc, "-w"] + incflags + [src, "-o", exe],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 check=False)
        except OSError as e:
            die("%s: %s" % (cc, e))
        if res.returncode != 0:
            die("%s: compiling %s failed:\n%s" % (build.label, exprs, res.stdout[-3000:]))
        out = subprocess.run([exe], stdout=subprocess.PIPE, text=True, check=False).stdout
    values = re.findall(r"^@@(-?\d+)$", out, re.M)
    if len(values) != len(exprs):
        die("%s: C probe printed %d of %d values" % (build.label, len(values), len(exprs)))
    return [int(v) for v in values]


def offsets_of(version, build):
    """(member, value or C constant, what it is) for one version."""
    queries = [(name, query_for(sched, version)) for name, sched in FIELDS]
    queries = [(name, (q[1] if build.free_threaded else NONE) if q and q[0] == "ftonly" else q)
               for name, q in queries]
    if build.elf is None:
        # no binary: layout facts compiled from the headers; the digit size
        # from the headers rather than a running interpreter
        queries = [(name, ("cexpr", q[2], q[1]) if q and q[0].startswith("print/") else
                    ("cexpr", "PyLong_SHIFT", "PyLong_SHIFT") if q and q[0] == "python" else q)
                   for name, q in queries]
    asked = [q for _, q in queries
             if q and q[0] not in ("literal", "define", "python", "cexpr")]
    answers = iter(run_gdb(build, [q[0] for q in asked]) if asked else [])
    cexprs = [q[1] for _, q in queries if q and q[0] == "cexpr"]
    compiled = iter(c_exprs(build, cexprs))
    rows = []
    for name, q in queries:
        if q is None:
            rows.append((name, "-1", "absent"))
        elif q[0] == "literal":
            rows.append((name, q[1], q[2] or ""))
        elif q[0] == "define":
            rows.append((name, str(header_define(build, q[1])), "#define " + q[1]))
        elif q[0] == "python":
            rows.append((name, str(python_expr(build, q[1])), q[1]))
        elif q[0] == "cexpr":
            rows.append((name, str(next(compiled)), q[2] or "C: " + q[1]))
        else:
            rows.append((name, str(next(answers)), q[1]))
    return rows


def emit_entry(version, build, rows, nkernel):
    """One table entry: the kernel's offsets, then the userspace ones."""
    lines = ["\t{ %d, %d, %d, { /* %s */" % (version + (int(build.free_threaded), build.label))]
    width = max(len(name) for name, _, _ in rows)
    for i, (name, value, what) in enumerate(rows):
        if i == nkernel:
            lines.append("\t}, {")
        comment = " /* %s */" % what if what else ""
        lines.append(("\t\t.%-*s = %-6s%s" % (width, name, value + ",",
                                                 comment)).rstrip())
    lines.append("\t} },")
    return lines


def main():
    names = [name for name, _ in FIELDS]
    kernel, user = abi_members()
    if names != kernel + user:
        die("FIELDS does not match struct py_offsets (bpf/pybpf.h) followed by struct "
            "py_user_offsets (user/process/offsets.h):\n  script: %s\n  headers: %s"
            % (names, kernel + user))
    out = [
        "/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */",
        "/* offsets_table.c - CPython struct offsets per minor version.",
        " *",
        " * GENERATED by tools/gen-offsets.py from the DWARF (or the headers)",
        " * of the builds named below; do not edit, run `make offsets` instead.",
        " */",
        '#include "offsets.h"',
        "",
        "const struct offsets_entry offsets_table[] = {",
    ]
    for version, make_build in VERSIONS:
        build = make_build()
        out += emit_entry(version, build, offsets_of(version, build), len(kernel))
    out += [
        "};",
        "",
        "const unsigned offsets_table_len =",
        "\tsizeof(offsets_table) / sizeof(offsets_table[0]);",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
