/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* htab.h - a small open-addressing hash table with fixed-size keys and
 * values, used by every userspace cache (stacks, symbols, aggregates). */
#ifndef PYBPF_HTAB_H
#define PYBPF_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab {
	size_t key_size, val_size, slot_size;
	size_t cap, len;
	uint8_t *slots;      /* per slot: used byte, key, value */
};

void htab_init(struct htab *h, size_t key_size, size_t val_size);
void htab_free(struct htab *h);
/* Value of key, or NULL. */
void *htab_get(const struct htab *h, const void *key);
/* Start bringing key's slot into the cache: a drain asks for the keys it
 * will look up a few steps ahead, so the misses of a large table overlap
 * instead of coming one after the other. */
void htab_prefetch(const struct htab *h, const void *key);
/* Value of key, inserted zeroed if absent (*created = 1); NULL on ENOMEM. */
void *htab_put(struct htab *h, const void *key, int *created);
/* Iterate: start with *pos = 0; returns 0 at the end. */
int htab_next(const struct htab *h, size_t *pos, const void **key, void **val);
/* Remove every entry, keep the memory. */
void htab_clear(struct htab *h);
/* Keep only the entries keep() says to (non-zero), in a table sized for
 * them, so a long run that forgets gives its memory back; returns how
 * many went (-1, nothing removed, on ENOMEM). */
long htab_retain(struct htab *h, int (*keep)(void *ctx, const void *key, void *val), void *ctx);

uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);

#endif /* PYBPF_HTAB_H */
