// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pywalk.c - walk a live process's thread states and frames from
 * userspace with the same offsets and frame description (bpf/pyframe.h)
 * as the in-kernel walker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "pyframe.h"
#include "pywalk.h"

/* pythread.h's read primitive: process_vm_readv of the target */
typedef pid_t py_rctx_t;
#define PY_READ(rc, dst, len, addr) proc_read((rc), (addr), (dst), (len))
#include "pythread.h"

/* glibc's struct pthread keeps the kernel tid at this offset on x86_64
 * (unchanged since glibc 2.x's NPTL); checked against /proc below. */
#define GLIBC_PTHREAD_TID 720

static uint64_t rd64(pid_t pid, uint64_t addr)
{
	return addr ? py_read_u64(pid, addr) : 0;
}

static int task_exists(pid_t pid, int32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, tid);
	return tid > 0 && access(path, F_OK) == 0;
}

/* The kernel thread of a state: its native_thread_id (3.11+), else, or
 * while that is still 0 (a thread caught between CPython's stores of
 * thread_id and native_thread_id as it makes its state), the tid in
 * glibc's struct pthread that thread_id points to. */
static int32_t thread_tid(const struct pyproc *p, uint64_t tstate, uint64_t thread_id)
{
	const struct py_offsets *o = &p->off;
	int32_t tid = 0;

	if (o->tstate_native_thread_id >= 0 &&
	    !proc_read(p->pid, tstate + o->tstate_native_thread_id, &tid, sizeof(tid)) &&
	    task_exists(p->pid, tid))
		return tid;
	tid = 0;
	if (thread_id)
		proc_read(p->pid, thread_id + GLIBC_PTHREAD_TID, &tid, sizeof(tid));
	return task_exists(p->pid, tid) ? tid : 0;
}

/* The GIL holder of interp's GIL: _PyRuntime.ceval.gil (3.7-3.11),
 * interp->ceval.gil (3.12+), _PyThreadState_Current (2.7, 3.6). */
static uint64_t gil_holder(const struct pyproc *p, uint64_t interp)
{
	const struct py_offsets *o = &p->off;
	uint64_t gil = 0;

	if (o->runtime_gil >= 0)
		gil = p->runtime_addr + o->runtime_gil;
	else if (o->interp_gil >= 0)
		gil = rd64(p->pid, interp + o->interp_gil);
	else if (o->gil_locked < 0)
		gil = p->gil_holder_addr;
	return py_gil_holder(p->pid, o, gil);
}

/* Mark each thread's picked state: the one the sampler charges its
 * samples to (pythread.h), so --idle's seeds and the sampler agree. */
static void pick_states(const struct pyproc *p, struct pythread *t, size_t n)
{
	const struct py_offsets *o = &p->off;
	size_t i, j;

	for (i = 0; i < n; i++) {
		struct py_pick pick = { 0 };
		__u64 frame;
		int cur;

		for (j = 0; j < i && t[j].thread_id != t[i].thread_id; j++)
			;
		if (j < i)
			continue; /* this thread's states were picked from */
		for (j = i; j < n; j++) {
			if (t[j].thread_id != t[i].thread_id)
				continue;
			cur = o->tstate_status < 0 && t[j].owns_gil;
			if (py_pick_add(&pick, o, t[j].tstate, t[j].status, cur,
					py_pick_wants_frame(&pick, o) &&
					!py_first_frame(p->pid, o, t[j].tstate, &frame) && frame) &&
			    cur)
				break; /* the current state: nothing later changes it */
		}
		for (j = i; j < n; j++)
			t[j].picked = t[j].thread_id == t[i].thread_id &&
				      t[j].tstate == py_pick_result(&pick);
	}
}

int pywalk_threads(const struct pyproc *p, struct pythread *out, size_t max, size_t *n)
{
	const struct py_offsets *o = &p->off;
	uint64_t interp, ts, holder;
	int i;

	*n = 0;
	interp = rd64(p->pid, p->runtime_addr + o->runtime_interp_head);
	for (i = 0; interp && i < PYBPF_MAX_INTERPS; i++) {
		holder = gil_holder(p, interp);
		ts = rd64(p->pid, interp + o->interp_tstate_head);
		while (ts && *n < max) {
			struct pythread *t = &out[*n];
			struct py_tstate_id id;

			/* 3.12+: a deleted state keeps its thread_id: leave it out */
			if (!py_tstate_id(p->pid, o, ts, 0, &id) && py_tstate_live(&id)) {
				(*n)++;
				t->tstate = ts;
				t->thread_id = id.thread_id;
				t->status = id.status;
				t->tid = thread_tid(p, ts, t->thread_id);
				t->owns_gil = holder == ts;
			}
			ts = rd64(p->pid, ts + o->tstate_next);
		}
		interp = rd64(p->pid, interp + o->interp_next);
	}
	pick_states(p, out, *n);
	return 0;
}

