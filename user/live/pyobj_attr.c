// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pyobj_attr.c - following references by name in a live CPython: the
 * entries of a dict, the value of a str key, an object's own attribute
 * wherever its version keeps it, a str as UTF-8 (see pyobj.h).
 *
 * A dict's entries follow its index table (3.6+; 2.7's dict is one
 * table of entries in hash order).  A combined table keeps keys
 * and values in its entries; a split table (instance dicts sharing their
 * keys, PEP 412) keeps only the keys there and the values in an array
 * indexed like the entries.  From 3.11 such a values array can exist
 * without any dict object: its keys are then the type's cached keys. */
#include <errno.h>
#include <string.h>
#include "pyobj_impl.h"

#define ENTRY_MAX 64         /* bytes of one entry at most (24 in practice) */
#define CHUNK 32             /* entries per read */
#define ENTRIES_MAX 65536    /* entries looked at in one table */
#define KEY_BYTES 128        /* a longer key is never looked for */
#define STR_CHARS 800        /* code points of a str read by pyobj_str */

/* One table of keys and values, ready to walk. */
struct table {
	uint64_t entries;        /* the first entry */
	uint64_t esize, ekey, evalue;
	int64_t nentries;
	uint64_t values;         /* split: the values array; 0: in the entries */
};

/* Where the entries of a keys object are and how they look; values is
 * the split table's values array (0 for a combined table). */
static int table_of(const struct reader *r, uint64_t keys, uint64_t values, struct table *t)
{
	const struct py_user_offsets *u = r->u;
	uint64_t idx_bytes;

	if (!keys || obj_read_ssize(r, keys + u->dkeys_nentries, &t->nentries) || t->nentries < 0)
		return -EIO;
	if (u->dkeys_log2_index_bytes >= 0) {          /* 3.11+ */
		uint8_t log2 = 0, kind = 0;

		if (obj_read(r, keys + u->dkeys_log2_index_bytes, &log2, 1) || log2 > 40 ||
		    obj_read(r, keys + u->dkeys_kind, &kind, 1))
			return -EIO;
		idx_bytes = 1ull << log2;
		/* str keys (split tables too): entries without the hash */
		if (kind != u->dkeys_kind_general) {
			t->esize = u->dentry_unicode_size;
			t->ekey = u->dentry_unicode_key;
			t->evalue = u->dentry_unicode_value;
		} else {
			t->esize = u->dentry_size;
			t->ekey = u->dentry_key;
			t->evalue = u->dentry_value;
		}
	} else {                                       /* <= 3.10: DK_IXSIZE */
		int64_t size;

		if (obj_read_ssize(r, keys + u->dkeys_size, &size) || size <= 0 ||
		    size > (1ll << 40))
			return -EIO;
		idx_bytes = (uint64_t)size * (size <= 0xff ? 1 : size <= 0xffff ? 2 :
					      size <= 0xffffffffll ? 4 : 8);
		t->esize = u->dentry_size;
		t->ekey = u->dentry_key;
		t->evalue = u->dentry_value;
	}
	if (!t->esize || t->esize > ENTRY_MAX || t->ekey + 8 > t->esize ||
	    t->evalue + 8 > t->esize)
		return -EIO;
	t->entries = keys + u->dkeys_indices + idx_bytes;
	t->values = values;
	return 0;
}

/* 2.7: the entries are the table itself, mask + 1 of them in hash order
 * (no keys object, no index table); free and deleted slots have no value. */
static int table27_of(const struct reader *r, uint64_t dict, struct table *t)
{
	const struct py_user_offsets *u = r->u;
	int64_t mask;

	if (obj_read_ssize(r, dict + u->dict_mask, &mask) || mask < 0 || mask > (1ll << 40))
		return -EIO;
	t->entries = obj_read_ptr(r, dict + u->dict_table);
	t->nentries = mask + 1;
	t->esize = u->dentry_size;
	t->ekey = u->dentry_key;
	t->evalue = u->dentry_value;
	t->values = 0;
	if (!t->entries || !t->esize || t->esize > ENTRY_MAX || t->ekey + 8 > t->esize ||
	    t->evalue + 8 > t->esize)
		return -EIO;
	return 0;
}

