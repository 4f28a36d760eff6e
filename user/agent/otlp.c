// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* otlp.c - EXPERIMENTAL OTLP profiles encoder (see otlp.h).  Field
 * numbers are those of opentelemetry-proto's
 * collector/profiles/v1development/profiles_service.proto,
 * profiles/v1development/profiles.proto, common/v1/common.proto and
 * resource/v1/resource.proto (2026-08 snapshot).  One dictionary per
 * request; every table starts with its zero value at index 0 (the proto
 * requires it: mapping, location, function, link, string "", attribute,
 * stack).  Stacks are not deduplicated (one per sample: duplicates are
 * allowed and mean nothing); strings, functions and locations are.
 * Thread id and name are sample attributes (thread.id, thread.name). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "htab.h"
#include "otlp.h"
#include "protobuf.h"

enum {
	REQ_RESOURCE_PROFILES = 1, REQ_DICTIONARY = 2,
	DICT_MAPPING = 1, DICT_LOCATION = 2, DICT_FUNCTION = 3, DICT_LINK = 4, DICT_STRING = 5,
	DICT_ATTRIBUTE = 6, DICT_STACK = 7,
	RP_RESOURCE = 1, RP_SCOPE_PROFILES = 2,
	RES_ATTRIBUTES = 1,
	SP_SCOPE = 1, SP_PROFILES = 2,
	SCOPE_NAME = 1, SCOPE_VERSION = 2,
	PROF_SAMPLE_TYPE = 1, PROF_SAMPLES = 2, PROF_TIME = 3, PROF_DURATION = 4,
	PROF_PERIOD_TYPE = 5, PROF_PERIOD = 6, PROF_ID = 7,
	VT_TYPE = 1, VT_UNIT = 2,
	SAMPLE_STACK = 1, SAMPLE_ATTRS = 2, SAMPLE_VALUES = 4,
	STACK_LOCATIONS = 1,
	LOC_LINES = 3, LINE_FUNCTION = 1, LINE_LINE = 2,
	FUNC_NAME = 1, FUNC_FILENAME = 3, FUNC_START_LINE = 4,
	KVU_KEY = 1, KVU_VALUE = 2,
	KV_KEY = 1, KV_VALUE = 2,
	ANY_STRING = 1, ANY_INT = 3,
};

#define WIRE_I64 1   /* fixed64 */

struct vec { void *data; size_t n, cap; };

struct otlp {
	const struct profile *p;
	struct proto_buf strings, funcs, locs, attrs, stacks;   /* dictionary tables */
	struct htab str_ids, func_ids, loc_ids, thread_ids;
	struct vec strs;             /* const char *, by index */
	uint32_t nfuncs, nlocs, nattrs, nstacks;
	uint32_t *loc_of_frame;      /* profile frame -> location index + 1 */
	int err;
};

struct str_key { uint64_t hash, salt; };
struct func_key { uint32_t name, file, start_line; };
struct loc_key { uint32_t func, line; };
struct thread_val { uint32_t id_attr, name_attr; };

/* htab values are not aligned: read and write them by copy */
static uint32_t get32(const void *v)
{
	uint32_t x;

	memcpy(&x, v, sizeof(x));
	return x;
}

static void put32(void *v, uint32_t x)
{
	memcpy(v, &x, sizeof(x));
}

static int vec_push(struct vec *v, const void *elem, size_t size)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		void *d = realloc(v->data, cap * size);

		if (!d)
			return -ENOMEM;
		v->data = d;
		v->cap = cap;
	}
	memcpy((char *)v->data + v->n++ * size, elem, size);
	return 0;
}

static uint32_t intern(struct otlp *w, const char *s)
{
	struct str_key k = { hash_bytes(s, strlen(s), 7), 0 };
	uint32_t n = (uint32_t)w->strs.n;
	void *id;
	int created;

	for (;; k.salt++) {
		id = htab_put(&w->str_ids, &k, &created);
		if (!id) {
			w->err = -ENOMEM;
			return 0;
		}
		if (created)
			break;
		if (!strcmp(((const char **)w->strs.data)[get32(id)], s))
			return get32(id);
	}
	put32(id, n);
	if (vec_push(&w->strs, &s, sizeof(s)))
		w->err = -ENOMEM;
	proto_string(&w->strings, DICT_STRING, s);
	return n;
}

/* Append an AnyValue (string or int) as field of b. */
static void any_value(struct proto_buf *b, uint32_t field, const char *str, int64_t num)
{
	struct proto_buf v = {};

	if (str)
		proto_string(&v, ANY_STRING, str);
	else
		proto_uint(&v, ANY_INT, (uint64_t)num);
	proto_message(b, field, &v);
	proto_free(&v);
}

static uint32_t attribute(struct otlp *w, const char *key, const char *str, int64_t num)
{
	struct proto_buf kv = {};

	proto_uint(&kv, KVU_KEY, intern(w, key));
	any_value(&kv, KVU_VALUE, str, num);
	proto_message(&w->attrs, DICT_ATTRIBUTE, &kv);
	proto_free(&kv);
	return w->nattrs++;
}

