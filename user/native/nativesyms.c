// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* nativesyms.c - function names of native code: per ELF file (by build
 * id) a sorted array of (file offset, size, name) from the best symbol
 * table there is, searched by bisection. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include "demangle.h"
#include "ehframe.h"
#include "elffile.h"
#include "htab.h"
#include "nativesyms.h"

struct nsym {
	uint64_t off;            /* file offset of the first byte */
	uint32_t size;           /* bytes, 0 when the symbol does not say */
	uint32_t name;           /* into names */
	uint8_t rank;            /* which of several names at one address wins */
};

#define MAX_DEBUG_DIRS 8

struct native_syms {
	struct htab by_id;       /* file id -> struct nsym_file * */
	char *debug_dirs[MAX_DEBUG_DIRS];
	size_t ndebug_dirs;
};

int native_syms_new(struct native_syms **out)
{
	struct native_syms *ns = calloc(1, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	htab_init(&ns->by_id, sizeof(uint64_t), sizeof(struct nsym_file *));
	*out = ns;
	return 0;
}

static void file_free(struct nsym_file *f)
{
	if (!f)
		return;
	free(f->syms);
	free(f->names);
	free(f);
}

void native_syms_free(struct native_syms *ns)
{
	const void *key;
	void *val;
	size_t pos = 0, i;

	if (!ns)
		return;
	while (htab_next(&ns->by_id, &pos, &key, &val))
		file_free(*(struct nsym_file **)val);
	htab_free(&ns->by_id);
	for (i = 0; i < ns->ndebug_dirs; i++)
		free(ns->debug_dirs[i]);
	free(ns);
}

int native_syms_debug_dir(struct native_syms *ns, const char *dir)
{
	if (ns->ndebug_dirs >= MAX_DEBUG_DIRS)
		return -ENOSPC;
	ns->debug_dirs[ns->ndebug_dirs] = strdup(dir);
	if (!ns->debug_dirs[ns->ndebug_dirs])
		return -ENOMEM;
	ns->ndebug_dirs++;
	return 0;
}

/* ---- building a table ---- */

struct collect {
	struct elf_file *ef;     /* the mapped file: its segments give offsets */
	struct nsym *syms;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
	int oom;
};

static uint8_t rank_of(const char *name, int bind)
{
	uint8_t r = bind == STB_GLOBAL || bind == STB_WEAK ? 8 : 0;

	/* exported over local; then getpid over __getpid, malloc over
	 * __libc_malloc: fewer leading underscores */
	if (name[0] != '_')
		r += 2;
	else if (name[1] != '_')
		r += 1;
	return r;
}

/* Append the first len - 1 bytes of name and a 0 to the names; their
 * offset there, or -1. */
static long add_name(struct collect *c, const char *name, size_t len)
{
	long at = (long)c->names_len;

	if (c->names_len + len > c->names_cap) {
		size_t cap = c->names_cap ? 2 * c->names_cap : 16384;
		char *p;

		while (cap < c->names_len + len)
			cap *= 2;
		p = realloc(c->names, cap);
		if (!p) {
			c->oom = 1;
			return -1;
		}
		c->names = p;
		c->names_cap = cap;
	}
	memcpy(c->names + c->names_len, name, len - 1);
	c->names[c->names_len + len - 1] = 0;
	c->names_len += len;
	return at;
}

static int collect_cb(void *ctx, const char *name, uint64_t value, uint64_t size, int bind)
{
	struct collect *c = ctx;
	/* versioned definitions (__libc_start_main@@GLIBC_2.34): the name */
	size_t len = strcspn(name, "@") + 1;
	uint64_t off;
	long at;

	if (elf_file_offset(c->ef, value, &off))
		return 0; /* not in a loaded segment */
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 1024;
		struct nsym *p = realloc(c->syms, cap * sizeof(*p));

		if (!p) {
			c->oom = 1;
			return -ENOMEM;
		}
		c->syms = p;
		c->cap = cap;
	}
	at = add_name(c, name, len);
	if (at < 0)
		return -ENOMEM;
	c->syms[c->n].off = off;
	c->syms[c->n].size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	c->syms[c->n].name = (uint32_t)at;
	c->syms[c->n].rank = rank_of(name, bind);
	c->n++;
	return 0;
}

