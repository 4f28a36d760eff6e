// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* stackcache.c - the stacks the BPF side stored, read back once: a drain
 * copies every whole stack of the `stacks` map into this cache in a few
 * batch reads, hands the drained keys their frames from it, and deletes
 * the chunks it read in one batch; a rotation forgets what the last drain
 * did not use. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "stackcache.h"

void stack_cache_init(struct stack_cache *s)
{
	memset(s, 0, sizeof(*s));
	htab_init(&s->h, sizeof(uint64_t), sizeof(struct cached_stack));
}

void stack_cache_free(struct stack_cache *s)
{
	size_t pos = 0;
	const void *k;
	void *v;

	while (htab_next(&s->h, &pos, &k, &v))
		free(((struct cached_stack *)v)->frames);
	htab_free(&s->h);
	free(s->dead);
	memset(s, 0, sizeof(*s));
}

/* Chunks to delete once the drain has read them (the cache holds them). */
static void mark_dead(struct stack_cache *s, uint64_t hash, uint32_t depth)
{
	uint32_t c, n = (depth + PYBPF_CHUNK_FRAMES - 1) / PYBPF_CHUNK_FRAMES;

	if (!n)
		n = 1;
	if (s->ndead + n > s->capdead) {
		size_t cap = (s->capdead ? s->capdead * 2 : 4096) + n;
		struct stack_key *d = realloc(s->dead, cap * sizeof(*d));

		if (!d)
			return; /* they stay in the map: a new count reuses them */
		s->dead = d;
		s->capdead = cap;
	}
	for (c = 0; c < n; c++)
		s->dead[s->ndead++] = (struct stack_key){ .hash = hash, .chunk = c };
}

/* Delete the chunks the drain read, in one system call (a batch stops at
 * a chunk that is gone: not stored again since the last delete; the rest
 * goes on in the next call).  Kernels without batch deletes: one by one. */
static void delete_dead(struct stack_cache *s, int fd)
{
	size_t i = 0;

	while (i < s->ndead) {
		__u32 n = (__u32)(s->ndead - i);

		if (!bpf_map_delete_batch(fd, s->dead + i, &n, NULL))
			break;
		if (errno != ENOENT) {
			for (; i < s->ndead; i++)
				bpf_map_delete_elem(fd, &s->dead[i]);
			break;
		}
		i += n + 1;   /* n deleted, then the one that was gone */
	}
	s->ndead = 0;
}

/* Read a stack's chunks once; the cache is authoritative afterwards, so
 * the BPF copies can be deleted as soon as they are read. */
const struct cached_stack *stack_cache_get(struct stack_cache *s, int fd, uint64_t hash)
{
	struct stack_key key = { .hash = hash };
	struct stack_chunk chunk;
	struct cached_stack *cs, tmp = {};
	uint32_t c, n;
	int created;

	cs = htab_get(&s->h, &hash);
	if (cs)
		goto cleanup;
	if (bpf_map_lookup_elem(fd, &key, &chunk))
		return NULL;
	tmp.depth = chunk.depth > PYBPF_MAX_DEPTH ? PYBPF_MAX_DEPTH : chunk.depth;
	tmp.flags = chunk.flags;
	tmp.frames = calloc(tmp.depth ? tmp.depth : 1, sizeof(*tmp.frames));
	if (!tmp.frames)
		return NULL;
	n = (tmp.depth + PYBPF_CHUNK_FRAMES - 1) / PYBPF_CHUNK_FRAMES;
	for (c = 0; c < n; c++) {
		uint32_t m = tmp.depth - c * PYBPF_CHUNK_FRAMES;

		key.chunk = c;
		if (c && bpf_map_lookup_elem(fd, &key, &chunk)) {
			free(tmp.frames);
			return NULL;
		}
		memcpy(tmp.frames + c * PYBPF_CHUNK_FRAMES, chunk.frames,
		       (m < PYBPF_CHUNK_FRAMES ? m : PYBPF_CHUNK_FRAMES) * sizeof(struct frame_rec));
	}
	cs = htab_put(&s->h, &hash, &created);
	if (!cs) {
		free(tmp.frames);
		return NULL;
	}
	*cs = tmp;
	mark_dead(s, hash, cs->depth);
cleanup:
	cs->drain = s->drains;
	return cs;
}

static int cmp_chunk(const void *a, const void *b)
{
	const struct stack_key *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->chunk < y->chunk ? -1 : x->chunk > y->chunk;
}