static uint32_t location(struct otlp *w, uint32_t fi)
{
	const struct pframe *fr = &w->p->frames[fi];
	int python = fr->kind == PFRAME_PYTHON;
	const char *path = fr->path && fr->path[0] ? fr->path : fr->file;
	struct func_key fk = { intern(w, fr->name ? fr->name : ""), intern(w, python && path ? path : ""),
			       python ? fr->first_line : 0 };
	struct loc_key lk;
	struct proto_buf m = {}, line = {};
	uint32_t func, loc;
	void *id;
	int created;

	if (w->loc_of_frame[fi])
		return w->loc_of_frame[fi] - 1;
	id = htab_put(&w->func_ids, &fk, &created);
	if (!id)
		goto oom;
	if (created)
		put32(id, w->nfuncs++);
	func = get32(id);
	if (created) {
		proto_uint(&m, FUNC_NAME, fk.name);
		proto_uint(&m, FUNC_FILENAME, fk.file);
		if (fk.start_line)
			proto_uint(&m, FUNC_START_LINE, fk.start_line);
		proto_message(&w->funcs, DICT_FUNCTION, &m);
		proto_reset(&m);
	}
	lk.func = func;
	lk.line = python ? fr->line : 0;
	id = htab_put(&w->loc_ids, &lk, &created);
	if (!id)
		goto oom;
	if (created)
		put32(id, w->nlocs++);
	loc = get32(id);
	if (created) {
		proto_uint(&line, LINE_FUNCTION, lk.func);
		if (lk.line)
			proto_uint(&line, LINE_LINE, lk.line);
		proto_message(&m, LOC_LINES, &line);
		proto_message(&w->locs, DICT_LOCATION, &m);
	}
	proto_free(&m);
	proto_free(&line);
	w->loc_of_frame[fi] = loc + 1;
	return loc;
oom:
	proto_free(&m);
	w->err = -ENOMEM;
	return 0;
}

/* A sample of stack s into prof: its stack (leaf first), thread attributes, value. */
static void sample(struct otlp *w, struct proto_buf *prof, const struct pstack *s, uint64_t period)
{
	struct proto_buf smp = {}, st = {};
	struct thread_val tv;
	void *tvp;
	uint64_t *ids = calloc(s->depth ? s->depth : 1, sizeof(*ids)), attrs[2];
	uint64_t value = s->count * period;
	uint32_t k;
	int created;

	if (!ids) {
		w->err = -ENOMEM;
		return;
	}
	for (k = 0; k < s->depth; k++)
		ids[k] = location(w, s->frames[s->depth - 1 - k]);
	proto_packed(&st, STACK_LOCATIONS, ids, s->depth);
	proto_message(&w->stacks, DICT_STACK, &st);
	tvp = htab_put(&w->thread_ids, &s->tid, &created);
	if (!tvp) {
		w->err = -ENOMEM;
	} else {
		if (created) {
			tv.id_attr = attribute(w, "thread.id", NULL, s->tid);
			tv.name_attr = attribute(w, "thread.name", s->thread_name, 0);
			memcpy(tvp, &tv, sizeof(tv));
		}
		memcpy(&tv, tvp, sizeof(tv));
		attrs[0] = tv.id_attr;
		attrs[1] = tv.name_attr;
		proto_uint(&smp, SAMPLE_STACK, w->nstacks++);
		proto_packed(&smp, SAMPLE_ATTRS, attrs, 2);
		proto_packed(&smp, SAMPLE_VALUES, &value, 1);
		proto_message(prof, PROF_SAMPLES, &smp);
	}
	proto_free(&smp);
	proto_free(&st);
	free(ids);
}

static void value_type(struct otlp *w, struct proto_buf *b, uint32_t field, const char *type,
		       const char *unit)
{
	struct proto_buf vt = {};

	proto_uint(&vt, VT_TYPE, intern(w, type));
	proto_uint(&vt, VT_UNIT, intern(w, unit));
	proto_message(b, field, &vt);
	proto_free(&vt);
}

/* A Profile of the stacks whose off-CPU flag is offcpu; 0 if none. */
static int profile(struct otlp *w, struct proto_buf *sp, int offcpu)
{
	const struct profile *p = w->p;
	uint64_t period = p->rate_hz ? 1000000000ull / p->rate_hz : 0, id[2];
	struct proto_buf prof = {};
	size_t i, n = 0;

	value_type(w, &prof, PROF_SAMPLE_TYPE, offcpu ? "off_cpu" : "cpu", "nanoseconds");
	for (i = 0; i < p->nstacks; i++)
		if (!(p->stacks[i].flags & PSTACK_OFFCPU) == !offcpu) {
			sample(w, &prof, &p->stacks[i], period);
			n++;
		}
	proto_key(&prof, PROF_TIME, (enum proto_wire)WIRE_I64);
	proto_raw(&prof, &p->start_unix_ns, 8);   /* little-endian, as x86_64 */
	proto_uint(&prof, PROF_DURATION, p->duration_ns);
	value_type(w, &prof, PROF_PERIOD_TYPE, "cpu", "nanoseconds");
	proto_uint(&prof, PROF_PERIOD, period);
	id[0] = ((uint64_t)rand() << 32) ^ (uint64_t)rand() ^ p->start_unix_ns;
	id[1] = ((uint64_t)rand() << 32) ^ (uint64_t)rand() ^ (uint64_t)getpid() ^ 1;
	proto_bytes(&prof, PROF_ID, id, sizeof(id));
	if (n)
		proto_message(sp, SP_PROFILES, &prof);
	if (prof.err)
		w->err = prof.err;
	proto_free(&prof);
	return n > 0;
}

