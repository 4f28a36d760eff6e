/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* stackstore.bpf.h - storing a walked stack once: its chunks and head go
 * to userspace through a ring buffer the first time their keys are seen,
 * and two hash maps remember which keys were sent.
 *
 * Why a ring and not maps of frames: userspace then never reads or
 * deletes stored frames (a drain touches only the counts map), and what
 * the BPF side remembers is only the set of keys, so a stack seen again
 * after a drain is not written again.  Userspace keeps every stack and
 * chunk it was sent; it empties these sets when they fill up or when it
 * forgets stacks (a rotation), and only then may anything be sent twice
 * (it ignores what it has).  Chunks are cut from the root end (struct
 * stack_event), so a new stack that differs from a stored one near its
 * leaf -- another line in the leaf function, another leaf -- costs its
 * head alone, which carries the partial innermost chunk.
 */
#ifndef PYBPF_STACKSTORE_BPF_H
#define PYBPF_STACKSTORE_BPF_H

#include "pybpf.h"
#include "maps.bpf.h"
#include "python.bpf.h"

/* stack hashes sent (the value: its depth, unused) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u32);
} stacks SEC(".maps");

/* chunk keys sent */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u32);
} stack_chunks SEC(".maps");

/* struct stack_event records: a chunk always before the heads that need it */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} stack_events SEC(".maps");

/* The chunk loop's changing values, in a map for the verifier's sake (see
 * struct walk_scratch): per CPU, used while the walk's scratch is held. */
struct store_state {
	__u64 parent;        /* key of the chunk stored last, 0 = none yet */
	__u32 depth;         /* frames in the stack */
	__u32 nfull;         /* its whole chunks: all but the innermost one */
	__u32 failed;        /* a chunk could not be sent or remembered */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct store_state);
} store_state SEC(".maps");

struct store_ctx {
	struct walk_scratch *s;
	struct store_state *st;
};

#define CHUNK_SEED 0x2545f4914f6cdd1dull

/* Send one whole chunk unless its key was sent already: chunk i counted
 * from the root, its frames s->frames[off, off + PYBPF_CHUNK_FRAMES).  A
 * key is remembered only once its record is reserved, so a key in the
 * set is a chunk userspace has (or will have, in ring order, before any
 * head that needs it). */
static long store_chunk(__u32 i, struct store_ctx *c)
{
	struct store_state *st = c->st;
	struct walk_scratch *s = c->s;
	struct stack_event *ev;
	__u32 off, j, one = 1;
	__u64 key;

	if (i >= st->nfull)
		return 1;
	off = st->depth - (i + 1) * PYBPF_CHUNK_FRAMES;
	key = st->parent ^ CHUNK_SEED;
#pragma unroll
	for (j = 0; j < PYBPF_CHUNK_FRAMES; j++) {
		const struct frame_rec *r = &s->frames[(off + j) & (PYBPF_MAX_DEPTH - 1)];

		key = mix64(key, ((__u64)r->sym_id << 32) | r->lasti);
	}
	key = key ?: 1; /* 0 means "no parent" */
	if (bpf_map_lookup_elem(&stack_chunks, &key))
		goto shared;
	ev = bpf_ringbuf_reserve(&stack_events, sizeof(*ev), 0);
	if (!ev) {
		st->failed = 1;
		return 1;
	}
	ev->kind = STACK_EV_CHUNK;
	ev->depth = 0;
	ev->flags = 0;
	ev->nframes = PYBPF_CHUNK_FRAMES;
	ev->key = key;
	ev->parent = st->parent;
	bpf_probe_read_kernel(ev->frames, sizeof(ev->frames),
			      &s->frames[off & (PYBPF_MAX_DEPTH - 1)]);
	if (bpf_map_update_elem(&stack_chunks, &key, &one, BPF_NOEXIST)) {
		/* another CPU sent it first, or the set is full */
		bpf_ringbuf_discard(ev, 0);
		if (!bpf_map_lookup_elem(&stack_chunks, &key)) {
			st->failed = 1;
			return 1;
		}
		goto shared;
	}
	bpf_ringbuf_submit(ev, 0);
	stat_inc(STAT_CHUNKS_STORED);
	st->parent = key;
	return 0;
shared:
	stat_inc(STAT_CHUNKS_SHARED);
	st->parent = key;
	return 0;
}

/* Send the walked stack (w's, in w->s->frames) unless its hash was sent
 * already: its frames named (name_frames, which may give it another hash:
 * w->hash), its whole chunks root first, then its head.  0 if userspace
 * has it or will; -1 if a ring or set was full (the sample is lost, and
 * nothing was remembered that userspace lacks); -2 if a frame could not
 * be named (lost too, counted as a read failure). */
static __always_inline int store_stack(struct walk_ctx *w)
{
	struct store_ctx c = { .s = w->s };
	struct stack_event *ev;
	__u32 zero = 0, depth = w->depth;
	__u64 hash = w->hash;

	if (bpf_map_lookup_elem(&stacks, &w->hash))
		return 0;
	if (name_frames(w))
		return -2;
	if (w->hash != hash && bpf_map_lookup_elem(&stacks, &w->hash))
		return 0;
	c.st = bpf_map_lookup_elem(&store_state, &zero);
	if (!c.st || !depth || depth > PYBPF_MAX_DEPTH)
		return -1;
	c.st->parent = 0;
	c.st->depth = depth;
	c.st->nfull = (depth - 1) / PYBPF_CHUNK_FRAMES;
	c.st->failed = 0;
	bpf_loop(PYBPF_MAX_CHUNKS, store_chunk, &c, 0);
	if (c.st->failed)
		return -1;
	ev = bpf_ringbuf_reserve(&stack_events, sizeof(*ev), 0);
	if (!ev)
		return -1;
	ev->kind = STACK_EV_HEAD;
	ev->depth = depth;
	ev->flags = w->flags;
	ev->nframes = depth - c.st->nfull * PYBPF_CHUNK_FRAMES;
	ev->key = w->hash;
	ev->parent = c.st->parent;
	/* the innermost chunk: frames [0, nframes) */
	bpf_probe_read_kernel(ev->frames, sizeof(ev->frames), w->s->frames);
	if (bpf_map_update_elem(&stacks, &w->hash, &depth, BPF_NOEXIST)) {
		bpf_ringbuf_discard(ev, 0);
		return bpf_map_lookup_elem(&stacks, &w->hash) ? 0 : -1;
	}
	bpf_ringbuf_submit(ev, 0);
	stat_inc(STAT_STACKS_STORED);
	return 0;
}

#endif /* PYBPF_STACKSTORE_BPF_H */
