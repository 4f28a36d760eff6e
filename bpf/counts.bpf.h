/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* counts.bpf.h - counting a walked stack: its (pid, tid, stack, kind)
 * key's slot (maps.bpf.h), found through a small per-CPU cache of the
 * slots last counted on this CPU or the key map, or a new one taken.
 */
#ifndef PYBPF_COUNTS_BPF_H
#define PYBPF_COUNTS_BPF_H

#include "pybpf.h"
#include "maps.bpf.h"
#include "python.bpf.h"
#include "stackstore.bpf.h"

/* The slots of keys counted lately on this CPU, direct-mapped by the
 * key's hash: a sampled thread mostly comes back with the stack it had,
 * and a hit costs four compares instead of hashing a 32-byte key into
 * the key map.  An entry holds while count_set is what it was when the
 * entry was made: userspace adds 1 to count_set before it rotates, and
 * the rotation waits for the programs running, so no entry of an old
 * set is used after the drain that follows (see countslots.c). */
#define SLOT_CACHE_WAYS 64
struct slot_cache_ent {
	struct count_key key;
	__u32 slot;
	__u32 epoch;         /* count_set + 1 when made (0: never made), valid
			      * only while equal */
};

struct slot_cache {
	__u32 busy;          /* a program on this CPU is using it */
	__u32 pad;
	struct slot_cache_ent e[SLOT_CACHE_WAYS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct slot_cache);
} slot_cache SEC(".maps");

static __always_inline __u32 slot_cache_way(const struct count_key *k)
{
	__u64 h = k->stack_hash ^ k->native_hash ^ ((__u64)k->tid * 0x9e3779b97f4a7c15ull) ^
		  k->flags;

	h ^= h >> 29;
	h ^= h >> 43;
	return h & (SLOT_CACHE_WAYS - 1);
}

static __always_inline int count_key_eq(const struct count_key *a, const struct count_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}
_Static_assert(sizeof(struct count_key) == 32, "count_key is four words");

/* A new key's slot in set count_set, its key copied there and its count
 * marked fresh before the key is published in map; the slot the key has
 * (ours, or another CPU's that published it first), or -1 if none.
 * count_set is read after map was: map is the new set's if count_set is
 * the old one, so a key never gets a slot of a set older than its map. */
static __always_inline __s64 new_slot(void *map, const struct count_key *key)
{
	__u32 set = count_set & 1, i, idx, *found;
	struct count_key *k;
	__u64 *v;

	i = __sync_fetch_and_add(&count_next[set], 1);
	if (i >= count_slots)
		return -1;
	idx = set * count_slots + i;
	k = bpf_map_lookup_elem(&count_keys, &idx);
	v = bpf_map_lookup_elem(&count_values, &idx);
	if (!k || !v)
		return -1;
	*k = *key;
	*v = COUNT_FRESH;
	if (!bpf_map_update_elem(map, key, &idx, BPF_NOEXIST))
		return idx;
	/* another CPU published it first: this slot stays empty (0 is
	 * never handed over) */
	*v = 0;
	found = bpf_map_lookup_elem(map, key);
	return found ? *found : -1;
}

/* Add value to the (pid, tid, stack, flags) count; the first count of a
 * key stores the stack's frames too, if its hash is new
 * (stackstore.bpf.h).  0 when counted, else the sample is lost (and
 * counted as such). */
static __always_inline int count_stack(struct walk_ctx *w, __u32 tid, __u32 flags, __u64 value)
{
	struct count_key key = {
		.pid = w->pid, .tid = tid, .stack_hash = w->hash, .flags = flags,
		.native_hash = w->native_hash,
	};
	/* read before the key map: an entry is made only for a slot of the
	 * set this names (a program racing a rotation may see the new
	 * count_set and the old map, or the other way round) */
	__u32 epoch = *(volatile __u32 *)&count_set;
	__u32 zero = 0, *found, idx;
	struct slot_cache_ent *ce = NULL;
	struct slot_cache *c;
	__s64 slot;
	__u64 *cnt;
	void *map;

	/* nested on this CPU (a perf event in a uprobe program): no cache */
	c = bpf_map_lookup_elem(&slot_cache, &zero);
	if (c && !c->busy) {
		c->busy = 1;
		ce = &c->e[slot_cache_way(&key)];
		if (ce->epoch == epoch + 1 && count_key_eq(&ce->key, &key)) {
			idx = ce->slot;
			goto count;
		}
	}
	map = bpf_map_lookup_elem(&counts, &zero);
	if (!map)
		goto lost;
	found = bpf_map_lookup_elem(map, &key);
	if (found) {
		idx = *found;
	} else {
		if (w->depth) {
			int err = store_stack(w);

			if (err == -1)
				stat_inc(STAT_LOST_STACKS);
			if (err)
				goto fail;
		}
		if (key.stack_hash != w->hash) { /* named: see name_frames */
			key.stack_hash = w->hash;
			if (ce)
				ce = &c->e[slot_cache_way(&key)];
			found = bpf_map_lookup_elem(map, &key);
		}
		slot = found ? *found : new_slot(map, &key);
		if (slot < 0)
			goto lost;
		idx = slot;
	}
	if (ce && idx / count_slots == (epoch & 1)) {
		ce->key = key;
		ce->slot = idx;
		ce->epoch = epoch + 1;
	}
count:
	cnt = bpf_map_lookup_elem(&count_values, &idx);
	if (!cnt)
		goto lost;
	__sync_fetch_and_add(cnt, value);
	if (ce)
		c->busy = 0;
	return 0;
lost:
	stat_inc(STAT_LOST_COUNTS);
fail:
	if (ce)
		c->busy = 0;
	return -1;
}

#endif /* PYBPF_COUNTS_BPF_H */
