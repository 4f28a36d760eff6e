#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""bench_agent.py - what `pybpf agent` costs on a host of Python processes
(issue 13, item 6): the agent's CPU share and RSS every minute, profiles
pushed and lost.  Prints a Markdown table meant for README.md.

Usage (as root, from anywhere; --minutes long, 10 by default):
  python3 tools/bench_agent.py [--minutes M] [--busy N] [--idle N] [--rate HZ]
                               [--interval SECS] [--pybpf PATH]

The fleet is tools/bench_fleet.py's (interpreters 3.7-3.13 in turn): BUSY
processes spinning 5 % of every 100 ms and IDLE ones asleep in read(2).
`pybpf agent --push http://127.0.0.1:PORT -r HZ --interval SECS` pushes to a
receiver in this script that answers 200 to every POST /ingest and counts
the requests and bytes.  Every minute: the agent's CPU seconds (from
/proc/PID/stat) over that minute as a share of one CPU, and its VmRSS.  At
the end the agent is stopped with SIGTERM (which flushes the last interval)
and the receiver's count is compared with what the agent says it pushed.
Exit status 1 if a check failed (profiles lost, the agent died), else 0.
"""
import argparse
import http.server
import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)


def load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


F = load("pybpf_bench_fleet", "bench_fleet.py")


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests = 0
        self.bytes = 0
        self.lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self.rfile.read(n)
        with self.server.lock:
            self.server.requests += 1
            self.server.bytes += n
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=int, default=10)
    ap.add_argument("--busy", type=int, default=20)
    ap.add_argument("--idle", type=int, default=80)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--interval", type=int, default=15)
    ap.add_argument("--pybpf", default=os.path.join(ROOT, "pybpf"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_agent.py: needs root (BPF)")
    pythons = F.interpreters()
    if not pythons:
        sys.exit("bench_agent.py: no CPython 3.7-3.13 under /root/.pyenv")
    fleet = F.Fleet()
    recv = Receiver()
    threading.Thread(target=recv.serve_forever, daemon=True).start()
    agent = None
    rows, checks = [], []
    try:
        for i in range(a.busy):
            fleet.start("busy", pythons[i % len(pythons)], ["-c", F.BUSY_SRC, "0.005", "0.1"])
        for i in range(a.idle):
            fleet.start("idle", pythons[i % len(pythons)], ["-c", F.IDLE_SRC])
        fleet.wait_ready(120)
        agent = subprocess.Popen([a.pybpf, "agent", "--push", "http://127.0.0.1:%d" %
                                  recv.server_address[1], "-r", str(a.rate), "--interval",
                                  "%ds" % a.interval, "--status-every", "60"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 start_new_session=True)
        start = time.time()
        last = 0.0
        for minute in range(1, a.minutes + 1):
            while time.time() < start + 60 * minute:
                if agent.poll() is not None:
                    raise F.BenchError("the agent exited: %s" % agent.stderr.read().decode())
                time.sleep(1)
            used = cpu_s(agent.pid)
            rows.append((minute, 100.0 * (used - last) / 60, rss_mib(agent.pid),
                         recv.requests))
            F.log("minute %d: %.2f %% of a CPU, RSS %.1f MiB, %d profiles received"
                  % rows[-1])
            last = used
        agent.send_signal(signal.SIGTERM)
        err = agent.communicate(timeout=60)[1].decode()
    except F.BenchError as e:
        checks.append(str(e))
        err = ""
    finally:
        if agent and agent.poll() is None:
            agent.kill()
        fleet.stop()
        recv.shutdown()
    status = [l for l in err.splitlines() if re.search(r"\d+ pushed", l)]
    m = re.search(r"(\d+) profiles, (\d+) pushed.*?(\d+) dropped", status[-1]) if status else None
    if m and int(m.group(2)) != recv.requests:
        checks.append("the agent says %s pushed, the receiver got %d" % (m.group(2), recv.requests))
    if m and int(m.group(3)):
        checks.append("%s profiles dropped" % m.group(3))
    print("| minute | agent CPU, % of one CPU | agent RSS (MiB) | profiles received |")
    print("|---:|---:|---:|---:|")
    for row in rows:
        print("| %d | %.2f | %.1f | %d |" % row)
    print("\n`python3 tools/bench_agent.py --minutes %d --busy %d --idle %d --rate %d --interval %d`"
          " (%s); last status: %s" % (a.minutes, a.busy, a.idle, a.rate, a.interval,
                                      ", ".join(os.path.basename(p) for p in pythons),
                                      status[-1].strip() if status else "(none)"))
    for c in checks:
        print("check failed: " + c)
    return 1 if checks else 0


if __name__ == "__main__":
    sys.exit(main())