static uint64_t first_frame_slot(const struct pyproc *p, uint64_t tstate)
{
	__u64 slot = 0;

	return py_frame_slot(p->pid, &p->off, tstate, &slot) ? 0 : slot;
}

/* What a walk saw of each frame it stepped through (shims included), to
 * check the whole chain again in one copy (chain_holds). */
struct seen {
	uint64_t addr, back, code, lasti;
};

struct chain {
	uint64_t slot;           /* the thread's innermost frame pointer */
	uint64_t leaf;           /* its value */
	struct seen *f;
	size_t n;
	int broken;              /* a frame could not be read */
};

#define CHAIN_MAX (PYBPF_MAX_DEPTH * 4)

static void seen_from(const struct py_offsets *o, uint64_t addr, const uint8_t *buf,
		      struct seen *s)
{
	s->addr = addr;
	s->back = pyframe_back(o, buf);
	s->code = buf_u64(buf, o->frame_code, FRAME_MASK);
	s->lasti = o->frame_lasti >= 0 ? buf_u64(buf, o->frame_lasti, FRAME_MASK) : 0;
}

int pywalk_frame_decode(const struct pyproc *p, uint64_t frame, const uint8_t *buf,
			struct pyframe_ref *r)
{
	const struct py_offsets *o = &p->off;
	uint8_t cb[PYBPF_CODE_READ + 8] = {};
	__u64 base, slot;

	r->frame = frame;
	r->code = 0;
	r->lasti = PYBPF_LASTI_NONE;
	if (pyframe_is_shim(o, buf))
		return 1;
	r->code = pyframe_code(o, buf);
	if (!r->code)
		return 1; /* 3.14: a thread's bottom frame runs nothing */
	if (proc_read(p->pid, r->code, cb, PYBPF_CODE_READ))
		return 1;
	if (!pycode_is_code(o, cb, p->code_type_addr))
		return 1; /* not a code object (3.13+ f_executable) */
	base = pyframe_bytecode(o, buf, cb, r->code, &slot);
	if (slot)
		base = rd64(p->pid, slot);
	r->lasti = pyframe_lasti(o, buf, base);
	return 0;
}

int pywalk_frame_at(const struct pyproc *p, uint64_t frame, struct pyframe_ref *r)
{
	uint8_t buf[PYBPF_FRAME_READ + 8] = {};

	if (proc_read(p->pid, frame, buf, PYBPF_FRAME_READ))
		return -EIO;
	return pywalk_frame_decode(p, frame, buf, r);
}

static int walk(const struct pyproc *p, const struct pythread *t, struct pyframe_ref *out,
		size_t max, size_t *n, int *truncated, struct chain *c)
{
	uint8_t buf[PYBPF_FRAME_READ + 8] = {};
	uint64_t slot = first_frame_slot(p, t->tstate), frame = rd64(p->pid, slot);
	size_t guard;

	*n = 0;
	*truncated = 0;
	if (c) {
		c->slot = slot;
		c->leaf = frame;
		c->n = 0;
		c->broken = 0;
	}
	for (guard = 0; frame && guard < CHAIN_MAX; guard++) {
		if (*n == max) {
			*truncated = 1;
			break;
		}
		if (proc_read(p->pid, frame, buf, PYBPF_FRAME_READ)) {
			*truncated = 1; /* the frame went away under us */
			if (c)
				c->broken = 1;
			break;
		}
		if (c)
			seen_from(&p->off, frame, buf, &c->f[c->n++]);
		if (pywalk_frame_decode(p, frame, buf, &out[*n]) == 0)
			(*n)++;
		frame = pyframe_back(&p->off, buf);
	}
	return 0;
}

int pywalk_frames(const struct pyproc *p, const struct pythread *t, struct pyframe_ref *out,
		  size_t max, size_t *n, int *truncated)
{
	return walk(p, t, out, max, n, truncated, NULL);
}

/* The walk's chain read again in one process_vm_readv: the innermost
 * frame pointer, every frame's head, the pointer again.  The walk takes a
 * read per frame, long enough for a busy thread to return and call again
 * in between and leave a chain that never existed (a stale callee over a
 * reused caller); one copy is nearly an instant, and the pointer read at
 * both ends says the chain was live all along it.  Every frame must keep
 * its address, caller, code and instruction, but the innermost one's
 * instruction, which moves as long as the thread runs Python: leaf (the
 * walk's innermost Python frame) gets it from the copy.  1 when it agrees. */
