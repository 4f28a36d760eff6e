/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* native.bpf.h - unwind a thread's native (C) stack in BPF from the compact
 * tables of bpf/unwind.h, with frame pointers where a file has no table.
 *
 * Not called by the sampler yet (issue 11).  Where a pc lives comes from
 * native_maps (bpf/unwind.h, filled by user/native/nativemaps.c):
 *
 *   native_resolve(s, pc, &file_id, &off)
 *
 * returns 0 with the file id (0: no table) and the pc's file offset, or
 * -1 when no mapping of process s->pid holds pc.  An includer may supply
 * its own by defining NATIVE_RESOLVE_EXTERNAL before including this file.
 * Then:
 *
 *   s->regs = { pc, sp, bp } of the interrupted thread, s->max = frames,
 *   s->pid = the tgid;
 *   native_walk(s);           frames in s->pcs[0 .. s->n), innermost first,
 *                             s->stop says why it ended (enum native_stat)
 *
 * Every early end and every degraded frame bumps a native_stats counter.
 * How a row is read (CFA, rbp, return address, frame-pointer fallback,
 * stop conditions) is bpf/unwind_step.h, shared with the userspace
 * unwinder of `dump --native` (user/native/nativeunwind.c).
 */
#ifndef PYBPF_NATIVE_BPF_H
#define PYBPF_NATIVE_BPF_H

#include "unwind.h"

/* All files' rows, each file's sorted run at [first, first + count). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, UNWIND_MAX_ROWS);
	__type(key, __u32);
	__type(value, struct unwind_row);
} unwind_rows SEC(".maps");

/* file id (ehframe_file_id of the build id) -> where its rows are */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct unwind_file);
} unwind_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NATIVE_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} native_stats SEC(".maps");

static __always_inline void native_stat_add(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&native_stats, &which);

	if (v)
		*v += n; /* per-CPU slot: no atomics needed */
}

static __always_inline void native_stat_inc(__u32 which)
{
	native_stat_add(which, 1);
}

#ifdef NATIVE_RESOLVE_EXTERNAL
static __always_inline int native_resolve(struct native_state *s, __u64 pc, __u64 *file_id,
					  __u32 *off);
#else
/* (pid, executable block) -> file and offset, see bpf/unwind.h */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NATIVE_MAPS_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct native_map_key);
	__type(value, struct native_map_val);
} native_maps SEC(".maps");

static __always_inline int native_resolve(struct native_state *s, __u64 pc, __u64 *file_id,
					  __u32 *off)
{
	struct native_map_key k = {
		.prefixlen = NATIVE_MAP_PREFIX_MAX,
		.pid_be = __builtin_bswap32(s->pid),
		.addr_be = __builtin_bswap64(pc),
	};
	struct native_map_val *v = bpf_map_lookup_elem(&native_maps, &k);

	if (!v)
		return -1;
	if (v->kind != NATIVE_MAP_FILE && !v->file_id)
		native_stat_inc(NATIVE_STAT_ANON);
	*file_id = v->file_id;
	*off = (__u32)(pc + v->off_base);
	return 0;
}
#endif

/* The row of file f covering offset off: the last one with pc <= off.
 * 0, or -1 (off before the first row, or a row outside the array). */
static __always_inline int native_find_row(const struct unwind_file *f, __u32 off,
					   struct unwind_row *out)
{
	__u32 lo = 0, hi = f->count, i;
	struct unwind_row *r;

	for (i = 0; i < UNWIND_SEARCH_STEPS && lo < hi; i++) {
		__u32 mid = lo + (hi - lo) / 2, idx = f->first + mid;

		r = bpf_map_lookup_elem(&unwind_rows, &idx);
		if (!r) {
			native_stat_inc(NATIVE_STAT_ERR_ROW);
			return -1;
		}
		if (r->pc <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < hi || !lo)
		return -1; /* a table longer than the steps allow, or before its start */
	i = f->first + lo - 1;
	r = bpf_map_lookup_elem(&unwind_rows, &i);
	if (!r) {
		native_stat_inc(NATIVE_STAT_ERR_ROW);
		return -1;
	}
	*out = *r;
	return 0;
}

/* The hooks of bpf/unwind_step.h: reads with bpf_probe_read_user, rows
 * from the maps above, degradations counted in native_stats. */
#define UNWIND_CTX struct native_state
#define UNWIND_READ_U64(c, a, dst) bpf_probe_read_user((dst), 8, (void *)(a))
#define UNWIND_COUNT(c, stat) native_stat_inc(stat)

static __always_inline int unwind_lookup(struct native_state *s, __u64 pc,
					 struct unwind_row *row, int *have_table)
{
	const struct unwind_file *f = NULL;
	__u64 file_id = 0;
	__u32 off = 0;

	if (native_resolve(s, pc, &file_id, &off))
		return -1;
	if (file_id)
		f = bpf_map_lookup_elem(&unwind_files, &file_id);
	*have_table = f != NULL;
	if (f && native_find_row(f, off, row))
		row->kind = UNWIND_CFA_END;
	return 0;
}

#include "unwind_step.h"

/* One frame: record pc, then compute the caller's registers
 * (unwind_step).  0 to go on, 1 when the walk is over (s->stop set). */
static __always_inline int native_step(struct native_state *s)
{
	__u32 n = s->n, why;

	if (n >= s->max || n >= UNWIND_MAX_FRAMES) {
		s->stop = NATIVE_STAT_TRUNCATED;
		return 1;
	}
	s->pcs[n & (UNWIND_MAX_FRAMES - 1)] = s->regs.pc;
	s->n = n + 1;

	why = unwind_step(s, &s->regs, n > 0);
	if (why != NATIVE_CFA_FOUND) {
		s->stop = why;
		return 1;
	}
	return 0;
}

struct native_loop_ctx {
	struct native_state *s;
};

static long native_loop_step(__u32 i, void *data)
{
	struct native_loop_ctx *c = data;

	return native_step(c->s);
}

/* Walk from s->regs; frames and the reason it stopped land in s. */
static __always_inline void native_walk(struct native_state *s)
{
	struct native_loop_ctx c = { .s = s };

	s->n = 0;
	s->stop = NATIVE_STAT_TRUNCATED;
	if (s->max > UNWIND_MAX_FRAMES)
		s->max = UNWIND_MAX_FRAMES;
	native_stat_inc(NATIVE_STAT_WALKS);
	bpf_loop(UNWIND_MAX_FRAMES, native_loop_step, &c, 0);
	native_stat_inc(s->stop);
	native_stat_add(NATIVE_STAT_FRAMES, s->n);
}

#endif /* PYBPF_NATIVE_BPF_H */
