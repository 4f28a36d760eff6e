/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* test_nativeunwind.c - the userspace native unwinder (user/native/nativeunwind.c,
 * the step of bpf/unwind_step.h shared with the BPF one) on this test's
 * own stack, read through process_vm_readv like a target's: from inside a
 * chain of C functions without frame pointers, every return address must
 * be found in order, symbolized to its function, and the walk must stop
 * cleanly at _start.  Then the same step over hand-made rows (the
 * frame-pointer fallback, a PLT row, stop conditions), with no process.
 * Needs no root.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "unit.h"
#include "nativemaps.h"
#include "nativesyms.h"
#include "nativeunwind.h"

static __u64 want_ra[3];              /* return addresses into f2, f3, run_chain */
static uint64_t pcs[UNWIND_MAX_FRAMES];
static struct native_walk got;
static struct native_unwind *nu;

__attribute__((noinline, noclone)) static int f1(int x)
{
	struct native_regs r;

	want_ra[0] = (__u64)__builtin_return_address(0);
	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
			 : "=r"(r.pc), "=r"(r.sp), "=r"(r.bp) :: "memory");
	native_unwind_walk(nu, getpid(), &r, pcs, UNWIND_MAX_FRAMES, &got);
	return x + 1;
}

__attribute__((noinline, noclone)) static int f2(int x)
{
	int r;

	want_ra[1] = (__u64)__builtin_return_address(0);
	r = f1(x * 3);
	__asm__ volatile("" ::: "memory");
	return r + 2;
}

__attribute__((noinline, noclone)) int run_chain(int x)
{
	int r;

	want_ra[2] = (__u64)__builtin_return_address(0);
	r = f2(x * 5);
	__asm__ volatile("" ::: "memory");
	return r + 3;
}

/* The function holding pc in this process, or "" */
static const char *name_of(struct native_syms *ns, uint64_t pc, char *buf, size_t len)
{
	const struct native_mapping *m;
	const struct nsym_file *f;
	char path[4200];
	uint64_t off, delta;
	const char *name;

	buf[0] = 0;
	m = native_maps_find(native_unwind_mappings(nu), getpid(), pc, &off);
	if (!m || native_maps_open_path(getpid(), m, path, sizeof(path)) ||
	    native_syms_file(ns, path, m->path, &f))
		return buf;
	name = nsym_lookup(f, off, &delta);
	snprintf(buf, len, "%s", name ? name : "");
	return buf;
}

static void check_own_stack(void)
{
	struct native_syms *ns = NULL;
	char name[256];
	size_t i;
	int saw_main = 0;

	CHECK_EQ_INT(native_unwind_new(&nu), 0);
	if (!nu)
		return;
	CHECK_EQ_INT(native_unwind_maps(nu, getpid()), 0);
	CHECK_EQ_INT(run_chain(7), 7 * 15 + 1 + 2 + 3);
	CHECK(got.n >= 5);
	if (got.n >= 4) {
		CHECK(pcs[1] == want_ra[0]);
		CHECK(pcs[2] == want_ra[1]);
		CHECK(pcs[3] == want_ra[2]);
	}
	CHECK_EQ_INT(got.stop, NATIVE_STAT_END_LAST);
	CHECK_EQ_INT(got.counts[NATIVE_STAT_GAP] + got.counts[NATIVE_STAT_NO_TABLE], 0);
	CHECK_EQ_INT(native_syms_new(&ns), 0);
	for (i = 0; ns && i < got.n; i++) {
		name_of(ns, i ? pcs[i] - 1 : pcs[i], name, sizeof(name));
		printf("    #%zu %s\n", i, name);
		if (i == 1)
			CHECK_EQ_STR(name, "f2");
		if (i == 2)
			CHECK_EQ_STR(name, "run_chain");
		saw_main |= strcmp(name, "main") == 0;
	}
	CHECK(saw_main);
	CHECK_EQ_STR(name_of(ns, pcs[got.n - 1] - 1, name, sizeof(name)), "_start");
	native_syms_free(ns);
	native_unwind_free(nu);
	nu = NULL;
}

/* ---- the step alone, over hand-made rows and memory ---- */

struct fake {
	const struct unwind_row *row;     /* NULL: no table */
	int mapped;
	__u64 base;                       /* memory: words at base.. */
	const __u64 *mem;
	size_t nwords;
	size_t counts[NATIVE_STAT_NR];
};

static int fake_read(struct fake *f, __u64 a, __u64 *dst)
{
	if (a < f->base || (a - f->base) % 8 || (a - f->base) / 8 >= f->nwords)
		return -EFAULT;
	*dst = f->mem[(a - f->base) / 8];
	return 0;
}

#define UNWIND_CTX struct fake
#define UNWIND_READ_U64(c, a, dst) fake_read((c), (a), (dst))
#define UNWIND_COUNT(c, stat) ((c)->counts[(stat)]++)