static int chain_holds(const struct pyproc *p, const struct chain *c, struct pyframe_ref *leaf)
{
	const struct py_offsets *o = &p->off;
	size_t niov = c->n + 2, i;
	struct iovec *local = calloc(niov, sizeof(*local)), *remote = calloc(niov, sizeof(*remote));
	uint8_t (*heads)[PYBPF_FRAME_READ + 8] = calloc(c->n ? c->n : 1, sizeof(*heads));
	uint64_t first = 0, last = 0;
	ssize_t want = 16, got = 0, r;
	size_t done, k;
	int ok = 0;

	if (!local || !remote || !heads || c->broken)
		goto out;
	local[0] = (struct iovec){ &first, 8 };
	local[niov - 1] = (struct iovec){ &last, 8 };
	remote[0] = remote[niov - 1] = (struct iovec){ (void *)c->slot, 8 };
	for (i = 0; i < c->n; i++) {
		local[i + 1] = (struct iovec){ heads[i], PYBPF_FRAME_READ };
		remote[i + 1] = (struct iovec){ (void *)c->f[i].addr, PYBPF_FRAME_READ };
		want += PYBPF_FRAME_READ;
	}
	/* deeper stacks than one call takes: in IOV_MAX steps, less of an instant */
	for (done = 0; done < niov; done += k) {
		k = niov - done < IOV_MAX ? niov - done : IOV_MAX;
		r = process_vm_readv(p->pid, local + done, k, remote + done, k, 0);
		if (r < 0)
			goto out;
		got += r;
	}
	if (got != want || first != c->leaf || last != c->leaf)
		goto out;
	for (i = 0; i < c->n; i++) {
		struct seen now;

		seen_from(o, c->f[i].addr, heads[i], &now);
		if (i == 0) /* moves while the thread runs: taken from the copy */
			now.lasti = c->f[0].lasti;
		if (memcmp(&now, &c->f[i], sizeof(now)))
			goto out;
	}
	if (leaf && c->n && leaf->frame == c->f[0].addr &&
	    pywalk_frame_decode(p, c->f[0].addr, heads[0], leaf))
		goto out;
	ok = 1;
out:
	free(local);
	free(remote);
	free(heads);
	return ok;
}

int pywalk_stack(const struct pyproc *p, const struct pythread *t, struct pyframe_ref *out,
		 size_t max, size_t *n, int *truncated, int *consistent)
{
	struct chain c = { .f = calloc(CHAIN_MAX, sizeof(*c.f)) };
	int try;

	*consistent = 0;
	if (!c.f)
		return -ENOMEM;
	/* The target runs on while we read: walk, then read the same chain
	 * again (chain_holds); when the two disagree, walk afresh. */
	for (try = 0; try <= PYWALK_TRIES && !*consistent; try++) {
		walk(p, t, out, max, n, truncated, &c);
		*consistent = chain_holds(p, &c, *n ? out : NULL);
	}
	free(c.f);
	return 0;
}

static uint32_t read_str(pid_t pid, const struct py_offsets *o, uint64_t addr, uint8_t *dst,
			 uint32_t max)
{
	uint8_t head[PYBPF_NAME_HEAD + 8] = {};
	uint32_t size;

	if (!addr || proc_read(pid, addr, head, PYBPF_NAME_HEAD))
		return 0;
	size = pystr_size(o, head, max);
	return proc_read(pid, addr, dst, size) ? 0 : size;
}

int pywalk_symbol(const struct pyproc *p, struct symbols *syms, uint64_t code, uint32_t id)
{
	const struct py_offsets *o = &p->off;
	uint8_t cb[PYBPF_CODE_READ + 8] = {}, head[PYBPF_NAME_HEAD + 8] = {};
	struct code_event *ev = calloc(1, sizeof(*ev));
	uint64_t lines;
	__u64 total;
	int err;

	if (!ev)
		return -ENOMEM;
	if (proc_read(p->pid, code, cb, PYBPF_CODE_READ)) {
		free(ev);
		return -EIO;
	}
	ev->pid = p->pid;
	ev->sym_id = id;
	ev->code_addr = code;
	ev->firstlineno = (int32_t)buf_u32(cb, o->code_firstlineno, CODE_MASK);
	ev->name_len = read_str(p->pid, o, pycode_name(o, cb), ev->name, PYBPF_NAME_BLOB);
	ev->file_len = read_str(p->pid, o, buf_u64(cb, o->code_filename, CODE_MASK), ev->file,
				PYBPF_FILE_BLOB);
	lines = buf_u64(cb, o->code_linetable, CODE_MASK);
	if (lines && !proc_read(p->pid, lines, head, PYBPF_NAME_HEAD)) {
		uint32_t size = pybytes_size(o, head, PYBPF_LINES_BLOB, &total);

		if (size && !proc_read(p->pid, lines, ev->lines, size)) {
			ev->lines_len = size;
			ev->lines_total = (uint32_t)total;
		}
	}
	err = symbols_add(syms, ev, o, (p->major << 8) | p->minor);
	free(ev);
	return err;
}