static int by_off(const void *a, const void *b)
{
	const struct nsym *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1; /* the best name first */
	return x->size > y->size ? -1 : x->size < y->size;
}

/* Sort, and keep one name per address (the best, with the largest size);
 * C++ names of the kept ones demangled, once, here: every output shows
 * the table's names (the mangled text stays in names, unreferenced). */
static void finish(struct collect *c)
{
	size_t i, n = 0;

	if (c->n)
		qsort(c->syms, c->n, sizeof(*c->syms), by_off);
	for (i = 0; i < c->n; i++) {
		if (n && c->syms[n - 1].off == c->syms[i].off)
			continue;
		c->syms[n++] = c->syms[i];
	}
	c->n = n;
	for (i = 0; i < c->n && !c->oom; i++) {
		char *d = native_demangle(c->names + c->syms[i].name);
		long at = d ? add_name(c, d, strlen(d) + 1) : -1;

		if (at >= 0)
			c->syms[i].name = (uint32_t)at;
		free(d);
	}
}

static int is_file(const char *path)
{
	return access(path, R_OK) == 0;
}

/* dir/.build-id/xx/yyyy.debug, or "" */
static int debug_by_build_id(const struct native_syms *ns, const char *dir_hint, const char *hex,
			     char *out, size_t len)
{
	size_t i;

	if (strlen(hex) < 3)
		return -ENOENT;
	for (i = 0; i <= ns->ndebug_dirs + 1; i++) {
		const char *dir = i < ns->ndebug_dirs ? ns->debug_dirs[i] :
				  i == ns->ndebug_dirs ? dir_hint : "/usr/lib/debug";

		if (!dir || !*dir)
			continue;
		if (snprintf(out, len, "%s/.build-id/%.2s/%s.debug", dir, hex, hex + 2) < (int)len &&
		    is_file(out))
			return 0;
	}
	return -ENOENT;
}

/* .gnu_debuglink: next to the file, in its .debug/, or mirrored under a
 * debug directory (GDB's search order) */
static int debug_by_link(const struct native_syms *ns, const char *dir_hint, const char *path,
			 const char *link, char *out, size_t len)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t i;

	if (!slash)
		return -ENOENT;
	if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) >= (int)sizeof(dir))
		return -ENOENT;
	if (snprintf(out, len, "%s/.debug/%s", dir, link) < (int)len && is_file(out))
		return 0;
	for (i = 0; i <= ns->ndebug_dirs + 1; i++) {
		const char *d = i < ns->ndebug_dirs ? ns->debug_dirs[i] :
				i == ns->ndebug_dirs ? dir_hint : "/usr/lib/debug";

		if (!d || !*d)
			continue;
		if (snprintf(out, len, "%s%s/%s", d, dir, link) < (int)len && is_file(out))
			return 0;
	}
	return -ENOENT;
}

/* A file unpacked under a prefix (PREFIX/usr/bin/python3) keeps its debug
 * files under PREFIX/usr/lib/debug: Debian's -dbg packages extracted in
 * place, as the test bed does. */
static void prefix_debug_dir(const char *path, char *out, size_t len)
{
	const char *usr = strstr(path, "/usr/");

	out[0] = 0;
	if (usr && usr != path)
		snprintf(out, len, "%.*s/usr/lib/debug", (int)(usr - path), path);
}

