/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* stackcache.h - the userspace copy of the stacks the BPF side stored
 * (the `stacks` map: chunks of PYBPF_CHUNK_FRAMES frames by stack hash). */
#ifndef PYBPF_STACKCACHE_H
#define PYBPF_STACKCACHE_H

#include <stddef.h>
#include <stdint.h>
#include "htab.h"
#include "pybpf.h"

struct cached_stack {
	uint32_t depth, flags;   /* STACK_* */
	uint64_t drain;          /* the last drain that used it */
	struct frame_rec *frames;/* innermost first */
};

struct stack_cache {
	struct htab h;           /* stack hash -> struct cached_stack */
	uint64_t drains;         /* drains begun */
	struct stack_key *dead;  /* chunks read this drain, deleted at its end */
	size_t ndead, capdead;
};

void stack_cache_init(struct stack_cache *s);
void stack_cache_free(struct stack_cache *s);
/* A drain begins (after the counts swap): every whole stack in the map
 * (fd) is copied in. */
void stack_cache_begin(struct stack_cache *s, int fd);
/* A drained key's stack; NULL if neither cached nor readable. */
const struct cached_stack *stack_cache_get(struct stack_cache *s, int fd, uint64_t hash);
/* The drain ends: the chunks it read leave the map. */
void stack_cache_end(struct stack_cache *s, int fd);
/* Forget the stacks the last drain did not use (a rotation). */
void stack_cache_forget(struct stack_cache *s);

#endif /* PYBPF_STACKCACHE_H */
