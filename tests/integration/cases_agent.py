# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases_agent.py - `pybpf agent` against a fake Pyroscope: a small HTTP
server on 127.0.0.1, in a thread of the test runner, that implements the
contract of Pyroscope's POST /ingest (name, from, until, format=pprof,
sampleRate, spyName; the pprof in the multipart form field "profile"),
decodes every profile with the decoder of cases_pprof.py and records what
it got.  It can also answer 500, or be stopped and started again on the
same port.

The agent does not depend on the Python version, so each case runs once,
on one interpreter (Debian's python3.11, else the first installed one),
reached through a symlink named "pyagent" so that --comm '^pyagent$'
selects the case's own workload and nothing else on the host.
"""
import gzip
import os
import re
import signal
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from harness import WORKLOADS, Fail, Skip, pybpf_start, finish
from casekit import WORKLOAD_MAX, start
from cases_pprof import _ints, _varint, parse_pprof, pprof_stacks
import profiles as P

COMM = "pyagent"
RATE = 250
SLOW = 1.5            # seconds the receiver takes in "slow" mode


# ---- the fake Pyroscope ----------------------------------------------------

class Receiver:
    """POST /ingest recorder.  mode: "ok" (200), "error" (500), "slow" (an
    answer after SLOW seconds, recorded as status 599: a backend that gave
    up on it, so the client must send it again)."""

    def __init__(self):
        self.requests = []      # every request, in arrival order
        self.mode = "ok"
        self.lock = threading.Lock()
        self.port = 0
        self.server = None

    def start(self):
        recv = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, got = recv.ingest(self.path, self.headers, body)
                if status == 599:
                    time.sleep(SLOW)
                    status = 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"ok\n" if status == 200
                                     else ("%s\n" % got.get("error", "")).encode())
                except OSError:
                    pass  # the client timed out and left

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def ingest(self, path, headers, body):
        """Check the request as Pyroscope would; decode what it carries."""
        u = urlsplit(path)
        q = dict((k, v[0]) for k, v in parse_qs(u.query).items())
        got = {"t": time.time(), "path": u.path, "query": q, "headers": dict(headers),
               "status": 200}
        try:
            if u.path == "/v1development/profiles":
                if headers.get("Content-Type") != "application/x-protobuf":
                    raise ValueError("OTLP Content-Type %r" % headers.get("Content-Type"))
                got["otlp"] = parse_otlp(body)
                with self.lock:
                    self.requests.append(got)
                return 200, got
            if u.path != "/ingest":
                raise ValueError("POST %s: Pyroscope ingests at /ingest" % u.path)
            for k in ("name", "from", "until"):
                if k not in q:
                    raise ValueError("query parameter %s is required" % k)
            got["from"], got["until"] = int(q["from"]), int(q["until"])
            got["app"], got["labels"] = parse_name(q["name"])
            data = form_field(headers.get("Content-Type", ""), body, "profile")
            got["prof"] = parse_pprof(gzip.decompress(data))
        except (ValueError, KeyError, OSError, EOFError, UnicodeDecodeError) as e:
            got["status"], got["error"] = 400, str(e)
        if got["status"] == 200 and self.mode == "error":
            got["status"] = 500
        if got["status"] == 200 and self.mode == "slow":
            got["status"] = 599
        with self.lock:
            self.requests.append(got)
        return got["status"], got

    def accepted(self):
        with self.lock:
            return [r for r in self.requests if r["status"] == 200 and "prof" in r]

    def otlp(self):
        with self.lock:
            return [r for r in self.requests if r["status"] == 200 and "otlp" in r]


# ---- a minimal OTLP profiles (v1development) decoder ----------------------

def _msg(buf):
    """(field, value) of one protobuf message: int for varint and fixed, bytes for len."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
        elif wire == 1:
            v, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wire == 5:
            v, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        elif wire == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise ValueError("field %d runs past the end of its message" % num)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wire)
        out.append((num, v))
    return out


def _one(buf, field, default=0):
    vals = [v for n, v in _msg(buf) if n == field]
    return vals[-1] if vals else default