static int unwind_lookup(struct fake *f, __u64 pc, struct unwind_row *row, int *have_table)
{
	(void)pc;
	if (!f->mapped)
		return -1;
	*have_table = f->row != NULL;
	if (f->row)
		*row = *f->row;
	return 0;
}

#include "unwind_step.h"

static void check_step(void)
{
	__u64 mem[8] = { 0x1111, 0x2222, 0x3333, 0x4444, 0, 0x6666, 0x7777, 0x8888 };
	struct fake f = { .mapped = 1, .base = 0x1000, .mem = mem, .nwords = 8 };
	struct unwind_row rsp16 = { .pc = 0, .cfa_off8 = 2, .kind = UNWIND_KIND(UNWIND_CFA_RSP,
									   UNWIND_RBP_SAME) };
	struct unwind_row rbp_saved = { .cfa_off8 = 2, .rbp_off8 = 2,
					.kind = UNWIND_KIND(UNWIND_CFA_RSP, UNWIND_RBP_CFA) };
	struct unwind_row last = { .kind = UNWIND_KIND(UNWIND_CFA_LAST, 0) };
	struct unwind_row gap = { .kind = UNWIND_KIND(UNWIND_CFA_END, 0) };
	struct unwind_row plt = { .cfa_off8 = 11, .kind = UNWIND_KIND(UNWIND_CFA_PLT, 0) };
	struct native_regs r;

	/* CFA = rsp + 16: RA at 0x1008, rbp unchanged */
	f.row = &rsp16;
	r = (struct native_regs){ .pc = 0x5000, .sp = 0x1000, .bp = 0x99 };
	CHECK_EQ_INT(unwind_step(&f, &r, 0), NATIVE_CFA_FOUND);
	CHECK(r.pc == 0x2222 && r.sp == 0x1010 && r.bp == 0x99);
	/* rbp saved at CFA - 16 */
	f.row = &rbp_saved;
	r = (struct native_regs){ .pc = 0x5000, .sp = 0x1000, .bp = 0x99 };
	CHECK_EQ_INT(unwind_step(&f, &r, 1), NATIVE_CFA_FOUND);
	CHECK(r.pc == 0x2222 && r.bp == 0x1111);
	/* a gap: frame pointers, CFA = rbp + 16, caller's rbp at rbp */
	f.row = &gap;
	r = (struct native_regs){ .pc = 0x5000, .sp = 0x1000, .bp = 0x1010 };
	CHECK_EQ_INT(unwind_step(&f, &r, 1), NATIVE_CFA_FOUND);
	CHECK(r.pc == 0x4444 && r.sp == 0x1020 && r.bp == 0x3333);
	CHECK_EQ_INT(f.counts[NATIVE_STAT_GAP], 1);
	/* no table, rbp below sp: FP_BAD */
	f.row = NULL;
	r = (struct native_regs){ .pc = 0x5000, .sp = 0x1000, .bp = 0x800 };
	CHECK_EQ_INT(unwind_step(&f, &r, 1), NATIVE_STAT_FP_BAD);
	CHECK_EQ_INT(f.counts[NATIVE_STAT_NO_TABLE], 1);
	/* the PLT rule: +8 before the push at offset 11, +16 after */
	f.row = &plt;
	r = (struct native_regs){ .pc = 0x5006, .sp = 0x1000 };
	CHECK_EQ_INT(unwind_step(&f, &r, 0), NATIVE_CFA_FOUND);
	CHECK(r.pc == 0x1111 && r.sp == 0x1008);
	r = (struct native_regs){ .pc = 0x500b, .sp = 0x1000 };
	CHECK_EQ_INT(unwind_step(&f, &r, 0), NATIVE_CFA_FOUND);
	CHECK(r.pc == 0x2222 && r.sp == 0x1010);
	/* stops: outermost, RA 0, unreadable, not up, unmapped */
	f.row = &last;
	r = (struct native_regs){ .pc = 0x5000, .sp = 0x1000 };
	CHECK_EQ_INT(unwind_step(&f, &r, 1), NATIVE_STAT_END_LAST);
	f.row = &rsp16;
	r = (struct native_regs){ .pc = 0x5000, .sp = 0x1018 };
	CHECK_EQ_INT(unwind_step(&f, &r, 1), NATIVE_STAT_END_ZERO);
	r = (struct native_regs){ .pc = 0x5000, .sp = 0x2000 };
	CHECK_EQ_INT(unwind_step(&f, &r, 1), NATIVE_STAT_ERR_READ);
	rsp16.cfa_off8 = 0;
	r = (struct native_regs){ .pc = 0x5000, .sp = 0x1008 };
	CHECK_EQ_INT(unwind_step(&f, &r, 1), NATIVE_STAT_NOT_UP);
	f.mapped = 0;
	CHECK_EQ_INT(unwind_step(&f, &r, 1), NATIVE_STAT_NO_MAPPING);
}

int main(void)
{
	check_own_stack();
	check_step();
	return unit_summary("test_nativeunwind");
}
