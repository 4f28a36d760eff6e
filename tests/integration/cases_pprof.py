# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_pprof.py - `record -f pprof` on a real CPython process, read back
twice: by a small decoder here (gzip, ids, totals, the hot function and
its lines, labels) and by `go tool pprof` itself (Debian's golang-go;
without it the case says SKIP once the decoder's checks have passed).

The writer does not depend on the Python version, so the case runs once,
under Debian's python3.11 (qualified names with '<locals>', non-ASCII
names), not once per interpreter.

With --native (tests/workloads/native.py: zlib.compress in a loop), the
native frames' mappings: one per mapped file, whose build id is the one
`readelf -n` prints, with the native locations inside it, as `go tool
pprof -raw` shows them, and zlib's functions in `-traces`.
"""
import re
import gzip
import os
import shutil
import subprocess
import types

from harness import WORKLOADS, Fail, Skip, markers
from casekit import RATE, WORKLOAD_MAX, check, record, start
import profiles as P

PYTHON = "/usr/bin/python3.11"
GO_TIMEOUT = 60


# ---- a minimal perftools.profiles.Profile decoder -------------------------

def _varint(buf, i):
    v = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated or overlong varint at byte %d" % i)
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, i
        shift += 7


def _fields(buf):
    """(field number, wire type, int or bytes) of one message."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise ValueError("field %d runs past the end of its message" % num)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError("field %d has wire type %d, pprof uses only 0 and 2" % (num, wire))
        yield num, wire, v


def _ints(wire, v):
    """A repeated varint field, packed or not."""
    if wire == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return out


def parse_pprof(data):
    """Decoded Profile as dicts and lists; field numbers of profile.proto."""
    prof = {"sample_type": [], "sample": [], "mapping": [], "location": [], "function": [],
            "strings": [], "period": 0}
    for num, wire, v in _fields(data):
        if num == 1:
            prof["sample_type"].append(dict((n, x) for n, _, x in _fields(v)))
        elif num == 2:
            s = {"loc": [], "value": [], "label": []}
            for n, w, x in _fields(v):
                if n == 1:
                    s["loc"] += _ints(w, x)
                elif n == 2:
                    s["value"] += _ints(w, x)
                elif n == 3:
                    s["label"].append(dict((k, y) for k, _, y in _fields(x)))
            prof["sample"].append(s)
        elif num == 3:
            prof["mapping"].append(dict((n, x) for n, _, x in _fields(v)))
        elif num == 4:
            loc = {"line": []}
            for n, w, x in _fields(v):
                if n == 4:
                    loc["line"].append(dict((k, y) for k, _, y in _fields(x)))
                else:
                    loc[n] = x
            prof["location"].append(loc)
        elif num == 5:
            prof["function"].append(dict((n, x) for n, _, x in _fields(v)))
        elif num == 6:
            prof["strings"].append(v.decode("utf-8"))  # strict, as proto3 readers are
        elif num == 12:
            prof["period"] = v
    return prof


def check_pprof(prof):
    """Structure every reader relies on; a list of problems."""
    problems = []
    st = prof["strings"]
    if not st or st[0] != "":
        problems.append("string_table[0] is not \"\"")
        return problems
    types_ = [(st[t.get(1, 0)], st[t.get(2, 0)]) for t in prof["sample_type"]]
    if types_ != [("samples", "count"), ("cpu", "nanoseconds")]:
        problems.append("sample types %s, expected samples/count, cpu/nanoseconds" % types_)
    for what in ("location", "function"):
        ids = [x.get(1) for x in prof[what]]
        if ids != list(range(1, len(ids) + 1)):
            problems.append("%s ids are not 1..%d in order: %s" % (what, len(ids), ids[:20]))
    nloc, nfn = len(prof["location"]), len(prof["function"])
    for loc in prof["location"]:
        if [ln.get(1, 0) for ln in loc["line"] if not 1 <= ln.get(1, 0) <= nfn]:
            problems.append("location %s points to a function id out of 1..%d" % (loc.get(1), nfn))
    for s in prof["sample"]:
        if [i for i in s["loc"] if not 1 <= i <= nloc]:
            problems.append("a sample has location ids out of 1..%d: %s" % (nloc, s["loc"]))
            break
        if len(s["value"]) != 2 or s["value"][1] != s["value"][0] * prof["period"]:
            problems.append("sample values %s, expected [count, count * period %d]"
                            % (s["value"], prof["period"]))
            break
    return problems


