/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* stackcache.h - the userspace copy of the stacks the BPF side sent once
 * each (bpf/stackstore.bpf.h: chunks and heads through a ring buffer, the
 * keys sent in two hash maps). */
#ifndef PYBPF_STACKCACHE_H
#define PYBPF_STACKCACHE_H

#include <stddef.h>
#include <stdint.h>
#include "htab.h"
#include "pybpf.h"

struct cached_stack {
	uint32_t depth, flags;   /* STACK_* */
	uint64_t drain;          /* the last drain that used it */
	uint32_t epoch;          /* forgets before it last arrived */
	uint32_t seeded;         /* put by userspace (--idle seeds): kept for good */
	struct frame_rec *frames;/* innermost first */
};

struct stack_cache_stats {
	uint64_t stacks;         /* heads received (a stack sent again counts again) */
	uint64_t chunks;         /* chunks received */
	uint64_t broken;         /* heads whose chunks were missing: not kept */
	uint64_t flushes;        /* times the BPF key sets were emptied */
};

struct stack_cache {
	struct htab stacks;      /* stack hash -> struct cached_stack */
	struct htab chunks;      /* chunk key -> struct cached_chunk */
	uint64_t drains;         /* drains begun */
	uint32_t epoch;          /* forgets so far */
	int sweep;               /* a forget waits for the next drain's end */
	uint64_t in_stacks, in_chunks;   /* keys the BPF sets hold, as far as known */
	uint64_t max_stacks, max_chunks; /* their sizes */
	void *buf;               /* a flush's batch buffers, kept between flushes */
	struct stack_cache_stats st;
};

void stack_cache_init(struct stack_cache *s, uint64_t max_stacks, uint64_t max_chunks);
void stack_cache_free(struct stack_cache *s);
/* A record of the stack_events ring. */
void stack_cache_event(struct stack_cache *s, const struct stack_event *ev);
/* A stack userspace made (an --idle seed): kept until the cache is freed. */
int stack_cache_put(struct stack_cache *s, uint64_t hash, const struct frame_rec *frames,
		    uint32_t depth, uint32_t flags);
/* A drain begins (after the counts swap and the ring's records). */
void stack_cache_begin(struct stack_cache *s);
/* A drained key's stack; NULL if it never arrived. */
const struct cached_stack *stack_cache_get(struct stack_cache *s, uint64_t hash);
/* Are the BPF key sets three quarters full?  The drain's end then
 * empties them (stack_cache_end); before that, sends beyond their size
 * would be lost samples, so a caller drains early (sampler_drain_due). */
int stack_cache_filling(const struct stack_cache *s);
/* stack_cache_get(s, hash) soon: start its memory on the way. */
void stack_cache_prefetch(const struct stack_cache *s, uint64_t hash);
/* The drain ends: a forget's sweep, and the BPF key sets emptied when
 * they fill up (stacks_fd, chunks_fd). */
void stack_cache_end(struct stack_cache *s, int stacks_fd, int chunks_fd);
/* Forget the stacks not used lately (a rotation): the BPF key sets are
 * emptied now, what goes goes at the end of the next drain. */
void stack_cache_forget(struct stack_cache *s, int stacks_fd, int chunks_fd);

#endif /* PYBPF_STACKCACHE_H */
