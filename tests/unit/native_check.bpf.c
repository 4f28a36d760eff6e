// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* native_check.bpf.c - a harness for bpf/native.bpf.h, built and run by
 * tests/unit/test_native_bpf.c (not by the Makefile, not by pybpf): raw
 * tracepoint programs that BPF_PROG_TEST_RUN runs in the test's own task
 * (not syscall programs: those are sleepable, and a sleepable program may
 * not use an LPM trie; the sampler's perf_event programs may), so
 * native_walk() unwinds the test's real stack with real tables, and
 * native_resolve() looks pcs up in the native_maps trie that
 * user/native/nativemaps.c fills from the test's own /proc/self/maps.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "unwind.h"
#include "native.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Arguments come as the raw tracepoint's u64 args (read whole only):
 * walk:    pc, sp, bp, max | pid << 32
 * resolve: pc, pid | reps << 32 (look-ups per run, for timing) */

struct resolve_out {
	__u64 file_id;
	__u32 off;
	__s32 ret;
	__u64 ns;                    /* time the run's look-ups took */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct native_state);
} check_out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct resolve_out);
} resolve_res SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} walk_ns SEC(".maps");

SEC("raw_tp")
int walk(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	struct native_state *s = bpf_map_lookup_elem(&check_out, &zero);
	__u64 *ns = bpf_map_lookup_elem(&walk_ns, &zero);
	__u64 t0, w3 = ctx->args[3];

	if (!s || !ns)
		return 1;
	s->regs.pc = ctx->args[0];
	s->regs.sp = ctx->args[1];
	s->regs.bp = ctx->args[2];
	s->max = (__u32)w3;
	s->pid = (__u32)(w3 >> 32);
	t0 = bpf_ktime_get_ns();
	native_walk(s);
	*ns = bpf_ktime_get_ns() - t0;
	return 0;
}

struct resolve_ctx {
	struct native_state *s;
	struct resolve_out *o;
	__u64 pc;
};

static long resolve_step(__u32 i, void *data)
{
	struct resolve_ctx *c = data;
	__u64 file_id = 0;
	__u32 off = 0;

	c->o->ret = native_resolve(c->s, c->pc, &file_id, &off);
	c->o->file_id = file_id;
	c->o->off = off;
	return 0;
}

SEC("raw_tp")
int resolve(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	struct native_state *s = bpf_map_lookup_elem(&check_out, &zero);
	__u64 w1 = ctx->args[1], t0;
	struct resolve_ctx c;

	c.o = bpf_map_lookup_elem(&resolve_res, &zero);
	if (!s || !c.o)
		return 1;
	s->pid = (__u32)w1;
	c.s = s;
	c.pc = ctx->args[0];
	t0 = bpf_ktime_get_ns();
	bpf_loop((__u32)(w1 >> 32), resolve_step, &c, 0);
	c.o->ns = bpf_ktime_get_ns() - t0;
	return 0;
}
