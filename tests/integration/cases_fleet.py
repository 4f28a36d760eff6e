# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_fleet.py - `record --all`: every CPython process of every installed
version, including ones started later; --rotate and SIGUSR1."""
import re
import signal
import time

from harness import Fail, Proc, Skip, pybpf_start, finish, WORKLOADS
import profiles as P

FLEET_SECONDS = 14


def interpreters(ctx):
    return [i for i in ctx.all_interps if not i.missing]


def start_member(ctx, interp, tag, seconds):
    return Proc([interp.path, WORKLOADS / "fleet.py", tag, seconds], ctx.dir, "fleet-" + tag)


def read_dir(out):
    """{pid: (comm, stacks)} from one-file-per-process output."""
    found = {}
    for f in sorted(out.iterdir()):
        m = re.match(r"^(\d+)-(.+)\.folded$", f.name)
        if not m:
            raise Fail("unexpected file name in the output directory: %s" % f.name)
        found[int(m.group(1))] = (m.group(2), P.parse_collapsed(f.read_text()))
    return found


def case_fleet(ctx):
    """32 processes of mixed versions, 8 of them started after pybpf and 8
    exiting during the record: each has its own file with only its own
    fleet_TAG function."""
    interps = interpreters(ctx)
    if not interps:
        raise Skip("no supported interpreter installed")
    members = {}
    for i in range(24):
        interp = interps[i % len(interps)]
        secs = 8 if i % 3 == 0 else FLEET_SECONDS + 20  # some exit during the record
        members["m%d" % i] = start_member(ctx, interp, "m%d" % i, secs)
    for p in members.values():
        p.wait_ready(30)
    out = ctx.dir / "fleet"
    rec = pybpf_start(["record", "--all", "-d", FLEET_SECONDS, "-f", "collapsed", "-o", out,
                       "--comm", "^python"], ctx.dir, "record-all")
    time.sleep(3)
    for i in range(24, 32):  # started while pybpf runs
        interp = interps[i % len(interps)]
        members["m%d" % i] = start_member(ctx, interp, "m%d" % i, FLEET_SECONDS)
    res = finish(rec, FLEET_SECONDS + 60)
    if res.rc != 0:
        raise Fail("record --all exited with %s" % res.rc, res.describe())
    found = read_dir(out)
    problems = []
    for tag, proc in members.items():
        if proc.pid not in found:
            problems.append("process %d (%s, %s) has no profile" % (proc.pid, tag, proc.argv[0]))
            continue
        stacks = found[proc.pid][1]
        mine = sum(s.count for s in stacks if s.frames[-1].name == "fleet_" + tag
                   and s.frames[-1].file == "fleet_%s.py" % tag)
        other = [s for s in stacks if s.frames[-1].name.startswith("fleet_")
                 and s.frames[-1].name != "fleet_" + tag]
        if other:
            problems.append("process %d (%s) shows another member's function: %s"
                            % (proc.pid, tag, other[0].frames[-1].label))
        if mine < 5:
            problems.append("process %d (%s): only %d samples in fleet_%s"
                            % (proc.pid, tag, mine, tag))
    summary = P.parse_summary(res.err)
    if summary and summary["lost"]:
        problems.append("%d samples lost" % summary["lost"])
    for p in members.values():
        p.kill()
    if problems:
        raise Fail("%d of %d fleet members wrong: %s" % (len(problems), len(members), problems[0]),
                   problems[1:12] + res.describe(6))


def case_rotate(ctx):
    """--rotate 4 for 13 s: consecutive files whose sample counts add up to
    the whole recording (the summary line's count)."""
    interps = interpreters(ctx)
    if not interps:
        raise Skip("no supported interpreter installed")
    member = start_member(ctx, interps[0], "rot", 60)
    member.wait_ready(30)
    out = ctx.dir / "rot.txt"
    res = finish(pybpf_start(["record", "--all", "--merge", "--rotate", 4, "-d", 13, "-f",
                              "collapsed", "-o", out, "--comm", "^python"], ctx.dir,
                             "record-rotate"), 60)
    member.kill()
    if res.rc != 0:
        raise Fail("record --rotate exited with %s" % res.rc, res.describe())
    files = sorted(ctx.dir.glob("rot-*.txt"))
    totals = [P.total(P.parse_collapsed(f.read_text())) for f in files]
    ctx.note("rotated files: %s" % list(zip([f.name for f in files], totals)))
    if len(files) < 4:
        raise Fail("expected 4 files (3 rotations and the rest), got %s"
                   % [f.name for f in files], res.describe())
    if min(totals[:3]) == 0:
        raise Fail("an empty rotated file: %s" % list(zip([f.name for f in files], totals)))
    summary = P.parse_summary(res.err)
    if not summary or summary["samples"] != sum(totals):
        raise Fail("rotated files hold %d samples, the summary says %s"
                   % (sum(totals), summary and summary["samples"]), res.describe())


def case_rotate_churn(ctx):
    """--all --rotate 2 over processes that start and exit every 0.7 s: a
    rotation forgets what exited processes needed (-v says so), never
    before their samples are written: every member is named in a file,
    no frame is unknown, the files add up to the summary."""
    interps = interpreters(ctx)
    if not interps:
        raise Skip("no supported interpreter installed")
    out = ctx.dir / "churn.txt"
    # 499 Hz: a member spins ~50 ms in its 1.5 s, some 25 samples
    rec = pybpf_start(["record", "--all", "--merge", "--rotate", 2, "-d", 12, "-r", 499, "-f",
                       "collapsed", "-o", out, "--comm", "^python", "-v"], ctx.dir, "record-churn")
    time.sleep(1)
    members = {}
    for i in range(12):
        tag = "c%d" % i
        members[tag] = start_member(ctx, interps[i % len(interps)], tag, 1.5)
        time.sleep(0.7)
        for m in members.values():
            m.p.poll()   # reap the exited ones: a zombie is not gone yet
    res = finish(rec, 60)
    for p in members.values():
        p.kill()
    if res.rc != 0:
        raise Fail("record --rotate exited with %s" % res.rc, res.describe())
    files = sorted(ctx.dir.glob("churn-*.txt"))
    stacks = [s for f in files for s in P.parse_collapsed(f.read_text())]
    problems = []
    for tag in members:
        if not any(s.frames[-1].name == "fleet_" + tag and s.frames[-1].file == "fleet_%s.py" % tag
                   for s in stacks):
            problems.append("fleet_%s (an exited member) is in no rotated file" % tag)
    unknown = [s for s in stacks if any("<unknown>" in fr.label for fr in s.frames)]
    if unknown:
        problems.append("%d stacks with an unknown frame, e.g. %s"
                        % (len(unknown), ";".join(fr.label for fr in unknown[0].frames)))
    forgot = [int(m) for m in re.findall(r"forgot (\d+) exited processes", res.err)]
    if not forgot or max(forgot) == 0:
        problems.append("no rotation forgot an exited process (-v: %s)" % forgot)
    summary = P.parse_summary(res.err)
    if not summary or summary["samples"] != P.total(stacks):
        problems.append("rotated files hold %d samples, the summary says %s"
                        % (P.total(stacks), summary and summary["samples"]))
    if summary and summary["lost"]:
        problems.append("%d samples lost" % summary["lost"])
    ctx.note("%d files, forgotten per rotation: %s" % (len(files), forgot))
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe(8))


