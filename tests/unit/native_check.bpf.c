// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* native_check.bpf.c - a harness for bpf/native.bpf.h, built and run by
 * tests/unit/test_native_bpf.c (not by the Makefile, not by pybpf): a
 * syscall program that BPF_PROG_TEST_RUN runs in the test's own task, so
 * native_walk() unwinds the test's real stack with real tables.
 *
 * Its native_resolve() scans a small array of the test's mappings; the
 * sampler's per-process mapping lookup replaces it in phase 2.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "unwind.h"
#include "native.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CHECK_MAPS 64

struct check_mapping {
	__u64 start, end;            /* [start, end) of an executable mapping */
	__u64 pgoff;                 /* its file offset, in bytes */
	__u64 file_id;               /* 0: no table */
};

struct check_args {
	__u64 pc, sp, bp;
	__u32 max;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CHECK_MAPS);
	__type(key, __u32);
	__type(value, struct check_mapping);
} check_maps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct native_state);
} check_out SEC(".maps");

static __always_inline int native_resolve(struct native_state *s, __u64 pc, __u64 *file_id,
					  __u32 *off)
{
	__u32 i;

	for (i = 0; i < CHECK_MAPS; i++) {
		__u32 key = i; /* i itself stays in a register: the verifier sees it bounded */
		struct check_mapping *m = bpf_map_lookup_elem(&check_maps, &key);

		if (!m || !m->end)
			break;
		if (pc >= m->start && pc < m->end) {
			*file_id = m->file_id;
			*off = (__u32)(pc - m->start + m->pgoff);
			return 0;
		}
	}
	return -1;
}

SEC("syscall")
int walk(struct check_args *a)
{
	__u32 zero = 0;
	struct native_state *s = bpf_map_lookup_elem(&check_out, &zero);

	if (!s)
		return 1;
	s->regs.pc = a->pc;
	s->regs.sp = a->sp;
	s->regs.bp = a->bp;
	s->max = a->max;
	native_walk(s);
	return 0;
}
