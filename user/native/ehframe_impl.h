/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* ehframe_impl.h - what the parts of the unwind-table builder share:
 * reading DWARF CFI data (ehframe.c), running CFA programs
 * (ehframe_cfa.c).  Not for use outside user/native/ehframe*.c. */
#ifndef PYBPF_EHFRAME_IMPL_H
#define PYBPF_EHFRAME_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "ehframe.h"

/* DWARF registers of x86_64 (psABI figure 3.36) */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA  16

#define STATE_STACK 16           /* remember_state depth kept */

/* ---- reading the section ---- */

struct cursor {
	const uint8_t *p, *end;
	int err;
};

static inline uint64_t rd_fixed(struct cursor *c, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	if (c->err || (size_t)(c->end - c->p) < n) {
		c->err = 1;
		return 0;
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

static inline uint64_t rd_uleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (!c->err) {
		uint8_t b;

		if (c->p >= c->end) {
			c->err = 1;
			break;
		}
		b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static inline int64_t rd_sleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0;

	while (!c->err) {
		if (c->p >= c->end) {
			c->err = 1;
			return 0;
		}
		b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

struct section {
	const uint8_t *data;
	size_t size;
	uint64_t addr;   /* link-time address of data[0] */
	int eh;          /* .eh_frame (else .debug_frame) */
};

#define DW_EH_PE_omit    0xff
#define DW_EH_PE_pcrel   0x10
#define DW_EH_PE_indirect 0x80

/* A pointer in encoding enc (DW_EH_PE_*) at c; with_base = 0 reads a
 * length (FDE pc_range): the format only.  0 or -1. */
int eh_rd_encoded(struct cursor *c, const struct section *s, uint8_t enc, int with_base,
		  uint64_t *out);

/* ---- CIEs ---- */

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;         /* pointer encoding of FDE pc_begin/pc_range */
	uint8_t aug_z;           /* FDEs carry augmentation data */
	const uint8_t *insns, *insns_end;
};

/* ---- running CFA programs ---- */

enum { R_SAME, R_OFFSET, R_UNDEF, R_OTHER };

struct rule {
	uint8_t kind;
	int64_t off;             /* R_OFFSET: saved at CFA + off */
};

struct state {
	uint8_t cfa_kind;        /* UNWIND_CFA_RSP/RBP/PLT/EXPR/OTHER */
	uint64_t cfa_reg;
	int64_t cfa_off;
	struct rule rbp, ra;
};

struct builder {
	struct unwind_row *rows;
	size_t n, cap;
	struct ehframe_stats *st;
	int oom;
};

struct fde_run {
	const struct cie *cie;
	const struct section *sec;
	struct state init;       /* after the CIE's initial instructions */
	struct state stack[STATE_STACK];
	unsigned depth;
	uint64_t loc;            /* current location (link-time address) */
	uint64_t end;            /* pc_begin + pc_range */
	uint64_t base_vaddr;     /* pc_begin and its file offset */
	uint64_t base_off;
	struct builder *b;       /* NULL while running the CIE */
};

/* Append a row at file offset pc (b->oom on failure). */
void eh_emit(struct builder *b, uint32_t pc, struct unwind_row r);
/* Run the CFA instructions [p, end) on s; rows go to r->b unless it is
 * NULL (a CIE's initial instructions).  0, or -1 at an opcode we do not
 * know or a truncation. */
int eh_run_cfa(struct fde_run *r, struct state *s, const uint8_t *p, const uint8_t *end);
void eh_advance(struct fde_run *r, const struct state *s, uint64_t to);

#endif /* PYBPF_EHFRAME_IMPL_H */
