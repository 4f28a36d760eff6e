/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* maps.bpf.h - the BPF maps and globals every pybpf program shares.
 *
 * Sizes here are defaults: userspace resizes the maps between open and
 * load (bpf_map__set_max_entries) from its options.
 */
#ifndef PYBPF_MAPS_BPF_H
#define PYBPF_MAPS_BPF_H

#include "pybpf.h"

/* tgid -> what userspace learnt about the process's interpreter */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct proc_info);
} procs SEC(".maps");

/* tid -> its PyThreadState (struct thread_entry) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct thread_entry);
} threads SEC(".maps");

/* (pid, code object, validator) -> symbol id, see struct code_key */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct code_key);
	__type(value, __u32);
} codes SEC(".maps");

/* new code objects, raw name/file/line-table copies for userspace */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Sample counts.  Each (pid, tid, stack, flags) key owns a slot for as
 * long as it lives: its count is count_values[slot], its key a copy in
 * count_keys[slot], both arrays mapped into userspace, which drains a
 * slot by exchanging its count with 0 -- no system call, nothing deleted,
 * and a key seen again after a drain costs one look-up, as before it.
 *
 * Key -> slot is a hash map in slot 0 of `counts`.  Slots come in two
 * sets of count_slots each (set s: indices s * count_slots + i); new keys
 * take them from set count_set & 1.  A set filling up is rotated: userspace
 * adds 1 to count_set and switches the map in `counts` to the other set's (empty)
 * map, which makes the kernel wait for every running program (map-in-map
 * updates end with synchronize_rcu), drains both sets, then empties the
 * old one.  See user/sampling/sampler.c, and counts.bpf.h for the
 * per-CPU cache of slots in front of the key map. */
struct counts_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct count_key);
	__type(value, __u32);        /* the key's slot */
};
struct counts_map counts_a SEC(".maps");
struct counts_map counts_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct counts_map);
} counts SEC(".maps") = {
	.values = { [0] = &counts_a },
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * 65536);
	__type(key, __u32);
	__type(value, __u64);        /* COUNT_FRESH | samples or nanoseconds */
} count_values SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * 65536);
	__type(key, __u32);
	__type(value, struct count_key);
} count_keys SEC(".maps");

const volatile __u32 count_slots = 65536; /* slots a set */
__u32 count_set;                          /* & 1: the set new keys take slots from */
__u32 count_next[2];                      /* slots taken of each set */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Written by userspace through the skeleton's .bss/.data mappings. */
__u32 next_sym_id = PYBPF_SYM_FIRST;

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1;  /* per-CPU slot: no atomics needed */
}

static __always_inline void stat_add(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += n;
}

#endif /* PYBPF_MAPS_BPF_H */
