# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_counts.py - nothing counted in the kernel goes missing on the way
to the profile."""
import os
import re

from harness import Fail, pybpf
from casekit import WORKLOAD_MAX, counter, start
import profiles as P


def _drain_exactly(ctx, env, seconds):
    """record threads.py at 10 kHz on every CPU, draining every 10 ms with
    env set: (result, samples in the profile, the summary, the kernel's
    'stacks recorded' counter or None)."""
    ctx.interp = next(i for i in ctx.all_interps if not i.missing and i.version >= (3, 8))
    target = start(ctx, "threads.py", WORKLOAD_MAX)
    out = ctx.dir / "drain.txt"
    res = pybpf(["record", "-p", target.pid, "-o", out, "-f", "collapsed", "-d", seconds,
                 "-r", 10000, "-v"], ctx.dir, 40, name="drain",
                env=dict(os.environ, PYBPF_DRAIN_MS="10", **env))
    if res.rc != 0 or not out.exists():
        raise Fail("pybpf exited with status %s" % res.rc, res.describe())
    stacks = P.parse_collapsed(out.read_text(encoding="utf-8", errors="replace"))
    in_file = P.total(stacks)
    summary = P.parse_summary(res.err)
    recorded = counter(res, "stacks recorded")
    ctx.note("profile %d samples, summary %s, kernel recorded %s" % (
        in_file, summary and summary["samples"], recorded))
    problems = []
    if recorded is None:
        problems.append("-v printed no 'stacks recorded' counter")
    elif recorded != in_file:
        problems.append("the kernel recorded %d samples, the profile holds %d (%+d)"
                        % (recorded, in_file, in_file - recorded))
    if not summary or summary["samples"] != in_file:
        problems.append("summary %r disagrees with the profile's %d samples"
                        % (summary and summary["line"], in_file))
    if in_file < 3000 * seconds:
        problems.append("only %d samples at 10 kHz on 4 busy threads for %d s" % (in_file, seconds))
    return res, summary, problems


def case_drain_exact(ctx):
    """Draining 100 times a second under a 10 kHz sampler on every CPU:
    the samples in the profile equal the kernel's own count of recorded
    samples (no increment lost between a drain's read and its emptying of
    a slot)."""
    res, summary, problems = _drain_exactly(ctx, {}, 3)
    if summary and summary["lost"]:
        problems.append("%d samples lost" % summary["lost"])
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe())


def case_drain_rotate(ctx):
    """The same with count slot sets of 16 (PYBPF_MAX_COUNTS=8), far fewer
    than the workload's keys: nearly every drain rotates the sets (waits
    for the programs, drains both, replaces the old key map) while the
    sampler counts into them.  Samples that found no free slot are counted
    lost, not silently dropped: the profile still equals the kernel's
    count of recorded samples, and the rotations happened."""
    res, summary, problems = _drain_exactly(ctx, {"PYBPF_MAX_COUNTS": "8"}, 2)
    rot = [int(m.group(1)) for m in (re.match(r"pybpf:\s+count slot sets rotated (\d+) times",
                                              l) for l in res.err_lines()) if m]
    ctx.note("rotations %s" % rot)
    if not rot or rot[0] < 20:
        problems.append("the count slot sets were rotated %s times in 200 drains" % rot)
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe())


def case_drain_early(ctx):
    """New stacks far faster than the BPF sets hold between two drains a
    second apart (~4 000 new stacks a second from manystacks.py), once
    against stack sets of 512 (PYBPF_MAX_STACKS) and once against count
    slot sets of 512 (PYBPF_MAX_COUNTS=256): record drains early, when a
    set is filling, so no sample is lost to a full set and the profile
    holds every sample the kernel recorded.  top, on the small stack sets:
    no sample lost, and the early drains' samples in its windows."""
    ctx.interp = next(i for i in ctx.all_interps if not i.missing and i.version >= (3, 8))
    target = start(ctx, "manystacks.py", WORKLOAD_MAX)
    seconds, problems, results, in_files = 4, [], [], []
    for name, env in (("stacks", {"PYBPF_MAX_STACKS": "512"}),
                      ("slots", {"PYBPF_MAX_COUNTS": "256"})):
        out = ctx.dir / ("%s.txt" % name)
        res = pybpf(["record", "-p", target.pid, "-o", out, "-f", "collapsed", "-d", seconds,
                     "-r", 2000, "-v"], ctx.dir, 40, name=name, env=dict(os.environ, **env))
        results.append(res)
        if res.rc != 0 or not out.exists():
            raise Fail("%s: pybpf exited with status %s" % (name, res.rc), res.describe())
        stacks = P.parse_collapsed(out.read_text(encoding="utf-8", errors="replace"))
        in_file = P.total(stacks)
        in_files.append(in_file)
        recorded = counter(res, "stacks recorded")
        lost_sets = counter(res, "samples lost: stack ring or key set full")
        lost_slots = counter(res, "samples lost: counts map full")
        gen = [s for s in stacks if any((f.name or "").startswith("gen_") for f in s.frames)]
        ctx.note("%s: profile %d samples in %d stacks (%d through gen_k), kernel recorded %s, "
                 "lost to full stack sets %s, to full slot sets %s"
                 % (name, in_file, len(stacks), len(gen), recorded, lost_sets, lost_slots))
        if recorded is None or lost_sets is None or lost_slots is None:
            problems.append("%s: -v printed no 'stacks recorded' or 'samples lost' counters" % name)
            continue
        if lost_sets or lost_slots:
            problems.append("%s: %d samples lost to full stack sets, %d to a full slot set"
                            % (name, lost_sets, lost_slots))
        if recorded != in_file:
            problems.append("%s: the kernel recorded %d samples, the profile holds %d (%+d)"
                            % (name, recorded, in_file, in_file - recorded))
        if len(gen) < 4 * 512:
            problems.append("%s: only %d distinct stacks through gen_k in %d s: the sets of 512 "
                            "were never at risk" % (name, len(gen), seconds))
    # top drains a window a second, and early into the next window's
    # rows: nothing lost, and its total near record's for the same time
    res = pybpf(["top", "-p", target.pid, "-d", seconds, "-r", 2000], ctx.dir, 40, name="top",
                env=dict(os.environ, PYBPF_MAX_STACKS="512"))
    results.append(res)
    lost = [int(x) for x in re.findall(r"\blost (\d+)\b", res.out)]
    totals = [int(x) for x in re.findall(r"^samples \d+ \(total (\d+)\)", res.out, re.M)]
    ctx.note("top: %d snapshots, lost %s, totals %s (record: %s)"
             % (len(totals), lost, totals, in_files))
    if res.rc != 0 or not totals or not lost:
        problems.append("top: status %s, %d snapshots" % (res.rc, len(totals)))
    else:
        if any(lost):
            problems.append("top: samples lost %s" % lost)
        if totals[-1] < 0.6 * min(in_files):
            problems.append("top: %d samples in %d s, record had %s: the early drains' samples "
                            "went missing" % (totals[-1], seconds, in_files))
    if problems:
        raise Fail(problems[0], problems[1:] + [l for r in results for l in r.describe()])
