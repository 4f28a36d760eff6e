# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_versions.py - interpreters pybpf has never seen: a CPython whose
_Py_DebugOffsets says it is a newer minor is profiled (with a warning),
one whose struct does not validate is refused in one line.

Both start from a copy of the newest Debian interpreter of the test bed
(statically linked: _PyRuntime and Py_Version are in the executable) with
a few bytes changed in the copy: the version in Py_Version and at the head
of _PyRuntime (the interpreter itself runs from PY_VERSION_HEX compiled
into its code, so it behaves exactly as before), or a section size of
_Py_DebugOffsets.
"""
import os
import re
import shutil
import struct
import subprocess

from harness import WORKLOADS, Proc, Skip, markers, pybpf
from casekit import READY_TIMEOUT, check, collapsed
import profiles as P

FUTURE_HEX = 0x031000a1  # 3.16.0a1


def newest_static(ctx):
    """The newest 3.14+ Debian interpreter of the test bed, or Skip."""
    found = [i for i in ctx.all_interps if i.kind == "debian-static" and not i.missing
             and i.version >= (3, 14)]
    if not found:
        raise Skip("no Debian CPython 3.14+ in the test bed to derive a future version from")
    return max(found, key=lambda i: i.version)


def elf_file_offsets(path, names):
    """File offsets of dynamic symbols, through the section that holds each."""
    syms = {}
    for line in subprocess.run(["readelf", "-W", "--dyn-syms", str(path)],
                               stdout=subprocess.PIPE, text=True, check=True).stdout.splitlines():
        f = line.split()
        if len(f) >= 8 and f[7] in names:
            syms[f[7]] = int(f[1], 16)
    sections = []
    for line in subprocess.run(["readelf", "-W", "-S", str(path)], stdout=subprocess.PIPE,
                               text=True, check=True).stdout.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)",
                     line)
        if m and m.group(2) != "NOBITS":
            sections.append((int(m.group(3), 16), int(m.group(4), 16), int(m.group(5), 16)))
    out = {}
    for name, vaddr in syms.items():
        for addr, off, size in sections:
            if addr and addr <= vaddr < addr + size:
                out[name] = off + vaddr - addr
    missing = [n for n in names if n not in out]
    if missing:
        raise Skip("%s: no file offset for %s" % (path, ", ".join(missing)))
    return out


def patched_copy(ctx, interp, patches, name):
    """Copy interp's binary into the case directory and apply patches, a
    list of (symbol, offset in it, u64 value); start names.py with the
    copy (and the original's standard library) and return the process."""
    src = os.path.realpath(interp.path)
    dst = ctx.dir / name / os.path.basename(src)
    dst.parent.mkdir()
    shutil.copy2(src, str(dst))
    offs = elf_file_offsets(dst, sorted({p[0] for p in patches}))
    with open(str(dst), "r+b") as f:
        for sym, delta, value in patches:
            f.seek(offs[sym] + delta)
            f.write(struct.pack("<Q", value))
    # the copy finds its standard library and libraries where the original
    # does (its RPATH is relative to the original's place)
    usr = os.path.dirname(os.path.dirname(src))
    env = dict(os.environ, PYTHONHOME=usr,
               LD_LIBRARY_PATH=os.path.join(usr, "lib", "x86_64-linux-gnu"))
    proc = Proc([str(dst), WORKLOADS / "names.py", 60], ctx.dir, name, env=env)
    line = proc.wait_ready(READY_TIMEOUT)
    ctx.note("workload %s pid %d: %s" % (proc.cmdline(), proc.pid, line))
    return proc


def case_future_minor(ctx):
    """A 3.16 whose _Py_DebugOffsets validates is profiled from it: right
    names and lines, and one warning that pybpf was not tested with it."""
    base = newest_static(ctx)
    marks = markers(WORKLOADS / "names.py")
    target = patched_copy(ctx, base, [("Py_Version", 0, FUTURE_HEX),
                                      ("_PyRuntime", 8, FUTURE_HEX)], "future")
    stacks, res = collapsed(ctx, target, 3)
    problems = P.check_hot_function(stacks, "Worker.compute", "names.py", marks["compute"], 50)
    warned = [l for l in res.err_lines() if "newer than any this pybpf was tested with" in l]
    if len(warned) != 1 or "3.16.0" not in warned[0]:
        problems.append("expected one warning naming CPython 3.16.0 as untested, got %r"
                        % res.err_lines()[:3])
    check(problems, stacks, res)


def case_bad_debug_offsets(ctx):
    """A _Py_DebugOffsets that does not validate (a section size of 0, a
    version that disagrees with Py_Version) is refused in one line that
    says why, with a non-zero status."""
    base = newest_static(ctx)
    problems = []
    # thread_state.size: value 21 after the cookie in the 3.14 and 3.15 layouts
    for label, patches, why in (
            ("section size", [("_PyRuntime", 8 + 21 * 8, 0)], "thread_state.size is 0"),
            ("version", [("_PyRuntime", 8, 0x030d05f0)], "Py_Version")):
        target = patched_copy(ctx, base, patches, label.replace(" ", "-"))
        res = pybpf(["record", "-p", target.pid, "-o", ctx.dir / "x.txt", "-d", 2], ctx.dir, 30,
                    name="bad-" + label.replace(" ", "-"))
        lines = res.err_lines()
        if res.rc == 0 or len(lines) != 1 or why not in lines[0]:
            problems.append("%s: expected exit status != 0 and one line naming %r, got status "
                            "%s and %r" % (label, why, res.rc, lines[:3]))
        target.kill()
    check(problems)
