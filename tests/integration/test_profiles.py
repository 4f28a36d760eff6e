#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""test_profiles.py - the runner's parsers and checks on hand-made output.

No root, no pybpf: `python3 tests/integration/test_profiles.py`.  Each
check must accept a correct profile and reject the broken variants that it
exists to catch, so a PASS of run.py means something.
"""
import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import profiles as P  # noqa: E402
import cases_stacks as cases  # noqa: E402
from harness import WORKLOADS, markers  # noqa: E402


class Frames(unittest.TestCase):
    def test_kinds(self):
        f = P.parse_frame("Worker.compute (names.py:27)")
        self.assertEqual((f.kind, f.name, f.file, f.line), ("python", "Worker.compute", "names.py", 27))
        f = P.parse_frame("make_spinner.<locals>.spin_closure (names.py)")
        self.assertEqual((f.name, f.file, f.line), ("make_spinner.<locals>.spin_closure", "names.py", None))
        f = P.parse_frame("thread 4242 (spinner-1)")
        self.assertEqual((f.kind, f.name, f.line), ("thread", "spinner-1", 4242))
        self.assertEqual(P.parse_frame("<truncated>").kind, "truncated")
        f = P.parse_frame("gen_fn_3 (<gen_3>:7)")
        self.assertEqual((f.name, f.file, f.line), ("gen_fn_3", "<gen_3>", 7))
        f = P.parse_frame("main (/work/main/tests/workloads/names.py:60)")
        self.assertEqual(f.file, "/work/main/tests/workloads/names.py")
        self.assertEqual(P.parse_frame("naïve_spin (names.py:44)").name, "naïve_spin")

    def test_collapsed(self):
        st = P.parse_collapsed("a (x.py:1);b (x.py:2) 5\n\na (x.py:1) 3\n")
        self.assertEqual([s.count for s in st], [5, 3])
        self.assertEqual(P.total(st), 8)
        with self.assertRaises(P.ParseError):
            P.parse_collapsed("a (x.py:1);b (x.py:2)\n")

    def test_summary(self):
        d = P.parse_summary("noise\npybpf: 523 samples, 1 errors, 0 lost, 5.0 s -> out.svg\n")
        self.assertEqual((d["samples"], d["errors"], d["lost"]), (523, 1, 0))
        self.assertIsNone(P.parse_summary("pybpf: failed to attach\n"))

    def test_fold(self):
        self.assertEqual(P.fold_labels(["m", "r", "r", "r", "b"]), "m;r x3;b")


class Checks(unittest.TestCase):
    def test_hot_function(self):
        good = P.parse_collapsed("main (s.py:9);work_a (s.py:34) 90\nmain (s.py:9);work_a (s.py:35) 8\n"
                                 "main (s.py:9);work_a (s.py:31) 2\n")
        self.assertEqual(P.check_hot_function(good, "work_a", "s.py", [34, 35], 50), [])
        off = P.parse_collapsed("main (s.py:9);work_a (s.py:30) 90\nmain (s.py:9);work_a (s.py:34) 10\n")
        self.assertTrue(P.check_hot_function(off, "work_a", "s.py", [34, 35], 50))
        self.assertTrue(P.check_hot_function(good, "work_a", "t.py", [34, 35], 50))
        self.assertTrue(P.check_hot_function(good, "work_b", "s.py", [34, 35], 50))

    def test_parent(self):
        st = P.parse_collapsed("<module> (n.py:70);main (n.py:62);deep (n.py:40) 10\n")
        self.assertEqual(P.check_parent(st, "deep", "main", [62]), [])
        self.assertTrue(P.check_parent(st, "deep", "main", [63]))

    def test_threads(self):
        exp = {"spinner-0": (11, "spin_0"), "spinner-1": (12, "spin_1")}
        good = P.parse_collapsed("thread 11 (spinner-0);thread_main (t.py:1);spin_0 (t.py:3) 40\n"
                                 "thread 12 (spinner-1);thread_main (t.py:1);spin_1 (t.py:9) 40\n")
        problems, per = P.check_threads(good, exp)
        self.assertEqual(problems, [])
        self.assertEqual(per["spinner-1"], 40)
        swapped = P.parse_collapsed("thread 11 (spinner-0);spin_1 (t.py:9) 40\n"
                                    "thread 12 (spinner-1);spin_1 (t.py:9) 40\n")
        self.assertTrue(any("wrong thread" in p for p in P.check_threads(swapped, exp)[0]))
        self.assertTrue(any("never appears" in p for p in P.check_threads(swapped, exp)[0]))
        no_root = P.parse_collapsed("thread_main (t.py:1);spin_0 (t.py:3) 40\n")
        self.assertTrue(P.check_threads(no_root, exp)[0])
        bad_tid = P.parse_collapsed("thread 99 (spinner-0);spin_0 (t.py:3) 40\n")
        self.assertTrue(any("TID" in p for p in P.check_threads(bad_tid, exp)[0]))

    def test_churn_identity(self):
        churn = cases.load_churn()
        fl, ml = churn.function_lines, churn.module_lines
        i, j = 7, 8
        ok = "run_one (churn.py:69);gen_fn_%d (<gen_%d>:%d) 3\n" % (i, i, churn.spin_lines(i)[0])
        mod = "run_one (churn.py:64);<module> (<gen_%d>:%d) 1\n" % (j, ml(j)[-1])
        problems, gen, names = P.check_generated_identity(P.parse_collapsed(ok + mod), fl, ml)
        self.assertEqual((problems, gen, names), ([], 3, {"gen_fn_7"}))
        wrong_name = "gen_fn_%d (<gen_%d>:%d) 3\n" % (j, i, churn.spin_lines(i)[0])
        self.assertTrue(P.check_generated_identity(P.parse_collapsed(wrong_name), fl, ml)[0])
        # line of gen_fn_8's table reported for gen_fn_7 (shifted by one pad line)
        wrong_line = "gen_fn_%d (<gen_%d>:%d) 3\n" % (i, i, churn.spin_lines(j)[-1])
        self.assertTrue(P.check_generated_identity(P.parse_collapsed(wrong_line), fl, ml)[0])

    def test_top(self):
        text = ("pybpf top: pid 1 (python3 split.py)  CPython 3.11.7  1s\n"
                "samples 66 (total 66)  rate 100 Hz  threads 1\n"
                "  %Own   %Total  OwnTime  TotalTime  Function (filename:line)\n"
                " 60.00    60.00    0.60s      0.60s  work_a (split.py:34)\n"
                " 30.00    30.00    0.30s      0.30s  work_b (split.py:43)\n"
                "\n"
                "pybpf top: pid 1 (python3 split.py)  samples 70  2s\n"
                "  %Own   %Total  OwnTime  TotalTime  Function (filename:line)\n"
                " 55.00    55.00    1.20s      1.20s  work_a (split.py:34)\n"
                " 35.00    35.00    0.65s      0.65s  work_b (split.py:43)\n\n")
        snaps, problems = P.parse_top(text)
        self.assertEqual(problems, [])
        self.assertEqual([s["samples"] for s in snaps], [66, 70])
        self.assertEqual(P.check_top(snaps, "work_a", "split.py"), [])
        self.assertTrue(P.check_top(snaps, "work_b", "split.py"))
        self.assertTrue(P.check_top(snaps[:1], "work_a", "split.py"))
        unsorted = text.replace(" 55.00    55.00", " 25.00    25.00")
        self.assertTrue(P.check_top(P.parse_top(unsorted)[0], "work_a", "split.py"))

    def test_speedscope(self):
        doc = {"shared": {"frames": [{"name": "spin_0"}, {"name": "spin_1 (t.py:9)"}]},
               "profiles": [{"type": "sampled", "name": "a", "unit": "seconds", "startValue": 0,
                             "endValue": 2, "samples": [[0], [0]], "weights": [1, 1]},
                            {"type": "sampled", "name": "b", "unit": "seconds", "startValue": 0,
                             "endValue": 1, "samples": [[1]], "weights": [1]}]}
        problems, profs = P.check_speedscope(doc)
        self.assertEqual(problems, [])
        self.assertEqual([P.parse_frame(n).name for n in profs[1][1]], ["spin_1"])
        doc["profiles"][1]["samples"] = [[5]]
        self.assertTrue(P.check_speedscope(doc)[0])


class Workloads(unittest.TestCase):
    def test_markers(self):
        for script, tags in [("split.py", "abc"), ("names.py", cases.NAMES),
                             ("recurse.py", ["bottom", "call", "main-call", "module-call"]),
                             ("threads.py", ["spin_%d" % k for k in range(4)]),
                             ("exitcode.py", ["busy"])]:
            marks = markers(WORKLOADS / script)
            for tag in tags:
                self.assertIn(tag, marks, "%s lacks @%s" % (script, tag))
        marks = markers(WORKLOADS / "names.py")
        for tag in cases.NAMES:
            self.assertIn("call-" + tag, marks)


if __name__ == "__main__":
    unittest.main(verbosity=1)