def _packed(buf, field):
    out = []
    for n, v in _msg(buf):
        if n == field:
            out += _ints(2 if isinstance(v, bytes) else 0, v)
    return out


def _any(buf):
    for n, v in _msg(buf):
        if n == 1:
            return v.decode("utf-8")
        if n == 3:
            return v
    return None


def parse_otlp(data):
    """ExportProfilesServiceRequest -> {"dict": tables, "resources": [...]}: each
    resource {"attrs": {k: v}, "profiles": [{"type", "unit", "period", "time",
    "samples": [(leaf first [(function, file, line)], {attr: value}, values)]}]}."""
    top = _msg(data)
    dbuf = [v for n, v in top if n == 2]
    if len(dbuf) != 1:
        raise ValueError("%d dictionaries" % len(dbuf))
    tables = {}
    for n, v in _msg(dbuf[0]):
        tables.setdefault(n, []).append(v)
    strings = [s.decode("utf-8") for s in tables.get(5, [])]
    d = {"mapping": tables.get(1, []), "location": tables.get(2, []),
         "function": tables.get(3, []), "link": tables.get(4, []), "string": strings,
         "attribute": tables.get(6, []), "stack": tables.get(7, [])}
    for name, t in d.items():
        if not t or t[0] not in (b"", ""):
            raise ValueError("dictionary %s_table[0] is not the zero value" % name)

    def frame(li):
        line = _one(d["location"][li], 3, b"")
        fn = d["function"][_one(line, 1)]
        return (strings[_one(fn, 1)], strings[_one(fn, 3)], _one(line, 2))

    def attr(ai):
        kv = d["attribute"][ai]
        return strings[_one(kv, 1)], _any(_one(kv, 2, b""))

    resources = []
    for n, rp in top:
        if n != 1:
            continue
        res = {"attrs": {}, "profiles": []}
        for kv in [v for f, v in _msg(_one(rp, 1, b"")) if f == 1]:
            res["attrs"][_one(kv, 1, b"").decode()] = _any(_one(kv, 2, b""))
        for sp in [v for f, v in _msg(rp) if f == 2]:
            for pb in [v for f, v in _msg(sp) if f == 2]:
                st = _one(pb, 1, b"")
                prof = {"type": strings[_one(st, 1)], "unit": strings[_one(st, 2)],
                        "period": _one(pb, 6), "time": _one(pb, 3), "samples": []}
                for smp in [v for f, v in _msg(pb) if f == 2]:
                    locs = _packed(d["stack"][_one(smp, 1)], 1)
                    prof["samples"].append(([frame(li) for li in locs],
                                            dict(attr(a) for a in _packed(smp, 2)),
                                            _packed(smp, 4)))
                res["profiles"].append(prof)
        resources.append(res)
    return {"resources": resources}


def parse_name(name):
    """'app{k=v,k2=v2}' -> ('app', {k: v}), with Pyroscope's rules."""
    m = re.match(r"^([A-Za-z0-9_./-]+)\{([^{}]*)\}$", name)
    if not m:
        raise ValueError("name %r is not app{labels} with a valid application name" % name)
    labels = {}
    for kv in filter(None, m.group(2).split(",")):
        k, _, v = kv.partition("=")
        if not re.match(r"^[A-Za-z0-9_.]+$", k) or not _:
            raise ValueError("label %r in name %r is not key=value" % (kv, name))
        labels[k] = v
    return m.group(1), labels


def form_field(ctype, body, field):
    m = re.search(r"boundary=\"?([^\";]+)\"?", ctype)
    if not ctype.startswith("multipart/form-data") or not m:
        raise ValueError("Content-Type %r is not multipart/form-data" % ctype)
    for part in body.split(b"--" + m.group(1).encode())[1:]:
        head, sep, data = part.partition(b"\r\n\r\n")
        if sep and re.search(rb'name="%s"' % field.encode(), head):
            return data[:-2] if data.endswith(b"\r\n") else data
    raise ValueError("no form field %r" % field)


# ---- helpers ---------------------------------------------------------------

