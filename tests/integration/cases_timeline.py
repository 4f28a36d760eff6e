# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_timeline.py - samples in time order: `-f chrometrace` and
speedscope's time order (tests/workloads/phases.py: phase_a spins, phase_b
sleeps, phase_c spins, PHASE seconds each, recorded with --idle from launch).

A user opening either file sees the three phases one after the other, each
as long as the workload measured it (CPU time for the busy phases, which a
busy machine stretches, sleep time for phase_b): in chrometrace, phase_a's
slices end before phase_b's begin and so on, their lengths add up to the
truth within a tolerance, and every track's begin/end events nest; in
speedscope, the main thread's samples run a..., b..., c... with at most a
stray sample out of place, and its weights (nanoseconds) give each phase
its truth.
"""
import json

from harness import WORKLOADS, Fail, pybpf

RATE = 199               # not a multiple of the scheduler's tick: no beating with
                         # the preemptions of a busy machine

PHASE = 1.0
PHASES = ("phase_a", "phase_b", "phase_c")
TOLERANCE = 0.2          # of the truth, and at least TOLERANCE_S
TOLERANCE_S = 0.1


def off(got, want):
    return abs(got - want) > max(TOLERANCE * want, TOLERANCE_S)


def launch(ctx, fmt, name):
    """The decoded file, the workload's truth, the result."""
    out = ctx.dir / ("%s.json" % name)
    truth = ctx.dir / ("%s.truth.json" % name)
    res = pybpf(["record", "--idle", "-r", RATE, "-f", fmt, "-o", out, "--",
                 ctx.interp.path, WORKLOADS / "phases.py", PHASE, truth], ctx.dir, 60, name=name)
    if res.rc != 0:
        raise Fail("%s: pybpf exited with status %s" % (name, res.rc), res.describe())
    try:
        return (json.loads(out.read_text(encoding="utf-8")),
                json.loads(truth.read_text()), res)
    except (OSError, ValueError) as e:
        raise Fail("%s: %s" % (name, e), res.describe())


def nesting(events):
    """Problems with B/E nesting per (pid, tid), and the slices:
    [(name, tid, begin_us, end_us)]."""
    problems, open_, slices, last = [], {}, [], {}
    for e in events:
        if e.get("ph") not in ("B", "E"):
            continue
        key = (e["pid"], e["tid"])
        if e["ts"] < last.get(key, 0):
            problems.append("track %s goes back in time at %s" % (key, e["ts"]))
        last[key] = e["ts"]
        stack = open_.setdefault(key, [])
        if e["ph"] == "B":
            stack.append(e)
        elif not stack:
            problems.append("track %s: an end without a begin at %s" % (key, e["ts"]))
        else:
            b = stack.pop()
            slices.append((b["name"], e["tid"], b["ts"], e["ts"]))
    for key, stack in open_.items():
        if stack:
            problems.append("track %s: %d slices never end" % (key, len(stack)))
    return problems, slices


def case_chrometrace(ctx):
    """-f chrometrace --idle of phases.py: a, b, c in order, each ~PHASE;
    nested begin/end on every track; the thread named."""
    doc, truth, res = launch(ctx, "chrometrace", "chrometrace")
    events = doc.get("traceEvents") if isinstance(doc, dict) else None
    if not events:
        raise Fail("no traceEvents", res.describe())
    problems, slices = nesting(events)
    names = [e for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"]
    if not any(e["args"]["name"] == "MainThread" for e in names):
        problems.append("no thread_name MainThread: %s" % [e["args"] for e in names])
    spans = {}
    for ph in PHASES:
        mine = [s for s in slices if s[0] == ph]
        if not mine:
            problems.append("no %s slice" % ph)
            continue
        total = sum(s[3] - s[2] for s in mine) / 1e6
        spans[ph] = (min(s[2] for s in mine), max(s[3] for s in mine), total, len(mine))
        # a slice spans the short waits for a CPU between its samples: from
        # the phase's CPU time up to its wall time
        if total < truth[ph] - max(TOLERANCE * truth[ph], TOLERANCE_S) or \
                total > truth[ph + "_wall"] + max(TOLERANCE * truth[ph], TOLERANCE_S):
            problems.append("%s lasts %.2f s in %d slices, truth %.2f s (wall %.2f s)"
                            % (ph, total, len(mine), truth[ph], truth[ph + "_wall"]))
    ctx.note("phases (first begin, last end, seconds, slices): %s; truth %s" % (spans, truth))
    period_us = 1e6 / RATE
    for x, y in zip(PHASES, PHASES[1:]):
        if x in spans and y in spans and spans[x][1] > spans[y][0] + period_us:
            problems.append("%s ends at %.0f us, after %s begins at %.0f us"
                            % (x, spans[x][1], y, spans[y][0]))
    if problems:
        raise Fail(problems[0], problems[1:12] + res.describe(4))


def case_speedscope_time_order(ctx):
    """-f speedscope --idle of phases.py: the main thread's samples in time
    order (a..., b..., c...) weighted in nanoseconds, ~PHASE per phase."""
    doc, truth, res = launch(ctx, "speedscope", "speedscope-time")
    frames = [f.get("name") for f in doc["shared"]["frames"]]
    main = [p for p in doc["profiles"]
            if any(frames[i] in PHASES for st in p["samples"] for i in st)]
    if len(main) != 1:
        raise Fail("expected one profile with the phases, got %d" % len(main), res.describe())
    prof = main[0]
    if prof.get("unit") != "nanoseconds":
        raise Fail("unit %r, expected nanoseconds (a time-ordered profile)" % prof.get("unit"))
    seq, weight = [], {}
    for st, w in zip(prof["samples"], prof["weights"]):
        ph = next((frames[i] for i in st if frames[i] in PHASES), None)
        if ph:
            seq.append(ph)
            weight[ph] = weight.get(ph, 0) + w
    runs = [ph for k, ph in enumerate(seq) if k == 0 or seq[k - 1] != ph]
    problems = []
    # a stray sample makes two extra runs; allow one
    if [r for k, r in enumerate(runs) if k == 0 or runs[k - 1] != r][:3] != list(PHASES) \
            or len(runs) > 5:
        problems.append("phases out of time order: runs %s" % runs[:12])
    for ph in PHASES:
        secs = weight.get(ph, 0) / 1e9
        if off(secs, truth[ph]):
            problems.append("%s weighs %.2f s, truth %.2f s" % (ph, secs, truth[ph]))
    ctx.note("runs %s, seconds %s, truth %s"
             % (runs[:8], {k: round(v / 1e9, 2) for k, v in weight.items()}, truth))
    if prof["endValue"] - prof["startValue"] != sum(prof["weights"]):
        problems.append("endValue - startValue != sum of weights")
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe(4))
