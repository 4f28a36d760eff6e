# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_top.py - `pybpf top` on a terminal, driven through a tmux pane of a
fixed size: lines cut to the width, the header on the first line, the keys
(?, L, R, q), a resize, all threads counted, and the last screen kept when
the target exits."""
import os
import re
import shutil
import subprocess
import time
import unicodedata

import harness
from harness import WORKLOADS, Fail, Skip, Proc
from casekit import READY_TIMEOUT
import profiles as P

WIDTH, HEIGHT = 80, 24
NARROW = (60, 20)        # the pane after the resize
START = 40.0             # pybpf start-up (BPF load) on a loaded 2-core box
STEP = 10.0              # a key's effect: at most a refresh or two away
FULL = 15                # rows of a full 80x24 screen of names.py
HELP = "Press q to quit, ? for help"
LINE_LABEL = re.compile(r":\d+\)$")
EXITED = re.compile(r"^\[pybpf exited (\d+)\]$")


def cells(text):
    """Terminal columns of text: East Asian wide characters take two."""
    n = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return n


def rows(screen):
    """(own, total, owntime, totaltime, label) of each table row on screen."""
    out = []
    for ln in screen:
        m = P.TOP_ROW_RE.match(ln)
        if m:
            out.append((float(m.group("own")), float(m.group("total")),
                        float(m.group("owntime")), float(m.group("totaltime")),
                        m.group("func").strip()))
    return out


def has_rows(screen):
    return len(rows(screen)) >= 2


def is_table(screen):
    return bool(screen) and screen[0].startswith("pybpf top") and has_rows(screen)


class Pane:
    """A private tmux server (its own socket, no user config) whose windows
    run `pybpf top` and then report its exit status."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.sock = str(ctx.dir / "tmux.sock")
        self.env = dict(os.environ, LC_ALL="C.UTF-8")

    def tmux(self, *args):
        res = subprocess.run(["tmux", "-u", "-f", "/dev/null", "-S", self.sock] +
                             [str(a) for a in args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env, timeout=20)
        return res.stdout.decode("utf-8", "replace")

    def start(self, name, pid):
        cmd = "%s top -p %d; echo \"[pybpf exited $?]\"; sleep 600" % (harness.PYBPF, pid)
        self.tmux("new-session", "-d", "-s", name, "-x", WIDTH, "-y", HEIGHT, cmd)
        self.ctx.note("tmux %dx%d: %s" % (WIDTH, HEIGHT, cmd))

    def screen(self, name):
        """The pane's lines; -J joins what the terminal wrapped, so a line
        longer than the pane is one that did not fit."""
        lines = [ln.rstrip() for ln in self.tmux("capture-pane", "-p", "-J", "-t",
                                                  name).splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    def keys(self, name, keys):
        self.tmux("send-keys", "-t", name, "-l", keys)

    def wait(self, name, pred, timeout):
        """Poll the pane until pred(screen); (screen, True), or the last
        screen and False at the deadline."""
        end = time.monotonic() + timeout
        while True:
            scr = self.screen(name)
            if pred(scr):
                return scr, True
            if time.monotonic() > end:
                return scr, False
            time.sleep(0.1)

    def close(self):
        self.tmux("kill-server")


def pick(ctx):
    for i in ctx.all_interps:
        if not i.missing and i.version and i.version >= (3, 8) and not i.free_threaded:
            return i
    raise Skip("no CPython 3.8+ interpreter with a GIL")


def shown(scr):
    return ["  | " + ln for ln in scr]


def layout(scr, width, what):
    """Problems of a table screen: wrapped lines, the header not first."""
    problems = []
    wide = [ln for ln in scr if cells(ln) > width]
    if wide:
        problems.append("%s: %d line(s) wider than the %d-column pane, e.g. %r"
                        % (what, len(wide), width, wide[0]))
    if not scr or not scr[0].startswith("pybpf top"):
        problems.append("%s: the first line is %r, not the header"
                        % (what, scr[0] if scr else ""))
    return problems


def keys_run(pane, target, problems, evidence):
    """names.py (wide and non-ASCII names): layout, ?, L, R, resize, q."""
    w = "keys"
    pane.start(w, target.pid)
    scr, ok = pane.wait(w, is_table, START)
    if not ok:
        raise Fail("no table with rows in the pane after %.0f s" % START, shown(scr))
    # names.py has ~19 distinct lines: wait for a full screen, where a
    # wrapped line pushes the header off the top
    scr, _ = pane.wait(w, lambda s: len(rows(s)) >= FULL, STEP)
    problems += layout(scr, WIDTH, "first screen")
    if HELP not in scr:
        problems.append("no help line %r" % HELP)
    if not any(LINE_LABEL.search(r[4]) for r in rows(scr)):
        problems.append("the rows are not per line (func (file:line))")
    evidence += ["first screen:"] + shown(scr)

    pane.keys(w, "?")
    scr, ok = pane.wait(w, lambda s: all(any(re.match(r"\s*%s\s" % re.escape(k), ln) for ln in s)
                                         for k in ("L", "R", "q", "?")), STEP)
    if not ok:
        problems.append("'?' does not show the keys L, R, ? and q")
        evidence += ["after '?':"] + shown(scr)
    pane.keys(w, " ")
    scr, ok = pane.wait(w, lambda s: has_rows(s) and not any(re.match(r"\s*L\s", ln)
                                                              for ln in s), STEP)
    if not ok:
        problems.append("a key after '?' does not bring the table back")

    pane.keys(w, "L")
    scr, ok = pane.wait(w, lambda s: has_rows(s) and not any(LINE_LABEL.search(r[4])
                                                              for r in rows(s)), STEP)
    labels = [r[4] for r in rows(scr)]
    if not ok:
        problems.append("'L' does not turn the rows into one per function")
        evidence += ["after 'L':"] + shown(scr)
    elif len(set(labels)) != len(labels):
        problems.append("'L': a function has more than one row: %s" % labels)
    elif any("(filename:line)" in ln for ln in scr):
        problems.append("'L': the column header still says (filename:line)")
    pane.keys(w, "L")
    scr, ok = pane.wait(w, lambda s: has_rows(s) and any(LINE_LABEL.search(r[4])
                                                         for r in rows(s)), STEP)
    if not ok:
        problems.append("a second 'L' does not bring the line numbers back")

    scr, ok = pane.wait(w, lambda s: has_rows(s) and max(r[3] for r in rows(s)) >= 3.0,
                        START)
    before = max(r[3] for r in rows(scr)) if rows(scr) else 0.0
    if not ok:
        problems.append("TotalTime never reached 3 s (%.2f s), R not judged" % before)
    else:
        pane.keys(w, "R")
        scr, ok = pane.wait(w, lambda s: has_rows(s) and
                            max(r[3] for r in rows(s)) <= before / 2, STEP)
        if not ok:
            problems.append("'R' does not reset the totals (TotalTime %.2f s before, "
                            "still >= %.2f s)" % (before, before / 2))
            evidence += ["after 'R':"] + shown(scr)

    pane.tmux("resize-window", "-t", w, "-x", NARROW[0], "-y", NARROW[1])
    scr, ok = pane.wait(w, lambda s: is_table(s) and not layout(s, NARROW[0], ""), STEP)
    if not ok:
        problems += layout(scr, NARROW[0], "after resizing to %dx%d" % NARROW)
        evidence += ["after the resize:"] + shown(scr)

    pane.keys(w, "q")
    scr, ok = pane.wait(w, lambda s: any(EXITED.match(ln) for ln in s), STEP)
    status = next((EXITED.match(ln).group(1) for ln in scr if EXITED.match(ln)), None)
    if status != "0":
        problems.append("'q': pybpf top %s" % ("still runs" if status is None
                                               else "exited with status " + status))


def exit_run(pane, target, problems, evidence):
    """states.py (threads that never run): the thread count, then the exit."""
    w = "exit"
    pane.start(w, target.pid)
    scr, ok = pane.wait(w, is_table, START)
    if not ok:
        raise Fail("no table with rows in the pane after %.0f s" % START, shown(scr))
    want = len(os.listdir("/proc/%d/task" % target.pid))
    m = next((re.search(r"\bthreads:? (\d+)", ln) for ln in scr[:4]
              if re.search(r"\bthreads:? (\d+)", ln)), None)
    if not m or int(m.group(1)) != want:
        problems.append("header says %s, the target has %d threads"
                        % (m.group(0) if m else "no thread count", want))
    last = rows(scr)
    target.kill()
    said = "process %d exited" % target.pid
    scr, ok = pane.wait(w, lambda s: any(EXITED.match(ln) for ln in s), STEP)
    if said not in scr:
        problems.append("no line %r after the target exited" % said)
    if not any("states.py" in r[4] for r in rows(scr)):
        problems.append("the last rows did not stay on the screen (%d rows before)"
                        % len(last))
    if not any(ln == "[pybpf exited 0]" for ln in scr):
        problems.append("exit status after the target exited: %s"
                        % (next((ln for ln in scr if EXITED.match(ln)), "still running")))
    if problems:
        evidence += ["after the target exited:"] + shown(scr)


def case_top_tty(ctx):
    """top on an 80x24 terminal (tmux): fits, keys ?/L/R/q, resize, threads, exit."""
    if not shutil.which("tmux"):
        raise Skip("tmux not installed (make deps)")
    interp = pick(ctx)
    ctx.note("interpreter %s" % interp.path)
    pane = Pane(ctx)
    names = Proc([interp.path, WORKLOADS / "names.py", 120], ctx.dir, "names")
    states = None
    problems, evidence = [], []
    try:
        names.wait_ready(READY_TIMEOUT)
        keys_run(pane, names, problems, evidence)
        names.kill()
        states = Proc([interp.path, WORKLOADS / "states.py", 120], ctx.dir, "states")
        states.wait_ready(READY_TIMEOUT)
        exit_run(pane, states, problems, evidence)
    finally:
        pane.close()
        names.kill()
        if states:
            states.kill()
    if problems:
        raise Fail(problems[0], problems[1:] + evidence)
