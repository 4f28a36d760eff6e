/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* linetable.h - maps a bytecode offset to its source line, from a (possibly
 * partial) copy of a code object's line table, for every CPython version.
 *
 * The table is the raw content of:
 *   co_lnotab      2.7, 3.0-3.9   (byte offset, line) increments
 *   co_linetable   3.10           PEP 626 ranges, "no line" entries
 *   co_linetable   3.11+          location table (Objects/locations.md)
 *
 * Both functions return the line number, or -1 when the answer is unknown:
 *   - the instruction has no line (3.10 "no line" ranges, 3.11+ "no location"
 *     entries: compiler-made instructions such as the cleanup code of a
 *     `with` or `except` block); a profiler should show the frame without a
 *     line rather than guess one;
 *   - the table does not reach byte_offset (only a prefix was copied, or the
 *     offset lies past the code) or the table is malformed;
 *   - the version is not one whose format is known (below 2.7, 4.x).
 * A wrong line is never returned because a table was cut short.
 */
#ifndef PYBPF_LINETABLE_H
#define PYBPF_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/* byte_offset of a frame that has not executed an instruction yet
 * (f_lasti == -1): the answer is co_firstlineno, as in PyCode_Addr2Line. */
#define LINETABLE_NOT_STARTED 0xffffffffu

/*
 * linetable_addr2line - line of the instruction at byte_offset.
 * @version:     PY_VERSION_HEX >> 16, e.g. 0x0207, 0x030a, 0x030d.
 * @firstlineno: co_firstlineno.
 * @table, @len: the whole co_lnotab / co_linetable.
 * @byte_offset: offset of the instruction in co_code, in bytes (3.10 keeps
 *               f_lasti in code units: multiply by 2; 3.11+ prev_instr or
 *               instr_ptr minus the first code unit is already in bytes).
 *
 * The table must be complete: the co_lnotab formats (<= 3.9) do not say where
 * the code ends, so the last line is taken to run to the end of the code.
 * Callers holding a prefix use linetable_addr2line_cut().
 */
int linetable_addr2line(unsigned version, int firstlineno,
			const uint8_t *table, size_t len, uint32_t byte_offset);

/*
 * linetable_addr2line_cut - same, when only the first @len bytes of a table of
 * @full_len bytes were copied (len < full_len).  The 3.10+ formats describe
 * every range completely, so they answer for any range fully inside the
 * prefix; the co_lnotab formats answer only below the last line start that
 * was copied, since the missing pairs may still move the line at or after it.
 */
int linetable_addr2line_cut(unsigned version, int firstlineno,
			    const uint8_t *table, size_t len, size_t full_len,
			    uint32_t byte_offset);

#endif /* PYBPF_LINETABLE_H */
