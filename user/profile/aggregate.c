// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* aggregate.c - sum drained stacks and resolve them into a profile:
 * symbol ids and instruction offsets become names, files and lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aggregate.h"
#include "bigmem.h"

/* gens come from one counter: an aggregate's is never another's */
static uint32_t new_gen(void)
{
	static uint32_t last;

	return __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
}

void agg_init(struct aggregate *a)
{
	memset(a, 0, sizeof(*a));
	a->gen = new_gen();
	htab_init(&a->stacks, sizeof(struct agg_key), sizeof(uint32_t));
	htab_init(&a->threads, sizeof(uint32_t), sizeof(struct agg_thread));
	htab_init(&a->processes, sizeof(uint32_t), sizeof(struct agg_process));
}

void agg_free(struct aggregate *a)
{
	size_t i;

	for (i = 0; i < a->nblocks; i++)
		bigmem_free(a->blocks[i], BIGMEM_HUGE);
	free(a->blocks);
	a->blocks = NULL;
	a->nblocks = a->nrows = 0;
	a->gen = new_gen();
	htab_free(&a->stacks);
	htab_free(&a->threads);
	htab_free(&a->processes);
	free(a->timeline);
	a->timeline = NULL;
	a->ntimeline = a->captimeline = 0;
}

void agg_clear(struct aggregate *a)
{
	htab_clear(&a->stacks);
	a->nrows = 0; /* the blocks stay, for the rows to come */
	a->gen = new_gen();
	a->total = 0;
	a->ntimeline = 0;
}

