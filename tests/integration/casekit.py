# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""casekit.py - what every case uses: start a workload, record it, judge.

A case is a function case(ctx) that raises Fail (with evidence) or Skip,
or returns normally to pass.  ctx.interp is the interpreter under test,
ctx.dir the case's scratch directory, ctx.note() adds lines shown with -v.
Expected line numbers always come from the '# @tag' markers of the
workload files, expected names from the CPython version.
"""
import json
import re

from harness import WORKLOADS, Fail, Proc, Skip, pybpf
import profiles as P

RATE = 250            # -r for every record whose sample counts we judge
READY_TIMEOUT = 20.0  # workload start-up, generous for a loaded 2-core box
WORKLOAD_MAX = 60     # workloads stop by themselves after this (seconds)


def qualified(ctx):
    return ctx.interp.version >= (3, 11)


def counters(res):
    """The -v summary's counters ("pybpf:   N  label" lines), by label."""
    out = {}
    for line in res.err_lines():
        m = re.match(r"pybpf:\s+(\d+)\s+(.+?)\s*$", line)
        if m:
            out[m.group(2)] = int(m.group(1))
    return out


def counter(res, label):
    """The value of the -v counter labelled label, or None."""
    return counters(res).get(label)


def start(ctx, script, *args, token="ready"):
    """Start a workload under the interpreter under test, wait for its hot loop."""
    path = WORKLOADS / script
    proc = Proc([ctx.interp.path, path] + [str(a) for a in args], ctx.dir,
                script.replace(".py", ""))
    line = proc.wait_ready(READY_TIMEOUT, token)
    ctx.note("workload %s pid %d: %s" % (proc.cmdline(), proc.pid, line))
    return proc


def record(ctx, target, seconds, fmt="collapsed", extra=(), rate=RATE, name="record",
           ext="txt", env=None):
    out = ctx.dir / ("%s.%s" % (name, ext))
    args = ["record", "-p", target.pid, "-o", out, "-f", fmt, "-d", seconds]
    if rate:
        args += ["-r", rate]
    args += list(extra)
    res = pybpf(args, ctx.dir, timeout=seconds + 30, name=name, env=env)
    if res.rc != 0:
        raise Fail("%s: pybpf exited with status %s" % (name, res.rc), res.describe())
    if target.p.poll() is not None:
        raise Fail("%s: the profiled workload died (status %s) while pybpf was attached"
                   % (name, target.p.returncode), res.describe() +
                   ["workload stderr: " + l for l in target.err().splitlines()[-5:]])
    if not out.exists() or out.stat().st_size == 0:
        raise Fail("%s: pybpf exited 0 but %s is missing or empty" % (name, out.name),
                   res.describe())
    ctx.note("%s  [%s]" % (res.cmd(), (res.err_lines() or ["no stderr"])[-1]))
    return out, res


def collapsed(ctx, target, seconds, extra=(), rate=RATE, name="record", env=None):
    out, res = record(ctx, target, seconds, "collapsed", extra, rate, name, env=env)
    text = out.read_text(encoding="utf-8", errors="replace")
    try:
        stacks = P.parse_collapsed(text)
    except P.ParseError as e:
        raise Fail("%s: collapsed output does not parse: %s" % (name, e), res.describe())
    if not stacks:
        raise Fail("%s: empty profile" % name, res.describe())
    return stacks, res


def no_read_errors(res):
    """Problems if record's summary counts errors or lost samples: a
    target that starts, runs and exits, or whose threads exit, is no
    error (samples of a start-up or of an exit are counted apart)."""
    summary = P.parse_summary(res.err)
    if summary is None:
        return ["no summary line 'pybpf: N samples, N errors, N lost, ...' on stderr"]
    if summary["errors"] or summary["lost"]:
        return ["summary reports %d errors and %d lost: %s"
                % (summary["errors"], summary["lost"], summary["line"])]
    return []


def check(problems, stacks=None, res=None, where=None):
    if problems:
        ev = list(problems[1:])
        if stacks is not None:
            ev += P.evidence(stacks, 8, where)
        if res is not None:
            ev += res.describe(4)
        raise Fail(problems[0], ev)


def dump_json(ctx, target, args, name):
    """`pybpf dump -p PID --json ARGS`: the decoded list of threads, and the
    result; Fail on a non-zero status or output that is not JSON."""
    res = pybpf(["dump", "-p", target.pid, "--json"] + list(args), ctx.dir, 30, name=name)
    if "not available yet" in res.out + res.err:
        raise Skip("dump not available")
    if res.rc != 0:
        raise Fail("%s exited with status %s" % (name, res.rc), res.describe())
    try:
        return json.loads(res.out), res
    except ValueError as e:
        raise Fail("%s: output is not JSON: %s" % (name, e), res.out.splitlines()[:20])
