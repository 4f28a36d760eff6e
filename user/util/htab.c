// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* htab.c - open addressing with linear probing; grows at 50% load. */
#include <stdlib.h>
#include <string.h>
#include "bigmem.h"
#include "htab.h"

static uint8_t *table_alloc(size_t cap, size_t slot_size)
{
	return bigmem_alloc(cap * slot_size);
}

static void table_free(uint8_t *slots, size_t cap, size_t slot_size)
{
	bigmem_free(slots, cap * slot_size);
}

uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull);
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, b + i, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	for (; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 32);
}

void htab_init(struct htab *h, size_t key_size, size_t val_size)
{
	memset(h, 0, sizeof(*h));
	h->key_size = key_size;
	h->val_size = val_size;
	h->slot_size = (1 + key_size + val_size + 7) & ~(size_t)7;
}

void htab_free(struct htab *h)
{
	table_free(h->slots, h->cap, h->slot_size);
	h->slots = NULL;
	h->cap = h->len = 0;
}

static uint8_t *slot(const struct htab *h, size_t i)
{
	return h->slots + i * h->slot_size;
}

/* The slot key's probe starts at. */
static size_t home(const struct htab *h, const void *key)
{
	return hash_bytes(key, h->key_size, 0) & (h->cap - 1);
}

static size_t find(const struct htab *h, const void *key)
{
	size_t i = home(h, key);

	while (slot(h, i)[0] && memcmp(slot(h, i) + 1, key, h->key_size))
		i = (i + 1) & (h->cap - 1);
	return i;
}

void *htab_get(const struct htab *h, const void *key)
{
	size_t i;

	if (!h->cap)
		return NULL;
	i = find(h, key);
	return slot(h, i)[0] ? slot(h, i) + 1 + h->key_size : NULL;
}

void htab_prefetch(const struct htab *h, const void *key)
{
	const uint8_t *s;

	if (!h->cap)
		return;
	s = slot(h, home(h, key));
	__builtin_prefetch(s);
	__builtin_prefetch(s + h->slot_size - 1);
}

static int grow(struct htab *h)
{
	struct htab n = *h;
	size_t i;

	n.cap = h->cap ? h->cap * 2 : 64;
	n.len = 0;
	n.slots = table_alloc(n.cap, n.slot_size);
	if (!n.slots)
		return -1;
	for (i = 0; i < h->cap; i++) {
		uint8_t *s = slot(h, i);

		if (s[0])
			memcpy(slot(&n, find(&n, s + 1)), s, h->slot_size), n.len++;
	}
	table_free(h->slots, h->cap, h->slot_size);
	*h = n;
	return 0;
}

void *htab_put(struct htab *h, const void *key, int *created)
{
	uint8_t *s;

	if ((h->len + 1) * 2 > h->cap && grow(h))
		return NULL;
	s = slot(h, find(h, key));
	if (created)
		*created = !s[0];
	if (!s[0]) {
		s[0] = 1;
		memcpy(s + 1, key, h->key_size);
		memset(s + 1 + h->key_size, 0, h->val_size);
		h->len++;
	}
	return s + 1 + h->key_size;
}

int htab_next(const struct htab *h, size_t *pos, const void **key, void **val)
{
	for (; *pos < h->cap; (*pos)++) {
		uint8_t *s = slot(h, *pos);

		if (s[0]) {
			(*pos)++;
			*key = s + 1;
			*val = s + 1 + h->key_size;
			return 1;
		}
	}
	return 0;
}

void htab_clear(struct htab *h)
{
	if (h->slots)
		memset(h->slots, 0, h->cap * h->slot_size);
	h->len = 0;
}

/* After slots were emptied in place: move every entry to where find()
 * looks for it now, cluster by cluster from an empty slot (at most half
 * the slots are used, so there is one); each lands at or before its old
 * slot, never over an entry not yet moved.  Needs no memory. */
static void rehash_in_place(struct htab *h)
{
	size_t start = 0, k;

	while (slot(h, start)[0])
		start++;
	for (k = 1; k <= h->cap; k++) {
		uint8_t *s = slot(h, (start + k) & (h->cap - 1)), *t;

		if (!s[0])
			continue;
		/* find() stops at the first empty slot of the chain, or at s */
		t = slot(h, find(h, s + 1));
		if (t != s) {
			memcpy(t, s, h->slot_size);
			s[0] = 0;
		}
	}
}

long htab_retain(struct htab *h, int (*keep)(void *ctx, const void *key, void *val), void *ctx)
{
	struct htab n = *h;
	size_t i, gone = 0;

	/* keep() is asked once per entry; a dropped slot is emptied at once
	 * (probe chains are repaired below, by a new table or in place) */
	for (i = 0; i < h->cap; i++) {
		uint8_t *s = slot(h, i);

		if (s[0] && !keep(ctx, s + 1, s + 1 + h->key_size))
			s[0] = 0, gone++;
	}
	if (!gone)
		return 0;
	h->len -= gone;
	n.cap = 64;
	while ((h->len + 1) * 2 > n.cap)
		n.cap *= 2;
	n.len = h->len;
	n.slots = n.cap < h->cap ? table_alloc(n.cap, n.slot_size) : NULL;
	if (!n.slots) {
		rehash_in_place(h);
		return (long)gone;
	}
	for (i = 0; i < h->cap; i++) {
		uint8_t *s = slot(h, i);

		if (s[0])
			memcpy(slot(&n, find(&n, s + 1)), s, h->slot_size);
	}
	table_free(h->slots, h->cap, h->slot_size);
	*h = n;
	return (long)gone;
}
