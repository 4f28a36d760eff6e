// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* unwindtables.c - place each ELF file's unwind rows in the BPF row array
 * once (per build id), reference-counted by the mappings that use them;
 * free room is a sorted list of blocks (best fit, merged on free), and
 * freed rows wait for a quiesce point before they are overwritten, so a
 * BPF walk still bisecting an old table never reads another file's rows. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ehframe.h"
#include "elffile.h"
#include "htab.h"
#include "unwindtables.h"

struct ut_file {
	uint32_t first, count;   /* rows in unwind_rows, when loaded */
	uint32_t refs;
	uint8_t loaded;
	uint8_t miss;            /* enum unwind_tables_miss of the last attempt */
	uint64_t gen;            /* UT_MISS_FULL: ut->gen when it did not fit */
	char *path;              /* UT_MISS_FULL: where to read it again */
};

struct block {
	uint32_t start, len;
};

struct blocks {
	struct block *b;
	size_t n, cap;
};

struct unwind_tables {
	struct unwind_tables_opts o;
	struct ehframe_cache *cache;
	struct htab files;       /* file id -> struct ut_file */
	struct blocks free, pending;
	size_t files_loaded, rows, peak_rows, mappings, loads, unloads;
	uint64_t gen;            /* bumped when room comes back */
};

/* ---- free room ---- */

/* Insert [start, start + len) into the sorted list, merged with its
 * neighbours.  0 or -ENOMEM. */
