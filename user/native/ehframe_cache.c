// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* ehframe_cache.c - one unwind table per ELF file, shared by every process
 * that maps it: keyed by build id (files without one by device, inode,
 * size and mtime). */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "ehframe.h"
#include "elffile.h"
#include "htab.h"

struct cache_entry {
	struct ehframe_table *t; /* NULL when building failed */
	int err;
};

struct ehframe_cache {
	struct htab by_id;       /* file id -> struct cache_entry */
};

int ehframe_cache_new(struct ehframe_cache **out)
{
	struct ehframe_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	htab_init(&c->by_id, sizeof(uint64_t), sizeof(struct cache_entry));
	*out = c;
	return 0;
}

void ehframe_cache_free(struct ehframe_cache *c)
{
	const void *key;
	void *val;
	size_t pos = 0;

	if (!c)
		return;
	while (htab_next(&c->by_id, &pos, &key, &val))
		ehframe_free(((struct cache_entry *)val)->t);
	htab_free(&c->by_id);
	free(c);
}

/* Files without a build id: the same file as long as it is not replaced. */
uint64_t ehframe_stat_id(const char *path)
{
	struct stat sb;
	uint64_t v[4];

	if (stat(path, &sb))
		return 0;
	v[0] = sb.st_dev;
	v[1] = sb.st_ino;
	v[2] = (uint64_t)sb.st_size;
	v[3] = (uint64_t)sb.st_mtim.tv_sec * 1000000000ull + (uint64_t)sb.st_mtim.tv_nsec;
	return hash_bytes(v, sizeof(v), 0x75e1d) | 1;
}

int ehframe_cache_lookup(struct ehframe_cache *c, const char *path,
			 const struct ehframe_table **out, uint64_t *file_id, int *created)
{
	struct cache_entry *e;
	struct elf_file *ef;
	char hex[65];
	uint64_t id;
	int err, isnew;

	if (created)
		*created = 0;
	if (file_id)
		*file_id = 0;
	err = elf_open(path, &ef);
	if (err)
		return err;
	id = elf_build_id(ef, hex, sizeof(hex)) == 0 ? ehframe_file_id(hex) : ehframe_stat_id(path);
	err = -ENOENT;
	if (!id)
		goto out;
	if (file_id)
		*file_id = id;
	e = htab_get(&c->by_id, &id);
	if (!e) {
		e = htab_put(&c->by_id, &id, &isnew);
		err = -ENOMEM;
		if (!e)
			goto out;
		e->err = ehframe_build(ef, EHFRAME_ANY, &e->t);
		if (e->err)
			e->t = NULL;
		else
			e->t->file_id = id;
		if (created)
			*created = 1;
	}
	err = e->err;
	if (!err)
		*out = e->t;
out:
	elf_close(ef);
	return err;
}

int ehframe_cache_get(struct ehframe_cache *c, const char *path,
		      const struct ehframe_table **out, int *created)
{
	return ehframe_cache_lookup(c, path, out, NULL, created);
}

static int keep_other(void *ctx, const void *key, void *val)
{
	if (*(const uint64_t *)key != *(const uint64_t *)ctx)
		return 1;
	ehframe_free(((struct cache_entry *)val)->t);
	return 0;
}

void ehframe_cache_forget(struct ehframe_cache *c, uint64_t file_id)
{
	if (htab_get(&c->by_id, &file_id))
		htab_retain(&c->by_id, keep_other, &file_id);
}

void ehframe_cache_totals(const struct ehframe_cache *c, size_t *tables, size_t *rows,
			  size_t *bytes)
{
	const void *key;
	void *val;
	size_t pos = 0;

	*tables = *rows = *bytes = 0;
	while (htab_next(&c->by_id, &pos, &key, &val)) {
		const struct ehframe_table *t = ((struct cache_entry *)val)->t;

		if (!t)
			continue;
		(*tables)++;
		*rows += t->nrows;
		*bytes += ehframe_bytes(t);
	}
}