static int build(struct native_syms *ns, struct elf_file *ef, const char *shown_as,
		 const char *hex, struct nsym_file *f)
{
	struct collect c = { .ef = ef };
	char hint[PATH_MAX], link[256], dpath[PATH_MAX];
	struct elf_file *dbg = NULL;
	int err;

	prefix_debug_dir(shown_as, hint, sizeof(hint));
	f->source = ".symtab";
	err = elf_each_function(ef, 0, collect_cb, &c);
	if (err == -ENOENT &&
	    ((hex[0] && debug_by_build_id(ns, hint, hex, dpath, sizeof(dpath)) == 0) ||
	     (elf_debuglink(ef, link, sizeof(link)) == 0 &&
	      debug_by_link(ns, hint, shown_as, link, dpath, sizeof(dpath)) == 0)) &&
	    elf_open(dpath, &dbg) == 0) {
		char dhex[65];

		/* a debug file of another build would name the wrong code */
		if (!hex[0] || (elf_build_id(dbg, dhex, sizeof(dhex)) == 0 && !strcmp(dhex, hex))) {
			err = elf_each_function(dbg, 0, collect_cb, &c);
			if (!err) {
				f->source = "debug file";
				memcpy(f->debug_path, dpath, sizeof(f->debug_path));
			}
		}
		elf_close(dbg);
	}
	if (err == -ENOENT) {
		f->source = ".dynsym";
		err = elf_each_function(ef, 1, collect_cb, &c);
		if (err == -ENOENT) {
			f->source = "none";
			err = 0;
		}
	}
	if (c.oom || err) {
		free(c.syms);
		free(c.names);
		return c.oom ? -ENOMEM : err;
	}
	finish(&c);
	if (c.oom) {
		free(c.syms);
		free(c.names);
		return -ENOMEM;
	}
	f->syms = c.syms;
	f->nsyms = c.n;
	f->names = c.names;
	f->names_len = c.names_len;
	return 0;
}

int native_syms_file(struct native_syms *ns, const char *path, const char *shown_as,
		     const struct nsym_file **out)
{
	struct nsym_file **slot, *f;
	struct elf_file *ef;
	const char *base;
	char hex[65] = "";
	uint64_t id;
	int err, isnew;

	if (!shown_as)
		shown_as = path;
	err = elf_open(path, &ef);
	if (err)
		return err;
	id = elf_build_id(ef, hex, sizeof(hex)) == 0 ? ehframe_file_id(hex) : ehframe_stat_id(path);
	if (!hex[0] && !id) {
		err = -ENOENT;
		goto out;
	}
	slot = htab_get(&ns->by_id, &id);
	if (slot) {
		*out = *slot;
		goto out;
	}
	err = -ENOMEM;
	f = calloc(1, sizeof(*f));
	if (!f)
		goto out;
	f->file_id = id;
	base = strrchr(shown_as, '/');
	snprintf(f->name, sizeof(f->name), "%s", base ? base + 1 : shown_as);
	memcpy(f->build_id, hex, sizeof(f->build_id));
	err = build(ns, ef, shown_as, hex, f);
	if (err) {
		free(f);
		goto out;
	}
	slot = htab_put(&ns->by_id, &id, &isnew);
	if (!slot) {
		file_free(f);
		err = -ENOMEM;
		goto out;
	}
	*slot = f;
	*out = f;
out:
	elf_close(ef);
	return err;
}

/* ---- look-ups ---- */

/* Nested or overlapping symbols are rare; look this many back. */
#define LOOK_BACK 4

const char *nsym_lookup(const struct nsym_file *f, uint64_t off, uint64_t *delta)
{
	size_t lo = 0, hi = f->nsyms, i, k;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->syms[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	for (k = 0, i = lo - 1; k < LOOK_BACK; k++, i--) {
		const struct nsym *s = &f->syms[i];
		/* a symbol without a size reaches up to the next one */
		int inside = s->size ? off - s->off < s->size :
			     k == 0 && (i + 1 == f->nsyms || off < f->syms[i + 1].off);

		if (inside) {
			if (delta)
				*delta = off - s->off;
			return f->names + s->name;
		}
		if (!i)
			break;
	}
	return NULL;
}

int nsym_format(const struct nsym_file *f, uint64_t off, char *buf, size_t len)
{
	const char *name = nsym_lookup(f, off, NULL);

	if (name)
		return snprintf(buf, len, "%s", name);
	return snprintf(buf, len, "%s+0x%llx", f->name, (unsigned long long)off);
}

void native_syms_totals(const struct native_syms *ns, size_t *files, size_t *syms,
			size_t *bytes)
{
	const void *key;
	void *val;
	size_t pos = 0;

	*files = *syms = *bytes = 0;
	while (htab_next(&ns->by_id, &pos, &key, &val)) {
		const struct nsym_file *f = *(struct nsym_file **)val;

		(*files)++;
		*syms += f->nsyms;
		*bytes += sizeof(*f) + f->nsyms * sizeof(struct nsym) + f->names_len;
	}
}
