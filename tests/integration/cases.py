# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""cases.py - the list of integration cases, in the order they run.

Helpers live in casekit.py; the cases in cases_stacks.py (what the stacks
say), cases_cli.py (command line, formats, errors) and cases_pprof.py.
"""
from cases_stacks import (case_names, case_options, case_shapes, case_c_calls,
                          case_c_calls_mixed, case_c_calls_max_depth, case_split,
                          case_split_rotate, case_threads,
                          case_parallel, case_gil, case_recursion, case_truncation, case_churn)
from cases_dump import (case_dump, case_dump_json, case_dump_unbound, case_idle, case_subprocesses,
                        case_gil_filter, case_gil_wait)
from cases_cli import (case_exitcode, case_target_exit, case_top, case_formats,
                       case_dead_pid, case_not_python, case_bad_args, case_demo, case_refuse)
from cases_gil import (case_gil_busy, case_gil_sleep, case_gil_native, case_gil_single,
                       case_gil_threshold, case_gil_launch, case_gil_probes, case_gil_errors)
from cases_pprof import case_pprof
from cases_timeline import case_chrometrace, case_speedscope_time_order
from cases_fleet import case_fleet, case_rotate, case_rotate_churn, case_sigusr1, case_containers
from cases_locals import case_locals
from cases_versions import case_future_minor, case_bad_debug_offsets
from cases_counts import case_drain_early, case_drain_exact, case_drain_rotate
from cases_cost import case_code_cache, case_c_stack_reads
from cases_store import case_stacks_stored_once
from cases_reload import case_reload
from cases_idle import case_idle_busy, case_idle_thirds, case_idle_thread_exits
from cases_cthread import case_cthread
from cases_subinterp import case_subinterp, case_subinterp_seed
from cases_nogil import case_no_gil
from cases_ux import (case_ux_gil_names, case_ux_thread_pid, case_ux_output, case_ux_status,
                      case_ux_exit, case_ux_small, case_ux_gil_fallback)
from cases_top import case_top_tty
from cases_dumpconsistency import case_dump_consistency
from cases_native import case_native, case_native_cthread
from cases_nativerec import (case_native_record, case_native_record_idle,
                             case_native_record_cthread, case_native_record_cxx,
                             case_native_record_idle_seed, case_gil_wait_native)
from cases_agent import (case_agent_push, case_agent_outage, case_agent_spool,
                         case_agent_service, case_agent_otlp, case_agent_sigterm,
                         case_agent_vs_record, case_agent_native)

# Cases that judge names, lines, shapes and structure, never time or CPU
# shares against a clock, and that only look at their own processes: run.py
# runs them two at a time (the others alone, after them).  Not dump: a
# thread's idle/active state is read from the kernel, and a sleeper that
# wakes on a loaded machine waits runnable for a while.  Not exitcode: its
# command spins for 1 s of wall time and must be sampled 62 times.
SHARED = {"names", "options", "shapes", "threads", "recursion", "truncation", "churn",
          "stacks-stored-once",
          "reload", "formats", "locals", "dump-consistency",
          "native", "native-cthread", "native-record", "native-record-cthread",
          "native-record-cxx", "cthread",
          "subprocesses", "code-cache", "c-stack-reads", "c-calls", "c-calls-mixed",
          "c-calls-max-depth"}

# The pyenv minors a case whose subject is the command line, not the
# interpreter, runs on: the oldest, the last with frame objects, and one
# read through _Py_DebugOffsets.
CLI_MINORS = ((2, 7), (3, 10), (3, 13))

CASES = [
    ("names", case_names, "supported"),
    ("options", case_options, "supported"),
    ("shapes", case_shapes, "supported"),
    ("c-calls", case_c_calls, "supported"),
    ("c-calls-mixed", case_c_calls_mixed, "supported"),
    # the entry check by links is 3.11's and 3.12's
    ("c-calls-max-depth", case_c_calls_max_depth, ((3, 11), (3, 12))),
    ("split", case_split, "supported"),
    ("split-rotate", case_split_rotate, None),
    ("threads", case_threads, "supported"),
    ("parallel", case_parallel, "free-threaded"),
    ("gil", case_gil, "supported"),
    ("recursion", case_recursion, "supported"),
    ("truncation", case_truncation, "supported"),
    ("stacks-stored-once", case_stacks_stored_once, "supported"),
    ("churn", case_churn, "supported"),
    ("code-cache", case_code_cache, "supported"),
    ("c-stack-reads", case_c_stack_reads, "supported"),
    ("reload", case_reload, "supported"),
    ("exitcode", case_exitcode, "supported"),
    # what the command line does, the same on every interpreter: three
    # (CI's time budget; names on every one are the cases above)
    ("target-exit", case_target_exit, CLI_MINORS),
    ("top", case_top, CLI_MINORS),
    ("top-tty", case_top_tty, None),
    ("formats", case_formats, "supported"),
    ("chrometrace", case_chrometrace, CLI_MINORS),
    ("speedscope-time", case_speedscope_time_order, CLI_MINORS),
    ("pprof", case_pprof, None),
    ("dump", case_dump, "supported"),
    ("dump-json", case_dump_json, "supported"),
    ("dump-unbound", case_dump_unbound, "supported"),
    ("locals", case_locals, "supported"),
    ("dump-consistency", case_dump_consistency, "supported"),
    ("native", case_native, "supported"),
    ("native-cthread", case_native_cthread, "supported"),
    ("native-record", case_native_record, "supported"),
    ("native-record-idle", case_native_record_idle, "supported"),
    ("native-record-idle-seed", case_native_record_idle_seed, "supported"),
    ("native-record-cthread", case_native_record_cthread, "supported"),
    # demangling is the symbol table's, not the interpreter's: two versions
    ("native-record-cxx", case_native_record_cxx, ((3, 11), (3, 12))),
    ("idle", case_idle, "supported"),
    ("idle-busy", case_idle_busy, "supported"),
    ("idle-thirds", case_idle_thirds, "supported"),
    ("idle-thread-exits", case_idle_thread_exits, "supported"),
    ("cthread", case_cthread, "supported"),
    ("subinterp", case_subinterp, "supported"),
    ("subinterp-seed", case_subinterp_seed, "supported"),
    ("subprocesses", case_subprocesses, "supported"),
    ("gil-filter", case_gil_filter, "with-gil"),
    ("gil-wait", case_gil_wait, "with-gil"),
    ("gil-wait-native", case_gil_wait_native, None),
    ("error-dead-pid", case_dead_pid, None),
    ("error-not-python", case_not_python, None),
    ("error-bad-args", case_bad_args, None),
    ("demo", case_demo, None),
    ("fleet", case_fleet, None),
    ("rotate", case_rotate, None),
    ("rotate-churn", case_rotate_churn, None),
    ("sigusr1", case_sigusr1, None),
    ("containers", case_containers, None),
    ("refuse", case_refuse, None),
    ("gil-busy", case_gil_busy, "with-gil"),
    ("gil-sleep", case_gil_sleep, "with-gil"),
    ("gil-native", case_gil_native, "with-gil"),
    ("gil-single", case_gil_single, "with-gil"),
    # options of `gil` over probes the cases above check on every interpreter
    ("gil-threshold", case_gil_threshold, CLI_MINORS),
    ("gil-launch", case_gil_launch, CLI_MINORS),
    ("gil-probes", case_gil_probes, "with-gil"),
    ("gil-errors", case_gil_errors, None),
    ("no-gil", case_no_gil, "free-threaded"),
    ("future-minor", case_future_minor, None),
    ("drain-exact", case_drain_exact, None),
    ("drain-rotate", case_drain_rotate, None),
    ("drain-early", case_drain_early, None),
    ("bad-debug-offsets", case_bad_debug_offsets, None),
    ("ux-gil-names", case_ux_gil_names, None),
    ("ux-thread-pid", case_ux_thread_pid, None),
    ("ux-output", case_ux_output, None),
    ("ux-status", case_ux_status, None),
    ("ux-exit", case_ux_exit, None),
    ("ux-small", case_ux_small, None),
    ("ux-gil-fallback", case_ux_gil_fallback, None),
    ("agent-push", case_agent_push, None),
    ("agent-outage", case_agent_outage, None),
    ("agent-spool", case_agent_spool, None),
    ("agent-service", case_agent_service, None),
    ("agent-otlp", case_agent_otlp, None),
    ("agent-sigterm", case_agent_sigterm, None),
    ("agent-vs-record", case_agent_vs_record, None),
    ("agent-native", case_agent_native, None),
]
