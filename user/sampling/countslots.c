// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* countslots.c - reading the counts the BPF side keeps in slots
 * (bpf/maps.bpf.h).  A drain exchanges each taken slot's count with 0 in
 * memory shared with the kernel: no system call and nothing deleted, so a
 * drain costs about what copying its keys costs.  A key keeps its slot
 * until its set is rotated; a rotation waits for the programs running
 * (once), and the old set's map is replaced by an empty one: the kernel
 * frees the old one's elements on its own time, not the drain's. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "countslots.h"

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

int count_slots_init(struct count_slots *cs, const struct count_slots_fds *fds,
		     uint32_t per_set, uint32_t *set, uint32_t *next)
{
	void *v, *k;

	memset(cs, 0, sizeof(*cs));
	cs->per_set = per_set;
	cs->set = set;
	cs->next = next;
	cs->outer_fd = fds->outer;
	cs->map_fd[0] = fds->map_a;
	cs->map_fd[1] = fds->map_b;
	cs->values_len = page_round(2ull * per_set * sizeof(uint64_t));
	cs->keys_len = page_round(2ull * per_set * sizeof(struct count_key));
	v = mmap(NULL, cs->values_len, PROT_READ | PROT_WRITE, MAP_SHARED, fds->values, 0);
	if (v == MAP_FAILED)
		return -errno;
	k = mmap(NULL, cs->keys_len, PROT_READ, MAP_SHARED, fds->keys, 0);
	if (k == MAP_FAILED) {
		int err = -errno;

		munmap(v, cs->values_len);
		return err;
	}
	cs->values = v;
	cs->keys = k;
	return 0;
}

void count_slots_free(struct count_slots *cs)
{
	if (cs->values)
		munmap(cs->values, cs->values_len);
	if (cs->keys)
		munmap((void *)cs->keys, cs->keys_len);
	memset(cs, 0, sizeof(*cs));
}

static int active_set(const struct count_slots *cs)
{
	return __atomic_load_n(cs->set, __ATOMIC_ACQUIRE) & 1;
}

static uint32_t taken(const struct count_slots *cs, int set)
{
	uint32_t n = __atomic_load_n(&cs->next[set], __ATOMIC_ACQUIRE);

	return n < cs->per_set ? n : cs->per_set;
}

int count_slots_wait(struct count_slots *cs)
{
	__u32 zero = 0;

	return bpf_map_update_elem(cs->outer_fd, &zero, &cs->map_fd[active_set(cs)], BPF_ANY)
		       ? -errno : 0;
}

int count_slots_half_taken(const struct count_slots *cs)
{
	return taken(cs, active_set(cs)) * 2 > cs->per_set;
}

int count_slots_should_rotate(struct count_slots *cs)
{
	if (cs->unretired && count_slots_retire(cs))
		return 0;
	return cs->rotate || count_slots_half_taken(cs);
}

int count_slots_rotate(struct count_slots *cs)
{
	int other = !active_set(cs);

	__atomic_store_n(&cs->next[other], 0, __ATOMIC_RELEASE);
	/* count_set only grows (its low bit is the set): the BPF side's
	 * slot cache keeps an entry only while it is unchanged */
	__atomic_store_n(cs->set, __atomic_load_n(cs->set, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELEASE);
	/* programs that read the old count_set have finished when this
	 * returns, and no program holds the old set's map any more */
	if (count_slots_wait(cs))
		return -errno;
	cs->rotate = 0;
	cs->rotations++;
	return 0;
}

/* A new empty map like fd's takes fd's number (the skeleton's): the old
 * map, referenced by nothing else, goes. */
static int replace_map(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	LIBBPF_OPTS(bpf_map_create_opts, o);
	int nfd, err = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	o.map_flags = info.map_flags;
	nfd = bpf_map_create(info.type, info.name, info.key_size, info.value_size,
			     info.max_entries, &o);
	if (nfd < 0)
		return -errno;
	if (dup2(nfd, fd) < 0)
		err = -errno;
	close(nfd);
	return err;
}

/* Else its keys deleted one by one (slow: ~0.5 us a key). */
static int empty_map(int fd)
{
	struct count_key key;

	while (bpf_map_get_next_key(fd, NULL, &key) == 0)
		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
			return -errno;
	return errno == ENOENT ? 0 : -errno;
}

int count_slots_retire(struct count_slots *cs)
{
	int old = !active_set(cs), err;

	err = replace_map(cs->map_fd[old]);
	if (err)
		err = empty_map(cs->map_fd[old]);
	cs->unretired = !!err;
	if (!err) {
		__atomic_store_n(&cs->next[old], 0, __ATOMIC_RELEASE);
		cs->retired[old]++;
	}
	return err;
}

uint32_t count_slots_take(struct count_slots *cs, int set, uint32_t *pos, uint32_t *slots,
			  __u64 *counts, uint32_t n)
{
	uint32_t lim = taken(cs, set), got = 0;
	size_t base = (size_t)set * cs->per_set;

	while (*pos < lim && got < n) {
		size_t i = base + (*pos)++;
		uint64_t v;

		if (!__atomic_load_n(&cs->values[i], __ATOMIC_RELAXED))
			continue;
		/* its key was written before its count was first set */
		v = __atomic_exchange_n(&cs->values[i], 0, __ATOMIC_ACQ_REL);
		if (!v)
			continue;
		slots[got] = (uint32_t)i;
		counts[got] = v & ~COUNT_FRESH;
		got++;
	}
	return got;
}
