// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* stackcache.c - the stacks the BPF side sent, each once: chunks kept by
 * key, heads made whole stacks as they arrive (their chunks arrived
 * before them, in ring order), handed to drained keys by hash.  A drain
 * reads nothing of them from the kernel.
 *
 * The rule that keeps the two sides consistent: a key may sit in the BPF
 * sets only while this cache has what it names, because the BPF side
 * never sends a key it finds there.  So emptying the sets is always safe
 * (what is sent again is ignored), and dropping a cached entry waits for
 * the sets to be emptied and then for the next drain: a program that
 * found a key in a set just before it was emptied has finished by then
 * (the drain's counts swap waits for it) and its records and counts were
 * in that drain. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "stackcache.h"

struct cached_chunk {
	uint64_t parent;         /* the chunk rootward of this one, 0 = none */
	uint32_t epoch;          /* forgets before it last arrived */
	uint32_t pad;
	struct frame_rec frames[PYBPF_CHUNK_FRAMES];
};

#define FLUSH_BATCH 8192

void stack_cache_init(struct stack_cache *s, uint64_t max_stacks, uint64_t max_chunks)
{
	memset(s, 0, sizeof(*s));
	htab_init(&s->stacks, sizeof(uint64_t), sizeof(struct cached_stack));
	htab_init(&s->chunks, sizeof(uint64_t), sizeof(struct cached_chunk));
	s->max_stacks = max_stacks;
	s->max_chunks = max_chunks;
}

void stack_cache_free(struct stack_cache *s)
{
	size_t pos = 0;
	const void *k;
	void *v;

	while (htab_next(&s->stacks, &pos, &k, &v))
		free(((struct cached_stack *)v)->frames);
	htab_free(&s->stacks);
	htab_free(&s->chunks);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* A head: its innermost frames, then its chunks' up the parent chain. */
static void add_head(struct stack_cache *s, const struct stack_event *ev)
{
	uint32_t depth = ev->depth > PYBPF_MAX_DEPTH ? PYBPF_MAX_DEPTH : ev->depth;
	uint32_t n = ev->nframes < PYBPF_CHUNK_FRAMES ? ev->nframes : PYBPF_CHUNK_FRAMES;
	uint64_t parent = ev->parent;
	struct cached_stack *cs, tmp = { .depth = depth, .flags = ev->flags };
	int created;

	s->in_stacks++;
	cs = htab_get(&s->stacks, &ev->key);
	if (cs) {
		cs->epoch = s->epoch; /* sent again: its key is in the set again */
		return;
	}
	if (!depth || n > depth)
		goto broken;
	tmp.frames = malloc(depth * sizeof(*tmp.frames));
	if (!tmp.frames)
		return;
	memcpy(tmp.frames, ev->frames, n * sizeof(*tmp.frames));
	while (n < depth) {
		const struct cached_chunk *c = parent ? htab_get(&s->chunks, &parent) : NULL;
		uint32_t m = depth - n < PYBPF_CHUNK_FRAMES ? depth - n : PYBPF_CHUNK_FRAMES;

		if (!c)
			goto broken;
		memcpy(tmp.frames + n, c->frames, m * sizeof(*tmp.frames));
		n += m;
		parent = c->parent;
	}
	if (parent)
		goto broken;
	tmp.epoch = s->epoch;
	cs = htab_put(&s->stacks, &ev->key, &created);
	if (!cs) {
		free(tmp.frames);
		return;
	}
	*cs = tmp;
	return;
broken:
	free(tmp.frames);
	s->st.broken++;
}

void stack_cache_event(struct stack_cache *s, const struct stack_event *ev)
{
	struct cached_chunk *c;
	int created;

	if (ev->kind == STACK_EV_HEAD) {
		s->st.stacks++;
		add_head(s, ev);
		return;
	}
	if (ev->kind != STACK_EV_CHUNK)
		return;
	s->st.chunks++;
	s->in_chunks++;
	c = htab_put(&s->chunks, &ev->key, &created);
	if (!c)
		return;
	if (created) {
		c->parent = ev->parent;
		memcpy(c->frames, ev->frames, sizeof(c->frames));
	}
	c->epoch = s->epoch;
}

int stack_cache_put(struct stack_cache *s, uint64_t hash, const struct frame_rec *frames,
		    uint32_t depth, uint32_t flags)
{
	struct cached_stack *cs;
	int created;

	if (!depth || depth > PYBPF_MAX_DEPTH)
		return -EINVAL;
	cs = htab_put(&s->stacks, &hash, &created);
	if (!cs)
		return -ENOMEM;
	if (!created)
		return 0;
	cs->frames = malloc(depth * sizeof(*frames));
	if (!cs->frames) {
		cs->seeded = 1; /* an empty entry, never swept: depth 0 */
		return -ENOMEM;
	}
	memcpy(cs->frames, frames, depth * sizeof(*frames));
	cs->depth = depth;
	cs->flags = flags;
	cs->seeded = 1;
	cs->epoch = s->epoch;
	return 0;
}

void stack_cache_begin(struct stack_cache *s)
{
	s->drains++;
}

const struct cached_stack *stack_cache_get(struct stack_cache *s, uint64_t hash)
{
	struct cached_stack *cs = htab_get(&s->stacks, &hash);

	if (!cs || !cs->frames)
		return NULL;
	cs->drain = s->drains;
	return cs;
}

void stack_cache_prefetch(const struct stack_cache *s, uint64_t hash)
{
	htab_prefetch(&s->stacks, &hash);
}

/* Empty one BPF key set; what is in it meanwhile may stay (harmless). */
static void flush_set(struct stack_cache *s, int fd)
{
	__u64 in = 0, out = 0;
	int first = 1, err;
	__u32 n;

	if (!s->buf)
		s->buf = malloc(FLUSH_BATCH * (sizeof(__u64) + sizeof(__u32)));
	if (!s->buf)
		return;
	do {
		n = FLUSH_BATCH;
		err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in, &out, s->buf,
						      (__u64 *)s->buf + FLUSH_BATCH, &n, NULL);
		first = 0;
		in = out;
	} while (!err);
}

static void flush_sets(struct stack_cache *s, int stacks_fd, int chunks_fd)
{
	flush_set(s, stacks_fd);
	flush_set(s, chunks_fd);
	s->in_stacks = s->in_chunks = 0;
	s->st.flushes++;
}

static int keep_stack(void *ctx, const void *key, void *val)
{
	struct stack_cache *s = ctx;
	struct cached_stack *cs = val;

	(void)key;
	if (cs->seeded || cs->drain == s->drains || cs->epoch == s->epoch)
		return 1;
	free(cs->frames);
	return 0;
}

static int keep_chunk(void *ctx, const void *key, void *val)
{
	(void)key;
	return ((struct cached_chunk *)val)->epoch == ((struct stack_cache *)ctx)->epoch;
}

int stack_cache_filling(const struct stack_cache *s)
{
	return s->in_stacks * 4 > s->max_stacks * 3 || s->in_chunks * 4 > s->max_chunks * 3;
}

void stack_cache_end(struct stack_cache *s, int stacks_fd, int chunks_fd)
{
	if (s->sweep) {
		/* the first drain after a forget: what it used stays, and what
		 * was sent since (its keys are in the sets again) */
		htab_retain(&s->stacks, keep_stack, s);
		htab_retain(&s->chunks, keep_chunk, s);
		s->sweep = 0;
	}
	/* full sets would lose samples: empty them and take resends */
	if (stack_cache_filling(s))
		flush_sets(s, stacks_fd, chunks_fd);
}

void stack_cache_forget(struct stack_cache *s, int stacks_fd, int chunks_fd)
{
	flush_sets(s, stacks_fd, chunks_fd);
	s->epoch++;
	s->sweep = 1;
}