def pprof_stacks(prof):
    """The samples as profiles.Stack (root first), for the shared checks."""
    st, fns, locs = prof["strings"], prof["function"], prof["location"]
    frames = []
    for loc in locs:
        fn = fns[loc["line"][0].get(1) - 1]
        name, path = st[fn.get(2, 0)], st[fn.get(4, 0)]
        line = loc["line"][0].get(2, 0)
        if path:
            f = os.path.basename(path)
            frames.append(P.Frame("%s (%s:%d)" % (name, f, line), "python", name, f, line))
        else:
            frames.append(P.parse_frame(name))
    return [P.Stack(tuple(frames[i - 1] for i in reversed(s["loc"])), s["value"][0])
            for s in prof["sample"]]


def labels(prof, sample):
    st = prof["strings"]
    return dict((st[l.get(1, 0)], st[l[2]] if 2 in l else l.get(3)) for l in sample["label"])


# ---- the case ---------------------------------------------------------------

def go_pprof(ctx, args, path):
    r = subprocess.run(["go", "tool", "pprof"] + args + [str(path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=GO_TIMEOUT)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    ctx.note("go tool pprof %s: status %d" % (" ".join(args), r.returncode))
    if r.returncode != 0:
        raise Fail("go tool pprof %s %s exits with status %d" % (" ".join(args), path.name,
                                                                  r.returncode),
                   ["stderr: " + l for l in err.splitlines()[-10:]])
    return out, err


def top_rows(text):
    """Function names of `pprof -top` rows, hottest (by flat) first."""
    rows, body = [], False
    for line in text.splitlines():
        if line.split()[:2] == ["flat", "flat%"]:
            body = True
        elif body and line.strip():
            rows.append(line.split(None, 5)[5] if len(line.split(None, 5)) == 6 else "")
    return rows


def record_pprof(ctx, target, seconds, name, extra=("-t",)):
    out, res = record(ctx, target, seconds, "pprof", list(extra), name=name, ext="pb.gz")
    data = out.read_bytes()
    if data[:2] != b"\x1f\x8b":
        raise Fail("%s is not gzip (starts %r)" % (out.name, data[:4]), res.describe())
    try:
        prof = parse_pprof(gzip.decompress(data))
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as e:
        raise Fail("%s does not decode: %s" % (out.name, e), res.describe())
    check(check_pprof(prof), None, res)
    return out, prof, res


# a file the zlib workload's native frames run in: libz, libpython, python3.x
NATIVE_FILE_RE = re.compile(r"/(libz\.so[.0-9]*|libpython[0-9.]+\.so[.0-9]*|python[0-9.]+)$")


def readelf_build_id(path):
    r = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, universal_newlines=True)
    m = re.search(r"Build ID:\s*([0-9a-f]+)", r.stdout)
    return m.group(1) if m else None


def native_mappings(prof):
    """{mapping id: dict} of mappings with a file (not Python's, id 1)."""
    st = prof["strings"]
    return dict((m.get(1), {"start": m.get(2, 0), "limit": m.get(3, 0), "offset": m.get(4, 0),
                            "file": st[m.get(5, 0)], "build_id": st[m.get(6, 0)],
                            "has_functions": bool(m.get(7))})
                for m in prof["mapping"] if m.get(5))


def check_native_pprof(prof, ctx):
    """Mappings of files with their build ids and native locations inside
    them; a list of problems, and the mappings judged."""
    problems = []
    maps = native_mappings(prof)
    ids = [m.get(1) for m in prof["mapping"]]
    if ids != list(range(1, len(ids) + 1)):
        problems.append("mapping ids are not 1..%d in order: %s" % (len(ids), ids))
    if not prof["mapping"] or prof["mapping"][0].get(5):
        problems.append("mapping 1 (Python frames) has a file")
    locs = {}
    for loc in prof["location"]:
        locs.setdefault(loc.get(2, 0), []).append(loc.get(3, 0))
    for mid, m in maps.items():
        for addr in locs.get(mid, []):
            if not m["start"] <= addr < m["limit"]:
                problems.append("location at 0x%x outside its mapping %s [0x%x, 0x%x)"
                                % (addr, m["file"], m["start"], m["limit"]))
                break
    judged = []
    for mid, m in sorted(maps.items()):
        if not NATIVE_FILE_RE.search(m["file"]):
            continue
        want = readelf_build_id(m["file"]) if os.path.exists(m["file"]) else None
        judged.append("%s build id %r (readelf: %r), %d locations" % (
            m["file"], m["build_id"], want, len(locs.get(mid, []))))
        if want and m["build_id"] == want and locs.get(mid) and m["has_functions"]:
            return problems, maps, judged
    problems.append("no mapping of libz, libpython or the python binary with the build id "
                    "readelf -n prints, has_functions and native locations in it")
    return problems, maps, judged


def case_pprof(ctx):
    """record -f pprof: a valid profile with the hot function, read by go tool pprof."""
    if not os.path.exists(PYTHON):
        raise Skip("%s not installed" % PYTHON)
    ctx.interp = types.SimpleNamespace(path=PYTHON, version=(3, 11), label="debian-3.11")
    marks = markers(WORKLOADS / "split.py")
    target = start(ctx, "split.py", WORKLOAD_MAX)
    out, prof, res = record_pprof(ctx, target, 3, "split")
    stacks = pprof_stacks(prof)
    problems = P.check_hot_function(stacks, "work_a", "split.py", marks["a"], RATE // 2)
    summary = P.parse_summary(res.err)
    if summary and summary["samples"] < P.total(stacks):
        problems.append("summary says %d samples, the profile holds %d"
                        % (summary["samples"], P.total(stacks)))
    comm = "MainThread"  # the Python threading name of the main thread
    want = {"pid": target.pid, "tid": target.pid, "thread_name": comm}
    for s in prof["sample"]:
        got = labels(prof, s)
        if any(got.get(k) != v for k, v in want.items()):
            problems.append("sample labels %s, expected %s" % (got, want))
            break
    check(problems, stacks, res)
    target.kill()

    names = start(ctx, "names.py", WORKLOAD_MAX)
    nout, nprof, nres = record_pprof(ctx, names, 2, "names")
    hot = ["Worker.compute", "Outer.Inner.deep", "naïve_spin",
           "make_spinner.<locals>.spin_closure", "計算_spin", "spin_\U00020000"]
    seen = P.leaf_names(pprof_stacks(nprof))
    check(["%s is not a leaf of the decoded profile" % n for n in hot if not seen[n]],
          pprof_stacks(nprof), nres)
    names.kill()

    zipper = start(ctx, "native.py", WORKLOAD_MAX)
    zout, zprof, zres = record_pprof(ctx, zipper, 2, "native", ("--native",))
    zipper.kill()
    zproblems, zmaps, judged = check_native_pprof(zprof, ctx)
    ctx.note(*judged)
    check(zproblems, None, zres)

    if not shutil.which("go"):
        raise Skip("decoded fine, but go is not installed: no go tool pprof check "
                   "(Debian package golang-go)")
    text, err = go_pprof(ctx, ["-top"], out)
    rows = top_rows(text)
    ctx.note(*text.splitlines()[:12])
    problems = []
    if not rows or rows[0] != "work_a":
        problems.append("go tool pprof -top: the first row is %r, expected work_a" %
                        (rows[:1] or ["nothing"]))
    if "<module>" not in rows:
        problems.append("go tool pprof -top does not list <module>")
    if err.strip():
        problems.append("go tool pprof -top complains: %s" % err.strip().splitlines()[0])
    tags, _ = go_pprof(ctx, ["-tags"], out)
    for key in ("pid", "tid", "thread_name", comm, str(target.pid)):
        if key not in tags:
            problems.append("go tool pprof -tags does not show %r" % key)
    ntext, _ = go_pprof(ctx, ["-top"], nout)
    problems += ["go tool pprof -top does not list %s" % n for n in hot
                 if n not in top_rows(ntext)]
    # go tool pprof's own reading of the native profile: every file
    # mapping with its build id in -raw, zlib's functions in -traces
    raw, rerr = go_pprof(ctx, ["-raw"], zout)
    raw_maps = raw.split("Mappings", 1)[-1] if "Mappings" in raw else ""
    for m in zmaps.values():
        if not re.search(r"\s%s\s+%s(\s|$)" % (re.escape(m["file"]), re.escape(m["build_id"])),
                         raw_maps):
            problems.append("go tool pprof -raw does not show mapping %s %s"
                            % (m["file"], m["build_id"]))
    if rerr.strip():
        problems.append("go tool pprof -raw complains: %s" % rerr.strip().splitlines()[0])
    ztraces, _ = go_pprof(ctx, ["-traces"], zout)
    if not re.search(r"^\s+(\d+ms\s+)?(deflate|zlib_compress)\s*$", ztraces, re.M):
        problems.append("go tool pprof -traces shows no deflate or zlib_compress frame")
    if problems:
        raise Fail(problems[0], problems[1:] + ["go tool pprof -top %s:" % out.name] +
                   ["  " + l for l in text.splitlines()[:15]] +
                   ["go tool pprof -raw %s:" % zout.name] +
                   ["  " + l for l in raw_maps.splitlines()[:12]])
