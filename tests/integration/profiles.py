# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""profiles.py - parse what pybpf writes and check it, without running anything.

Parsers for the collapsed format, the record summary line, `top` snapshots
and speedscope files, plus pure checks that take parsed data and return a
list of problems (strings; empty = fine).  Keeping the checks free of I/O
lets test_profiles.py exercise them on hand-made text without root.
"""
import re
from collections import Counter, namedtuple

Frame = namedtuple("Frame", "label kind name file line")
Stack = namedtuple("Stack", "frames count")

THREAD_RE = re.compile(r"^thread (?P<tid>\d+) \((?P<name>.*)\)$")
PY_RE = re.compile(r"^(?P<name>.+?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
SUMMARY_RE = re.compile(r"^pybpf: (?P<samples>\d+) samples?, (?P<errors>\d+) errors?, "
                        r"(?P<lost>\d+) lost\b")
TRUNCATED = "<truncated>"


def parse_frame(label):
    """Classify one frame label: python, thread, truncated or other."""
    m = THREAD_RE.match(label)
    if m:
        return Frame(label, "thread", m.group("name"), None, int(m.group("tid")))
    if label == TRUNCATED:
        return Frame(label, "truncated", label, None, None)
    m = PY_RE.match(label)
    if m:
        line = m.group("line")
        return Frame(label, "python", m.group("name"), m.group("file"),
                     int(line) if line is not None else None)
    return Frame(label, "other", label, None, None)


class ParseError(Exception):
    pass


def parse_collapsed(text):
    """'a;b;c 42' lines -> [Stack(frames root first, count)].  Raises ParseError."""
    stacks = []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        stack, sep, count = raw.rpartition(" ")
        if not sep or not stack or not count.isdigit():
            raise ParseError("line %d is not 'frame;...;frame COUNT': %r" % (n, raw[:200]))
        stacks.append(Stack(tuple(parse_frame(f) for f in stack.split(";")), int(count)))
    return stacks


def total(stacks):
    return sum(s.count for s in stacks)


def parse_summary(stderr):
    """The record summary line -> dict of ints, or None when absent."""
    for line in reversed(stderr.strip().splitlines()):
        m = SUMMARY_RE.match(line.strip())
        if m:
            d = {k: int(v) for k, v in m.groupdict().items()}
            d["line"] = line.strip()
            return d
    return None


# ---- evidence -------------------------------------------------------------

def fold_labels(labels):
    """Collapse runs of identical frames: 'recurse (r.py:9) x300'."""
    out = []
    for label in labels:
        if out and out[-1][0] == label:
            out[-1][1] += 1
        else:
            out.append([label, 1])
    return ";".join(l if n == 1 else "%s x%d" % (l, n) for l, n in out)


def show_stack(stack, width=400):
    text = "%s %d" % (fold_labels(f.label for f in stack.frames), stack.count)
    return text if len(text) <= width else text[:width - 5] + " ...."


def hottest(stacks, n=6, where=None):
    chosen = [s for s in stacks if where is None or where(s)]
    return sorted(chosen, key=lambda s: -s.count)[:n]


def evidence(stacks, n=6, where=None, title="hottest stacks"):
    chosen = hottest(stacks, n, where)
    lines = ["%s (%d samples in %d stacks):" % (title, total(stacks), len(stacks))]
    lines += ["  " + show_stack(s) for s in chosen] or ["  (none)"]
    return lines


# ---- checks on collapsed stacks ------------------------------------------

def leaf_lines(stacks, name):
    """Counter {(file, line): samples} of stacks whose leaf is function name."""
    c = Counter()
    for s in stacks:
        leaf = s.frames[-1]
        if leaf.kind == "python" and leaf.name == name:
            c[(leaf.file, leaf.line)] += s.count
    return c


def leaf_names(stacks):
    c = Counter()
    for s in stacks:
        c[s.frames[-1].name] += s.count
    return c


def check_hot_function(stacks, name, file, lines, min_samples, min_frac=0.9):
    """name must be a leaf in file with most samples on the marked lines."""
    found = leaf_lines(stacks, name)
    n = sum(found.values())
    if n < min_samples:
        others = ", ".join("%s=%d" % kv for kv in leaf_names(stacks).most_common(6))
        return ["%s: %d leaf samples, expected >= %d (leaf functions seen: %s)"
                % (name, n, min_samples, others or "none")]
    problems = []
    wrong_file = {k: v for k, v in found.items() if k[0] != file}
    if wrong_file:
        problems.append("%s: file should be %r, got %s" % (
            name, file, ", ".join("%s:%s=%d" % (f, l, v) for (f, l), v in wrong_file.items())))
    on = sum(v for (f, l), v in found.items() if f == file and l in lines)
    if on < min_frac * n:
        problems.append("%s: %d of %d samples (%.0f%%) on marked lines %s, expected >= %.0f%%;"
                        " lines seen: %s" % (
                            name, on, n, 100.0 * on / n, lines, 100 * min_frac,
                            ", ".join("%s:%s=%d" % (f, l, v) for (f, l), v in found.most_common(8))))
    return problems


def check_parent(stacks, leaf, parent, lines, min_frac=0.9):
    """In stacks whose leaf is `leaf`, the caller is `parent` on one of lines."""
    n = ok = 0
    seen = Counter()
    for s in stacks:
        if s.frames[-1].name != leaf:
            continue
        n += s.count
        p = s.frames[-2] if len(s.frames) > 1 else None
        key = p.label if p else "(no caller)"
        seen[key] += s.count
        if p is not None and p.name == parent and p.line in lines:
            ok += s.count
    if n and ok < min_frac * n:
        return ["caller of %s should be %s at line %s in >= %.0f%% of samples, got %d of %d: %s"
                % (leaf, parent, lines, 100 * min_frac, ok, n,
                   ", ".join("%s=%d" % kv for kv in seen.most_common(5)))]
    return []


def count_name(stack, name):
    return sum(1 for f in stack.frames if f.name == name)


def check_threads(stacks, expected):
    """expected: {thread name: (tid or None, function)}.  With -t every stack
    starts with a thread frame and a function appears only under its thread."""
    problems = []
    where = {}  # function -> Counter(thread name)
    per_thread = Counter()
    no_root = 0
    funcs = {fn: name for name, (tid, fn) in expected.items()}
    for s in stacks:
        root = s.frames[0]
        if root.kind != "thread":
            no_root += s.count
            continue
        per_thread[root.name] += s.count
        tid = expected.get(root.name, (None, None))[0]
        if tid is not None and root.line != tid:
            problems.append("thread %s has TID %d in the profile, the workload says %d"
                            % (root.name, root.line, tid))
        for f in s.frames[1:]:
            if f.name in funcs:
                where.setdefault(f.name, Counter())[root.name] += s.count
    if no_root:
        problems.append("%d samples in stacks without a 'thread TID (NAME)' root" % no_root)
    for fn, name in sorted(funcs.items()):
        got = where.get(fn, Counter())
        if not got:
            problems.append("%s never appears (expected under thread %s)" % (fn, name))
        wrong = {t: c for t, c in got.items() if t != name}
        if wrong:
            problems.append("%s appears under the wrong thread(s): %s (expected only %s)"
                            % (fn, ", ".join("%s=%d" % kv for kv in wrong.items()), name))
    return sorted(set(problems), key=problems.index), per_thread


def check_generated_identity(stacks, lines_of, module_lines_of):
    """churn invariant: gen_fn_I is in file <gen_I> on a line in lines_of(I);
    the only other code of <gen_I> is '<module>' on a line in module_lines_of(I)."""
    bad = Counter()
    gen = 0
    names = set()
    for s in stacks:
        for f in s.frames:
            m_name = re.match(r"^gen_fn_(\d+)$", f.name or "")
            m_file = re.match(r"^<gen_(\d+)>$", f.file or "")
            if not m_name and not m_file:
                continue
            if f is s.frames[-1] and m_name:
                gen += s.count
                names.add(f.name)
            i = int(m_name.group(1)) if m_name else None
            j = int(m_file.group(1)) if m_file else None
            if f.name == "<module>" and i is None:
                if f.line is not None and f.line not in module_lines_of(j):
                    bad[(f.label, "line not in <gen_%d> lines %s" % (j, module_lines_of(j)))] += s.count
                continue
            if i != j:
                bad[(f.label, "name and file disagree")] += s.count
            elif f.line is not None and f.line not in lines_of(i):
                bad[(f.label, "line not in gen_fn_%d lines %s" % (i, lines_of(i)))] += s.count
    problems = ["%d samples: %s (%s)" % (c, label, why)
                for (label, why), c in bad.most_common(12)]
    if len(bad) > 12:
        problems.append("... and %d more distinct wrong frames" % (len(bad) - 12))
    return problems, gen, names


# ---- top ------------------------------------------------------------------

TOP_HEADER = ["%Own", "%Total", "OwnTime", "TotalTime", "Function", "(filename:line)"]
TOP_ROW_RE = re.compile(r"^\s*(?P<own>\d+(?:\.\d+)?)\s+(?P<total>\d+(?:\.\d+)?)\s+"
                        r"(?P<owntime>\d+(?:\.\d+)?)s\s+(?P<totaltime>\d+(?:\.\d+)?)s\s+"
                        r"(?P<func>.*)$")


def parse_top(text):
    """Non-TTY top output -> ([snapshot], problems).  A snapshot is a dict
    {header: [lines], samples, rows: [(own, total, func_label)]}.  The header
    is every line before the column header; its first line starts with
    'pybpf top' and one of its lines says 'samples N'."""
    snaps, problems = [], []
    blocks = [b for b in re.split(r"\n\s*\n", text.strip("\n")) if b.strip()]
    for bi, block in enumerate(blocks, 1):
        lines = block.splitlines()
        if not lines[0].startswith("pybpf top"):
            problems.append("snapshot %d: header does not start with 'pybpf top': %r"
                            % (bi, lines[0]))
            continue
        col = next((k for k, ln in enumerate(lines) if ln.split() == TOP_HEADER), None)
        if col is None:
            problems.append("snapshot %d: no column header %r" % (bi, " ".join(TOP_HEADER)))
            continue
        m = None
        for ln in lines[:col]:
            m = m or re.search(r"\bsamples:?\s+(\d+)", ln)
        if not m:
            problems.append("snapshot %d: header has no 'samples N': %r" % (bi, lines[:col]))
        rows = []
        for ln in lines[col + 1:]:
            r = TOP_ROW_RE.match(ln)
            if not r:
                problems.append("snapshot %d: row does not parse: %r" % (bi, ln))
                continue
            rows.append((float(r.group("own")), float(r.group("total")), r.group("func").strip()))
        snaps.append({"header": lines[:col], "samples": int(m.group(1)) if m else None,
                      "rows": rows})
    return snaps, problems


def check_top(snaps, hot_name, hot_file, min_samples=20):
    problems = []
    if len(snaps) < 2:
        problems.append("%d snapshot(s), expected >= 2" % len(snaps))
    judged = 0
    for i, s in enumerate(snaps, 1):
        owns = [r[0] for r in s["rows"]]
        if owns != sorted(owns, reverse=True):
            problems.append("snapshot %d: rows not sorted by %%Own: %s" % (i, owns))
        if sum(owns) > 100.5:
            problems.append("snapshot %d: %%Own adds up to %.2f > 100" % (i, sum(owns)))
        if (s["samples"] or 0) < min_samples or not s["rows"]:
            continue
        judged += 1
        first = parse_frame(s["rows"][0][2])
        if first.name != hot_name or first.file != hot_file:
            problems.append("snapshot %d: first row is %r, expected %s (%s:...)"
                            % (i, s["rows"][0][2], hot_name, hot_file))
    if snaps and not judged:
        problems.append("no snapshot with >= %d samples and rows" % min_samples)
    return problems


# ---- speedscope -------------------------------------------------------------

def check_speedscope(doc):
    """Structural check of a speedscope file; returns (problems,
    [(profile name, set of frame names with samples)])."""
    problems = []
    try:
        frames = doc["shared"]["frames"]
        profiles = doc["profiles"]
    except (KeyError, TypeError) as e:
        return ["missing key %s (need shared.frames and profiles)" % e], []
    names = []
    for k, fr in enumerate(frames):
        if not isinstance(fr, dict) or not isinstance(fr.get("name"), str):
            problems.append("shared.frames[%d] has no string name: %r" % (k, fr))
            names.append(None)
        else:
            names.append(fr["name"])
    out = []
    for p in profiles:
        pname = p.get("name", "?")
        if p.get("type") != "sampled":
            problems.append("profile %r: type %r, expected 'sampled'" % (pname, p.get("type")))
            continue
        samples, weights = p.get("samples", []), p.get("weights", [])
        if len(samples) != len(weights):
            problems.append("profile %r: %d samples but %d weights" % (pname, len(samples), len(weights)))
        used = set()
        for st in samples:
            for idx in st:
                if not isinstance(idx, int) or not 0 <= idx < len(frames):
                    problems.append("profile %r: frame index %r out of range" % (pname, idx))
                    break
                used.add(names[idx])
        for key in ("unit", "startValue", "endValue"):
            if key not in p:
                problems.append("profile %r: missing %r" % (pname, key))
        out.append((pname, used))
    return problems, out
