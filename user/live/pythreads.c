// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pythreads.c - the threading module's name of a thread, read from the
 * live process (see pythreads.h), in this order:
 *
 *  1. A thread started by threading.Thread runs Thread._bootstrap, then
 *     _bootstrap_inner, at the root of its stack: their first argument,
 *     self, is the Thread, and its _name attribute is what Thread.name
 *     returns (3.x; 2.7 has them private: __bootstrap, __bootstrap_inner,
 *     and the name in __name, stored mangled as _Thread__name).
 *  2. Otherwise (the main thread, a _DummyThread for a thread started by
 *     _thread or C code, a stack cut before its root) the Thread that
 *     threading._active maps the thread's ident to: get_ident() is
 *     pthread_self(), like tstate->thread_id; the threading module is
 *     the one in sys.modules of the thread's own interpreter.
 *  3. Otherwise the process's first thread is "MainThread", the name
 *     threading gives it once imported.
 *
 * Everything read can change or vanish under us: any failed read moves
 * on to the next way and finally gives -ENOENT. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pyobj.h"
#include "pythreads.h"

#define ROOT_FRAMES 8        /* outermost frames searched for _bootstrap */
#define ACTIVE_MAX 4096      /* entries of threading._active looked at */
#define FILE_LEN 1024

static uint64_t rd_ptr(pid_t pid, uint64_t addr)
{
	uint64_t v = 0;

	return addr && proc_read(pid, addr, &v, sizeof(v)) == 0 ? v : 0;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* Is code Thread._bootstrap or Thread._bootstrap_inner of threading? */
static int is_bootstrap(const struct pyproc *p, uint64_t code)
{
	const struct py_offsets *o = &p->off;
	char name[32], file[FILE_LEN];

	if (pyobj_str(p, rd_ptr(p->pid, code + o->code_name), name, sizeof(name)))
		return 0;
	if (strcmp(name, "_bootstrap") && strcmp(name, "_bootstrap_inner") &&
	    strcmp(name, "__bootstrap") && strcmp(name, "__bootstrap_inner")) /* 2.7 */
		return 0;
	if (pyobj_str(p, rd_ptr(p->pid, code + o->code_filename), file, sizeof(file)))
		return 0;
	return ends_with(file, "/threading.py") || strcmp(file, "threading.py") == 0 ||
	       strcmp(file, "<frozen threading>") == 0;
}

/* self of the outermost bootstrap frame, 0 if none. */
static uint64_t bootstrap_self(const struct pyproc *p, const struct pyframe_ref *frames,
			       size_t nframes)
{
	uint64_t self = 0;
	size_t i;

	for (i = 0; i < nframes && i < ROOT_FRAMES && !self; i++) {
		const struct pyframe_ref *f = &frames[nframes - 1 - i];

		if (is_bootstrap(p, f->code))
			pyobj_frame_local(p, f->frame, f->code, "self", &self);
	}
	return self;
}

/* An int object's value (up to 64 bits, through its exact repr). */
static int int_value(const struct pyproc *p, uint64_t obj, uint64_t *v)
{
	char repr[32], *end;

	if (pyobj_repr(p, obj, 1, repr, sizeof(repr)) || repr[0] < '0' || repr[0] > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(repr, &end, 10);
	return *end || errno ? -EINVAL : 0;
}

struct snap_key {
	int32_t pid;
	uint32_t pad;
	uint64_t interp;
};

/* threading._active of one interpreter as read once */
struct active_snap {
	size_t n;
	uint64_t *pairs;     /* ident, Thread; n of them */
	int err;             /* reading it failed: this, for every thread */
	int fresh;           /* read since the last miss: a miss reads again */
};

/* Read threading._active of interpreter interp into snap. */
static void read_active(const struct pyproc *p, uint64_t interp, struct active_snap *snap)
{
	const struct py_user_offsets *uo = &p->uoff;
	uint64_t mod = 0, active = 0, *kv = NULL;
	size_t n = 0, i;
	int err;

	free(snap->pairs);
	memset(snap, 0, sizeof(*snap));
	err = pyobj_dict_get(p, rd_ptr(p->pid, interp + uo->interp_modules), "threading", &mod);
	if (!err)
		err = pyobj_dict_get(p, rd_ptr(p->pid, mod + uo->module_dict), "_active", &active);
	if (!err && !(kv = calloc(2 * ACTIVE_MAX, sizeof(*kv))))
		err = -ENOMEM;
	if (!err)
		err = pyobj_dict_items(p, active, kv, ACTIVE_MAX, &n);
	for (i = 0; !err && i < n; i++) {
		if (int_value(p, kv[2 * i], &kv[2 * snap->n]) == 0) {
			kv[2 * snap->n + 1] = kv[2 * i + 1];
			snap->n++;
		}
	}
	snap->err = err;
	snap->pairs = kv;
	snap->fresh = 1;
}

static int find_ident(const struct active_snap *snap, uint64_t ident, uint64_t *thread)
{
	size_t i;

	if (snap->err)
		return snap->err;
	for (i = 0; i < snap->n; i++) {
		if (snap->pairs[2 * i] == ident) {
			*thread = snap->pairs[2 * i + 1];
			return 0;
		}
	}
	return -ENOENT;
}

/* threading._active[t's ident] of t's interpreter; through cache if any:
 * a thread not in what it read (started since) reads it again, once. */
static int active_thread(const struct pyproc *p, const struct pythread *t,
			 struct pythread_cache *cache, uint64_t *thread)
{
	const struct py_user_offsets *uo = &p->uoff;
	struct snap_key key = { .pid = p->pid };
	struct active_snap local = {}, *snap = &local;
	int err, created = 1;

	if (!t->thread_id || uo->interp_modules < 0 || uo->module_dict < 0)
		return -ENOENT;
	key.interp = rd_ptr(p->pid, t->tstate + p->off.tstate_interp);
	if (!key.interp)
		return -EIO;
	if (cache)
		snap = htab_put(&cache->snaps, &key, &created);
	if (!snap)
		return -ENOMEM;
	if (created)
		read_active(p, key.interp, snap);
	err = find_ident(snap, t->thread_id, thread);
	if (err && !snap->fresh) {
		read_active(p, key.interp, snap);
		err = find_ident(snap, t->thread_id, thread);
	}
	snap->fresh = 0;
	if (!cache)
		free(local.pairs);
	return err;
}

void pythread_cache_init(struct pythread_cache *c)
{
	htab_init(&c->snaps, sizeof(struct snap_key), sizeof(struct active_snap));
}

void pythread_cache_clear(struct pythread_cache *c)
{
	size_t pos = 0;
	const void *k;
	void *v;

	while (htab_next(&c->snaps, &pos, &k, &v))
		free(((struct active_snap *)v)->pairs);
	htab_clear(&c->snaps);
}

void pythread_cache_free(struct pythread_cache *c)
{
	pythread_cache_clear(c);
	htab_free(&c->snaps);
}

static int thread_obj_name(const struct pyproc *p, uint64_t thread, char *buf, size_t len)
{
	uint64_t name = 0;
	int err = pyobj_attr(p, thread, "_name", &name);

	if (err == -ENOENT) /* 2.7: Thread.__name, mangled */
		err = pyobj_attr(p, thread, "_Thread__name", &name);
	return err ? err : pyobj_str(p, name, buf, len);
}

int pythread_name(const struct pyproc *p, const struct pythread *t,
		  const struct pyframe_ref *frames, size_t nframes, struct pythread_cache *cache,
		  char *buf, size_t len)
{
	uint64_t thread;
	int err = -ENOENT;
	char *c;

	if (!p || !p->major || !t || !buf || !len || (nframes && !frames))
		return -EINVAL;
	thread = bootstrap_self(p, frames, nframes);
	if (thread)
		err = thread_obj_name(p, thread, buf, len);
	if (err && active_thread(p, t, cache, &thread) == 0)
		err = thread_obj_name(p, thread, buf, len);
	if (err && t->tid > 0 && t->tid == p->pid) {
		snprintf(buf, len, "MainThread");
		err = 0;
	}
	if (err) {
		buf[0] = 0;
		return -ENOENT;
	}
	/* one line of text output, and a JSON string */
	for (c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return 0;
}
