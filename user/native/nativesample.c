// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* nativesample.c - mappings, unwind tables and native stacks of the
 * sampler's --native mode (see nativesample.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "htab.h"
#include "nativemaps.h"
#include "nativeseed.h"
#include "nativesample.h"
#include "unwindtables.h"

struct cached_native {
	uint64_t drain;          /* the last drain that used it */
	struct native_stack *st;
};

struct native_sampler {
	struct native_sampler_opts o;
	struct unwind_tables *tables;
	struct native_maps *maps;
	struct htab cache;       /* native hash -> struct cached_native */
	struct native_seed *seed; /* made at the first seed */
	pid_t seed_pid;          /* whose mappings seed has read */
	uint64_t user_stats[NATIVE_SAMPLER_NSTATS - NATIVE_STAT_NR];
};

/* userspace's own counts, numbered after the BPF side's */
#define USER_STAT(ns, k) ((ns)->user_stats[(k) - NATIVE_STAT_NR])

static const char *names[NATIVE_SAMPLER_NSTATS] = {
	[NATIVE_STAT_WALKS] = "native walks",
	[NATIVE_STAT_FRAMES] = "native frames",
	[NATIVE_STAT_END_LAST] = "native walks ended at the outermost frame",
	[NATIVE_STAT_END_ZERO] = "native walks ended at a zero return address",
	[NATIVE_STAT_NO_MAPPING] = "native walks ended: pc in no known mapping",
	[NATIVE_STAT_NO_TABLE] = "native frames without a table: frame pointers",
	[NATIVE_STAT_GAP] = "native frames in a table gap: frame pointers",
	[NATIVE_STAT_EXPR] = "native frames with a CFA expression: frame pointers",
	[NATIVE_STAT_OTHER] = "native frames with another CFA rule: frame pointers",
	[NATIVE_STAT_RBP_LOST] = "native frames after which rbp was unknown",
	[NATIVE_STAT_FP_BAD] = "native walks ended: bad frame pointer",
	[NATIVE_STAT_ERR_READ] = "native walks ended: stack read failed",
	[NATIVE_STAT_ERR_ROW] = "native table look-ups outside the row array",
	[NATIVE_STAT_NOT_UP] = "native walks ended: stack pointer not moving up",
	[NATIVE_STAT_TRUNCATED] = "native walks truncated",
	[NATIVE_STAT_ANON] = "native frames in anonymous or vdso code",
	[NATIVE_STAT_SAMPLES] = "samples with a native stack",
	[NATIVE_STAT_NO_REGS] = "samples without user registers: Python only",
	[NATIVE_STAT_KERNEL_ERR] = "samples without kernel frames: bpf_get_stack failed",
	[NATIVE_STAT_LOST] = "samples counted Python only: native stacks map full",
	[NATIVE_SAMPLER_UNREADABLE] = "samples counted Python only: native stack not readable",
	[NATIVE_SAMPLER_SEEDS] = "threads blocked at start: native stack read",
	[NATIVE_SAMPLER_SEEDS_PARTIAL] = "threads blocked at start: native walk ended early",
	[NATIVE_SAMPLER_SEEDS_FAILED] = "threads blocked at start: no native stack, Python only",
};

const char *native_sampler_stat_name(int stat)
{
	return stat >= 0 && stat < NATIVE_SAMPLER_NSTATS && names[stat] ? names[stat] : "?";
}

int native_sampler_new(const struct native_sampler_opts *o, struct native_sampler **out)
{
	struct native_sampler *ns = calloc(1, sizeof(*ns));
	struct unwind_tables_opts uo = {
		.max_rows = o->max_rows, .max_files = o->max_files,
		.rows_fd = o->rows_fd, .files_fd = o->files_fd,
	};
	struct native_maps_opts mo = { .lpm_fd = o->lpm_fd };
	int err;

	*out = NULL;
	if (!ns)
		return -ENOMEM;
	ns->o = *o;
	htab_init(&ns->cache, sizeof(uint64_t), sizeof(struct cached_native));
	err = unwind_tables_new(&uo, &ns->tables);
	if (!err) {
		mo.tables = ns->tables;
		err = native_maps_new(&mo, &ns->maps);
	}
	if (err) {
		native_sampler_free(ns);
		return err;
	}
	*out = ns;
	return 0;
}

void native_sampler_free(struct native_sampler *ns)
{
	size_t pos = 0;
	const void *k;
	void *v;

	if (!ns)
		return;
	while (htab_next(&ns->cache, &pos, &k, &v))
		free(((struct cached_native *)v)->st);
	htab_free(&ns->cache);
	native_seed_free(ns->seed);
	native_maps_free(ns->maps);
	unwind_tables_free(ns->tables);
	free(ns);
}

int native_sampler_update(struct native_sampler *ns, pid_t pid)
{
	return native_maps_update(ns->maps, pid, NULL);
}

void native_sampler_remove(struct native_sampler *ns, pid_t pid)
{
	native_maps_remove(ns->maps, pid);
}

void native_sampler_quiesce(struct native_sampler *ns)
{
	unwind_tables_quiesce(ns->tables);
}

