/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* out_pprof.c - pprof's gzip-compressed perftools.profiles.Profile, the
 * format `go tool pprof`, Pyroscope and Parca read.
 *
 * Field numbers are those of github.com/google/pprof proto/profile.proto.
 * What the file holds:
 *
 * - sample_type [samples/count, cpu/nanoseconds], plus wall/nanoseconds
 *   when the profile holds off-CPU time (--idle, --gil-wait): on-CPU
 *   samples count in cpu and wall, off-CPU ones in wall only, never in
 *   cpu (as Pyroscope's wall profiles); period_type cpu/
 *   nanoseconds with period = 1e9 / rate_hz (0 if the rate is unknown);
 *   time_nanos and duration_nanos from the profile; the title and the
 *   Python version as comments.
 * - One sample per stack: location ids leaf first (pprof's order, the
 *   reverse of the profile's), values [count, count * period], labels
 *   pid and tid (numeric) and thread_name (string), plus comm, cgroup
 *   and ns_pid (a process in another pid namespace) when known.  Stacks are not
 *   merged: two threads with one stack stay two samples, told apart by
 *   their labels.
 * - A function per distinct (name, file, start line): name is the
 *   frame's name, filename the full co_filename path (the display file if
 *   the path is unknown).  system_name stays empty on purpose: pprof
 *   "demangles" a function whose system_name equals its name, and its
 *   C++ heuristics turn "<module>" and "<lambda>" into "" (templates
 *   removed); Python has no mangled names to give.  Synthetic frames (thread
 *   and process roots, <truncated>, [unknown]) are functions too, with
 *   an empty filename and no lines, so every sample adds up.
 * - A location per distinct (function, line, mapping, address), with one
 *   Line entry.  Python and synthetic frames have no address.  Native and
 *   kernel frames (--native) have theirs (struct paddr: the sampled pc,
 *   a caller's return address - 1), so one function sampled at several
 *   pcs is several locations, as in any native pprof profile.
 * - Location, function and mapping ids are 1..N in the order of the lists
 *   (Parca requires it; pprof itself would accept any unique ids).
 * - Mapping 1 (no file, address range 0) holds the Python and synthetic
 *   frames, with has_functions, has_filenames and has_line_numbers set:
 *   they are symbolized already, so pprof must not go looking for a
 *   binary to symbolize them with (without a mapping it invents one and
 *   complains "Main binary filename not available").
 * - Then one mapping per executable mapping native frames were sampled in
 *   (struct pmapping, per process: the same library in two processes is
 *   two mappings), as the process mapped it: memory_start/limit,
 *   file_offset, filename (the path; "[vdso]", "[anon]"), build_id (GNU,
 *   lowercase hex), has_functions when the file had a symbol table; and
 *   one "[kernel.kallsyms]" mapping with the kernel's build id for kernel
 *   frames.  A mapping without functions is one pprof may symbolize
 *   itself from the file, checked against the build id.
 *
 * string_table[0] is "".  Strings are deduplicated; invalid UTF-8
 * becomes U+FFFD, because proto3 readers (Go's protobuf, hence Parca and
 * Pyroscope) reject a string field with bad bytes.  Top-level fields are
 * deflated as they are encoded, so the uncompressed profile is never
 * held in memory whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "htab.h"
#include "output.h"
#include "protobuf.h"

/* perftools.profiles field numbers. */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4, PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12, PROFILE_COMMENT = 13,
	VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
	LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3,
	MAPPING_ID = 1, MAPPING_MEMORY_START = 2, MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4, MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, /* system_name = 3: see above */
	FUNCTION_FILENAME = 4, FUNCTION_START_LINE = 5,
};

#define GZIP_WINDOW_BITS (15 + 16)   /* 32 KiB window, gzip wrapper */
#define FLUSH_AT (64 * 1024)         /* deflate the encoding every 64 KiB */

struct str_key { uint64_t hash, salt; };           /* -> uint32 string id */
struct func_key { uint32_t name, file, start_line; }; /* = a function */
struct loc_key { uint32_t func, line, mapping, pad; uint64_t addr; }; /* = a location */

/* Growable array of n elements of one size. */
struct vec { void *data; size_t n, cap; };

struct pprof {
	const struct profile *p;
	FILE *f;
	z_stream z;
	struct vec strs;        /* const char *, by string id */
	struct vec owned;       /* char *: repaired copies of invalid UTF-8 */
	struct vec funcs;       /* struct func_key, by function id - 1 */
	struct vec locs;        /* struct loc_key, by location id - 1 */
	struct vec maps;        /* const struct pmapping *, by mapping id - 2 */
	struct htab str_ids, func_ids, loc_ids, map_ids;
	uint32_t *loc_of_frame; /* pframe index -> location id, 0 = none yet
				 * (frames without an address) */
	uint64_t *ids;          /* one sample's location ids */
	/* The encoding: top-level fields, one of their messages, and a
	 * message nested in that (a sample's label, a location's line). */
	struct proto_buf top, msg, sub;
	int err;                /* sticky: 0 or -errno */
};

/* Append one element; its index, or -1 (and w->err) if out of memory. */
static long vec_push(struct pprof *w, struct vec *v, const void *elem, size_t size)
{
	size_t cap = v->cap ? v->cap * 2 : 64;
	void *data;

	if (v->n == v->cap) {
		data = realloc(v->data, cap * size);
		if (!data) {
			w->err = -ENOMEM;
			return -1;
		}
		v->data = data;
		v->cap = cap;
	}
	memcpy((char *)v->data + v->n * size, elem, size);
	return (long)v->n++;
}

/* s with every byte that does not start valid UTF-8 replaced by U+FFFD;
 * s itself when it is valid, NULL if out of memory. */
static const char *valid_utf8(struct pprof *w, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, n, bad = 0, len = 0;
	char *copy;

	for (i = 0; u[i]; i += n ? n : 1)
		bad += (n = utf8_len(u + i)) == 0;
	if (!bad)
		return s;
	copy = malloc(i + 2 * bad + 1);
	if (!copy || vec_push(w, &w->owned, &copy, sizeof(copy)) < 0) {
		free(copy);
		w->err = -ENOMEM;
		return NULL;
	}
	for (i = 0; u[i]; i += n ? n : 1) {
		n = utf8_len(u + i);
		if (n) {
			memcpy(copy + len, u + i, n);
			len += n;
		} else {
			memcpy(copy + len, "\xef\xbf\xbd", 3);
			len += 3;
		}
	}
	copy[len] = '\0';
	return copy;
}

/* The string table index of s, added if new; 0 ("") on error. */
static uint32_t intern(struct pprof *w, const char *s)
{
	struct str_key k;
	uint32_t id;
	void *val;
	int created;
	long idx;

	if (!(s = valid_utf8(w, s ? s : "")))
		return 0;
	k.hash = hash_bytes(s, strlen(s), 0);
	/* Strings whose 64-bit hashes collide take salts 0, 1, 2, ... */
	for (k.salt = 0;; k.salt++) {
		if (!(val = htab_put(&w->str_ids, &k, &created))) {
			w->err = -ENOMEM;
			return 0;
		}
		if (created)
			break;
		memcpy(&id, val, sizeof(id));
		if (strcmp(((const char **)w->strs.data)[id], s) == 0)
			return id;
	}
	if ((idx = vec_push(w, &w->strs, &s, sizeof(s))) < 0)
		return 0;
	id = (uint32_t)idx;
	memcpy(val, &id, sizeof(id));
	return id;
}

/* The 1-based id of key in table/list, added at the end if new; 0 on error. */
static uint32_t id_of(struct pprof *w, struct htab *table, struct vec *list,
		      const void *key, size_t size)
{
	uint32_t id;
	void *val;
	int created;
	long idx;

	if (!(val = htab_put(table, key, &created))) {
		w->err = -ENOMEM;
		return 0;
	}
	if (!created) {
		memcpy(&id, val, sizeof(id));
		return id;
	}
	if ((idx = vec_push(w, list, key, size)) < 0)
		return 0;
	id = (uint32_t)idx + 1;
	memcpy(val, &id, sizeof(id));
	return id;
}

#define MAPPING 1   /* the id of the Python and synthetic frames' mapping */

/* The location of frame fi sampled at a (NULL, or no mapping: none). */
static uint32_t frame_location(struct pprof *w, uint32_t fi, const struct paddr *a)
{
	const struct pframe *fr = &w->p->frames[fi];
	int python = fr->kind == PFRAME_PYTHON;
	const char *path = fr->path && fr->path[0] ? fr->path : fr->file;
	struct func_key fk;
	struct loc_key lk = { .mapping = MAPPING };

	if (a && !a->map)
		a = NULL;
	if (!a && w->loc_of_frame[fi])
		return w->loc_of_frame[fi];
	if (a) {
		uintptr_t key = (uintptr_t)a->map;

		lk.mapping = id_of(w, &w->map_ids, &w->maps, &key, sizeof(key)) + 1;
		lk.addr = a->addr;
	}
	fk.name = intern(w, fr->name);
	/* a native frame's file is its library (what pprof shows as the file) */
	fk.file = intern(w, python || fr->kind == PFRAME_NATIVE ? path : "");
	fk.start_line = python ? fr->first_line : 0;
	lk.func = id_of(w, &w->func_ids, &w->funcs, &fk, sizeof(fk));
	lk.line = python ? fr->line : 0;
	if (a)
		return id_of(w, &w->loc_ids, &w->locs, &lk, sizeof(lk));
	return w->loc_of_frame[fi] = id_of(w, &w->loc_ids, &w->locs, &lk, sizeof(lk));
}

/* Deflate what top holds; Z_FINISH also writes the gzip trailer. */
static void flush_top(struct pprof *w, int mode)
{
	unsigned char out[16384];
	size_t n;
	int ret;

	if (!w->err)
		w->err = w->top.err;
	if (w->err)
		return;
	w->z.next_in = w->top.data;
	w->z.avail_in = (uInt)w->top.len;
	do {
		w->z.next_out = out;
		w->z.avail_out = sizeof(out);
		ret = deflate(&w->z, mode);
		if (ret == Z_STREAM_ERROR) {
			w->err = -EIO;
			return;
		}
		n = sizeof(out) - w->z.avail_out;
		errno = 0;
		if (n && fwrite(out, 1, n, w->f) != n) {
			w->err = errno ? -errno : -EIO;
			return;
		}
	} while (w->z.avail_out == 0);
	if (mode == Z_FINISH && ret != Z_STREAM_END)
		w->err = -EIO;
	proto_reset(&w->top);
}

/* Append w->msg to top as field; deflate top once it is big. */
static void put_top(struct pprof *w, uint32_t field)
{
	proto_message(&w->top, field, &w->msg);
	proto_reset(&w->msg);
	if (w->top.len >= FLUSH_AT)
		flush_top(w, Z_NO_FLUSH);
}

/* Append w->sub to w->msg as field. */
static void put_sub(struct pprof *w, uint32_t field)
{
	proto_message(&w->msg, field, &w->sub);
	proto_reset(&w->sub);
}

static void put_value_type(struct pprof *w, uint32_t field, const char *type,
			   const char *unit)
{
	proto_uint(&w->msg, VALUE_TYPE_TYPE, intern(w, type));
	proto_uint(&w->msg, VALUE_TYPE_UNIT, intern(w, unit));
	put_top(w, field);
}

static void put_label(struct pprof *w, const char *key, const char *str, uint64_t num)
{
	proto_uint(&w->sub, LABEL_KEY, intern(w, key));
	if (str)
		proto_uint(&w->sub, LABEL_STR, intern(w, str));
	else
		proto_uint(&w->sub, LABEL_NUM, num);
	put_sub(w, SAMPLE_LABEL);
}

static void put_sample(struct pprof *w, const struct pstack *s, uint64_t period, int wall)
{
	int off = (s->flags & PSTACK_OFFCPU) != 0;
	uint64_t values[3] = { s->count, off ? 0 : s->count * period, s->count * period };
	uint32_t k;

	for (k = 0; k < s->depth; k++) {
		uint32_t at = s->depth - 1 - k;

		w->ids[k] = frame_location(w, s->frames[at], s->addrs ? &s->addrs[at] : NULL);
	}
	proto_packed(&w->msg, SAMPLE_LOCATION_ID, w->ids, s->depth);
	proto_packed(&w->msg, SAMPLE_VALUE, values, wall ? 3 : 2);
	put_label(w, "pid", NULL, s->pid);
	put_label(w, "tid", NULL, s->tid);
	put_label(w, "thread_name", s->thread_name, 0);
	if (s->comm && s->comm[0])
		put_label(w, "comm", s->comm, 0);
	if (s->nspid && s->nspid != s->pid)
		put_label(w, "ns_pid", NULL, s->nspid);
	if (s->cgroup && s->cgroup[0])
		put_label(w, "cgroup", s->cgroup, 0);
	put_top(w, PROFILE_SAMPLE);
}

/* The mappings, locations, functions and strings, each list in id order. */
static void put_tables(struct pprof *w)
{
	const struct loc_key *locs = w->locs.data;
	const struct func_key *funcs = w->funcs.data;
	const uintptr_t *maps = w->maps.data;
	size_t i;

	proto_uint(&w->msg, MAPPING_ID, MAPPING);
	proto_uint(&w->msg, MAPPING_HAS_FUNCTIONS, 1);
	proto_uint(&w->msg, MAPPING_HAS_FILENAMES, 1);
	proto_uint(&w->msg, MAPPING_HAS_LINE_NUMBERS, 1);
	put_top(w, PROFILE_MAPPING);
	for (i = 0; i < w->maps.n; i++) {
		const struct pmapping *m = (const struct pmapping *)maps[i];

		proto_uint(&w->msg, MAPPING_ID, i + 1 + MAPPING);
		proto_uint(&w->msg, MAPPING_MEMORY_START, m->start);
		proto_uint(&w->msg, MAPPING_MEMORY_LIMIT, m->limit);
		proto_uint(&w->msg, MAPPING_FILE_OFFSET, m->offset);
		proto_uint(&w->msg, MAPPING_FILENAME, intern(w, m->file));
		proto_uint(&w->msg, MAPPING_BUILD_ID, intern(w, m->build_id));
		if (m->symbolized)
			proto_uint(&w->msg, MAPPING_HAS_FUNCTIONS, 1);
		put_top(w, PROFILE_MAPPING);
	}
	for (i = 0; i < w->locs.n; i++) {
		proto_uint(&w->msg, LOCATION_ID, i + 1);
		proto_uint(&w->msg, LOCATION_MAPPING_ID, locs[i].mapping);
		if (locs[i].addr)
			proto_uint(&w->msg, LOCATION_ADDRESS, locs[i].addr);
		proto_uint(&w->sub, LINE_FUNCTION_ID, locs[i].func);
		if (locs[i].line)
			proto_uint(&w->sub, LINE_LINE, locs[i].line);
		put_sub(w, LOCATION_LINE);
		put_top(w, PROFILE_LOCATION);
	}
	for (i = 0; i < w->funcs.n; i++) {
		proto_uint(&w->msg, FUNCTION_ID, i + 1);
		proto_uint(&w->msg, FUNCTION_NAME, funcs[i].name);
		proto_uint(&w->msg, FUNCTION_FILENAME, funcs[i].file);
		if (funcs[i].start_line)
			proto_uint(&w->msg, FUNCTION_START_LINE, funcs[i].start_line);
		put_top(w, PROFILE_FUNCTION);
	}
	for (i = 0; i < w->strs.n; i++) {
		proto_string(&w->top, PROFILE_STRING_TABLE, ((const char **)w->strs.data)[i]);
		if (w->top.len >= FLUSH_AT)
			flush_top(w, Z_NO_FLUSH);
	}
}

static void put_profile(struct pprof *w)
{
	const struct profile *p = w->p;
	uint64_t period = p->rate_hz ? 1000000000ull / p->rate_hz : 0;
	uint32_t title = 0, version = 0;
	size_t i;

	int wall = 0;

	for (i = 0; i < p->nstacks; i++)
		wall |= (p->stacks[i].flags & PSTACK_OFFCPU) != 0;
	intern(w, "");                       /* string_table[0] */
	put_value_type(w, PROFILE_SAMPLE_TYPE, "samples", "count");
	put_value_type(w, PROFILE_SAMPLE_TYPE, "cpu", "nanoseconds");
	if (wall)
		put_value_type(w, PROFILE_SAMPLE_TYPE, "wall", "nanoseconds");
	for (i = 0; i < p->nstacks && !w->err; i++)
		put_sample(w, &p->stacks[i], period, wall);
	put_value_type(w, PROFILE_PERIOD_TYPE, "cpu", "nanoseconds");
	proto_uint(&w->top, PROFILE_PERIOD, period);
	if (p->start_unix_ns)
		proto_uint(&w->top, PROFILE_TIME_NANOS, p->start_unix_ns);
	proto_uint(&w->top, PROFILE_DURATION_NANOS, p->duration_ns);
	if (p->title && p->title[0])
		title = intern(w, p->title);
	if (p->python_version && p->python_version[0]) {
		char *text = NULL;

		/* The table keeps pointers: the text lives until the end. */
		if (asprintf(&text, "Python %s", p->python_version) < 0 ||
		    vec_push(w, &w->owned, &text, sizeof(text)) < 0) {
			free(text);
			w->err = -ENOMEM;
			return;
		}
		version = intern(w, text);
	}
	if (title)
		proto_uint(&w->top, PROFILE_COMMENT, title);
	if (version)
		proto_uint(&w->top, PROFILE_COMMENT, version);
	put_tables(w);
}

/* Frame indices are checked before anything is written; the deepest
 * stack sizes the location id buffer. */
static int check_stacks(const struct profile *p, uint32_t *max_depth)
{
	size_t i;
	uint32_t k;

	*max_depth = 1;
	for (i = 0; i < p->nstacks; i++) {
		for (k = 0; k < p->stacks[i].depth; k++)
			if (p->stacks[i].frames[k] >= p->nframes)
				return -EINVAL;
		if (p->stacks[i].depth > *max_depth)
			*max_depth = p->stacks[i].depth;
	}
	return 0;
}

int write_pprof(FILE *f, const struct profile *p)
{
	struct pprof w = { .p = p, .f = f };
	uint32_t max_depth;
	size_t i;
	int err;

	if ((err = check_stacks(p, &max_depth)))
		return err;
	htab_init(&w.str_ids, sizeof(struct str_key), sizeof(uint32_t));
	htab_init(&w.func_ids, sizeof(struct func_key), sizeof(uint32_t));
	htab_init(&w.loc_ids, sizeof(struct loc_key), sizeof(uint32_t));
	htab_init(&w.map_ids, sizeof(uintptr_t), sizeof(uint32_t));
	w.loc_of_frame = calloc(p->nframes ? p->nframes : 1, sizeof(*w.loc_of_frame));
	w.ids = calloc(max_depth, sizeof(*w.ids));
	if (!w.loc_of_frame || !w.ids) {
		err = -ENOMEM;
		goto out_free;
	}
	switch (deflateInit2(&w.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
			     GZIP_WINDOW_BITS, 8, Z_DEFAULT_STRATEGY)) {
	case Z_OK:
		break;
	case Z_MEM_ERROR:
		err = -ENOMEM;
		goto out_free;
	default:                /* a zlib without gzip support */
		err = -ENOTSUP;
		goto out_free;
	}
	put_profile(&w);
	if (!w.err)
		w.err = w.msg.err ? w.msg.err : w.sub.err;
	flush_top(&w, Z_FINISH);
	deflateEnd(&w.z);
	err = w.err;
	if (!err && fflush(f) == EOF)
		err = -errno;
	if (!err && ferror(f))
		err = -EIO;

out_free:
	for (i = 0; i < w.owned.n; i++)
		free(((char **)w.owned.data)[i]);
	free(w.owned.data);
	free(w.strs.data);
	free(w.funcs.data);
	free(w.locs.data);
	free(w.maps.data);
	htab_free(&w.str_ids);
	htab_free(&w.func_ids);
	htab_free(&w.loc_ids);
	htab_free(&w.map_ids);
	free(w.loc_of_frame);
	free(w.ids);
	proto_free(&w.top);
	proto_free(&w.msg);
	proto_free(&w.sub);
	return err;
}
