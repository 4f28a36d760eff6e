// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* ehframe_cfa.c - run DWARF CFA programs (DWARF 5 section 6.4.2) for
 * x86_64 and turn each location's rules into a compact row: CFA as
 * rsp/rbp + 8n, where rbp was saved, and whether the return address is at
 * CFA - 8.  Rules an in-kernel unwinder cannot follow become counted row
 * kinds (bpf/unwind.h), never a failure. */
#include <stdlib.h>
#include <string.h>
#include "ehframe_impl.h"

static struct unwind_row row_of(const struct state *s)
{
	struct unwind_row r = { 0 };
	uint8_t cfa = s->cfa_kind, rbp = UNWIND_RBP_SAME;

	if (cfa == UNWIND_CFA_RSP || cfa == UNWIND_CFA_RBP) {
		if (s->cfa_off < 0 || s->cfa_off > 8 * 0xffff || (s->cfa_off & 7))
			cfa = UNWIND_CFA_OTHER;
		else
			r.cfa_off8 = (uint16_t)(s->cfa_off / 8);
	} else if (cfa == UNWIND_CFA_PLT) {
		r.cfa_off8 = (uint16_t)s->cfa_off; /* the rip & 15 threshold */
	}
	if (s->ra.kind == R_UNDEF)
		cfa = UNWIND_CFA_LAST;
	else if (s->ra.kind != R_OFFSET || s->ra.off != -8)
		cfa = UNWIND_CFA_OTHER;
	if (s->rbp.kind == R_OFFSET) {
		if (s->rbp.off < 0 && s->rbp.off >= -8 * 255 && !(s->rbp.off & 7)) {
			rbp = UNWIND_RBP_CFA;
			r.rbp_off8 = (uint8_t)(-s->rbp.off / 8);
		} else {
			rbp = UNWIND_RBP_LOST;
		}
	} else if (s->rbp.kind == R_OTHER) {
		rbp = UNWIND_RBP_LOST;
	}
	if (cfa != UNWIND_CFA_RSP && cfa != UNWIND_CFA_RBP && cfa != UNWIND_CFA_PLT)
		r.cfa_off8 = 0;
	r.kind = UNWIND_KIND(cfa, rbp);
	return r;
}

void eh_emit(struct builder *b, uint32_t pc, struct unwind_row r)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		struct unwind_row *n = realloc(b->rows, cap * sizeof(*n));

		if (!n) {
			b->oom = 1;
			return;
		}
		b->rows = n;
		b->cap = cap;
	}
	r.pc = pc;
	b->rows[b->n++] = r;
}

/* The standard lazy PLT rule, DW_OP_breg7 8; breg16 0; lit15; and;
 * litN; ge; lit3; shl; plus: returns N, or -1 for any other expression. */
static int plt_expression(const uint8_t *p, uint64_t len)
{
	static const uint8_t head[] = { 0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a };
	static const uint8_t tail[] = { 0x2a, 0x33, 0x24, 0x22 };

	if (len != sizeof(head) + 1 + sizeof(tail) || memcmp(p, head, sizeof(head)) ||
	    p[6] < 0x30 || p[6] > 0x4f || memcmp(p + 7, tail, sizeof(tail)))
		return -1;
	return p[6] - 0x30;
}

static struct rule *reg_rule(struct state *s, uint64_t reg)
{
	if (reg == REG_RBP)
		return &s->rbp;
	if (reg == REG_RA)
		return &s->ra;
	return NULL;
}


/* Close the row [r->loc, to) and move there. */
void eh_advance(struct fde_run *r, const struct state *s, uint64_t to)
{
	if (r->b && to > r->loc && r->loc < r->end) {
		eh_emit(r->b, (uint32_t)(r->base_off + (r->loc - r->base_vaddr)), row_of(s));
		r->b->st->raw_rows++;
	}
	if (to > r->loc)
		r->loc = to;
}

