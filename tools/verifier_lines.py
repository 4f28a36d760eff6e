#!/usr/bin/env python3
"""Where the verifier spends its work: instructions processed per source line.

The sampler's start-up time is mostly the kernel verifying its programs
(`pybpf record -v` prints "N instructions verified" per program).  To see
which source lines cost that, load with full logs and read them here:

    mkdir -p /tmp/vlog
    PYBPF_VERIFIER_LOG=/tmp/vlog pybpf record -p PID -d 0.1 -o /dev/null [--native --idle]
    tools/verifier_lines.py /tmp/vlog/pybpf_sample.log [--top 30]

Each instruction the verifier processes is printed in the log as
"IDX: (op) ..."; the "; ... @ file:line" comment before an instruction's
first appearance names its source line.
"""
import argparse
import collections
import re
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("log")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()

    src = re.compile(r"^; .*@ ([\w.]+:\d+)$")
    insn = re.compile(r"^(\d+): \(")
    line_of, count, cur, summary = {}, collections.Counter(), None, ""
    with open(args.log, errors="replace") as f:
        for text in f:
            m = src.match(text)
            if m:
                cur = m.group(1)
                continue
            m = insn.match(text)
            if m:
                i = int(m.group(1))
                count[i] += 1
                line_of.setdefault(i, cur or "?")
            elif text.startswith("processed "):
                summary = text.strip()
    if not count:
        sys.exit("verifier_lines: no instructions in %s (was it loaded with log level 2?)"
                 % args.log)
    by_line = collections.Counter()
    for i, n in count.items():
        by_line[line_of[i]] += n
    total = sum(count.values())
    for where, n in by_line.most_common(args.top):
        print("%8d %5.1f%%  %s" % (n, 100.0 * n / total, where))
    print("%8d        total (%s)" % (total, summary or "no summary line"))


if __name__ == "__main__":
    main()