static void kv(struct proto_buf *b, const char *key, const char *str, int64_t num)
{
	struct proto_buf m = {};

	proto_string(&m, KV_KEY, key);
	any_value(&m, KV_VALUE, str, num);
	proto_message(b, RES_ATTRIBUTES, &m);
	proto_free(&m);
}

static void resource(struct proto_buf *rp, const struct otlp_resource *r)
{
	struct proto_buf res = {};
	char key[128];
	size_t i;

	kv(&res, "service.name", r->service, 0);
	kv(&res, "host.name", r->host, 0);
	if (r->proc) {
		kv(&res, "process.pid", NULL, r->proc->pid);
		kv(&res, "process.executable.name", r->proc->comm, 0);
		kv(&res, "process.command_line", r->proc->cmdline, 0);
		kv(&res, "process.runtime.name", "CPython", 0);
		kv(&res, "process.runtime.version", r->proc->version, 0);
	}
	for (i = 0; i < r->ntags; i++) {
		const char *eq = strchr(r->tags[i], '=');

		snprintf(key, sizeof(key), "%.*s", (int)(eq - r->tags[i]), r->tags[i]);
		kv(&res, key, eq + 1, 0);
	}
	proto_message(rp, RP_RESOURCE, &res);
	proto_free(&res);
}

int otlp_encode(const struct profile *p, const struct otlp_resource *r, void **out, size_t *len)
{
	struct otlp w = { .p = p };
	struct proto_buf req = {}, rp = {}, sp = {}, scope = {}, dict = {}, zero = {};
	int any, err;

	if (!p->nstacks)
		return -ENODATA;
	htab_init(&w.str_ids, sizeof(struct str_key), sizeof(uint32_t));
	htab_init(&w.func_ids, sizeof(struct func_key), sizeof(uint32_t));
	htab_init(&w.loc_ids, sizeof(struct loc_key), sizeof(uint32_t));
	htab_init(&w.thread_ids, sizeof(uint32_t), sizeof(struct thread_val));
	w.loc_of_frame = calloc(p->nframes ? p->nframes : 1, sizeof(*w.loc_of_frame));
	if (!w.loc_of_frame) {
		err = -ENOMEM;
		goto out;
	}
	/* index 0 of every table: the zero value */
	intern(&w, "");
	proto_message(&w.funcs, DICT_FUNCTION, &zero);
	proto_message(&w.locs, DICT_LOCATION, &zero);
	proto_message(&w.attrs, DICT_ATTRIBUTE, &zero);
	proto_message(&w.stacks, DICT_STACK, &zero);
	w.nfuncs = w.nlocs = w.nattrs = w.nstacks = 1;

	proto_string(&scope, SCOPE_NAME, "pybpf");
	proto_string(&scope, SCOPE_VERSION, "0.1.0");
	proto_message(&sp, SP_SCOPE, &scope);
	any = profile(&w, &sp, 0);
	any |= profile(&w, &sp, 1);
	resource(&rp, r);
	proto_message(&rp, RP_SCOPE_PROFILES, &sp);
	proto_message(&req, REQ_RESOURCE_PROFILES, &rp);

	proto_message(&dict, DICT_MAPPING, &zero);
	proto_raw(&dict, w.locs.data, w.locs.len);
	proto_raw(&dict, w.funcs.data, w.funcs.len);
	proto_message(&dict, DICT_LINK, &zero);
	proto_raw(&dict, w.strings.data, w.strings.len);
	proto_raw(&dict, w.attrs.data, w.attrs.len);
	proto_raw(&dict, w.stacks.data, w.stacks.len);
	proto_message(&req, REQ_DICTIONARY, &dict);
	err = w.err ? w.err : req.err ? req.err : dict.err ? dict.err : w.strings.err ? w.strings.err :
	      w.funcs.err ? w.funcs.err : w.locs.err ? w.locs.err : w.attrs.err ? w.attrs.err :
	      w.stacks.err;
	if (!err && !any)
		err = -ENODATA;
	if (!err) {
		*out = req.data;   /* handed over */
		*len = req.len;
		req.data = NULL;
	}
out:
	proto_free(&req);
	proto_free(&rp);
	proto_free(&sp);
	proto_free(&scope);
	proto_free(&dict);
	proto_free(&w.strings);
	proto_free(&w.funcs);
	proto_free(&w.locs);
	proto_free(&w.attrs);
	proto_free(&w.stacks);
	htab_free(&w.str_ids);
	htab_free(&w.func_ids);
	htab_free(&w.loc_ids);
	htab_free(&w.thread_ids);
	free(w.strs.data);
	free(w.loc_of_frame);
	return err;
}
