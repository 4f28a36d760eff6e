// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* sampler.bpf.c - the perf_event sampler: on every cpu-clock tick in a
 * profiled process, walk the current thread's Python stack and count it
 * in the kernel (no per-sample event reaches userspace).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "pybpf.h"
#include "maps.bpf.h"
#include "python.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Store the walked stack in chunks; a stack is stored again only when
 * its count key is new in this epoch (userspace caches what it read). */
static __always_inline int store_stack(struct walk_ctx *w)
{
	struct stack_key key = { .hash = w->hash };
	__u32 n = (w->depth + PYBPF_CHUNK_FRAMES - 1) / PYBPF_CHUNK_FRAMES;
	__u32 c;

	for (c = 0; c < PYBPF_MAX_CHUNKS; c++) {
		struct stack_chunk *chunk;

		if (c >= n)
			break;
		chunk = &w->s->chunks[c];
		chunk->depth = w->depth;
		chunk->flags = w->flags;
		key.chunk = c;
		if (bpf_map_update_elem(&stacks, &key, chunk, BPF_ANY))
			return -1;
	}
	return 0;
}

static __always_inline void count_stack(struct walk_ctx *w, __u32 tid)
{
	struct count_key key = {
		.pid = w->pid, .tid = tid, .stack_hash = w->hash,
		.epoch = epoch & 1, .flags = 0,
	};
	__u64 one = 1, *cnt;

	cnt = bpf_map_lookup_elem(&counts, &key);
	if (cnt) {
		__sync_fetch_and_add(cnt, 1);
		return;
	}
	if (store_stack(w)) {
		stat_inc(STAT_LOST_STACKS);
		return;
	}
	if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST)) {
		cnt = bpf_map_lookup_elem(&counts, &key);
		if (!cnt) {
			stat_inc(STAT_LOST_COUNTS);
			return;
		}
		__sync_fetch_and_add(cnt, 1);
	}
}

SEC("perf_event")
int pybpf_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid, zero = 0;
	struct walk_ctx w = {};
	struct proc_info *proc;
	__u64 tstate;

	proc = bpf_map_lookup_elem(&procs, &pid);
	if (!proc)
		return 0;
	stat_inc(STAT_SAMPLES);

	w.s = bpf_map_lookup_elem(&scratch, &zero);
	w.cache = bpf_map_lookup_elem(&code_cache, &zero);
	if (!w.s || !w.cache)
		return 0;
	tstate = find_tstate(proc, tid);
	if (!tstate) {
		stat_inc(STAT_NO_TSTATE);
		return 0;
	}
	w.proc = proc;
	w.pid = pid;
	w.max_depth = proc->max_depth < PYBPF_MAX_DEPTH ? proc->max_depth : PYBPF_MAX_DEPTH;
	w.hash = 0x9e3779b97f4a7c15ull;
	w.frame = first_frame(proc, tstate);

	/* slack iterations for skipped shim frames; walk_step stops at max_depth */
	bpf_loop(PYBPF_MAX_DEPTH + 64, walk_step, &w, 0);
	/* frames left: depth limit, loop limit or a failed read cut the root side */
	if (w.frame)
		w.flags |= STACK_TRUNCATED;
	if (!w.depth) {
		stat_inc(STAT_EMPTY);
		return 0;
	}
	if (w.flags & STACK_TRUNCATED)
		stat_inc(STAT_TRUNCATED);
	w.hash = mix64(w.hash, ((__u64)w.depth << 32) | w.flags);
	count_stack(&w, tid);
	stat_inc(STAT_STACKS);
	return 0;
}