struct chunk_ref {
	struct stack_key key;
	struct stack_chunk *chunk;
};

static int cmp_chunk_ref(const void *a, const void *b)
{
	return cmp_chunk(&((const struct chunk_ref *)a)->key, &((const struct chunk_ref *)b)->key);
}

/* Every whole stack in the BPF map, into the cache, in a few batch reads
 * (a drain of 50 000 new stacks would otherwise make 50 000 lookups), and
 * its chunks marked for the batch delete.  Stacks whose chunks are not all
 * there yet (being stored right now, for a key of the new counts map) are
 * left for the next drain.  After the counts swap, every stack a drained
 * key names is stored whole: a key is counted only after its stack. */
static void prefetch(struct stack_cache *s, int fd)
{
	int first = 1;
	size_t n = 0, cap = 0, i, j;
	struct stack_key *keys = NULL;
	struct stack_chunk *vals = NULL;
	struct chunk_ref *refs;
	__u64 in = 0, out = 0;

	for (;;) {
		__u32 got = 4096;
		int err;

		if (n + got > cap) {
			size_t c = cap ? cap * 2 : 8192;
			struct stack_key *k = realloc(keys, c * sizeof(*k));
			struct stack_chunk *v = k ? realloc(vals, c * sizeof(*v)) : NULL;

			if (k)
				keys = k;
			if (!v)
				goto out;
			vals = v;
			cap = c;
		}
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys + n, vals + n, &got,
					   NULL);
		first = 0;
		n += got;
		if (err)
			break;   /* ENOENT: the end (else stack_cache_get reads what is left) */
		in = out;
	}
	refs = calloc(n ? n : 1, sizeof(*refs));
	if (!refs)
		goto out;
	for (i = 0; i < n; i++)
		refs[i] = (struct chunk_ref){ keys[i], &vals[i] };
	qsort(refs, n, sizeof(*refs), cmp_chunk_ref);
	for (i = 0; i < n; i = j) {
		uint64_t hash = refs[i].key.hash;
		uint32_t depth = refs[i].chunk->depth > PYBPF_MAX_DEPTH ? PYBPF_MAX_DEPTH
								   : refs[i].chunk->depth;
		uint32_t need = (depth + PYBPF_CHUNK_FRAMES - 1) / PYBPF_CHUNK_FRAMES, c;
		struct cached_stack *cs, tmp = {};
		int created;

		for (j = i; j < n && refs[j].key.hash == hash; j++)
			;
		if (refs[i].key.chunk != 0 || j - i < (need ? need : 1))
			continue;   /* not whole yet */
		for (c = 0; c < need && refs[i + c].key.chunk == c; c++)
			;
		if (c < need)
			continue;
		cs = htab_get(&s->h, &hash);
		if (!cs) {
			tmp.depth = depth;
			tmp.flags = refs[i].chunk->flags;
			tmp.frames = calloc(depth ? depth : 1, sizeof(*tmp.frames));
			if (!tmp.frames)
				continue;
			for (c = 0; c < need; c++) {
				uint32_t m = depth - c * PYBPF_CHUNK_FRAMES;

				memcpy(tmp.frames + c * PYBPF_CHUNK_FRAMES, refs[i + c].chunk->frames,
				       (m < PYBPF_CHUNK_FRAMES ? m : PYBPF_CHUNK_FRAMES) *
				       sizeof(struct frame_rec));
			}
			cs = htab_put(&s->h, &hash, &created);
			if (!cs) {
				free(tmp.frames);
				continue;
			}
			*cs = tmp;
		}
		cs->drain = s->drains;
		mark_dead(s, hash, depth);
	}
	free(refs);
out:
	free(keys);
	free(vals);
}

void stack_cache_begin(struct stack_cache *s, int fd)
{
	s->drains++;
	prefetch(s, fd);
}

void stack_cache_end(struct stack_cache *s, int fd)
{
	delete_dead(s, fd);
}

static int keep_stack(void *ctx, const void *key, void *val)
{
	struct stack_cache *s = ctx;
	struct cached_stack *cs = val;

	(void)key;
	if (cs->drain == s->drains)
		return 1;
	free(cs->frames);
	return 0;
}

/* A stack the last drain used stays: the active counts map may hold a key
 * whose first count found the stack's chunks still in the BPF map (so did
 * not store them again) just before that drain read and deleted them. */
void stack_cache_forget(struct stack_cache *s)
{
	htab_retain(&s->h, keep_stack, s);
}
