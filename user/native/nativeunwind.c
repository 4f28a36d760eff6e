// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* nativeunwind.c - unwind a stopped thread's native stack from userspace
 * (`dump --native`): pcs placed with user/native/nativemaps.c, rows built per
 * file with user/native/ehframe.c, and each step taken by bpf/unwind_step.h, the
 * one description of a row the BPF unwinder uses too.  Files without a
 * table, the vdso and anonymous code fall back to frame pointers there. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "ehframe.h"
#include "nativemaps.h"
#include "nativeunwind.h"
#include "proc.h"

/* A mapping's table, looked up once per mapping between two reads of the
 * maps (finding a file's table by path means reading its build id). */
struct memo {
	const struct native_mapping *m;
	const struct ehframe_table *t;   /* NULL: none */
};

#define MEMO_MAX 512

struct native_unwind {
	struct native_maps *maps;
	struct ehframe_cache *tables;
	struct memo memo[MEMO_MAX];
	size_t nmemo;
};

struct unwind_ctx {
	struct native_unwind *nu;
	pid_t pid;
	struct native_walk *w;
};

int native_unwind_new(struct native_unwind **out)
{
	struct native_maps_opts mo = { .tables = NULL, .lpm_fd = -1 };
	struct native_unwind *nu = calloc(1, sizeof(*nu));
	int err = -ENOMEM;

	*out = NULL;
	if (!nu)
		return err;
	err = native_maps_new(&mo, &nu->maps);
	if (!err)
		err = ehframe_cache_new(&nu->tables);
	if (err) {
		native_unwind_free(nu);
		return err;
	}
	*out = nu;
	return 0;
}

void native_unwind_free(struct native_unwind *nu)
{
	if (!nu)
		return;
	native_maps_free(nu->maps);
	ehframe_cache_free(nu->tables);
	free(nu);
}

int native_unwind_maps(struct native_unwind *nu, pid_t pid)
{
	nu->nmemo = 0; /* mapping records may move */
	return native_maps_update(nu->maps, pid, NULL);
}

const struct native_maps *native_unwind_mappings(const struct native_unwind *nu)
{
	return nu->maps;
}

static const struct ehframe_table *table_of(struct native_unwind *nu, pid_t pid,
					    const struct native_mapping *m)
{
	const struct ehframe_table *t = NULL;
	char path[PATH_MAX + 64];
	size_t i;

	for (i = 0; i < nu->nmemo; i++)
		if (nu->memo[i].m == m)
			return nu->memo[i].t;
	/* the vdso and anonymous code have no file here: frame pointers */
	if (m->kind == NATIVE_MAP_FILE && !native_maps_open_path(pid, m, path, sizeof(path)) &&
	    ehframe_cache_get(nu->tables, path, &t, NULL))
		t = NULL;
	if (nu->nmemo < MEMO_MAX)
		nu->memo[nu->nmemo++] = (struct memo){ m, t };
	return t;
}

static int unwind_read_u64(struct unwind_ctx *c, __u64 addr, __u64 *dst)
{
	return proc_read(c->pid, addr, dst, sizeof(*dst));
}

/* The hooks of bpf/unwind_step.h */
#define UNWIND_CTX struct unwind_ctx
#define UNWIND_READ_U64(c, a, dst) unwind_read_u64((c), (a), (dst))
#define UNWIND_COUNT(c, stat) ((c)->w->counts[(stat)]++)

static int unwind_lookup(struct unwind_ctx *c, __u64 pc, struct unwind_row *row,
			 int *have_table)
{
	const struct native_mapping *m;
	const struct ehframe_table *t;
	const struct unwind_row *r;
	uint64_t off = 0;

	m = native_maps_find(c->nu->maps, c->pid, pc, &off);
	if (!m)
		return -1;
	t = table_of(c->nu, c->pid, m);
	*have_table = t != NULL;
	if (m->kind != NATIVE_MAP_FILE && !t)
		c->w->counts[NATIVE_STAT_ANON]++;
	r = t ? ehframe_find(t, (uint32_t)off) : NULL;
	if (r)
		*row = *r;
	return 0;
}

#include "unwind_step.h"

void native_unwind_walk(struct native_unwind *nu, pid_t pid, const struct native_regs *regs,
			uint64_t *pcs, size_t max, struct native_walk *w)
{
	struct unwind_ctx c = { .nu = nu, .pid = pid, .w = w };
	struct native_regs r = *regs;
	__u32 why = NATIVE_CFA_FOUND;

	memset(w, 0, sizeof(*w));
	w->stop = NATIVE_STAT_TRUNCATED;
	while (why == NATIVE_CFA_FOUND) {
		if (w->n >= max) {
			why = NATIVE_STAT_TRUNCATED;
			break;
		}
		pcs[w->n] = r.pc;
		why = unwind_step(&c, &r, w->n++ > 0);
	}
	w->stop = why;
}
