/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* native_sample.bpf.h - `--native`: a sample's native side, taken by the
 * sampler's programs (sampler.bpf.c) between walk_begin and walk_end, so
 * the walk's busy flag guards this scratch too:
 *
 *   native_capture(ctx, regs, w)   regs: the interrupted user registers
 *                                  (copied out of the context), or NULL
 *                                  for those saved at kernel entry
 *
 * unwinds the user stack with bpf/native.bpf.h, takes the kernel stack
 * with bpf_get_stack (flags 0: the kernel part only), copies the walk's
 * activation bits (python.bpf.h), hashes all of it, stores it in
 * native_stacks once per hash and sets w->native_hash (0 when it could
 * not: the sample is then counted Python only, and the reason counted in
 * native_stats).
 */
#ifndef PYBPF_NATIVE_SAMPLE_BPF_H
#define PYBPF_NATIVE_SAMPLE_BPF_H

#include "pybpf.h"
#include "native.bpf.h"

_Static_assert(PYBPF_ENTRY_WORDS == 16, "entry words: a power of 2 the loops mask with");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct native_stack);
} native_scratch SEC(".maps");

/* native hash -> the native side, stored at its first count (as stacks) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct native_stack);
} native_stacks SEC(".maps");

struct nhash_ctx {
	struct native_stack *r;
	__u64 h;
};

/* one word of the record into the hash: user pcs, kernel pcs, entry bits */
static long nhash_step(__u32 i, struct nhash_ctx *c)
{
	struct native_stack *r = c->r;
	__u32 nu = r->user.n, nk = r->nkernel;
	__u64 v;

	if (i < nu)
		v = r->user.pcs[i & (UNWIND_MAX_FRAMES - 1)];
	else if (i < nu + nk)
		v = r->kpcs[(i - nu) & (PYBPF_NATIVE_KFRAMES - 1)];
	else if (i < nu + nk + PYBPF_ENTRY_WORDS)
		v = r->entry[(i - nu - nk) & (PYBPF_ENTRY_WORDS - 1)];
	else
		return 1;
	c->h = mix64(c->h, v);
	return 0;
}

static __always_inline void native_capture(void *ctx, const struct native_regs *uregs,
					   struct walk_ctx *w)
{
	struct nhash_ctx c = { .h = 0xc2b2ae3d27d4eb4full };
	struct native_stack *r;
	struct pt_regs *regs = NULL;
	__u32 zero = 0;
	long k;

	w->native_hash = 0;
	r = bpf_map_lookup_elem(&native_scratch, &zero);
	if (!r)
		return;
	native_stat_inc(NATIVE_STAT_SAMPLES);
	if (!uregs)
		regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	r->user.n = 0;
	r->user.stop = NATIVE_STAT_NO_MAPPING;
	if (uregs) {
		r->user.regs = *uregs;
	} else if (regs) {
		r->user.regs.pc = BPF_CORE_READ(regs, ip);
		r->user.regs.sp = BPF_CORE_READ(regs, sp);
		r->user.regs.bp = BPF_CORE_READ(regs, bp);
	}
	if (uregs || regs) {
		r->user.max = UNWIND_MAX_FRAMES;
		r->user.pid = w->pid;
		native_walk(&r->user);
	} else {
		native_stat_inc(NATIVE_STAT_NO_REGS);
	}
	k = bpf_get_stack(ctx, r->kpcs, sizeof(r->kpcs), 0);
	if (k < 0) {
		native_stat_inc(NATIVE_STAT_KERNEL_ERR);
		k = 0;
	}
	r->nkernel = (__u32)k / 8;
	if (w->entries)
		__builtin_memcpy(r->entry, w->s->entry, sizeof(r->entry));
	else
		__builtin_memset(r->entry, 0, sizeof(r->entry));
	c.r = r;
	bpf_loop(UNWIND_MAX_FRAMES + PYBPF_NATIVE_KFRAMES + PYBPF_ENTRY_WORDS, nhash_step, &c, 0);
	c.h = mix64(c.h, ((__u64)r->user.n << 32) | r->nkernel) | 1;
	if (!bpf_map_lookup_elem(&native_stacks, &c.h) &&
	    bpf_map_update_elem(&native_stacks, &c.h, r, BPF_ANY)) {
		native_stat_inc(NATIVE_STAT_LOST);
		return;
	}
	w->native_hash = c.h;
}

#endif /* PYBPF_NATIVE_SAMPLE_BPF_H */