def case_sigusr1(ctx):
    """SIGUSR1 writes a valid profile mid-run and the recording goes on."""
    interps = interpreters(ctx)
    if not interps:
        raise Skip("no supported interpreter installed")
    member = start_member(ctx, interps[0], "usr1", 60)
    member.wait_ready(30)
    out = ctx.dir / "usr1.txt"
    rec = pybpf_start(["record", "--all", "--merge", "-d", 8, "-f", "collapsed", "-o", out,
                       "--comm", "^python"], ctx.dir, "record-usr1")
    time.sleep(4)
    rec.signal(signal.SIGUSR1)
    deadline = time.time() + 5
    while not out.exists() and time.time() < deadline:
        time.sleep(0.1)
    if not out.exists():
        raise Fail("no file 5 s after SIGUSR1")
    mid = P.parse_collapsed(out.read_text())
    if rec.p.poll() is not None:
        raise Fail("pybpf exited after SIGUSR1 (status %s)" % rec.p.returncode)
    res = finish(rec, 30)
    member.kill()
    end = P.parse_collapsed(out.read_text())
    if res.rc != 0 or not mid or P.total(end) <= P.total(mid):
        raise Fail("SIGUSR1 snapshot %d samples, final %d, exit %s"
                   % (P.total(mid), P.total(end), res.rc), res.describe())