/* The table of a dict object (exact dict type when PyDict_Type is known). */
static int dict_table(const struct reader *r, uint64_t dict, struct table *t)
{
	const struct py_offsets *f = r->f;
	const struct py_user_offsets *u = r->u;
	uint64_t type = 0, values;

	if (u->dict_keys < 0 && u->dict_table < 0)
		return -ENOTSUP;
	if (obj_read(r, dict + f->object_type, &type, 8))
		return -EIO;
	if (r->k->types[T_DICT] && type != r->k->types[T_DICT])
		return -EINVAL;
	if (u->dict_keys < 0)
		return table27_of(r, dict, t);
	values = obj_read_ptr(r, dict + u->dict_values);
	return table_of(r, obj_read_ptr(r, dict + u->dict_keys),
			values ? values + (uint64_t)u->dvalues_values : 0, t);
}

typedef int (*entry_fn)(const struct reader *r, void *ctx, uint64_t key, uint64_t value);

/* fn for each entry with a key and a value, in entry order, until fn
 * returns non-zero (returned).  Deleted entries have no value (<= 3.10:
 * a dummy key; 3.11+: no key either), nor has a key of the shared keys
 * that this instance never set. */
static int table_each(const struct reader *r, const struct table *t, entry_fn fn, void *ctx)
{
	uint8_t e[CHUNK * ENTRY_MAX];
	uint64_t vals[CHUNK], k, v;
	int64_t i, j, n;
	int ret;

	for (i = 0; i < t->nentries && i < ENTRIES_MAX; i += n) {
		n = t->nentries - i < CHUNK ? t->nentries - i : CHUNK;
		if (obj_read(r, t->entries + (uint64_t)i * t->esize, e, (size_t)n * t->esize) ||
		    (t->values && obj_read(r, t->values + (uint64_t)i * 8, vals, (size_t)n * 8)))
			return -EIO;
		for (j = 0; j < n; j++) {
			memcpy(&k, e + (uint64_t)j * t->esize + t->ekey, 8);
			if (t->values)
				v = vals[j];
			else
				memcpy(&v, e + (uint64_t)j * t->esize + t->evalue, 8);
			if (k && v && (ret = fn(r, ctx, k, v)))
				return ret;
		}
	}
	return 0;
}

struct collect {
	uint64_t *kv;
	size_t max, n;
};

static int collect_one(const struct reader *r, void *ctx, uint64_t key, uint64_t value)
{
	struct collect *c = ctx;

	(void)r;
	if (c->n == c->max)
		return 1;
	c->kv[2 * c->n] = key;
	c->kv[2 * c->n + 1] = value;
	c->n++;
	return 0;
}

int obj_dict_items(const struct reader *r, uint64_t dict, uint64_t *kv, size_t max, size_t *n)
{
	struct collect c = { .kv = kv, .max = max };
	struct table t;
	int err;

	*n = 0;
	err = dict_table(r, dict, &t);
	if (!err && max)
		err = table_each(r, &t, collect_one, &c);
	*n = c.n;
	return err < 0 ? err : 0;
}

struct find {
	const char *key;
	size_t len;              /* strlen(key) */
	uint64_t value;
};

/* Is the object at addr a str equal to f->key? */
static int find_one(const struct reader *r, void *ctx, uint64_t key, uint64_t value)
{
	struct find *f = ctx;
	uint32_t chars[KEY_BYTES + 1];
	char utf8[4 * (KEY_BYTES + 1)];
	size_t n = 0, total = 0, i, o = 0;
	uint64_t type = 0;

	if (obj_read(r, key + r->f->object_type, &type, 8) ||
	    (r->k->types[T_STR] && type != r->k->types[T_STR]))
		return 0;
	/* a str of more code points than the key has bytes cannot match */
	if (obj_read_str(r, key, chars, f->len + 1, &n, &total) || total != n || n > f->len)
		return 0;
	for (i = 0; i < n; i++)
		o += utf8_put(utf8 + o, chars[i]);
	if (o != f->len || memcmp(utf8, f->key, o))
		return 0;
	f->value = value;
	return 1;
}

static int table_find(const struct reader *r, const struct table *t, const char *key,
		      uint64_t *value)
{
	struct find f = { .key = key, .len = strlen(key) };
	int ret;

	if (f.len > KEY_BYTES)
		return -ENOENT;
	ret = table_each(r, t, find_one, &f);
	if (ret < 0)
		return ret;
	*value = f.value;
	return ret ? 0 : -ENOENT;
}

/* The table holding obj's own attributes.  3.11+ types flagged with a
 * managed dict keep a dict pointer before the object; 3.11 also a values
 * pointer, 3.12 one word for both that tags the values pointer (odd:
 * values - tag, gh-95245); 3.13 embeds the values after the object at
 * tp_basicsize, valid until a dict takes them over (gh-115776).  Other
 * types keep a __dict__ pointer at tp_dictoffset. */