const struct native_stack *native_sampler_get(struct native_sampler *ns, uint64_t hash,
					      uint64_t drain)
{
	struct cached_native *c = htab_get(&ns->cache, &hash), tmp = {};

	if (c)
		goto used;
	tmp.st = malloc(sizeof(*tmp.st));
	if (!tmp.st || bpf_map_lookup_elem(ns->o.stacks_fd, &hash, tmp.st)) {
		free(tmp.st);
		USER_STAT(ns, NATIVE_SAMPLER_UNREADABLE)++;
		return NULL;
	}
	if (tmp.st->user.n > UNWIND_MAX_FRAMES)
		tmp.st->user.n = UNWIND_MAX_FRAMES;
	if (tmp.st->nkernel > PYBPF_NATIVE_KFRAMES)
		tmp.st->nkernel = PYBPF_NATIVE_KFRAMES;
	c = htab_put(&ns->cache, &hash, NULL);
	if (!c) {
		free(tmp.st);
		return NULL;
	}
	*c = tmp;
	/* the cache is authoritative from now on (as for Python stacks) */
	bpf_map_delete_elem(ns->o.stacks_fd, &hash);
used:
	c->drain = drain;
	return c->st;
}

int native_sampler_seed_begin(struct native_sampler *ns, pid_t pid)
{
	int err = ns->seed ? 0 : native_seed_new(&ns->seed);

	ns->seed_pid = 0;
	if (!err)
		err = native_seed_maps(ns->seed, pid);
	if (!err)
		ns->seed_pid = pid;
	return err;
}

/* Not the BPF side's hash (bpf/native_sample.bpf.h): a seed and a block
 * with the same record are two keys of one description. */
static uint64_t seed_hash(const struct native_stack *st)
{
	uint64_t h = 0x2545f4914f6cdd1dull;

	h = hash_bytes(st->user.pcs, st->user.n * sizeof(st->user.pcs[0]), h);
	h = hash_bytes(st->kpcs, st->nkernel * sizeof(st->kpcs[0]), h);
	h = hash_bytes(st->entry, sizeof(st->entry), h);
	return hash_bytes(&st->user.n, sizeof(st->user.n), h ^ st->nkernel) | 1;
}

int native_sampler_seed(struct native_sampler *ns, pid_t pid, pid_t tid,
			const __u64 entry[PYBPF_ENTRY_WORDS], uint64_t *hash)
{
	struct native_stack *st = calloc(1, sizeof(*st));
	int err = st ? 0 : -ENOMEM;

	*hash = 0;
	if (!err && (!ns->seed || ns->seed_pid != pid))
		err = -ESRCH; /* native_sampler_seed_begin failed (or was not called) */
	if (!err)
		err = native_seed_read(ns->seed, pid, tid, st);
	if (!err) {
		memcpy(st->entry, entry, sizeof(st->entry));
		*hash = seed_hash(st);
		if (bpf_map_update_elem(ns->o.stacks_fd, hash, st, BPF_ANY))
			err = -errno;
	}
	if (err) {
		*hash = 0;
		USER_STAT(ns, NATIVE_SAMPLER_SEEDS_FAILED)++;
	} else {
		USER_STAT(ns, NATIVE_SAMPLER_SEEDS)++;
		if (st->user.stop != NATIVE_STAT_END_LAST && st->user.stop != NATIVE_STAT_END_ZERO)
			USER_STAT(ns, NATIVE_SAMPLER_SEEDS_PARTIAL)++;
	}
	free(st);
	return err;
}

struct forget_ctx {
	uint64_t drain;
};

static int keep_native(void *ctx, const void *key, void *val)
{
	struct cached_native *c = val;

	(void)key;
	if (c->drain == ((struct forget_ctx *)ctx)->drain)
		return 1;
	free(c->st);
	return 0;
}

void native_sampler_forget(struct native_sampler *ns, uint64_t drain)
{
	struct forget_ctx c = { .drain = drain };

	htab_retain(&ns->cache, keep_native, &c);
}

void native_sampler_stats(struct native_sampler *ns, uint64_t out[NATIVE_SAMPLER_NSTATS])
{
	int ncpu = libbpf_num_possible_cpus(), c;
	__u64 *vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(*vals));
	__u32 k;

	memset(out, 0, NATIVE_SAMPLER_NSTATS * sizeof(*out));
	for (k = 0; vals && k < NATIVE_STAT_NR; k++) {
		if (bpf_map_lookup_elem(ns->o.stats_fd, &k, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	for (k = NATIVE_STAT_NR; k < NATIVE_SAMPLER_NSTATS; k++)
		out[k] = USER_STAT(ns, k);
	free(vals);
}

int native_sampler_tables(struct native_sampler *ns, char *buf, size_t len)
{
	struct unwind_tables_stats st;

	unwind_tables_stats(ns->tables, &st);
	return unwind_tables_format(&st, buf, len);
}

const struct native_maps *native_sampler_maps(const struct native_sampler *ns)
{
	return ns->maps;
}
