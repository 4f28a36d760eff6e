// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* idleseed.c - --idle for threads that are already blocked when sampling
 * begins: the scheduler program never sees them block, so their stacks
 * come from the userspace walker (the dump walker), once, and the BPF side
 * charges their time from then on like any other block.  With --native,
 * their native side too (user/native/nativeseed.c), read from /proc and
 * the thread's memory while it sleeps. */
#include <errno.h>
#include <stdlib.h>
#include "dumpnative.h"
#include "idleseed.h"
#include "log.h"
#include "nativemerge.h"
#include "nativesample.h"
#include "pywalk.h"

#define SEED_THREADS 1024

/* The frames of one thread as the BPF walker records them: a symbol id
 * per code object (registered in syms from the live object) and the
 * instruction's byte offset. */
static uint32_t seed_frames(struct sampler *smp, struct symbols *syms, const struct pyproc *p,
			    const struct pyframe_ref *refs, size_t n, struct frame_rec *out)
{
	uint32_t i, j, depth = 0;

	for (i = 0; i < n && depth < PYBPF_MAX_DEPTH; i++) {
		uint32_t id = 0;

		for (j = 0; j < i && !id; j++) /* recursion: one id per code object */
			if (refs[j].code == refs[i].code)
				id = out[j].sym_id;
		if (!id) {
			id = sampler_new_symbol_id(smp);
			if (pywalk_symbol(p, syms, refs[i].code, id))
				id = PYBPF_SYM_UNKNOWN;
		}
		out[depth].sym_id = id;
		out[depth].lasti = refs[i].lasti;
		depth++;
	}
	return depth;
}

/* --native: the thread's native side, with the activation bits of its
 * Python frames as the BPF walk marks them (none up to 3.10, where every
 * frame is one); 0 when not read (counted by the native sampler). */
static uint64_t seed_native(struct native_sampler *ns, const struct pyproc *p, pid_t tid,
			    const struct pyframe_ref *refs, uint32_t depth)
{
	__u64 entry[PYBPF_ENTRY_WORDS] = {};
	uint8_t flags[PYBPF_MAX_DEPTH];
	uint64_t hash = 0;
	uint32_t i;

	if (p->major == 3 && p->minor >= 11) {
		dump_native_py_flags(p, refs, depth, flags);
		for (i = 0; i < depth; i++)
			if (flags[i] & NM_PY_ENTRY)
				entry[i / 64] |= 1ull << (i % 64);
	}
	native_sampler_seed(ns, p->pid, tid, entry, &hash);
	return hash;
}

int idle_seed_process(struct sampler *smp, struct symbols *syms, const struct pyproc *p)
{
	struct pythread *threads = calloc(SEED_THREADS, sizeof(*threads));
	struct pyframe_ref *refs = calloc(PYBPF_MAX_DEPTH, sizeof(*refs));
	struct frame_rec *frames = calloc(PYBPF_MAX_DEPTH, sizeof(*frames));
	struct native_sampler *ns = sampler_native(smp);
	size_t nthreads = 0, n, i;
	int err = -ENOMEM, truncated, consistent, seeded = 0;

	if (!threads || !refs || !frames)
		goto out;
	err = pywalk_threads(p, threads, SEED_THREADS, &nthreads);
	if (!err && ns)
		native_sampler_seed_begin(ns, p->pid); /* failed: each seed counts it */
	for (i = 0; !err && i < nthreads; i++) {
		char state = threads[i].tid ? proc_state(p->pid, threads[i].tid) : 0;
		uint32_t depth;

		/* only threads waiting now, a running one is the sampler's; and
		 * of a thread's states the one the sampler would walk */
		if ((state != 'S' && state != 'D') || !threads[i].picked)
			continue;
		if (pywalk_stack(p, &threads[i], refs, PYBPF_MAX_DEPTH, &n, &truncated,
				 &consistent) || !n || !consistent)
			continue;
		depth = seed_frames(smp, syms, p, refs, n, frames);
		if (depth && !sampler_idle_seed(smp, p->pid, threads[i].tid, threads[i].tstate,
						frames, depth, truncated ? STACK_TRUNCATED : 0,
						ns ? seed_native(ns, p, threads[i].tid, refs, depth)
						   : 0))
			seeded++;
	}
	if (seeded)
		pb_debug("--idle: pid %d: %d thread(s) already blocked, stacks read from userspace",
			 p->pid, seeded);
out:
	free(threads);
	free(refs);
	free(frames);
	return err;
}