static int attr_table(const struct reader *r, uint64_t obj, struct table *t)
{
	const struct py_offsets *f = r->f;
	const struct py_user_offsets *u = r->u;
	uint64_t type, flags = 0, dict = 0, values = 0, word;
	int64_t off;

	type = obj_read_ptr(r, obj + f->object_type);
	if (!type || obj_read(r, type + u->type_flags, &flags, sizeof(flags)))
		return -EIO;
	if (u->tpflags_managed_dict > 0 && (flags & (uint64_t)u->tpflags_managed_dict)) {
		dict = obj_read_ptr(r, obj - (uint64_t)u->managed_dict);
		if (u->managed_values >= 0) {
			word = obj_read_ptr(r, obj - (uint64_t)u->managed_values);
			if (u->managed_values_tag <= 0) {
				values = word;
			} else if (word & 1) {
				values = word + (uint64_t)u->managed_values_tag;
				dict = 0;
			}
		}
		if (!dict && !values && u->tpflags_inline_values > 0 &&
		    (flags & (uint64_t)u->tpflags_inline_values)) {
			uint8_t valid = 0;

			if (obj_read_ssize(r, type + u->type_basicsize, &off) || off <= 0 ||
			    obj_read(r, obj + (uint64_t)off + u->dvalues_valid, &valid, 1))
				return -EIO;
			values = valid ? obj + (uint64_t)off : 0;
		}
		if (dict)
			return dict_table(r, dict, t);
		if (!values)
			return -ENOENT;
		return table_of(r, obj_read_ptr(r, type + u->type_cached_keys),
				values + (uint64_t)u->dvalues_values, t);
	}
	/* negative offsets count from the end of variable-sized objects:
	 * not handled, nor needed for threading.Thread */
	if (obj_read_ssize(r, type + u->type_dictoffset, &off))
		return -EIO;
	if (off <= 0 || !(dict = obj_read_ptr(r, obj + (uint64_t)off)))
		return -ENOENT;
	return dict_table(r, dict, t);
}

/* ---- pyobj.h ---- */

static int reader_for(const struct pyproc *p, struct reader *r)
{
	if (!p || !p->major || (p->uoff.dict_keys < 0 && p->uoff.dict_table < 0))
		return -EINVAL;
	obj_reader(r, p);
	return 0;
}

int pyobj_dict_get(const struct pyproc *p, uint64_t dict, const char *key, uint64_t *value)
{
	struct reader r;
	struct table t;
	int err;

	if (!key || !value || reader_for(p, &r))
		return -EINVAL;
	*value = 0;
	err = dict_table(&r, dict, &t);
	return err ? err : table_find(&r, &t, key, value);
}

int pyobj_dict_items(const struct pyproc *p, uint64_t dict, uint64_t *kv, size_t max,
		     size_t *n)
{
	struct reader r;

	if (!kv || !n || reader_for(p, &r))
		return -EINVAL;
	return obj_dict_items(&r, dict, kv, max, n);
}

int pyobj_attr(const struct pyproc *p, uint64_t obj, const char *name, uint64_t *value)
{
	struct reader r;
	struct table t;
	int err;

	if (!name || !value || reader_for(p, &r) || r.u->type_flags < 0)
		return -EINVAL;
	*value = 0;
	err = attr_table(&r, obj, &t);
	return err ? err : table_find(&r, &t, name, value);
}

int pyobj_str(const struct pyproc *p, uint64_t addr, char *buf, size_t len)
{
	uint32_t chars[STR_CHARS];
	size_t n = 0, total = 0, i;
	uint64_t type = 0;
	struct reader r;
	struct out o;
	char u[4];
	int err;

	if (!buf || !len || !p || !p->major)
		return -EINVAL;
	buf[0] = 0;
	obj_reader(&r, p);
	if (obj_read(&r, addr + r.f->object_type, &type, 8))
		return -EIO;
	if (r.k->types[T_STR] && type != r.k->types[T_STR])
		return -EINVAL;
	err = obj_read_str(&r, addr, chars, len < STR_CHARS ? len : STR_CHARS, &n, &total);
	if (err)
		return err == -ENOTSUP ? -EINVAL : err;
	out_init(&o, buf, len);
	for (i = 0; i < n; i++) {
		uint32_t c = chars[i] >= 0xd800 && chars[i] <= 0xdfff ? 0xfffd : chars[i];

		out_put(&o, u, utf8_put(u, c));
	}
	if (total > n && !o.cut)
		out_puts(&o, "...");
	return 0;
}