def build_chroot(root):
    """A minimal root for Debian's python3.11: the binary, its libraries
    (from ldd) and the encodings package, all it needs to start with -S."""
    import shutil
    import subprocess
    py = "/usr/bin/python3.11"
    out = subprocess.run(["ldd", py], stdout=subprocess.PIPE, universal_newlines=True).stdout
    files = [py] + re.findall(r"(/\S+\.so[.\d]*)", out)
    for f in files:
        dest = root / f.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, str(dest), follow_symlinks=True)
    shutil.copytree("/usr/lib/python3.11/encodings", str(root / "usr/lib/python3.11/encodings"))
    (root / "tmp").mkdir(exist_ok=True)
    shutil.copy2(str(WORKLOADS / "fleet.py"), str(root / "tmp/fleet.py"))


def ns_child(pid):
    """The unshare'd python: the child of the unshare process."""
    import os
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        return int(d)
            except (OSError, ValueError, IndexError):
                pass
    return None


def case_containers(ctx):
    """A process in its own pid and mount namespace (unshare) and one in a
    chroot built from copies: both profiled, the first with both pids."""
    import os
    import shutil
    interps = interpreters(ctx)
    if not interps or not shutil.which("unshare") or not os.path.exists("/usr/bin/python3.11"):
        raise Skip("needs unshare and /usr/bin/python3.11")
    ns = Proc(["unshare", "--pid", "--mount-proc", "--fork", interps[-1].path,
               WORKLOADS / "fleet.py", "ns", 60], ctx.dir, "unshare")
    root = ctx.dir / "root"
    build_chroot(root)
    ch = Proc(["chroot", root, "/usr/bin/python3.11", "-S", "/tmp/fleet.py", "chroot", 60],
              ctx.dir, "chroot")
    ns.wait_ready(30)
    ch.wait_ready(30)
    ctx.note("unshare'd python: pid %s; chroot'ed: pid %s" % (ns_child(ns.pid), ch.pid))
    for attempt in (1, 2):  # once more if the first record missed one (see the -v lines)
        out = ctx.dir / ("all-%d.txt" % attempt)
        res = finish(pybpf_start(["record", "--all", "--merge", "-d", 4, "-f", "collapsed",
                                  "-o", out, "--comm", "^python", "-v"], ctx.dir,
                                 "record-containers-%d" % attempt), 60)
        text = out.read_text() if out.exists() else ""
        if res.rc != 0 or ("fleet_ns" in text and "fleet_chroot" in text):
            break
        ctx.note("attempt %d missed a process: %s" % (attempt, res.err_lines()[-12:]))
    ns.kill()
    ch.kill()
    if res.rc != 0:
        raise Fail("record --all exited with %s" % res.rc, res.describe())
    stacks = P.parse_collapsed(out.read_text())
    problems = []
    in_ns = [s for s in stacks if s.frames[-1].name == "fleet_ns"]
    if not in_ns:
        problems.append("no fleet_ns samples from the unshare'd process (pid %s)" % ns_child(ns.pid))
        problems += [l for l in res.err_lines() if "profiling pid" in l or "pid" in l][:12]
    elif not re.match(r"^process \d+ \[ns 1\]: ", in_ns[0].frames[0].label):
        problems.append("the unshare'd process's root frame lacks its namespace pid: %s"
                        % in_ns[0].frames[0].label)
    if not any(s.frames[-1].name == "fleet_chroot" for s in stacks):
        problems.append("no fleet_chroot samples from the chroot'ed process")
    if problems:
        raise Fail(problems[0], problems[1:] + P.evidence(stacks, 8) + res.describe(4))