static int blocks_add(struct blocks *l, uint32_t start, uint32_t len)
{
	size_t i = 0;

	while (i < l->n && l->b[i].start < start)
		i++;
	if (i > 0 && l->b[i - 1].start + l->b[i - 1].len == start) {
		l->b[i - 1].len += len;
		if (i < l->n && start + len == l->b[i].start) {
			l->b[i - 1].len += l->b[i].len;
			memmove(&l->b[i], &l->b[i + 1], (l->n - i - 1) * sizeof(*l->b));
			l->n--;
		}
		return 0;
	}
	if (i < l->n && start + len == l->b[i].start) {
		l->b[i].start = start;
		l->b[i].len += len;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct block *p = realloc(l->b, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->b = p;
		l->cap = cap;
	}
	memmove(&l->b[i + 1], &l->b[i], (l->n - i) * sizeof(*l->b));
	l->b[i].start = start;
	l->b[i].len = len;
	l->n++;
	return 0;
}

/* Best fit: the smallest block that holds n rows.  0 or -ENOSPC. */
static int blocks_take(struct blocks *l, uint32_t n, uint32_t *first)
{
	size_t i, best = l->n;

	for (i = 0; i < l->n; i++)
		if (l->b[i].len >= n && (best == l->n || l->b[i].len < l->b[best].len))
			best = i;
	if (best == l->n)
		return -ENOSPC;
	*first = l->b[best].start;
	l->b[best].start += n;
	l->b[best].len -= n;
	if (!l->b[best].len) {
		memmove(&l->b[best], &l->b[best + 1], (l->n - best - 1) * sizeof(*l->b));
		l->n--;
	}
	return 0;
}

/* ---- life cycle ---- */

int unwind_tables_new(const struct unwind_tables_opts *o, struct unwind_tables **out)
{
	struct unwind_tables *ut;
	int err;

	if (!o->max_rows || o->max_rows > UINT32_MAX || !o->max_files)
		return -EINVAL;
	ut = calloc(1, sizeof(*ut));
	if (!ut)
		return -ENOMEM;
	ut->o = *o;
	htab_init(&ut->files, sizeof(uint64_t), sizeof(struct ut_file));
	err = ehframe_cache_new(&ut->cache);
	if (!err)
		err = blocks_add(&ut->free, 0, (uint32_t)o->max_rows);
	if (err) {
		unwind_tables_free(ut);
		return err;
	}
	*out = ut;
	return 0;
}

void unwind_tables_free(struct unwind_tables *ut)
{
	const void *key;
	void *val;
	size_t pos = 0;

	if (!ut)
		return;
	while (htab_next(&ut->files, &pos, &key, &val))
		free(((struct ut_file *)val)->path);
	ehframe_cache_free(ut->cache);
	htab_free(&ut->files);
	free(ut->free.b);
	free(ut->pending.b);
	free(ut);
}

/* ---- writing tables ---- */

#define BATCH 4096

/* rows into unwind_rows at first: batched, one element at a time where
 * the kernel has no batch update for arrays */
static int write_rows(int fd, uint32_t first, const struct unwind_row *rows, size_t n)
{
	__u32 keys[BATCH];
	size_t done = 0, i;
	int err;

	while (done < n) {
		__u32 cnt = (__u32)(n - done < BATCH ? n - done : BATCH);

		for (i = 0; i < cnt; i++)
			keys[i] = first + (uint32_t)(done + i);
		err = bpf_map_update_batch(fd, keys, &rows[done], &cnt, NULL);
		if (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP) {
			for (i = 0; i < cnt; i++)
				if (bpf_map_update_elem(fd, &keys[i], &rows[done + i], BPF_ANY))
					return -errno;
		} else if (err) {
			return err;
		}
		done += cnt;
	}
	return 0;
}

/* Build (or take from the cache) the table of path and put it in BPF. */
static void load(struct unwind_tables *ut, const char *path, uint64_t id, struct ut_file *f)
{
	const struct ehframe_table *t = NULL;
	struct unwind_file uf;
	uint64_t got = 0;
	uint32_t first;
	int err;

	err = ehframe_cache_lookup(ut->cache, path, &t, &got, NULL);
	if (err || got != id || !t->nrows) {
		f->miss = err == -ENOENT || (!err && got == id) ? UT_MISS_NO_TABLE : UT_MISS_ERROR;
		goto forget;
	}
	if (ut->files_loaded >= ut->o.max_files ||
	    blocks_take(&ut->free, (uint32_t)t->nrows, &first)) {
		f->miss = UT_MISS_FULL;
		f->gen = ut->gen;
		if (!f->path || strcmp(f->path, path)) {
			free(f->path);
			f->path = strdup(path); /* NULL: retried only by an acquire */
		}
		goto forget;
	}
	uf.first = first;
	uf.count = (uint32_t)t->nrows;
	err = 0;
	if (ut->o.rows_fd >= 0)
		err = write_rows(ut->o.rows_fd, first, t->rows, t->nrows);
	/* published only once every row is in place */
	if (!err && ut->o.files_fd >= 0 && bpf_map_update_elem(ut->o.files_fd, &id, &uf, BPF_ANY))
		err = -errno;
	if (err) {
		f->miss = err == -E2BIG || err == -ENOMEM ? UT_MISS_FULL : UT_MISS_ERROR;
		f->gen = ut->gen;
		blocks_add(&ut->free, first, uf.count); /* never published */
		goto forget;
	}
	f->first = first;
	f->count = uf.count;
	f->loaded = 1;
	f->miss = UT_MISS_NONE;
	free(f->path);
	f->path = NULL;
	ut->files_loaded++;
	ut->rows += f->count;
	if (ut->rows > ut->peak_rows)
		ut->peak_rows = ut->rows;
	ut->loads++;
forget:
	/* the rows live in BPF now (or nowhere): no copy in userspace */
	ehframe_cache_forget(ut->cache, got ? got : id);
}

/* The id ehframe gives the file: of its build id, else of its identity. */
static uint64_t file_id_of(const char *path, int *err)
{
	struct elf_file *ef;
	char hex[65];
	uint64_t id;

	*err = elf_open(path, &ef);
	if (*err)
		return 0;
	id = elf_build_id(ef, hex, sizeof(hex)) == 0 ? ehframe_file_id(hex) : ehframe_stat_id(path);
	elf_close(ef);
	if (!id)
		*err = -ENOENT;
	return id;
}

int unwind_tables_acquire(struct unwind_tables *ut, const char *path, uint64_t *file_id,
			  enum unwind_tables_miss *miss)
{
	struct ut_file *f;
	uint64_t id;
	int err, created;

	*file_id = 0;
	*miss = UT_MISS_ERROR;
	id = file_id_of(path, &err);
	if (err)
		return err;
	f = htab_put(&ut->files, &id, &created);
	if (!f)
		return -ENOMEM;
	if (created || (!f->loaded && f->miss == UT_MISS_FULL && f->gen != ut->gen))
		load(ut, path, id, f);
	f->refs++;
	ut->mappings++;
	*file_id = id;
	*miss = f->miss;
	return 0;
}

void unwind_tables_release(struct unwind_tables *ut, uint64_t file_id)
{
	struct ut_file *f = htab_get(&ut->files, &file_id);

	if (!f || !f->refs)
		return;
	f->refs--;
	ut->mappings--;
	if (f->refs || !f->loaded)
		return;
	if (ut->o.files_fd >= 0)
		bpf_map_delete_elem(ut->o.files_fd, &file_id);
	if (blocks_add(&ut->pending, f->first, f->count))
		return; /* ENOMEM: those rows are lost, not reused too early */
	f->loaded = 0;
	ut->files_loaded--;
	ut->rows -= f->count;
	ut->unloads++;
	/* a later acquire loads it again */
	f->miss = UT_MISS_NONE;
	f->gen = 0;
}

void unwind_tables_quiesce(struct unwind_tables *ut)
{
	const void *key;
	void *val;
	size_t i, pos = 0;

	if (!ut->pending.n)
		return;
	for (i = 0; i < ut->pending.n; i++)
		if (blocks_add(&ut->free, ut->pending.b[i].start, ut->pending.b[i].len))
			break;
	memmove(ut->pending.b, &ut->pending.b[i], (ut->pending.n - i) * sizeof(*ut->pending.b));
	ut->pending.n -= i;
	ut->gen++;
	/* files still mapped that did not fit: room came back, try again (the
	 * mappings already carry their file id, BPF finds the rows as soon as
	 * unwind_files has them) */
	while (htab_next(&ut->files, &pos, &key, &val)) {
		struct ut_file *f = val;

		if (f->refs && !f->loaded && f->miss == UT_MISS_FULL && f->path)
			load(ut, f->path, *(const uint64_t *)key, f);
	}
}

/* ---- reporting ---- */

void unwind_tables_stats(const struct unwind_tables *ut, struct unwind_tables_stats *st)
{
	const void *key;
	void *val;
	size_t pos = 0, i;

	memset(st, 0, sizeof(*st));
	st->files = ut->files_loaded;
	st->rows = ut->rows;
	st->bytes = ut->rows * sizeof(struct unwind_row);
	st->peak_rows = ut->peak_rows;
	st->capacity_rows = ut->o.max_rows;
	st->mappings = ut->mappings;
	st->loads = ut->loads;
	st->unloads = ut->unloads;
	for (i = 0; i < ut->free.n; i++) {
		st->free_rows += ut->free.b[i].len;
		if (ut->free.b[i].len > st->largest_free)
			st->largest_free = ut->free.b[i].len;
	}
	for (i = 0; i < ut->pending.n; i++)
		st->pending_rows += ut->pending.b[i].len;
	while (htab_next(&ut->files, &pos, &key, &val)) {
		const struct ut_file *f = val;

		if (!f->loaded && f->miss != UT_MISS_NONE && f->miss < UT_MISS_NR)
			st->missing[f->miss]++;
	}
}

int unwind_tables_format(const struct unwind_tables_stats *st, char *buf, size_t len)
{
	const double mib = 1024.0 * 1024.0, row = sizeof(struct unwind_row);

	return snprintf(buf, len,
			"native unwind tables: %zu files, %zu rows, %.1f MiB of %.1f MiB "
			"(peak %.1f MiB); without rows: %zu %s, %zu %s, %zu %s",
			st->files, st->rows, st->bytes / mib, st->capacity_rows * row / mib,
			st->peak_rows * row / mib, st->missing[UT_MISS_NO_TABLE],
			unwind_tables_miss_name(UT_MISS_NO_TABLE), st->missing[UT_MISS_FULL],
			unwind_tables_miss_name(UT_MISS_FULL), st->missing[UT_MISS_ERROR],
			unwind_tables_miss_name(UT_MISS_ERROR));
}

const char *unwind_tables_miss_name(enum unwind_tables_miss m)
{
	switch (m) {
	case UT_MISS_NONE:
		return "loaded";
	case UT_MISS_NO_TABLE:
		return "no unwind section";
	case UT_MISS_FULL:
		return "unwind table full";
	case UT_MISS_ERROR:
		return "unreadable";
	default:
		return "?";
	}
}
