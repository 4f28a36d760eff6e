/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* countslots.h - userspace's side of the count slots (bpf/maps.bpf.h):
 * the counts and keys mapped into this process, a drain's reading of them,
 * and the rotation that empties a set of slots. */
#ifndef PYBPF_COUNTSLOTS_H
#define PYBPF_COUNTSLOTS_H

#include <stddef.h>
#include <stdint.h>
#include "pybpf.h"

struct count_slots {
	uint32_t per_set;             /* slots a set (count_slots) */
	uint64_t *values;             /* count_values, mapped: 2 * per_set */
	const struct count_key *keys; /* count_keys, mapped */
	size_t values_len, keys_len;  /* the mappings' lengths */
	uint32_t *set, *next;         /* the BPF globals count_set, count_next[2] */
	int outer_fd;                 /* `counts`: slot 0 is the active set's map */
	int map_fd[2];                /* each set's key -> slot map */
	int rotate;                   /* rotate at the next drain whatever the fill */
	int unretired;                /* the inactive set's map still holds keys */
	uint64_t rotations;
	uint64_t retired[2];          /* each set's retirements: its slots name
				       * other keys after one */
};

struct count_slots_fds {
	int values, keys, outer, map_a, map_b;
};

int count_slots_init(struct count_slots *cs, const struct count_slots_fds *fds,
		     uint32_t per_set, uint32_t *set, uint32_t *next);
void count_slots_free(struct count_slots *cs);
/* Wait for every program running now to finish (re-points `counts` at
 * the map it has: the kernel waits, see bpf/maps.bpf.h). */
int count_slots_wait(struct count_slots *cs);
/* Is the active set half taken (a drain now rotates; keys beyond its
 * end would be lost samples)? */
int count_slots_half_taken(const struct count_slots *cs);
/* Should this drain rotate (a forget asked, or the active set is half
 * taken: the next interval then has at least half a set of new keys)? */
int count_slots_should_rotate(struct count_slots *cs);
/* New keys go to the other set from now on; returns after every program
 * that could use the old set's map has finished.  The old set's counts
 * are still to be drained (count_slots_take), then count_slots_retire. */
int count_slots_rotate(struct count_slots *cs);
/* The old set drained: its map emptied (a new one in its place, else
 * its keys deleted), its slots free again.  On failure the set is not
 * rotated to (its keys would name reused slots) until a later retire,
 * which count_slots_should_rotate tries first. */
int count_slots_retire(struct count_slots *cs);
/* Take up to n counts from set `set`, from slot *pos on: each slot with
 * a count (or a fresh key) is emptied and its index (in both sets, from
 * 0 to 2 * per_set) and count copied out; *pos moves past the slots
 * looked at.  Returns how many were taken. */
uint32_t count_slots_take(struct count_slots *cs, int set, uint32_t *pos, uint32_t *slots,
			  __u64 *counts, uint32_t n);
/* The key of a slot count_slots_take gave (the same until its set is
 * retired). */
static inline const struct count_key *count_slots_key(const struct count_slots *cs,
						      uint32_t slot)
{
	return &cs->keys[slot];
}

#endif /* PYBPF_COUNTSLOTS_H */
