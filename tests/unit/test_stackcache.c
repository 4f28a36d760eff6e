// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* test_stackcache.c - the userspace side of stacks sent once: chunks and
 * heads made whole stacks, stacks that share parent chunks, a head whose
 * chunks never came, and a forget's sweep one drain later.  The records
 * are made here as bpf/stackstore.bpf.h makes them: whole chunks cut from
 * the root end, each naming its parent, then the head with the rest. */
#include <stdint.h>
#include <stdlib.h>
#include "stackcache.h"
#include "unit.h"

#define DEPTH 70 /* two whole chunks and a head of 6 frames */

static void frames_of(struct frame_rec *f, uint32_t depth, uint32_t leaf_lasti)
{
	uint32_t i;

	for (i = 0; i < depth; i++)
		f[i] = (struct frame_rec){ .sym_id = 100 + (depth - i), .lasti = 2 * (depth - i) };
	f[0].lasti = leaf_lasti;
}

/* Send a stack; chunks whose key is in sent[] are skipped, as the BPF
 * side skips keys in its set.  Returns the chunks sent. */
static int send(struct stack_cache *c, uint64_t hash, const struct frame_rec *f, uint32_t depth,
		uint64_t *sent, int *nsent)
{
	struct stack_event ev = {};
	uint32_t nfull = (depth - 1) / PYBPF_CHUNK_FRAMES, i, j;
	uint64_t parent = 0;
	int n = 0, k, have;

	for (i = 0; i < nfull; i++) {
		uint32_t off = depth - (i + 1) * PYBPF_CHUNK_FRAMES;
		uint64_t key = parent * 31 + 7;

		for (j = 0; j < PYBPF_CHUNK_FRAMES; j++)
			key = key * 1000003 + f[off + j].sym_id * 17 + f[off + j].lasti;
		for (have = 0, k = 0; k < *nsent; k++)
			have |= sent[k] == key;
		if (!have) {
			ev = (struct stack_event){ .kind = STACK_EV_CHUNK, .key = key, .parent = parent,
						   .nframes = PYBPF_CHUNK_FRAMES };
			memcpy(ev.frames, f + off, sizeof(ev.frames));
			stack_cache_event(c, &ev);
			sent[(*nsent)++] = key;
			n++;
		}
		parent = key;
	}
	ev = (struct stack_event){ .kind = STACK_EV_HEAD, .key = hash, .parent = parent,
				   .depth = depth, .nframes = depth - nfull * PYBPF_CHUNK_FRAMES };
	memcpy(ev.frames, f, ev.nframes * sizeof(*f));
	stack_cache_event(c, &ev);
	return n;
}

static int same(const struct cached_stack *cs, const struct frame_rec *f, uint32_t depth)
{
	return cs && cs->depth == depth && memcmp(cs->frames, f, depth * sizeof(*f)) == 0;
}

int main(void)
{
	struct frame_rec a[DEPTH], b[DEPTH], d[DEPTH + 1];
	struct stack_event orphan = { .kind = STACK_EV_HEAD, .key = 99, .depth = 40, .nframes = 8,
				      .parent = 12345 };
	struct stack_cache c;
	uint64_t sent[16];
	int nsent = 0;

	stack_cache_init(&c, 1000, 1000);
	frames_of(a, DEPTH, 10);
	frames_of(b, DEPTH, 12);   /* the same stack but for the leaf's instruction */
	CHECK_EQ_INT(send(&c, 1, a, DEPTH, sent, &nsent), 2);
	CHECK_EQ_INT(send(&c, 2, b, DEPTH, sent, &nsent), 0); /* parents shared */
	CHECK(same(stack_cache_get(&c, 1), a, DEPTH));
	CHECK(same(stack_cache_get(&c, 2), b, DEPTH));

	/* one frame deeper at the leaf: the root-end chunks are the same */
	memcpy(d + 1, a, sizeof(a));
	d[0] = (struct frame_rec){ .sym_id = 7, .lasti = 4 };
	CHECK_EQ_INT(send(&c, 3, d, DEPTH + 1, sent, &nsent), 0);
	CHECK(same(stack_cache_get(&c, 3), d, DEPTH + 1));

	/* a head whose parent never arrived is not kept */
	stack_cache_event(&c, &orphan);
	CHECK(stack_cache_get(&c, 99) == NULL);
	CHECK_EQ_INT(c.st.broken, 1);
	CHECK_EQ_INT(c.st.stacks, 4);
	CHECK_EQ_INT(c.st.chunks, 2);

	/* a rotation forgets: stack 1 is used by the next drain, stack 2 is
	 * sent again before it ends, stack 3 neither; the chunks were not sent
	 * again, so they go too (the BPF sets were emptied: they would be) */
	stack_cache_begin(&c);
	stack_cache_end(&c, -1, -1);
	stack_cache_forget(&c, -1, -1);
	nsent = 0;
	CHECK_EQ_INT(c.st.flushes, 1);
	stack_cache_begin(&c);
	CHECK(same(stack_cache_get(&c, 1), a, DEPTH));
	{
		struct stack_event again = { .kind = STACK_EV_HEAD, .key = 2, .depth = DEPTH,
					     .nframes = DEPTH - 2 * PYBPF_CHUNK_FRAMES };
		stack_cache_event(&c, &again); /* known: kept as it is */
	}
	stack_cache_end(&c, -1, -1);
	CHECK(same(stack_cache_get(&c, 1), a, DEPTH));
	CHECK(same(stack_cache_get(&c, 2), b, DEPTH));
	CHECK(stack_cache_get(&c, 3) == NULL);
	CHECK_EQ_INT(send(&c, 4, a, DEPTH, sent, &nsent), 2); /* chunks sent again */
	CHECK(same(stack_cache_get(&c, 4), a, DEPTH));

	/* a seed stays whatever the drains use */
	CHECK_EQ_INT(stack_cache_put(&c, 5, b, DEPTH, 0), 0);
	stack_cache_forget(&c, -1, -1);
	stack_cache_begin(&c);
	stack_cache_end(&c, -1, -1);
	CHECK(same(stack_cache_get(&c, 5), b, DEPTH));
	CHECK(stack_cache_get(&c, 4) == NULL);
	stack_cache_free(&c);
	return unit_summary("test_stackcache");
}
