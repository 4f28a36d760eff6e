/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* unwind_step.h - one native unwind step over the rows of bpf/unwind.h:
 * the CFA rule, the rule for the caller's rbp, the return address at
 * CFA - 8, the frame-pointer fallback and every reason a walk stops.  The
 * single description of how a row is read, compiled by both sides, as
 * bpf/pyframe.h is for Python frames: the BPF unwinder (bpf/native.bpf.h,
 * rows in maps, reads with bpf_probe_read_user) and the userspace one
 * (user/native/nativeunwind.c, rows from user/native/ehframe.c, reads with
 * process_vm_readv).
 *
 * The includer defines, before including this file:
 *
 *   UNWIND_CTX                  the type of the walk's context c
 *   UNWIND_READ_U64(c, a, dst)  read the 8 bytes at user address a into
 *                               *dst (a __u64 *); 0 on success
 *   UNWIND_COUNT(c, stat)       count an enum native_stat degradation
 *
 * and defines (or declares), also before including, the table look-up:
 *
 *   static int unwind_lookup(UNWIND_CTX *c, __u64 pc, struct unwind_row *row,
 *                            int *have_table);
 *
 * 0 with the row covering pc (row->kind left UNWIND_CFA_END when the
 * table has none there) and *have_table set when pc's file has a table;
 * -1 when no mapping holds pc.
 */
#ifndef PYBPF_UNWIND_STEP_H
#define PYBPF_UNWIND_STEP_H

#include "unwind.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* unwind_step found the caller: the walk goes on */
#define NATIVE_CFA_FOUND NATIVE_STAT_FRAMES

/* From the registers of one frame (r->pc: where it is, or for a caller
 * frame the return address into it) to its caller's, in place.  Returns
 * NATIVE_CFA_FOUND, or why the walk ends: NATIVE_STAT_END_LAST (clean,
 * the outermost frame), END_ZERO (return address 0), NO_MAPPING, FP_BAD,
 * ERR_READ, NOT_UP.  Degraded frames are counted with UNWIND_COUNT. */
static __always_inline __u32 unwind_step(UNWIND_CTX *c, struct native_regs *r, int caller)
{
	struct unwind_row row = { .kind = UNWIND_CFA_END };
	__u64 cfa = 0, ra = 0, bp = r->bp;
	__u32 rbp_kind, rbp_off8;
	int have_table = 0, fp = 0;

	/* a return address may sit just past the function's last byte (a call
	 * to a noreturn function): look the call itself up */
	if (unwind_lookup(c, caller ? r->pc - 1 : r->pc, &row, &have_table))
		return NATIVE_STAT_NO_MAPPING;
	if (!have_table)
		UNWIND_COUNT(c, NATIVE_STAT_NO_TABLE);

	rbp_kind = UNWIND_ROW_RBP(&row);
	rbp_off8 = row.rbp_off8;
	switch (UNWIND_ROW_CFA(&row)) {
	case UNWIND_CFA_RSP:
		cfa = r->sp + 8 * (__u64)row.cfa_off8;
		break;
	case UNWIND_CFA_RBP:
		cfa = r->bp + 8 * (__u64)row.cfa_off8;
		break;
	case UNWIND_CFA_PLT:
		cfa = r->sp + 8 + ((r->pc & 15) >= row.cfa_off8 ? 8 : 0);
		break;
	case UNWIND_CFA_LAST:
		return NATIVE_STAT_END_LAST;
	case UNWIND_CFA_EXPR:
		UNWIND_COUNT(c, NATIVE_STAT_EXPR);
		fp = 1;
		break;
	case UNWIND_CFA_OTHER:
		UNWIND_COUNT(c, NATIVE_STAT_OTHER);
		fp = 1;
		break;
	default:
		if (have_table)
			UNWIND_COUNT(c, NATIVE_STAT_GAP);
		fp = 1;
		break;
	}
	if (fp) {
		/* no usable row: frame pointers (push rbp; mov rsp, rbp) */
		if (!r->bp || r->bp < r->sp)
			return NATIVE_STAT_FP_BAD;
		cfa = r->bp + 16;
		rbp_kind = UNWIND_RBP_CFA;
		rbp_off8 = 2;
	}

	/* the return address is always at CFA - 8 (bpf/unwind.h) */
	if (UNWIND_READ_U64(c, cfa - 8, &ra))
		return NATIVE_STAT_ERR_READ;
	if (rbp_kind == UNWIND_RBP_CFA) {
		if (UNWIND_READ_U64(c, cfa - 8 * (__u64)rbp_off8, &bp))
			return NATIVE_STAT_ERR_READ;
	} else if (rbp_kind == UNWIND_RBP_LOST) {
		UNWIND_COUNT(c, NATIVE_STAT_RBP_LOST);
		bp = 0;
	}
	if (!ra)
		return NATIVE_STAT_END_ZERO;
	if (cfa <= r->sp)
		return NATIVE_STAT_NOT_UP; /* a loop, or garbage: never walk down */
	r->pc = ra;
	r->sp = cfa;
	r->bp = bp;
	return NATIVE_CFA_FOUND;
}

#endif /* PYBPF_UNWIND_STEP_H */