def interpreter(ctx):
    if os.path.exists("/usr/bin/python3.11"):
        return types.SimpleNamespace(path="/usr/bin/python3.11", version=(3, 11),
                                     label="debian-3.11")
    for i in ctx.all_interps:
        if not i.missing and i.version >= (3, 7) and not i.free_threaded:
            return i
    raise Skip("no interpreter installed")


def start_workload(ctx, script, *args):
    """script under the chosen interpreter, as a process whose comm is COMM."""
    interp = interpreter(ctx)
    link = ctx.dir / COMM
    if not link.exists():
        os.symlink(interp.path, str(link))
    ctx.interp = types.SimpleNamespace(path=str(link), version=interp.version,
                                       label=interp.label)
    return start(ctx, script, *args)


def agent(ctx, recv_url, extra, name="agent"):
    return pybpf_start(["agent", "--push", recv_url, "--comm", "^%s$" % COMM, "-r", RATE]
                       + [str(a) for a in extra], ctx.dir, name)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scrape(port):
    """GET /metrics -> {name: value} (comments skipped); {} if it fails."""
    from urllib.request import urlopen
    try:
        text = urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    except OSError as e:
        return {"error": str(e)}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.partition(" ")
            out[k] = float(v)
    return out


def wait_started(proc, timeout=30):
    """Until the agent says it samples (loading BPF takes seconds on a busy box)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if "agent: profiling every" in proc.err():
            return
        if proc.p.poll() is not None:
            break
        time.sleep(0.05)
    raise Fail("the agent did not start within %d s" % timeout,
               ["stderr: " + l for l in proc.err().splitlines()[-8:]])


def mine(recv, pid, kind="cpu"):
    """Accepted profiles of pid of one kind (cpu, or wall: a wall sample type)."""
    out = []
    for r in recv.accepted():
        if r["labels"].get("pid") != str(pid):
            continue
        st = r["prof"]["strings"]
        types_ = [st[t.get(1, 0)] for t in r["prof"]["sample_type"]]
        if ("wall" in types_) == (kind == "wall"):
            out.append(r)
    return out


def chain_problems(profiles, what):
    """Intervals in arrival order: each starts where the last ended, none twice."""
    problems = []
    spans = [(r["from"], r["until"]) for r in profiles]
    if len(set(spans)) != len(spans):
        problems.append("%s: an interval arrived twice: %s" % (what, spans))
    for a, b in zip(spans, spans[1:]):
        if b[0] != a[1]:
            problems.append("%s: interval %s follows %s (a gap, an overlap or out of order)"
                            % (what, b, a))
    return problems


def evidence(recv, res=None):
    ev = ["%s %s %s-%s %s" % (r["status"], r["query"].get("name", "?"), r.get("from"),
                              r.get("until"), r.get("error", "")) for r in recv.requests[-12:]]
    return ev + (res.describe(8) if res else [])


def total(prof):
    return sum(s["value"][0] for s in prof["sample"])


# ---- the cases -------------------------------------------------------------

def case_agent_push(ctx):
    """3 intervals of 2 s: one profile per interval for the workload, its
    hot function work_a, the query parameters and labels of the contract,
    and as many samples pushed as the agent counted."""
    recv = Receiver().start()
    try:
        target = start_workload(ctx, "split.py", WORKLOAD_MAX)
        headers = ctx.dir / "headers"
        headers.write_text("# a token stays out of the process list\n"
                           "Authorization: Bearer s3cret\n\n")
        mport = free_port()
        ag = agent(ctx, recv.url(), ["--interval", "2s", "-d", 7, "--tag", "env=test",
                                     "--tag", "team=py", "--service", "checkout",
                                     "--header", "X-Scope-OrgID: tenant-7",
                                     "--header-file", headers,
                                     "--metrics", "127.0.0.1:%d" % mport])
        wait_started(ag)
        time.sleep(4.5)
        metrics = scrape(mport)
        res = finish(ag, 60)
    finally:
        recv.stop()
    target.kill()
    if res.rc != 0:
        raise Fail("agent exited with status %s" % res.rc, evidence(recv, res))
    bad = [r for r in recv.requests if r["status"] != 200]
    if bad:
        raise Fail("the receiver refused a request: %s" % bad[0].get("error"), evidence(recv, res))
    got = mine(recv, target.pid)
    problems = []
    if not 3 <= len(got) <= 5:
        problems.append("%d profiles for pid %d in 7 s at --interval 2s, expected 4"
                        % (len(got), target.pid))
    problems += chain_problems(got, "pid %d" % target.pid)
    host = os.uname()[1]
    want = {"pid": str(target.pid), "comm": COMM, "host": host, "env": "test", "team": "py"}
    for r in got:
        q = r["query"]
        if r["app"] != "checkout":
            problems.append("application name %r, expected checkout (--service)" % r["app"])
        wrong = dict((k, r["labels"].get(k)) for k, v in want.items() if r["labels"].get(k) != v)
        if wrong:
            problems.append("labels %s, expected %s" % (r["labels"], want))
        if not re.match(r"^\d+\.\d+\.\d+", r["labels"].get("python_version", "")):
            problems.append("python_version label %r" % r["labels"].get("python_version"))
        if (q.get("format"), q.get("sampleRate"), q.get("spyName")) != ("pprof", str(RATE), "pybpf"):
            problems.append("query %s: expected format=pprof, sampleRate=%d, spyName=pybpf"
                            % (q, RATE))
        if (r["headers"].get("X-Scope-OrgID"), r["headers"].get("Authorization")) != \
                ("tenant-7", "Bearer s3cret"):
            problems.append("headers X-Scope-OrgID, Authorization missing: %s" % r["headers"])
        if not 1 <= r["until"] - r["from"] <= 3:
            problems.append("interval %d-%d is not ~2 s" % (r["from"], r["until"]))
        if problems:
            break
    stacks = [s for r in got for s in pprof_stacks(r["prof"])]
    leaves = P.leaf_names(stacks)
    if not stacks or max(leaves, key=leaves.get) != "work_a":
        problems.append("work_a is not the hottest leaf: %s" % sorted(leaves.items(),
                                                                       key=lambda x: -x[1])[:4])
    if got and min(total(r["prof"]) for r in got[:-1] or got) < RATE // 5:
        problems.append("an interval holds fewer than %d samples: %s"
                        % (RATE // 5, [total(r["prof"]) for r in got]))
    m = re.search(r"agent: \d+ processes, (\d+) samples", res.err.splitlines()[-1] if res.err else "")
    pushed = sum(total(r["prof"]) for r in recv.accepted())
    if not m or int(m.group(1)) != pushed:
        problems.append("the agent counted %s samples, the receiver got %d"
                        % (m and m.group(1), pushed))
    for name in ("pybpf_agent_pushed_total", "pybpf_agent_samples_total",
                 "pybpf_agent_processes"):
        if not metrics.get(name, 0) >= 1:
            problems.append("--metrics: %s is %s after 2 intervals" % (name, metrics.get(name)))
    ctx.note("%d profiles: %s" % (len(got), [(r["from"], r["until"], total(r["prof"])) for r in got]),
             "metrics: %s" % metrics)
    if problems:
        raise Fail(problems[0], problems[1:6] + evidence(recv, res))


def case_agent_outage(ctx):
    """The receiver up, then stopped for 20 s (the issue's outage), then
    answering 500 for 2 s, then too slow for --timeout for 2 s, then up
    again: every 1 s interval arrives (from the spool), in order, none twice."""
    recv = Receiver().start()
    spool = ctx.dir / "spool"
    try:
        target = start_workload(ctx, "split.py", WORKLOAD_MAX)
        ag = agent(ctx, recv.url(), ["--interval", "1s", "-d", 30, "--spool", spool,
                                     "--backoff-max", "1", "--timeout", "0.5",
                                     "--service", "outage"])
        wait_started(ag)
        time.sleep(2.5)
        recv.stop()
        time.sleep(20)
        recv.mode = "error"
        recv.start()
        time.sleep(2)
        recv.mode = "slow"
        time.sleep(2)
        recv.mode = "ok"
        res = finish(ag, 60)
    finally:
        recv.stop()
    target.kill()
    if res.rc != 0:
        raise Fail("agent exited with status %s" % res.rc, evidence(recv, res))
    got = mine(recv, target.pid)
    errors = [r for r in recv.requests if r["status"] == 500]
    slow = [r for r in recv.requests if r["status"] == 599]
    problems = chain_problems(got, "pid %d" % target.pid)
    if len(got) < 28:
        problems.append("%d profiles arrived for 30 s at --interval 1s" % len(got))
    if not errors or not slow:
        problems.append("%d requests while the receiver answered 500, %d while it was slow"
                        % (len(errors), len(slow)))
    retried = set((r["from"], r["query"]["name"]) for r in errors + slow) - \
        set((r["from"], r["query"]["name"]) for r in recv.accepted())
    if retried:
        problems.append("profiles answered 500 or too slowly never arrived later: %s"
                        % sorted(retried)[:3])
    for what in ("Couldn't connect", "HTTP 500", "timed out"):
        if what not in res.err:
            problems.append("the agent did not log a failed push (%s)" % what)
    left = list(spool.iterdir()) if spool.exists() else []
    if left:
        problems.append("the spool still holds %d file(s) after a clean exit" % len(left))
    ctx.note("%d profiles, %d answered 500, %d too slowly: %s"
             % (len(got), len(errors), len(slow), [(r["from"], r["until"]) for r in got]))
    if problems:
        raise Fail(problems[0], problems[1:6] + evidence(recv, res))


def case_agent_spool(ctx):
    """The backend away for a whole run: the spool, bounded at 2 KiB,
    drops the oldest profiles and says so; the next run (backend up) sends
    what the spool kept first, oldest first: the newest profiles of the
    first run."""
    recv = Receiver()
    recv.start()
    url = recv.url()
    recv.stop()                  # the port stays known, nobody listens
    spool = ctx.dir / "spool"
    target = start_workload(ctx, "split.py", WORKLOAD_MAX)
    res = finish(agent(ctx, url, ["--interval", "1s", "-d", 8, "--spool", spool, "--spool-max",
                                  "2K", "--flush-timeout", "1", "--service", "spooled"],
                       "agent-down"), 40)
    drops = [l for l in res.err_lines() if "dropped the oldest profile" in l]
    kept = sorted(spool.iterdir()) if spool.exists() else []
    problems = []
    if res.rc != 0:
        problems.append("agent exited with status %s" % res.rc)
    if not drops:
        problems.append("no 'dropped the oldest profile' line in the log")
    m = re.search(r"(\d+) dropped,", res.err.splitlines()[-1] if res.err else "")
    if not m or int(m.group(1)) != len(drops):
        problems.append("the status line says %s dropped, the log has %d drop lines"
                        % (m and m.group(1), len(drops)))
    if not kept or sum(f.stat().st_size for f in kept) > 2 * 1024:
        problems.append("the spool holds %d files, %d bytes (limit 2K)"
                        % (len(kept), sum(f.stat().st_size for f in kept)))
    if problems:
        raise Fail(problems[0], problems[1:] + res.describe(10))
    recv.start()
    try:
        res2 = finish(agent(ctx, recv.url(), ["--interval", "5s", "-d", 2, "--spool", spool,
                                              "--service", "spooled"], "agent-up"), 40)
    finally:
        recv.stop()
    target.kill()
    got = mine(recv, target.pid)
    first = got[:len(kept)]
    spans = [(r["from"], r["until"]) for r in first]
    if res2.rc != 0:
        problems.append("second agent exited with status %s" % res2.rc)
    if "left by a previous run" not in res2.err:
        problems.append("the second agent did not say it found spooled profiles")
    if len(first) != len(kept):
        problems.append("%d spooled profiles, %d arrived" % (len(kept), len(first)))
    if spans != sorted(spans) or len(set(spans)) != len(spans):
        problems.append("spooled profiles arrived out of order or twice: %s" % spans)
    problems += chain_problems(first, "spooled")
    if spool.exists() and list(spool.iterdir()):
        problems.append("the spool is not empty after delivery")
    ctx.note("kept %d files; arrived first: %s" % (len(kept), spans))
    if problems:
        raise Fail(problems[0], problems[1:] + evidence(recv, res2))


def case_agent_service(ctx):
    """--per-service: two processes of one service make one profile per
    interval, named for the service alone, whose samples carry each
    process's pid."""
    recv = Receiver().start()
    try:
        a = start_workload(ctx, "split.py", WORKLOAD_MAX)
        b = start_workload(ctx, "split.py", WORKLOAD_MAX)
        res = finish(agent(ctx, recv.url(), ["--interval", "2s", "-d", 5, "--per-service",
                                             "--service", "billing", "--tag", "env=test"]), 40)
    finally:
        recv.stop()
    a.kill()
    b.kill()
    got = [r for r in recv.accepted() if r["app"] == "billing"]
    problems = []
    if res.rc != 0:
        problems.append("agent exited with status %s" % res.rc)
    if not 2 <= len(got) <= 4:
        problems.append("%d billing profiles in 5 s at --interval 2s, expected 3" % len(got))
    problems += chain_problems(got, "billing")
    for r in got:
        if set(r["labels"]) != {"host", "env"}:
            problems.append("per-service labels %s, expected host and env only" % r["labels"])
            break
    st = lambda r: r["prof"]["strings"]
    pids = set()
    for r in got:
        for smp in r["prof"]["sample"]:
            for l in smp["label"]:
                if st(r)[l.get(1, 0)] == "pid":
                    pids.add(l.get(3))
    if pids != {a.pid, b.pid}:
        problems.append("samples of pids %s, expected both processes %s" % (sorted(pids),
                                                                           [a.pid, b.pid]))
    if problems:
        raise Fail(problems[0], problems[1:] + evidence(recv, res))


def case_agent_otlp(ctx):
    """--push and --otlp (experimental) together: each interval also arrives
    as an OTLP profiles request (v1development, HTTP/protobuf) whose
    dictionary starts with zero values, whose resource names the service
    and process, and whose cpu samples add up to the pprof's count."""
    recv = Receiver().start()
    try:
        target = start_workload(ctx, "split.py", WORKLOAD_MAX)
        res = finish(agent(ctx, recv.url(), ["--interval", "2s", "-d", 5, "--service", "otel",
                                             "--otlp", recv.url(), "--tag", "env=test"]), 40)
    finally:
        recv.stop()
    target.kill()
    bad = [r for r in recv.requests if r["status"] != 200]
    if res.rc != 0 or bad:
        raise Fail("agent exited with %s; %d requests refused: %s"
                   % (res.rc, len(bad), bad and bad[0].get("error")), evidence(recv, res))
    pprofs = dict((r["from"], total(r["prof"])) for r in mine(recv, target.pid))
    otlp = []
    for r in recv.otlp():
        for rs in r["otlp"]["resources"]:
            if rs["attrs"].get("process.pid") == target.pid:
                otlp.append(rs)
    problems = []
    if len(otlp) != len(pprofs) or not otlp:
        problems.append("%d OTLP requests for pid %d, %d pprof profiles"
                        % (len(otlp), target.pid, len(pprofs)))
    want = {"service.name": "otel", "process.executable.name": COMM, "env": "test",
            "process.runtime.name": "CPython"}
    leaves = {}
    for rs in otlp:
        wrong = dict((k, rs["attrs"].get(k)) for k, v in want.items() if rs["attrs"].get(k) != v)
        if wrong:
            problems.append("resource attributes %s, expected %s" % (rs["attrs"], want))
        cpu = [p for p in rs["profiles"] if (p["type"], p["unit"]) == ("cpu", "nanoseconds")]
        if len(cpu) != 1 or len(rs["profiles"]) != 1:
            problems.append("profiles %s, expected one cpu/nanoseconds"
                            % [(p["type"], p["unit"]) for p in rs["profiles"]])
            continue
        p = cpu[0]
        n = sum(sum(v) for _, _, v in p["samples"]) // max(p["period"], 1)
        frm = p["time"] // 10**9
        if p["period"] != 10**9 // RATE or pprofs.get(frm) != n:
            problems.append("OTLP interval at %d: %d samples of period %d, the pprof has %s"
                            % (frm, n, p["period"], pprofs.get(frm)))
        for frames, attrs, values in p["samples"]:
            leaves[frames[0][0]] = leaves.get(frames[0][0], 0) + sum(values)
            if "thread.id" not in attrs or "thread.name" not in attrs:
                problems.append("sample attributes %s lack thread.id/thread.name" % attrs)
                break
    if not leaves or max(leaves, key=leaves.get) != "work_a":
        problems.append("the hottest OTLP leaf is not work_a: %s" % leaves)
    ctx.note("pprof totals by interval: %s" % sorted(pprofs.items()),
             "OTLP resources: %s" % [rs["attrs"] for rs in otlp][:1],
             "OTLP leaves (ns): %s" % leaves)
    if problems:
        raise Fail(problems[0], problems[1:6] + evidence(recv, res))


def default_service(pid):
    """The service the agent names a process after when there is no --service,
    on a host where it is in the root cgroup; None elsewhere."""
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            lines = f.read().split()
    except OSError:
        return None
    return COMM if lines and all(l.endswith(":/") for l in lines if l.startswith("0::")) \
        else None


def case_agent_sigterm(ctx):
    """SIGTERM 4 s into a 60 s interval delivers those 4 s (cpu and, with
    --idle, wall: the sleeping thread under <idle>; in OTLP, cpu and
    off_cpu) and exits 143."""
    recv = Receiver().start()
    try:
        target = start_workload(ctx, "thirds.py", WORKLOAD_MAX)
        ag = agent(ctx, recv.url(), ["--interval", "60s", "--idle", "--otlp", recv.url()])
        wait_started(ag)
        time.sleep(4)
        ag.signal(signal.SIGTERM)
        res = finish(ag, 30)
    finally:
        recv.stop()
    target.kill()
    cpu, wall = mine(recv, target.pid, "cpu"), mine(recv, target.pid, "wall")
    problems = []
    if res.rc != 128 + signal.SIGTERM:
        problems.append("agent exited with status %s after SIGTERM, expected 143" % res.rc)
    if len(cpu) != 1 or len(wall) != 1:
        problems.append("%d cpu and %d wall profiles after SIGTERM, expected one each"
                        % (len(cpu), len(wall)))
    else:
        if not 2 <= cpu[0]["until"] - cpu[0]["from"] <= 6:
            problems.append("the flushed interval is %d s long, expected ~4"
                            % (cpu[0]["until"] - cpu[0]["from"]))
        cl = P.leaf_names(pprof_stacks(cpu[0]["prof"]))
        wl = P.leaf_names(pprof_stacks(wall[0]["prof"]))
        if not cl.get("busy"):
            problems.append("no busy() in the cpu profile: %s" % dict(cl))
        if "<idle>" in cl:
            problems.append("off-CPU time in the cpu profile")
        if not wl.get("<idle>"):
            problems.append("no <idle> leaf in the wall profile: %s" % dict(wl))
        types_ = {}
        for r in recv.otlp():
            for rs in r["otlp"]["resources"]:
                if rs["attrs"].get("process.pid") == target.pid:
                    for p in rs["profiles"]:
                        types_[p["type"]] = [f[0][0] for f, _, _ in p["samples"]]
        if sorted(types_) != ["cpu", "off_cpu"] or "<idle>" not in types_["off_cpu"] or \
                "<idle>" in types_["cpu"]:
            problems.append("OTLP profiles and their leaves: %s, expected cpu without <idle> "
                            "and off_cpu with it" % types_)
        want = default_service(target.pid)
        if want and cpu[0]["app"] != want:
            problems.append("service %r without --service, expected the command name %r"
                            % (cpu[0]["app"], want))
    if problems:
        raise Fail(problems[0], problems[1:] + evidence(recv, res))


def case_agent_vs_record(ctx):
    """The agent and `record --all` over the same 6 s of the same workload:
    the samples the agent pushed for it and those the recording counted
    agree within 15 %, and so do work_a/b/c's shares (within 5 points):
    what reaches the backend is what pybpf measures."""
    recv = Receiver().start()
    out = ctx.dir / "all.txt"
    try:
        target = start_workload(ctx, "split.py", WORKLOAD_MAX)
        ag = agent(ctx, recv.url(), ["--interval", "2s", "-d", 6])
        rec = pybpf_start(["record", "--all", "--merge", "--comm", "^%s$" % COMM, "-r", RATE,
                           "-d", 6, "-f", "collapsed", "-o", out], ctx.dir, "record")
        res = finish(ag, 60)
        rres = finish(rec, 60)
    finally:
        recv.stop()
    target.kill()
    if res.rc != 0 or rres.rc != 0:
        raise Fail("agent exited %s, record %s" % (res.rc, rres.rc),
                   evidence(recv, res) + rres.describe(5))
    pushed = [s for r in mine(recv, target.pid) for s in pprof_stacks(r["prof"])]
    recorded = [P.Stack(s.frames[1:], s.count)
                for s in P.parse_collapsed(out.read_text(errors="replace"))
                if s.frames and s.frames[0].label.startswith("process %d:" % target.pid)]
    a, b = P.total(pushed), P.total(recorded)
    ctx.note("pushed %d samples, recorded %d" % (a, b))
    problems = []
    if min(a, b) < RATE:
        problems.append("too few samples to compare: pushed %d, recorded %d" % (a, b))
    elif abs(a - b) > 0.15 * max(a, b):
        problems.append("the agent pushed %d samples of pid %d, record --all counted %d over "
                        "the same 6 s (more than 15 %% apart)" % (a, target.pid, b))
    la, lb = P.leaf_names(pushed), P.leaf_names(recorded)
    for f in ("work_a", "work_b", "work_c"):
        sa, sb = 100.0 * la.get(f, 0) / max(a, 1), 100.0 * lb.get(f, 0) / max(b, 1)
        ctx.note("%s: pushed %.1f %%, recorded %.1f %%" % (f, sa, sb))
        if abs(sa - sb) > 5:
            problems.append("%s has %.1f %% of the pushed samples and %.1f %% of the recorded "
                            "ones" % (f, sa, sb))
    if problems:
        raise Fail(problems[0], problems[1:] + evidence(recv, res) + rres.describe(3))


def case_agent_native(ctx):
    """agent --native: the pushed profiles carry zlib's C frames under the
    Python line that calls zlib.compress (tests/workloads/native.py)."""
    from cases_nativerec import ZLIB_RE
    recv = Receiver().start()
    try:
        target = start_workload(ctx, "native.py", WORKLOAD_MAX)
        ag = agent(ctx, recv.url(), ["--interval", "2s", "-d", 5, "--native"])
        res = finish(ag, 60)
    finally:
        recv.stop()
    target.kill()
    if res.rc != 0:
        raise Fail("agent exited with status %s" % res.rc, evidence(recv, res))
    stacks = [s for r in mine(recv, target.pid) for s in pprof_stacks(r["prof"])]
    zl = [s for s in stacks if any(f.name == "do_zlib" for f in s.frames)]
    under = 0
    for s in zl:
        at = [i for i, f in enumerate(s.frames) if f.name == "do_zlib"][0]
        if any(ZLIB_RE.search(f.label) and ".py" not in f.label for f in s.frames[at + 1:]):
            under += s.count
    n = sum(s.count for s in zl)
    ctx.note("do_zlib: %d pushed samples, %d with zlib's C frames under it" % (n, under))
    if n < 50:
        raise Fail("only %d pushed samples of do_zlib" % n, evidence(recv, res))
    if under < 0.6 * n:
        raise Fail("zlib's C frames under do_zlib in %d of %d pushed samples" % (under, n),
                   [";".join(f.label for f in s.frames)[-300:] for s in zl[:4]] +
                   evidence(recv, res))