/* Run [p, end); 0, or -1 at an opcode we do not know or a truncation. */
int eh_run_cfa(struct fde_run *r, struct state *s, const uint8_t *p, const uint8_t *end)
{
	struct cursor c = { p, end, 0 };
	const struct cie *cie = r->cie;

	while (c.p < c.end && !c.err) {
		uint8_t op = (uint8_t)rd_fixed(&c, 1), low = op & 0x3f;
		uint64_t reg = 0, len, v;
		struct rule *rr;
		int64_t off;

		switch (op >> 6) {
		case 1: /* DW_CFA_advance_loc */
			eh_advance(r, s, r->loc + low * cie->code_align);
			continue;
		case 2: /* DW_CFA_offset */
			off = (int64_t)rd_uleb(&c) * cie->data_align;
			if ((rr = reg_rule(s, low)))
				*rr = (struct rule){ R_OFFSET, off };
			continue;
		case 3: /* DW_CFA_restore */
			if ((rr = reg_rule(s, low)))
				*rr = *reg_rule(&r->init, low);
			continue;
		}
		switch (op) {
		case 0x00: /* nop */
			break;
		case 0x01: /* set_loc */
			if (eh_rd_encoded(&c, r->sec, cie->fde_enc, 1, &v))
				return -1;
			eh_advance(r, s, v);
			break;
		case 0x02: eh_advance(r, s, r->loc + rd_fixed(&c, 1) * cie->code_align); break;
		case 0x03: eh_advance(r, s, r->loc + rd_fixed(&c, 2) * cie->code_align); break;
		case 0x04: eh_advance(r, s, r->loc + rd_fixed(&c, 4) * cie->code_align); break;
		case 0x05: /* offset_extended */
		case 0x11: /* offset_extended_sf */
		case 0x2f: /* GNU_negative_offset_extended */
			reg = rd_uleb(&c);
			off = op == 0x11 ? rd_sleb(&c) * cie->data_align :
			      op == 0x05 ? (int64_t)rd_uleb(&c) * cie->data_align :
					   -(int64_t)rd_uleb(&c) * cie->data_align;
			if ((rr = reg_rule(s, reg)))
				*rr = (struct rule){ R_OFFSET, off };
			break;
		case 0x06: /* restore_extended */
			reg = rd_uleb(&c);
			if ((rr = reg_rule(s, reg)))
				*rr = *reg_rule(&r->init, reg);
			break;
		case 0x07: /* undefined */
		case 0x08: /* same_value */
			reg = rd_uleb(&c);
			if ((rr = reg_rule(s, reg)))
				*rr = (struct rule){ op == 0x07 ? R_UNDEF : R_SAME, 0 };
			break;
		case 0x09: /* register */
			reg = rd_uleb(&c);
			rd_uleb(&c);
			if ((rr = reg_rule(s, reg)))
				*rr = (struct rule){ R_OTHER, 0 };
			break;
		case 0x0a: /* remember_state: the CFA too, as GCC's unwinder does */
			if (r->depth < STATE_STACK)
				r->stack[r->depth] = *s;
			else if (r->b)
				r->b->st->state_overflow++;
			r->depth++;
			break;
		case 0x0b: /* restore_state */
			if (!r->depth)
				return -1;
			r->depth--;
			if (r->depth < STATE_STACK) {
				*s = r->stack[r->depth];
			} else {
				s->cfa_kind = UNWIND_CFA_OTHER;
			}
			break;
		case 0x0c: /* def_cfa */
		case 0x12: /* def_cfa_sf */
			s->cfa_reg = rd_uleb(&c);
			s->cfa_off = op == 0x0c ? (int64_t)rd_uleb(&c) : rd_sleb(&c) * cie->data_align;
			goto cfa_reg;
		case 0x0d: /* def_cfa_register */
			s->cfa_reg = rd_uleb(&c);
			goto cfa_reg;
		case 0x0e: /* def_cfa_offset */
		case 0x13: /* def_cfa_offset_sf */
			s->cfa_off = op == 0x0e ? (int64_t)rd_uleb(&c) : rd_sleb(&c) * cie->data_align;
			if (s->cfa_kind == UNWIND_CFA_PLT || s->cfa_kind == UNWIND_CFA_EXPR)
				goto cfa_reg; /* an offset after an expression: register rule again */
			break;
		cfa_reg:
			s->cfa_kind = s->cfa_reg == REG_RSP ? UNWIND_CFA_RSP :
				      s->cfa_reg == REG_RBP ? UNWIND_CFA_RBP : UNWIND_CFA_OTHER;
			break;
		case 0x0f: /* def_cfa_expression */
			len = rd_uleb(&c);
			if (c.err || len > (uint64_t)(c.end - c.p))
				return -1;
			off = plt_expression(c.p, len);
			s->cfa_kind = off >= 0 ? UNWIND_CFA_PLT : UNWIND_CFA_EXPR;
			s->cfa_off = off >= 0 ? off : 0;
			c.p += len;
			break;
		case 0x10: /* expression */
		case 0x16: /* val_expression */
			reg = rd_uleb(&c);
			len = rd_uleb(&c);
			if (c.err || len > (uint64_t)(c.end - c.p))
				return -1;
			c.p += len;
			if ((rr = reg_rule(s, reg)))
				*rr = (struct rule){ R_OTHER, 0 };
			break;
		case 0x14: /* val_offset */
		case 0x15: /* val_offset_sf */
			reg = rd_uleb(&c);
			if (op == 0x14)
				rd_uleb(&c);
			else
				rd_sleb(&c);
			if ((rr = reg_rule(s, reg)))
				*rr = (struct rule){ R_OTHER, 0 };
			break;
		case 0x2e: /* GNU_args_size */
			rd_uleb(&c);
			break;
		default:
			return -1;
		}
	}
	return c.err ? -1 : 0;
}