int agg_timeline_add(struct aggregate *a, const struct agg_key *k, uint64_t time_ns,
		     uint64_t dur_ns)
{
	struct agg_sample *t;

	if (a->ntimeline == a->captimeline) {
		size_t cap = a->captimeline ? a->captimeline * 2 : 4096;

		t = realloc(a->timeline, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		a->timeline = t;
		a->captimeline = cap;
	}
	t = &a->timeline[a->ntimeline++];
	t->time_ns = time_ns;
	t->dur_ns = dur_ns;
	t->key = *k;
	return 0;
}

static struct agg_row *row_at(const struct aggregate *a, size_t n)
{
	return &a->blocks[n / AGG_BLOCK_ROWS][n % AGG_BLOCK_ROWS];
}

/* Room for one more row: 0, or -1 (ENOMEM). */
static int room(struct aggregate *a)
{
	struct agg_row **b;

	if (a->nrows < a->nblocks * AGG_BLOCK_ROWS)
		return 0;
	b = realloc(a->blocks, (a->nblocks + 1) * sizeof(*b));
	if (!b)
		return -1;
	a->blocks = b;
	if (!(b[a->nblocks] = bigmem_alloc(BIGMEM_HUGE))) /* a whole huge page */
		return -1;
	a->nblocks++;
	return 0;
}

/* k's row with st's stack (a native side once known stays) */
static struct agg_val *row(struct aggregate *a, const struct agg_key *k,
			   const struct agg_stack *st)
{
	uint32_t *n = htab_get(&a->stacks, k);
	struct agg_val *v;

	if (!n) {
		struct agg_row *r;

		/* the row first: a key in the table always has one */
		if (room(a) || !(n = htab_put(&a->stacks, k, NULL)))
			return NULL;
		*n = (uint32_t)a->nrows++;
		r = row_at(a, *n);
		memset(r, 0, sizeof(*r));
		r->key = *k;
	}
	v = &row_at(a, *n)->val;
	v->frames = st->frames;
	v->depth = st->depth;
	v->stack_flags = st->flags;
	if (st->native)
		v->native = st->native;
	return v;
}

int agg_next(const struct aggregate *a, size_t *pos, const struct agg_key **k,
	     struct agg_val **v)
{
	struct agg_row *r;

	if (*pos >= a->nrows)
		return 0;
	r = row_at(a, (*pos)++);
	*k = &r->key;
	*v = &r->val;
	return 1;
}

void agg_prefetch(const struct aggregate *a, const struct agg_key *k)
{
	htab_prefetch(&a->stacks, k);
}

void agg_row_add(struct aggregate *a, struct agg_val *v, uint64_t count)
{
	v->count += count;
	a->total += count;
}

void agg_row_add_ns(struct aggregate *a, struct agg_val *v, uint64_t ns, uint32_t rate_hz)
{
	uint64_t period = 1000000000ull / rate_hz, n;

	v->idle_ns += ns;
	n = v->idle_ns / period;
	v->idle_ns -= n * period;
	v->count += n;
	a->total += n;
}

struct agg_val *agg_add(struct aggregate *a, const struct agg_key *k, uint64_t count,
			const struct agg_stack *st)
{
	struct agg_val *v = row(a, k, st);

	if (v)
		agg_row_add(a, v, count);
	return v;
}

struct agg_val *agg_add_ns(struct aggregate *a, const struct agg_key *k, uint64_t ns,
			   uint32_t rate_hz, const struct agg_stack *st)
{
	struct agg_val *v = row(a, k, st);

	if (v)
		agg_row_add_ns(a, v, ns, rate_hz);
	return v;
}

void agg_thread(struct aggregate *a, uint32_t pid, uint32_t tid, const char *name, int replace)
{
	int created;
	struct agg_thread *t = htab_put(&a->threads, &tid, &created);

	if (!t || (!created && !replace && t->name[0]))
		return;
	t->pid = pid;
	snprintf(t->name, sizeof(t->name), "%s", name);
}

const char *agg_thread_name(const struct aggregate *a, uint32_t tid)
{
	struct agg_thread *t = htab_get(&a->threads, &tid);

	return t && t->name[0] ? t->name : "";
}

void agg_process(struct aggregate *a, uint32_t pid, uint32_t nspid, const char *cmdline,
		 const char *comm, const char *cgroup)
{
	struct agg_process *p = htab_put(&a->processes, &pid, NULL);

	if (!p)
		return;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	snprintf(p->cgroup, sizeof(p->cgroup), "%s", cgroup);
	p->nspid = nspid;
	if (nspid && nspid != pid)
		snprintf(p->label, sizeof(p->label), "process %u [ns %u]: %s", pid, nspid, cmdline);
	else
		snprintf(p->label, sizeof(p->label), "process %u: %s", pid, cmdline);
}

/* ---- profile building ------------------------------------------------ */

struct frame_key {
	uint32_t kind;
	uint32_t id;             /* sym id, or tid for thread roots */
	uint32_t line;
	uint32_t pad;
};

struct builder {
	struct profile *p;
	struct htab index;       /* frame_key -> uint32_t frame index */
	struct htab stack_index; /* agg_key -> uint32_t stack index (timeline) */
	size_t cap;
	char **owned;            /* strings the profile owns */
	size_t nowned;
};

static char *own(struct builder *b, char *s)
{
	char **n = realloc(b->owned, (b->nowned + 2) * sizeof(*n));

	if (!n || !s) {
		free(s);
		return NULL;
	}
	b->owned = n;
	b->owned[b->nowned++] = s;
	b->owned[b->nowned] = NULL;
	return s;
}

static int add_frame(struct builder *b, const struct frame_key *k, const struct pframe *f,
		     uint32_t *idx)
{
	int created;
	uint32_t *slot = htab_put(&b->index, k, &created);

	if (!slot)
		return -ENOMEM;
	if (created) {
		if (b->p->nframes == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 256;
			struct pframe *n = realloc(b->p->frames, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			b->p->frames = n;
			b->cap = cap;
		}
		b->p->frames[b->p->nframes] = *f;
		*slot = b->p->nframes++;
	}
	*idx = *slot;
	return 0;
}

static int python_frame(struct builder *b, const struct symbols *syms, const struct profile_opts *o,
			const struct frame_rec *r, uint32_t *idx)
{
	const struct symbol *sym = symbols_get(syms, r->sym_id);
	struct frame_key k = { .kind = PFRAME_PYTHON, .id = r->sym_id };
	struct pframe f = { .file = "", .path = "" };

	if (!sym) {
		k.kind = f.kind = PFRAME_UNKNOWN;
		k.id = 0;
		f.name = "<unknown>";
		return add_frame(b, &k, &f, idx);
	}
	f.kind = PFRAME_PYTHON;
	f.name = sym->name;
	f.path = sym->path;
	f.file = o->full_filenames ? sym->path : sym->base;
	f.first_line = sym->firstlineno > 0 ? (uint32_t)sym->firstlineno : 0;
	if (o->by_function)
		f.line = f.first_line;
	else if (!o->no_lineno)
		f.line = symbol_line(sym, r->lasti);
	k.line = f.line;
	return add_frame(b, &k, &f, idx);
}

static int synthetic_frame(struct builder *b, uint32_t kind, uint32_t id, const char *label,
			   uint32_t *idx)
{
	struct frame_key k = { .kind = kind, .id = id };
	struct pframe f = { .kind = kind, .file = "", .path = "" };

	if (htab_get(&b->index, &k)) {
		*idx = *(uint32_t *)htab_get(&b->index, &k);
		return 0;
	}
	f.name = own(b, strdup(label));
	if (!f.name)
		return -ENOMEM;
	return add_frame(b, &k, &f, idx);
}

/* A native or kernel frame (id: nprof's label id). */
static int native_frame(struct builder *b, const struct nprof_frame *nf, uint32_t kind,
			uint32_t *idx)
{
	struct frame_key k = { .kind = kind, .id = nf->id };
	struct pframe f = { .kind = kind, .name = nf->name, .file = "", .path = "" };

	if (kind == PFRAME_NATIVE) {
		/* "libz.so.1+0x4e28" names its library already */
		f.file = nf->symbolized ? nf->base : "";
		f.path = nf->lib;
	}
	return add_frame(b, &k, &f, idx);
}

/* --native: the merged user stack then the kernel's, root first; each
 * native and kernel frame's address in addrs, in step with frames. */
static int merged_frames(struct builder *b, const struct symbols *syms,
			 const struct profile_opts *o, const struct agg_val *v,
			 uint32_t *frames, struct paddr *addrs, uint32_t *d)
{
	const struct nprof_stack *ns = v->native;
	size_t max = NM_MERGE_MAX(ns->nuser, v->depth), n, i;
	struct nm_frame *m = calloc(max, sizeof(*m));
	int err = 0;

	if (!m)
		return -ENOMEM;
	n = nprof_merge(ns, v->depth, !(v->stack_flags & STACK_TRUNCATED), m, max);
	for (i = n; i-- > 0 && !err;) {
		if (m[i].kind == NM_OUT_PYTHON && !frame_runs_code(&v->frames[m[i].index]))
			continue;
		if (m[i].kind == NM_OUT_PYTHON)
			err = python_frame(b, syms, o, &v->frames[m[i].index], &frames[(*d)++]);
		else if (m[i].kind == NM_OUT_NATIVE) {
			const struct nprof_frame *nf = &ns->user[m[i].index];

			addrs[*d] = (struct paddr){ .addr = nf->addr, .map = nf->map };
			err = native_frame(b, nf, PFRAME_NATIVE, &frames[(*d)++]);
		} else
			err = synthetic_frame(b, PFRAME_UNKNOWN, 1000 + m[i].mark,
					      nm_mark_name((enum nm_mark)m[i].mark),
					      &frames[(*d)++]);
	}
	for (i = ns->nkernel; i-- > 0 && !err;) {
		addrs[*d] = (struct paddr){ .addr = ns->kernel[i].addr, .map = ns->kernel[i].map };
		err = native_frame(b, &ns->kernel[i], PFRAME_KERNEL, &frames[(*d)++]);
	}
	free(m);
	return err;
}

static int build_stack(struct builder *b, const struct aggregate *a, const struct symbols *syms,
		       const struct profile_opts *o, const struct agg_key *k,
		       const struct agg_val *v, struct pstack *st)
{
	uint32_t n = v->depth + 5, *frames, i, d = 0;
	struct paddr *addrs = NULL;
	const struct agg_process *ap;
	char label[96];
	int err;

	if (v->native)
		n += v->native->nuser + v->native->nkernel + 1;
	/* own() frees what it cannot keep: NULL either way */
	frames = calloc(n, sizeof(*frames));
	if (!own(b, (char *)frames))
		return -ENOMEM;
	if (v->native) {
		addrs = calloc(n, sizeof(*addrs));
		if (!own(b, (char *)addrs))
			return -ENOMEM;
	}
	st->pid = k->pid;
	st->tid = k->tid;
	st->thread_name = agg_thread_name(a, k->tid);
	ap = htab_get(&a->processes, &k->pid);
	st->comm = ap ? ap->comm : "";
	st->cgroup = ap ? ap->cgroup : "";
	st->nspid = ap ? ap->nspid : 0;
	st->count = v->count;
	st->flags = v->stack_flags & STACK_TRUNCATED ? PSTACK_TRUNCATED : 0;
	if (k->flags & (COUNT_IDLE | COUNT_GILWAIT))
		st->flags |= PSTACK_OFFCPU;
	if (o->process_roots) {
		snprintf(label, sizeof(label), "process %u", k->pid);
		err = synthetic_frame(b, PFRAME_PROCESS, k->pid, ap ? ap->label : label,
				      &frames[d++]);
		if (err)
			return err;
	}
	if (o->thread_roots) {
		snprintf(label, sizeof(label), "thread %u (%s)", k->tid, st->thread_name);
		err = synthetic_frame(b, PFRAME_THREAD, k->tid, label, &frames[d++]);
		if (err)
			return err;
	}
	if (st->flags & PSTACK_TRUNCATED) {
		err = synthetic_frame(b, PFRAME_TRUNCATED, 0, "<truncated>", &frames[d++]);
		if (err)
			return err;
	}
	if (v->native) {
		err = merged_frames(b, syms, o, v, frames, addrs, &d);
		if (err)
			return err;
	}
	for (i = v->native ? 0 : v->depth; i-- > 0;) {
		if (!frame_runs_code(&v->frames[i]))
			continue;
		err = python_frame(b, syms, o, &v->frames[i], &frames[d++]);
		if (err)
			return err;
	}
	if (k->flags & (COUNT_IDLE | COUNT_GILWAIT)) {
		int gil = k->flags & COUNT_GILWAIT;

		err = synthetic_frame(b, PFRAME_IDLE, gil, gil ? "<GIL wait>" : "<idle>",
				      &frames[d++]);
		if (err)
			return err;
	}
	st->frames = frames;
	st->addrs = addrs;
	st->depth = d;
	return 0;
}

static int cmp_psample(const void *x, const void *y)
{
	const struct psample *a = x, *b = y;

	if (a->time_ns != b->time_ns)
		return a->time_ns < b->time_ns ? -1 : 1;
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

/* The timeline as profile stacks, sorted by time (the ring buffer
 * interleaves CPUs, and an off-CPU interval arrives at its end).  Samples
 * of stacks the profile leaves out (another process, under a period of
 * off-CPU time) are left out too. */
static int build_timeline(struct builder *b, const struct aggregate *a)
{
	struct profile *p = b->p;
	size_t i;

	p->timeline = calloc(a->ntimeline ? a->ntimeline : 1, sizeof(*p->timeline));
	if (!own(b, (char *)p->timeline)) {
		p->timeline = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < a->ntimeline; i++) {
		const struct agg_sample *t = &a->timeline[i];
		uint32_t *at = htab_get(&b->stack_index, &t->key);

		if (!at)
			continue;
		p->timeline[p->ntimeline++] = (struct psample){
			.time_ns = t->time_ns, .dur_ns = t->dur_ns, .stack = *at,
		};
	}
	qsort(p->timeline, p->ntimeline, sizeof(*p->timeline), cmp_psample);
	return 0;
}

int profile_build(const struct aggregate *a, const struct symbols *syms,
		  const struct profile_opts *o, struct profile *p)
{
	struct builder b = { .p = p };
	size_t pos = 0;
	const struct agg_key *k;
	struct agg_val *v;
	int err = 0;

	memset(p, 0, sizeof(*p));
	htab_init(&b.index, sizeof(struct frame_key), sizeof(uint32_t));
	htab_init(&b.stack_index, sizeof(struct agg_key), sizeof(uint32_t));
	p->stacks = calloc(a->nrows ? a->nrows : 1, sizeof(*p->stacks));
	if (!p->stacks) {
		err = -ENOMEM;
		goto out;
	}
	while (agg_next(a, &pos, &k, &v)) {
		uint32_t *at;

		if (!v->count || (o->only_pid && k->pid != o->only_pid))
			continue;
		err = build_stack(&b, a, syms, o, k, v, &p->stacks[p->nstacks]);
		if (err)
			goto out;
		at = a->timeline ? htab_put(&b.stack_index, k, NULL) : NULL;
		if (at)
			*at = (uint32_t)p->nstacks;
		p->total += p->stacks[p->nstacks++].count;
	}
	if (a->timeline)
		err = build_timeline(&b, a);
out:
	htab_free(&b.index);
	htab_free(&b.stack_index);
	/* the owned strings hang off the profile through its last frame slot */
	p->owned = b.owned;
	if (err)
		profile_free(p);
	return err;
}

void profile_free(struct profile *p)
{
	char **s;

	for (s = p->owned; s && *s; s++)
		free(*s);
	free(p->owned);
	free(p->frames);
	free(p->stacks);
	memset(p, 0, sizeof(*p));
}
