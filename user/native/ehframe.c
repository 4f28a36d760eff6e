// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* ehframe.c - derive compact x86_64 unwind tables (bpf/unwind.h) from the
 * DWARF call frame information of an ELF file: .eh_frame, or .debug_frame
 * where that is all there is.
 *
 * Every FDE's CFA program is run from its CIE's initial state; each
 * advance of the location emits a row (CFA rule, rbp rule) for the bytes
 * passed over.  Rows of all FDEs are then sorted, gaps between FDEs get an
 * end row, and neighbours with the same rule merge.  Only what an x86_64
 * unwinder needs survives: CFA as rsp/rbp + N, where rbp was saved, and
 * the check that the return address sits at CFA - 8.  Rules we do not
 * follow become counted row kinds, never a failure.
 * (Format: DWARF 4/5 section 6.4, and the LSB's .eh_frame description.)
 * .eh_frame_hdr is not used: its search table only helps a reader that
 * wants one FDE, and we read them all.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ehframe_impl.h"
#include "elffile.h"

/* Gaps between FDEs up to this many bytes are alignment padding: the
 * previous row covers them, which saves an end row per function. */
#define PAD_MAX 15

/* ---- pointers ---- */

int eh_rd_encoded(struct cursor *c, const struct section *s, uint8_t enc, int with_base,
		  uint64_t *out)
{
	uint64_t field = s->addr + (uint64_t)(c->p - s->data), v;

	if (enc == DW_EH_PE_omit)
		return -1;
	switch (enc & 0x0f) {
	case 0x00: v = rd_fixed(c, 8); break;                      /* absptr */
	case 0x01: v = rd_uleb(c); break;
	case 0x02: v = rd_fixed(c, 2); break;
	case 0x03: v = rd_fixed(c, 4); break;
	case 0x04: v = rd_fixed(c, 8); break;
	case 0x09: v = (uint64_t)rd_sleb(c); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_fixed(c, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_fixed(c, 4); break;
	case 0x0c: v = rd_fixed(c, 8); break;
	default: return -1;
	}
	if (c->err)
		return -1;
	if (with_base) {
		switch (enc & 0x70) {
		case 0x00: break;
		case DW_EH_PE_pcrel: v += field; break;
		default: return -1; /* textrel/datarel/funcrel: not used for pc_begin on x86_64 */
		}
		if (enc & DW_EH_PE_indirect)
			return -1;
	}
	*out = v;
	return 0;
}

/* ---- CIEs ---- */

/* Entry header at off: its body [*body, *end) and the CIE id/pointer
 * field's position.  0, 1 at the terminator, -1 when malformed. */
static int entry_at(const struct section *s, size_t off, struct cursor *body, size_t *next,
		    uint64_t *id, size_t *id_pos, int *is64)
{
	struct cursor c = { s->data + off, s->data + s->size, 0 };
	uint64_t len = rd_fixed(&c, 4);

	*is64 = 0;
	if (!c.err && len == 0xffffffffu) {
		len = rd_fixed(&c, 8);
		*is64 = 1;
	}
	if (c.err)
		return -1;
	if (len == 0)
		return 1;
	if (len > (uint64_t)(c.end - c.p))
		return -1;
	body->p = c.p;
	body->end = c.p + len;
	body->err = 0;
	*next = (size_t)(body->end - s->data);
	*id_pos = (size_t)(body->p - s->data);
	*id = rd_fixed(body, *is64 ? 8 : 4);
	return body->err ? -1 : 0;
}

static int is_cie_id(const struct section *s, uint64_t id, int is64)
{
	if (s->eh)
		return id == 0;
	return is64 ? id == ~(uint64_t)0 : id == 0xffffffffu;
}

static int parse_cie(const struct section *s, size_t off, struct cie *cie)
{
	struct cursor c;
	size_t next, id_pos;
	const char *aug;
	uint64_t id;
	uint8_t version;
	int is64;

	if (entry_at(s, off, &c, &next, &id, &id_pos, &is64) || !is_cie_id(s, id, is64))
		return -1;
	memset(cie, 0, sizeof(*cie));
	version = (uint8_t)rd_fixed(&c, 1);
	if (version != 1 && version != 3 && version != 4)
		return -1;
	aug = (const char *)c.p;
	while (c.p < c.end && *c.p)
		c.p++;
	if (c.p >= c.end)
		return -1;
	c.p++;
	if (aug[0] && aug[0] != 'z')
		return -1; /* e.g. "eh" (GCC 2): layout we cannot skip */
	if (version == 4) {
		uint8_t asz = (uint8_t)rd_fixed(&c, 1);

		if (asz != 8 || rd_fixed(&c, 1) != 0) /* address, segment size */
			return -1;
	}
	cie->code_align = rd_uleb(&c);
	cie->data_align = rd_sleb(&c);
	cie->ra_reg = version == 1 ? rd_fixed(&c, 1) : rd_uleb(&c);
	cie->fde_enc = 0; /* absptr */
	if (aug[0] == 'z') {
		uint64_t alen = rd_uleb(&c);
		struct cursor a = { c.p, c.p + alen, 0 };
		const char *k;
		uint64_t ignored;

		if (c.err || alen > (uint64_t)(c.end - c.p))
			return -1;
		cie->aug_z = 1;
		for (k = aug + 1; *k; k++) {
			if (*k == 'R') {
				cie->fde_enc = (uint8_t)rd_fixed(&a, 1);
			} else if (*k == 'L') {
				rd_fixed(&a, 1);
			} else if (*k == 'P') {
				uint8_t enc = (uint8_t)rd_fixed(&a, 1);

				if (eh_rd_encoded(&a, s, enc & 0x7f, 0, &ignored))
					return -1;
			} else if (*k != 'S' && *k != 'B') {
				break; /* unknown: the length lets us skip the rest */
			}
		}
		c.p += alen;
	}
	if (c.err)
		return -1;
	cie->insns = c.p;
	cie->insns_end = c.end;
	return 0;
}

/* ---- FDEs ---- */

static int do_fde(struct elf_file *ef, const struct section *s, struct cursor *c,
		  const struct cie *cie, struct builder *b)
{
	struct fde_run r = { .cie = cie, .sec = s, .b = NULL };
	uint64_t begin, range, off;
	struct state st;

	if (eh_rd_encoded(c, s, cie->fde_enc, 1, &begin) ||
	    eh_rd_encoded(c, s, cie->fde_enc & 0x0f, 0, &range))
		return -1;
	if (cie->aug_z) {
		uint64_t alen = rd_uleb(c);

		if (c->err || alen > (uint64_t)(c->end - c->p))
			return -1;
		c->p += alen;
	}
	/* empty, or (.debug_frame) a function the linker discarded */
	if (!range || (!s->eh && !begin)) {
		b->st->fdes_empty++;
		return 0;
	}
	if (elf_file_offset(ef, begin, &off) || off + range > UINT32_MAX)
		return -1;

	/* the CIE's initial instructions, then this FDE's */
	memset(&st, 0, sizeof(st));
	st.cfa_kind = UNWIND_CFA_OTHER;
	st.rbp.kind = R_SAME;
	st.ra.kind = R_SAME;
	r.loc = begin;
	r.end = begin + range;
	if (eh_run_cfa(&r, &st, cie->insns, cie->insns_end))
		return -1;
	r.init = st;
	r.depth = 0;
	r.b = b;
	r.base_vaddr = begin;
	r.base_off = off;
	if (eh_run_cfa(&r, &st, c->p, c->end)) {
		/* keep the rows so far; from here on the rules are unknown */
		b->st->unknown_ops++;
		st.cfa_kind = UNWIND_CFA_OTHER;
	}
	eh_advance(&r, &st, r.end);
	/* end of this FDE: a gap marker, dropped later if another FDE starts here */
	eh_emit(b, (uint32_t)(off + range), (struct unwind_row){ .kind = UNWIND_CFA_END });
	return 0;
}

static int parse_section(struct elf_file *ef, const struct section *s, struct builder *b)
{
	struct cie cie;
	size_t off = 0, cie_off = (size_t)-1;
	int cie_ok = 0;

	while (off + 4 <= s->size) {
		struct cursor body;
		size_t next, id_pos, this_cie;
		uint64_t id;
		int is64, rc;

		rc = entry_at(s, off, &body, &next, &id, &id_pos, &is64);
		if (rc == 1 && s->eh)
			break; /* terminator */
		if (rc == 1) { /* .debug_frame may pad with zeros */
			off += 4;
			continue;
		}
		if (rc < 0) {
			b->st->bad++;
			break; /* lengths are lost: nothing after this can be found */
		}
		off = next;
		if (is_cie_id(s, id, is64)) {
			b->st->cies++;
			continue;
		}
		this_cie = s->eh ? id_pos - (size_t)id : (size_t)id;
		if (s->eh && id > id_pos) {
			b->st->bad++;
			continue;
		}
		if (this_cie != cie_off) {
			cie_off = this_cie;
			cie_ok = this_cie < s->size && parse_cie(s, this_cie, &cie) == 0;
		}
		b->st->fdes++;
		if (!cie_ok || do_fde(ef, s, &body, &cie, b))
			b->st->bad++;
		if (b->oom)
			return -ENOMEM;
	}
	return 0;
}

/* ---- sort, fill gaps, merge ---- */

static int row_cmp(const void *a, const void *b)
{
	const struct unwind_row *x = a, *y = b;

	if (x->pc != y->pc)
		return x->pc < y->pc ? -1 : 1;
	/* at one pc, an FDE's start wins over the previous one's end */
	return (UNWIND_ROW_CFA(x) != UNWIND_CFA_END) - (UNWIND_ROW_CFA(y) != UNWIND_CFA_END);
}

static int same_rule(const struct unwind_row *a, const struct unwind_row *b)
{
	return a->kind == b->kind && a->cfa_off8 == b->cfa_off8 && a->rbp_off8 == b->rbp_off8;
}

static void finish(struct builder *b)
{
	size_t i, n = 0;

	qsort(b->rows, b->n, sizeof(*b->rows), row_cmp);
	for (i = 0; i < b->n; i++) {
		struct unwind_row r = b->rows[i];

		if (UNWIND_ROW_CFA(&r) == UNWIND_CFA_END && i + 1 < b->n &&
		    b->rows[i + 1].pc - r.pc <= PAD_MAX)
			continue; /* padding before the next function */
		if (n && b->rows[n - 1].pc == r.pc)
			n--; /* a later row at the same pc replaces it */
		if (n && same_rule(&b->rows[n - 1], &r))
			continue;
		b->rows[n++] = r;
	}
	b->n = n;
	for (i = 0; i < n; i++) {
		b->st->rows_cfa[UNWIND_ROW_CFA(&b->rows[i])]++;
		if (UNWIND_ROW_RBP(&b->rows[i]) == UNWIND_RBP_LOST)
			b->st->rows_rbp_lost++;
	}
}

/* ---- tables ---- */

uint64_t ehframe_file_id(const char *build_id_hex)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *build_id_hex; build_id_hex++) {
		h ^= (uint8_t)*build_id_hex;
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

int ehframe_build(struct elf_file *ef, enum ehframe_source src, struct ehframe_table **out)
{
	struct ehframe_table *t;
	struct builder b = { 0 };
	struct section s = { 0 };
	int err = -ENOENT;

	if (elf_machine(ef) != EM_X86_64)
		return -EINVAL; /* register numbers and the RA rule are x86_64's */
	if (src != EHFRAME_DEBUG_FRAME &&
	    elf_section_data(ef, ".eh_frame", &s.data, &s.size, &s.addr) == 0) {
		s.eh = 1;
		err = 0;
	} else if (src != EHFRAME_EH_FRAME &&
		   elf_section_data(ef, ".debug_frame", &s.data, &s.size, &s.addr) == 0) {
		err = 0;
	}
	if (err)
		return err;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->source = s.eh ? ".eh_frame" : ".debug_frame";
	if (elf_build_id(ef, t->build_id, sizeof(t->build_id)) == 0)
		t->file_id = ehframe_file_id(t->build_id);
	else
		t->build_id[0] = 0; /* file_id 0: the cache gives it one */
	b.st = &t->st;
	err = parse_section(ef, &s, &b);
	if (err) {
		free(b.rows);
		free(t);
		return err;
	}
	finish(&b);
	t->rows = b.rows;
	t->nrows = b.n;
	*out = t;
	return 0;
}

int ehframe_load(const char *path, enum ehframe_source src, struct ehframe_table **out)
{
	struct elf_file *ef;
	int err;

	err = elf_open(path, &ef);
	if (err)
		return err;
	err = ehframe_build(ef, src, out);
	elf_close(ef);
	return err;
}

void ehframe_free(struct ehframe_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t);
}

const struct unwind_row *ehframe_find(const struct ehframe_table *t, uint32_t off)
{
	size_t lo = 0, hi = t->nrows;

	/* the last row with pc <= off: the same search the BPF side runs */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].pc <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->rows[lo - 1] : NULL;
}
